/**
 * Settings a hub would only trip over at a request (an asset or rail the ledger cannot name, a
 * lifetime range no open can meet, a payees.json that is not a map of ids to secrets) stop it
 * from starting with CONFIG_INVALID, before anything is opened, and `farthing hub` exits 2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHubProcess } from '../../src/cli/run-hub.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { isFarthingError } from '../../src/errors.js';
import { Hub } from '../../src/hub/hub.js';
import type { HubSettings } from '../../src/hub/settings.js';
import { MemoryLedger } from '../../src/ledger/memory-ledger.js';
import { cliPath, ensureBuilt } from '../helpers/hub-process.js';
import { MemoryBroker } from '../helpers/memory-broker.js';

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length > 0) await rm(dirs.pop()!, { recursive: true, force: true });
});
const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'farthing-config-'));
  dirs.push(dir);
  return dir;
};

const hubWith = (settings: Partial<HubSettings>): Hub =>
  new Hub({
    keyPair: generateKeyPair(),
    ledger: new MemoryLedger(),
    broker: new MemoryBroker().link(),
    settings,
  });

describe('hub settings', () => {
  it('the defaults and sensible variants pass', () => {
    expect(() => hubWith({})).not.toThrow();
    expect(() =>
      hubWith({
        assets: ['USD', 'EUR', 'KWH2'],
        feeBasisPoints: 0,
        payees: ['acme-energy', 'b_2'],
        settleThresholdBaseUnits: 0n,
        minLifetimeS: 60,
        maxLifetimeS: 60,
        payoutThresholdBaseUnits: 1n,
      }),
    ).not.toThrow();
  });

  const bad: [Partial<HubSettings>, RegExp][] = [
    [{ assets: [] }, /at least one asset/],
    [{ assets: ['usd'] }, /asset "usd"/],
    [{ assets: ['USD', 'USD'] }, /listed twice/],
    [{ payees: ['acme energy'] }, /payee id "acme energy"/],
    [{ payoutRail: 'bad rail' }, /payout rail "bad rail"/],
    [{ feeBasisPoints: 10_001 }, /basis points/],
    [{ feeBasisPoints: 2.5 }, /basis points/],
    [{ minLifetimeS: 1000, maxLifetimeS: 10 }, /shortest lifetime \(1000 s\) is above/],
    [{ groupCommitIntervalMs: 0 }, /groupCommitIntervalMs/],
    [{ maxPendingVerifications: Number.NaN }, /maxPendingVerifications/],
    [{ minCapacityBaseUnits: 0n }, /minCapacityBaseUnits/],
    [{ minCapacityBaseUnits: 10n, maxCapacityBaseUnits: 5n }, /smallest capacity/],
    [{ autoFundBaseUnits: 0n }, /autoFundBaseUnits/],
    [{ payoutThresholdBaseUnits: 2n ** 64n }, /payoutThresholdBaseUnits/],
    [{ settleThresholdBaseUnits: -1n }, /settleThresholdBaseUnits/],
  ];
  it.each(bad)('refuses %o with CONFIG_INVALID', (settings, message) => {
    let error: unknown;
    try {
      hubWith(settings);
    } catch (e) {
      error = e;
    }
    expect(isFarthingError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});

describe('starting a hub process', () => {
  const start = (dataDir: string, settings: Partial<HubSettings> = {}) =>
    startHubProcess({
      dataDir,
      listen: { host: '127.0.0.1', port: 0 },
      settings,
      logger: pino({ level: 'silent' }),
    });

  it('refuses bad settings before the data directory is created', async () => {
    const dataDir = join(await tempDir(), 'data');
    const error = await start(dataDir, { payoutRail: 'bad rail' }).catch((e: unknown) => e);
    expect(isFarthingError(error, 'CONFIG_INVALID')).toBe(true);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses a payees.json that is not JSON, is an array or names a bad id, and then starts once it is mended', async () => {
    const dataDir = await tempDir();
    for (const text of [
      '{"payee-1": "secret",}',
      '["s3cret"]',
      '{"bad id": "secret"}',
      '{"p": 7}',
    ]) {
      await writeFile(join(dataDir, 'payees.json'), text);
      const error = await start(dataDir).catch((e: unknown) => e);
      expect(isFarthingError(error, 'CONFIG_INVALID'), text).toBe(true);
      expect((error as Error).message, text).toContain('payees.json');
    }
    await writeFile(join(dataDir, 'payees.json'), '{"payee-1": "secret"}');
    const running = await start(dataDir);
    await running.stop();
  });
});

describe('farthing hub', () => {
  beforeAll(() => ensureBuilt());

  it('exits 2 with CONFIG_INVALID for settings no request could meet', async () => {
    const dataDir = join(await tempDir(), 'data');
    const result = spawnSync(
      process.execPath,
      [cliPath, 'hub', '--data', dataDir, '--listen', '127.0.0.1:0', '--no-admin'].concat([
        '--min-lifetime-s',
        '1000',
        '--max-lifetime-s',
        '10',
      ]),
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('CONFIG_INVALID');
    expect(result.stderr).toContain('shortest lifetime');
    expect(existsSync(dataDir)).toBe(false);
  });
});
