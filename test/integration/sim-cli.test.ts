import { cliPath, ensureBuilt, repoRoot } from '../helpers/hub-process.js';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubProcess, type RunningHub } from '../../src/cli/run-hub.js';
import type { HubSettings } from '../../src/hub/settings.js';

const ROOT = repoRoot;
const MAIN = cliPath;

function runSim(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'sim', '--no-progress', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const hubs: { hub: RunningHub; dir: string }[] = [];

async function hubWith(settings: Partial<HubSettings>): Promise<RunningHub> {
  const dir = await mkdtemp(join(tmpdir(), 'farthing-sim-cli-'));
  const hub = await startHubProcess({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    settings: { settleIntervalMs: 200, ...settings },
    logger: pino({ level: 'silent' }),
  });
  hubs.push({ hub, dir });
  return hub;
}

beforeAll(ensureBuilt);

afterAll(async () => {
  for (const { hub, dir } of hubs) {
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

describe('farthing sim (the built binary)', () => {
  it('exits 0 with one JSON object when everything reconciles', async () => {
    const hub = await hubWith({ autoFundBaseUnits: 10n ** 11n });
    const run = await runSim([
      ...['--broker', hub.brokerUrl, '--hub', hub.hubId],
      ...['--devices', '4', '--rate', '10', '--duration', '1', '--price', '3/2', '--close'],
      ...['--misbehave', 'forged-signature', 'overspend', '--json'],
    ]);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as {
      devices: number;
      channelsOpened: number;
      channelsClosed: number;
      vouchersAcked: number;
      vouchersSent: number;
      reconciled: boolean;
      misbehaviour: { mode: string; observed: string; ok: boolean }[];
      totals: { sentBaseUnits: string; receiptedBaseUnits: string };
    };
    expect(summary.devices).toBe(4);
    expect(summary.channelsOpened).toBe(6);
    expect(summary.channelsClosed).toBe(6);
    expect(summary.vouchersAcked).toBe(summary.vouchersSent);
    expect(summary.reconciled).toBe(true);
    expect(summary.misbehaviour.map((m) => [m.mode, m.observed])).toEqual([
      ['forged-signature', 'SIGNATURE_INVALID'],
      ['overspend', 'AMOUNT_EXCEEDS_CAPACITY'],
    ]);
    expect(summary.totals.receiptedBaseUnits).toBe(summary.totals.sentBaseUnits);
    expect(summary.totals.sentBaseUnits).toMatch(/^[1-9]\d*$/);
    expect(hub.hub.table.size).toBe(0);
  });

  it('exits 1 when honest devices are refused (top-ups beyond their funds)', async () => {
    // Enough for the first escrow, not for a second one: the first top-up is refused.
    const hub = await hubWith({ autoFundBaseUnits: 15_000_000n });
    const run = await runSim([
      ...['--broker', hub.brokerUrl, '--hub', hub.hubId],
      ...['--devices', '2', '--rate', '20', '--duration', '1', '--capacity', '10000000'],
      ...['--scenario', 'smart-meter', '--close'],
    ]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/INSUFFICIENT_FUNDS/);
    expect(run.stdout).toMatch(/NOT reconciled/);
  });

  it('exits 2 with the error code when the hub cannot be reached or funds are missing', async () => {
    const hub = await hubWith({});
    const unreachable = await runSim(['--broker', 'mqtt://127.0.0.1:1', '--hub', hub.hubId]);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/BROKER_UNREACHABLE/);
    const unfunded = await runSim([
      '--broker',
      hub.brokerUrl,
      '--hub',
      hub.hubId,
      '--devices',
      '1',
    ]);
    expect(unfunded.code).toBe(2);
    expect(unfunded.stderr).toMatch(/REQUEST_REFUSED: open refused: INSUFFICIENT_FUNDS/);
    expect(unfunded.stderr).toMatch(/--auto-fund/);
    const usage = await runSim(['--broker', hub.brokerUrl, '--hub', 'not-a-key']);
    expect(usage.code).toBe(2);
  });
});
