import { cliPath, ensureBuilt, repoRoot } from '../helpers/hub-process.js';
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = repoRoot;
const MAIN = cliPath;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runCli(args: string[], timeoutMs = 25_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

beforeAll(ensureBuilt);

interface DemoJson {
  devices: number;
  devicesConnected: number;
  channelsOpened: number;
  channelsClosed: number;
  vouchersSent: number;
  vouchersAcked: number;
  refusedByStatus: Record<string, number>;
  throughputPerS: number;
  latencyMs: { p50: number; p95: number; p99: number; samples: number };
  misbehaviour: { mode: string; ok: boolean }[];
  totals: Record<string, string | number>;
  reconciled: boolean;
  fleetReconciled: boolean;
  hub: { payouts: number; refusedByStatus: Record<string, number> };
  ledger: {
    balancesByKind: Record<'device' | 'channel' | 'payee' | 'hub' | 'external', string>;
    sumBaseUnits: string;
    external: Record<string, string>;
  };
  ledgerChecks: { name: string; ok: boolean; detail: string }[];
}

describe('farthing demo (the built binary)', () => {
  it('runs hub + fleet + close + settlement and prints one reconciled JSON object', async () => {
    const run = await runCli(['demo', '--json', '--devices', '10', '--duration', '3']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.ms).toBeLessThan(20_000);
    // stdout is exactly one JSON object (progress went to stderr).
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const demo = JSON.parse(lines[0]!) as DemoJson;
    expect(demo.reconciled).toBe(true);
    expect(demo.fleetReconciled).toBe(true);
    expect(demo.devices).toBe(10);
    expect(demo.devicesConnected).toBe(10);
    // Ten honest channels, plus the misbehaving devices' ones, all closed.
    expect(demo.channelsOpened).toBeGreaterThan(10);
    expect(demo.channelsClosed).toBe(demo.channelsOpened);
    expect(demo.vouchersSent).toBeGreaterThan(50);
    expect(demo.vouchersAcked).toBe(demo.vouchersSent);
    expect(demo.refusedByStatus).toEqual({});
    expect(demo.throughputPerS).toBeGreaterThan(0);
    expect(demo.latencyMs.p50).toBeGreaterThan(0);
    expect(demo.latencyMs.p50).toBeLessThanOrEqual(demo.latencyMs.p95);
    expect(demo.latencyMs.p95).toBeLessThanOrEqual(demo.latencyMs.p99);
    expect(demo.misbehaviour.length).toBe(5);
    expect(demo.misbehaviour.every((m) => m.ok)).toBe(true);
    // The hub refused exactly what the misbehaving devices sent.
    expect(Object.keys(demo.hub.refusedByStatus).sort()).toEqual([
      'AMOUNT_EXCEEDS_CAPACITY',
      'CHANNEL_CLOSED',
      'SIGNATURE_INVALID',
    ]);
    // Amounts are decimal strings; the ledger agrees with the receipts.
    const k = demo.ledger.balancesByKind;
    for (const value of Object.values(k)) expect(value).toMatch(/^-?\d+$/);
    expect(k.channel).toBe('0');
    expect(demo.ledger.sumBaseUnits).toBe('0');
    expect(
      BigInt(k.device) + BigInt(k.channel) + BigInt(k.payee) + BigInt(k.hub) + BigInt(k.external),
    ).toBe(0n);
    expect(BigInt(k.payee) + BigInt(demo.ledger.external['payouts'] ?? '0') + BigInt(k.hub)).toBe(
      BigInt(demo.totals.closedAmountBaseUnits as string),
    );
    expect(demo.hub.payouts).toBeGreaterThan(0);
    expect(demo.ledgerChecks.length).toBeGreaterThan(5);
    expect(demo.ledgerChecks.every((c) => c.ok)).toBe(true);
  });

  it('exits 2 on a usage error', async () => {
    const run = await runCli(['demo', '--devices', 'many']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/not a positive whole number/);
  });
});
