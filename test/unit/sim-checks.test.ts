/**
 * The simulator's own checks must be able to fail: a hub that escrows a capacity the device never
 * asked for is caught, and a pool of work that fails stops starting items and waits for the
 * started ones before it throws.
 */
import { describe, expect, it } from 'vitest';
import { fleetPassed, type FleetSummary } from '../../device-sim/fleet.js';
import { ChannelTotals, checkCloseReceipt, checkReceipt } from '../../device-sim/reconcile.js';
import { mapPool, sleep } from '../../device-sim/timing.js';
import type { DeviceChannel } from '../../src/device/index.js';
import {
  CloseReason,
  MessageType,
  type CloseReceipt,
  type Receipt,
} from '../../src/protocol/index.js';

/** A device's channel as the SDK leaves it: its capacity follows the hub's Receipts. */
const channel = {
  channelIdHex: 'ab'.repeat(16),
  seq: 7,
  amountBaseUnits: 700n,
  ackedAmountBaseUnits: 700n,
  capacityBaseUnits: 1_581n,
  feeBasisPoints: 0,
} as unknown as DeviceChannel;
const channelId = Buffer.from('ab'.repeat(16), 'hex');
const receipt = (capacityBaseUnits: bigint): Receipt => ({
  type: MessageType.Receipt,
  channelId,
  seq: 7,
  amountBaseUnits: 700n,
  capacityBaseUnits,
});
const closeReceipt = (refundBaseUnits: bigint): CloseReceipt => ({
  type: MessageType.CloseReceipt,
  channelId,
  seq: 7,
  amountBaseUnits: 700n,
  payeeBaseUnits: 700n,
  feeBaseUnits: 0n,
  refundBaseUnits,
  reason: CloseReason.Cooperative,
});

describe('capacity checks', () => {
  const asked = new Set([1_000n, 1_381n]); // opened at 1 000, one top-up to 1 381

  it('pass a capacity the device asked for', () => {
    const found: string[] = [];
    const at1381 = { ...channel, capacityBaseUnits: 1_381n } as DeviceChannel;
    checkReceipt('d', at1381, receipt(1_381n), new ChannelTotals(), (t) => found.push(t), asked);
    checkCloseReceipt(
      'd',
      at1381,
      closeReceipt(681n),
      new ChannelTotals(),
      (t) => found.push(t),
      asked,
    );
    expect(found).toEqual([]);
  });

  it('catch a hub that escrowed more than the device asked for, though the SDK agrees with it', () => {
    const found: string[] = [];
    checkReceipt('d', channel, receipt(1_581n), new ChannelTotals(), (t) => found.push(t), asked);
    checkCloseReceipt(
      'd',
      channel,
      closeReceipt(881n),
      new ChannelTotals(),
      (t) => found.push(t),
      asked,
    );
    expect(found).toHaveLength(2);
    expect(found[0]).toContain('signed capacity 1581 is none the device asked for');
    expect(found[1]).toContain('amount + refund 1581 is none the device asked for');
  });
});

describe('mapPool', () => {
  it('starts nothing after a failure and throws once the started items are done', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = mapPool([0, 1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      started.push(item);
      if (item === 1) throw new Error('item 1 failed');
      await sleep(item === 2 ? 30 : 5);
      finished.push(item);
    });
    await expect(run).rejects.toThrow('item 1 failed');
    // Items 0 and 2 were under way when 1 failed: both finished before the throw.
    expect(finished).toContain(2);
    expect(started.length).toBeLessThan(8);
    const startedThen = started.length;
    await sleep(50);
    expect(started.length).toBe(startedThen);
  });

  it('returns results in input order', async () => {
    expect(await mapPool([3, 1, 2], 2, async (n) => (await sleep(n), n * 10))).toEqual([
      30, 10, 20,
    ]);
  });
});

describe('fleetPassed', () => {
  const summary = (errorCount: number): FleetSummary =>
    ({
      reconciled: true,
      errorCount,
      refusedByStatus: {},
      misbehaviour: [],
    }) as unknown as FleetSummary;
  it('fails a run in which an honest device met an error, though everything reconciled', () => {
    expect(fleetPassed(summary(0))).toBe(true);
    expect(fleetPassed(summary(1))).toBe(false);
  });
});
