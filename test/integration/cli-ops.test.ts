/**
 * The operator CLI (`farthing status`, `channels …`, `settle`, `accounts`, `transfers`,
 * `deposit`, `payouts`) as the real built binary, against a real hub with its admin API:
 * table output, --json output and exit statuses (0 ok, 1 refused, 2 usage, 3 unreachable or
 * unauthorized).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceChannel } from '../../src/device/device-channel.js';
import { depositTransferId } from '../../src/hub/ids.js';
import { startAdminHub, type AdminHub, type TestDevice } from '../helpers/admin-hub.js';
import { cliPath, ensureBuilt } from '../helpers/hub-process.js';
import { freePort } from '../helpers/ports.js';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const base = { ...process.env };
  delete base.FARTHING_ADMIN_URL;
  delete base.FARTHING_ADMIN_TOKEN;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let hub: AdminHub;
let conn: string[];
let d: TestDevice;
let channel: DeviceChannel;
let other: DeviceChannel;

beforeAll(async () => {
  ensureBuilt();
  hub = await startAdminHub({
    settleIntervalMs: 600_000,
    expiryCheckIntervalMs: 600_000,
    payoutThresholdBaseUnits: 100n,
  });
  conn = ['--admin', hub.url, '--data', hub.dir];
  d = await hub.newDevice();
  const open = (payeeId: string) =>
    d.device.open({
      payeeId,
      asset: 'USD',
      capacityBaseUnits: 50_000n,
      lifetimeS: 600,
      price: { baseUnits: 1n, perUnits: 1n },
    });
  channel = await open('payee-cli');
  other = await open('payee-other');
  for (let i = 0; i < 10; i++) await channel.payBaseUnits(123n);
  await other.payBaseUnits(5n);
  await channel.whenAcked();
  await other.whenAcked();
});

afterAll(async () => {
  await hub?.stop();
});

describe('reading', () => {
  it('farthing status: a table, or a JSON object', async () => {
    const [table, json, viaEnv] = await Promise.all([
      cli(['status', ...conn]),
      cli(['status', '--json', ...conn]),
      cli(['status', '--json'], { FARTHING_ADMIN_URL: hub.url, FARTHING_ADMIN_TOKEN: hub.token }),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('hub id');
    expect(table.stdout).toContain(hub.running.hubId);
    expect(table.stdout).toMatch(/open channels\s+│ 2/);
    expect(table.stdout).toContain('auto-fund');
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout);
    expect(status).toMatchObject({ hubId: hub.running.hubId, openChannels: 2, running: true });
    expect(status.escrowOutstanding).toBe('100000');
    expect(JSON.parse(viaEnv.stdout).hubId).toBe(hub.running.hubId);
  });

  it('farthing channels list: table with headers, JSON array, filters and pages', async () => {
    const [table, json, closed, page, jsonPage, all] = await Promise.all([
      cli(['channels', 'list', ...conn]),
      cli(['channels', 'list', '--json', '--payee', 'payee-cli', ...conn]),
      cli(['channels', 'list', '--json', '--status', 'closed', ...conn]),
      cli(['channels', 'list', '--limit', '1', ...conn]),
      cli(['channels', 'list', '--json', '--limit', '1', ...conn]),
      cli(['channels', 'list', '--json', '--limit', '1', '--all', '--device', d.deviceId, ...conn]),
    ]);
    expect(table.code).toBe(0);
    for (const header of [
      'channel',
      'device',
      'payee',
      'status',
      'capacity',
      'amount',
      'settled',
      'expires',
    ])
      expect(table.stdout).toContain(header);
    expect(table.stdout).toContain(channel.channelIdHex);
    expect(table.stdout).toContain('2 channels');
    const items = JSON.parse(json.stdout);
    expect(Array.isArray(items)).toBe(true);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      channelId: channel.channelIdHex,
      status: 'open',
      amount: '1230',
      acceptedAmount: '1230',
      capacity: '50000',
    });
    expect(JSON.parse(closed.stdout)).toEqual([]);
    expect(page.stdout).toMatch(/more: farthing channels list --after [0-9a-f]{32}/);
    // With --json, stdout stays one JSON array; the next page's cursor goes to stderr.
    expect(JSON.parse(jsonPage.stdout)).toHaveLength(1);
    expect(jsonPage.stderr).toMatch(/^next: [0-9a-f]{32}\n$/);
    expect(JSON.parse(all.stdout)).toHaveLength(2);
  });

  it('farthing channels show: the channel, its voucher and transfers', async () => {
    const [table, json] = await Promise.all([
      cli(['channels', 'show', channel.channelIdHex, ...conn]),
      cli(['channels', 'show', channel.channelIdHex, '--json', ...conn]),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`channel ${channel.channelIdHex}`);
    expect(table.stdout).toMatch(/durable amount\s+│ 1230/);
    expect(table.stdout).toContain('Escrow');
    const detail = JSON.parse(json.stdout);
    expect(detail.channel.channelId).toBe(channel.channelIdHex);
    expect(detail.voucher).toMatchObject({ seq: 10, amount: '1230' });
    expect(detail.voucher.bytes).toMatch(/^[0-9a-f]+$/);
  });

  it('farthing accounts: balances as decimal strings summing to 0', async () => {
    const [table, json, devices] = await Promise.all([
      cli(['accounts', ...conn]),
      cli(['accounts', '--json', ...conn]),
      cli(['accounts', '--json', '--prefix', 'device/', '--asset', 'USD', ...conn]),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('account');
    expect(table.stdout).toContain('balance');
    expect(table.stdout).toContain(`device/${d.deviceId}`);
    expect(table.stdout).toContain('sum USD over all accounts (must be 0): 0');
    const balances = JSON.parse(json.stdout) as {
      account: string;
      asset: string;
      balance: string;
    }[];
    expect(Array.isArray(balances)).toBe(true);
    let sum = 0n;
    for (const b of balances) {
      expect(typeof b.account).toBe('string');
      expect(b.balance).toMatch(/^-?\d+$/);
      sum += BigInt(b.balance);
    }
    expect(sum).toBe(0n);
    expect(balances.find((b) => b.account === `channel/${channel.channelIdHex}`)?.balance).toBe(
      '50000',
    );
    expect(
      (JSON.parse(devices.stdout) as { account: string }[]).every((b) =>
        b.account.startsWith('device/'),
      ),
    ).toBe(true);
  });

  it('farthing transfers: an account history', async () => {
    const [table, json, paged, jsonPaged] = await Promise.all([
      cli(['transfers', `device/${d.deviceId}`, ...conn]),
      cli(['transfers', `device/${d.deviceId}`, '--json', ...conn]),
      cli(['transfers', `device/${d.deviceId}`, '--limit', '1', ...conn]),
      cli(['transfers', `device/${d.deviceId}`, '--json', '--limit', '1', ...conn]),
    ]);
    expect(table.code).toBe(0);
    for (const header of ['seq', 'time', 'code', 'counterparty', 'amount'])
      expect(table.stdout).toContain(header);
    expect(table.stdout).toContain('Deposit');
    expect(table.stdout).toContain('external/faucet');
    const items = JSON.parse(json.stdout);
    expect(items.map((t: { code: string }) => t.code)).toEqual(['Deposit', 'Escrow', 'Escrow']);
    expect(paged.stdout).toMatch(/more: farthing transfers device\/\S+ --after \d+/);
    const [first] = JSON.parse(jsonPaged.stdout);
    expect(jsonPaged.stderr).toBe(`next: ${first.sequence}\n`);
  });
});

describe('changing', () => {
  it('farthing settle, then farthing payouts', async () => {
    const [table] = await Promise.all([cli(['settle', ...conn])]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/channels\s+│ 2/);
    expect(table.stdout).toMatch(/moved\s+│ 1235/);
    const json = await cli(['settle', '--json', ...conn]);
    expect(JSON.parse(json.stdout)).toMatchObject({ channels: 0, moved: '0', batches: 0 });
    const [payouts, payoutsJson] = await Promise.all([
      cli(['payouts', ...conn]),
      cli(['payouts', '--json', ...conn]),
    ]);
    expect(payouts.code).toBe(0);
    expect(payouts.stdout).toContain('payee');
    expect(payouts.stdout).toContain('payee-cli');
    const list = JSON.parse(payoutsJson.stdout);
    expect(list).toEqual([expect.objectContaining({ payee: 'payee-cli', asset: 'USD' })]);
  });

  it('farthing deposit: applied, idempotent by --id, refused when malformed', async () => {
    const id = 'ab'.repeat(16);
    const first = await cli([
      'deposit',
      'ops-device',
      '5000',
      '--id',
      id,
      '--reference',
      'cli test',
      ...conn,
    ]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('deposit applied');
    expect(first.stdout).toContain('device/ops-device');
    expect(first.stdout).toContain(depositTransferId(id));
    const again = await cli([
      'deposit',
      'ops-device',
      '5000',
      '--id',
      id,
      '--reference',
      'cli test',
      '--json',
      ...conn,
    ]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      id,
      applied: false,
      balance: '5000',
      amount: '5000',
    });
    const [decimal, negative, huge, conflict] = await Promise.all([
      cli(['deposit', 'ops-device', '1.5', ...conn]),
      cli(['deposit', ...conn, 'ops-device', '--', '-5']),
      cli(['deposit', 'ops-device', '18446744073709551616', ...conn]),
      cli(['deposit', 'ops-device', '7', '--id', id, ...conn]),
    ]);
    for (const r of [decimal, negative, huge]) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('ADMIN_BAD_REQUEST');
    }
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('ADMIN_CONFLICT');
  });

  it('farthing channels close / close-expired', async () => {
    const close = await cli(['channels', 'close', other.channelIdHex, ...conn]);
    expect(close.code).toBe(0);
    expect(close.stdout).toContain(`closed ${other.channelIdHex}`);
    expect(close.stdout).toMatch(/reason\s+│ operator/);
    expect(close.stdout).toMatch(/refunded\s+│ 49995/);
    const again = await cli(['channels', 'close', other.channelIdHex, '--json', ...conn]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain('ADMIN_CONFLICT');
    expect(again.stderr).toContain('already closed');
    const [expired, expiredJson] = await Promise.all([
      cli(['channels', 'close-expired', ...conn]),
      cli(['channels', 'close-expired', '--json', ...conn]),
    ]);
    expect(expired.stdout).toContain('closed 0 expired channels');
    expect(JSON.parse(expiredJson.stdout)).toEqual({ closed: 0 });
  });
});

describe('a deposit whose answer is lost', () => {
  it('says which --id repeats it at most once', async () => {
    const port = await freePort();
    const lost = await cli([
      'deposit',
      'ops-retry',
      '70',
      '--admin',
      `http://127.0.0.1:${port}`,
      '--token',
      'x'.repeat(43),
    ]);
    expect(lost.code).toBe(3);
    expect(lost.stderr).toContain('may or may not have been applied');
    const id = /--id ([0-9a-f]{32})/.exec(lost.stderr)?.[1];
    expect(id).toBeDefined();
    const retried = await cli(['deposit', 'ops-retry', '70', '--id', id!, '--json', ...conn]);
    expect(JSON.parse(retried.stdout)).toMatchObject({ id, applied: true, balance: '70' });
    const again = await cli(['deposit', 'ops-retry', '70', '--id', id!, '--json', ...conn]);
    expect(JSON.parse(again.stdout)).toMatchObject({ id, applied: false, balance: '70' });
  });
});

describe('exit statuses', () => {
  it('1 when the hub refuses: unknown channel or account, malformed id', async () => {
    const [unknown, malformed, account] = await Promise.all([
      cli(['channels', 'show', 'ab'.repeat(16), ...conn]),
      cli(['channels', 'close', 'not-an-id', ...conn]),
      cli(['transfers', 'device/nobody', ...conn]),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/ADMIN_NOT_FOUND: no channel/);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('ADMIN_BAD_REQUEST');
    expect(account.code).toBe(1);
    expect(account.stderr).toContain('ADMIN_NOT_FOUND');
  });

  it('2 on usage errors, 0 for --help', async () => {
    const [noToken, badLimit, badStatus, missingArg, noSub, help, badUrl] = await Promise.all([
      cli(['status', '--admin', hub.url]),
      cli(['channels', 'list', '--limit', '0', ...conn]),
      cli(['channels', 'list', '--status', 'pending', ...conn]),
      cli(['deposit', 'only-device', ...conn]),
      cli(['channels']),
      cli(['channels', 'list', '--help']),
      cli(['status', '--admin', 'not a url', '--token', 'x']),
    ]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('no admin token');
    expect(badLimit.code).toBe(2);
    expect(badStatus.code).toBe(2);
    expect(missingArg.code).toBe(2);
    expect(noSub.code).toBe(2);
    expect(badUrl.code).toBe(2);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit status');
    expect(help.stdout).toContain('--json');
  });

  it('2 on usage errors outside the operator commands too', async () => {
    const [unknownCommand, noCommand, badHubFlag, keygenNoOut, version] = await Promise.all([
      cli(['nosuch']),
      cli([]),
      cli(['hub', '--data', '/nonexistent/farthing-usage-test', '--bogus']),
      cli(['keygen']),
      cli(['--version']),
    ]);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain("unknown command 'nosuch'");
    expect(noCommand.code).toBe(2);
    expect(badHubFlag.code).toBe(2);
    expect(badHubFlag.stderr).toContain("unknown option '--bogus'");
    expect(keygenNoOut.code).toBe(2);
    expect(keygenNoOut.stderr).toContain('--out');
    expect(version.code).toBe(0);
  });

  it('3 when the hub cannot be reached or refuses the token', async () => {
    const port = await freePort();
    const [unreachable, wrongToken] = await Promise.all([
      cli(['status', '--admin', `http://127.0.0.1:${port}`, '--token', 'x'.repeat(43)]),
      cli(['channels', 'list', '--admin', hub.url, '--token', 'y'.repeat(43)]),
    ]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('ADMIN_UNREACHABLE');
    expect(unreachable.stderr).toContain('ECONNREFUSED');
    expect(wrongToken.code).toBe(3);
    expect(wrongToken.stderr).toContain('ADMIN_UNAUTHORIZED');
  });
});
