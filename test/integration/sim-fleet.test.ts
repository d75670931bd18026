import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetPassed, runFleet } from '../../device-sim/fleet.js';
import type { FleetProgress } from '../../device-sim/progress.js';
import { toJson } from '../../device-sim/stats.js';
import { startHubProcess, type RunningHub } from '../../src/cli/run-hub.js';

let dir: string;
let running: RunningHub;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'farthing-sim-fleet-'));
  running = await startHubProcess({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    settings: { autoFundBaseUnits: 10n ** 12n, settleIntervalMs: 200, feeBasisPoints: 100 },
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await running?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('runFleet against a real hub (embedded broker)', () => {
  it('streams a mixed fleet for 2 s, tops up, closes and reconciles every channel', async () => {
    const progress: FleetProgress[] = [];
    const summary = await runFleet({
      brokerUrl: running.brokerUrl,
      hubKey: running.hubKey,
      devices: 6,
      ratePerDevice: 20,
      durationS: 2,
      scenario: 'mixed',
      // Small channels, so that they fill and top up during the run.
      capacityBaseUnits: 50_000_000n,
      closeAtEnd: true,
      onProgress: (p) => progress.push(p),
      progressIntervalMs: 200,
    });
    expect(summary.reconciled, summary.mismatches.join('\n')).toBe(true);
    expect(fleetPassed(summary)).toBe(true);
    expect(summary.refusedByStatus).toEqual({});
    expect(summary.devices).toBe(6);
    expect(summary.devicesConnected).toBe(6);
    expect(summary.scenarios).toEqual({ 'smart-meter': 2, 'ev-charger': 2, 'sensor-uplink': 2 });
    expect(summary.channelsOpened).toBe(6);
    expect(summary.channelsClosed).toBe(6);
    expect(summary.topUps).toBeGreaterThan(0);
    expect(summary.vouchersSent).toBeGreaterThan(100);
    expect(summary.vouchersAcked).toBe(summary.vouchersSent);
    expect(summary.throughputPerS).toBeGreaterThan(0);
    expect(summary.latencyMs.samples).toBe(summary.vouchersAcked);
    expect(summary.latencyMs.p50).toBeLessThanOrEqual(summary.latencyMs.p95);
    expect(summary.latencyMs.p95).toBeLessThanOrEqual(summary.latencyMs.p99);
    const t = summary.totals;
    expect(t.receiptedBaseUnits).toBe(t.sentBaseUnits);
    expect(t.ackedBaseUnits).toBe(t.sentBaseUnits);
    expect(t.closedAmountBaseUnits).toBe(t.sentBaseUnits);
    expect(t.closedPayeeBaseUnits + t.closedFeeBaseUnits).toBe(t.closedAmountBaseUnits);
    expect(t.closedAmountBaseUnits + t.closedRefundBaseUnits).toBe(t.capacityBaseUnits);
    expect(t.capacityBaseUnits).toBeGreaterThan(6n * 50_000_000n);
    expect(running.hub.table.size).toBe(0);
    expect(progress.some((p) => p.phase === 'streaming' && p.vouchersSent > 0)).toBe(true);
    expect(progress.at(-1)?.phase).toBe('done');
    // Amounts are decimal strings in JSON.
    const json = JSON.parse(toJson(summary)) as { totals: { sentBaseUnits: unknown } };
    expect(json.totals.sentBaseUnits).toBe(t.sentBaseUnits.toString());
  });

  it('leaves channels open without closeAtEnd, on the noble signing path, and still reconciles', async () => {
    const summary = await runFleet({
      brokerUrl: running.brokerUrl,
      hubKey: running.hubKey,
      devices: 3,
      ratePerDevice: 10,
      durationS: 1,
      scenario: 'smart-meter',
      price: { baseUnits: 3n, perUnits: 2n },
      payeeId: 'payee-sim',
      cryptoPath: 'noble',
      seed: 7,
    });
    expect(summary.reconciled, summary.mismatches.join('\n')).toBe(true);
    expect(summary.channelsOpened).toBe(3);
    expect(summary.channelsClosed).toBe(0);
    expect(summary.totals.receiptedBaseUnits).toBe(summary.totals.sentBaseUnits);
    expect(summary.totals.closedChannels).toBe(0);
    expect(running.hub.table.size).toBe(3);
  });

  it('rejects misuse with RangeError before connecting anything', async () => {
    const base = { brokerUrl: running.brokerUrl, hubKey: running.hubKey, durationS: 1 };
    await expect(runFleet({ ...base, devices: 1, ratePerDevice: 0 })).rejects.toThrow(RangeError);
    await expect(
      runFleet({ ...base, devices: 1, ratePerDevice: 1, scenario: ['nope' as 'smart-meter'] }),
    ).rejects.toThrow(RangeError);
  });

  it('fails with BROKER_UNREACHABLE when nothing listens at the broker address', async () => {
    await expect(
      runFleet({
        brokerUrl: 'mqtt://127.0.0.1:1',
        hubKey: running.hubKey,
        devices: 1,
        ratePerDevice: 1,
        durationS: 1,
      }),
    ).rejects.toMatchObject({ code: 'BROKER_UNREACHABLE' });
  });
});
