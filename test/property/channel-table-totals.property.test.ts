import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChannelTable } from '../../src/hub/channel-table.js';

// Amounts up to 2^62 so that a few channels' sums pass 2^64: the totals are bigint, not u64.
const amount = fc.bigInt({ min: 0n, max: 2n ** 62n });
const operation = fc.oneof(
  fc.record({
    op: fc.constant('insert' as const),
    capacity: amount,
    accepted: amount,
    durable: amount,
    settled: amount,
  }),
  fc.record({ op: fc.constant('accept' as const), pick: fc.nat(), amount }),
  fc.record({ op: fc.constant('durable' as const), pick: fc.nat(), seq: fc.nat(100), amount }),
  fc.record({ op: fc.constant('settle' as const), pick: fc.nat(), amount }),
  fc.record({ op: fc.constant('topUp' as const), pick: fc.nat(), amount }),
  fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
);

/** What the totals must equal: a pass over every channel in the table. */
function scan(table: ChannelTable): { escrow: bigint; accepted: bigint; unsettled: bigint } {
  let escrow = 0n;
  let accepted = 0n;
  let unsettled = 0n;
  for (const slot of table.slots()) {
    escrow += table.capacityBaseUnits[slot]! - table.settledAmount[slot]!;
    accepted += table.acceptedAmount[slot]!;
    unsettled += table.durableAmount[slot]! - table.settledAmount[slot]!;
  }
  return { escrow, accepted, unsettled };
}

describe('the channel table running totals (read by stats and metrics instead of a pass)', () => {
  it('equal a pass over the table after any sequence of inserts, marks, top-ups and removals', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const table = new ChannelTable(16);
        const slots: number[] = [];
        let nextId = 0;
        for (const o of operations) {
          if (o.op === 'insert') {
            const channelId = new Uint8Array(16);
            new DataView(channelId.buffer).setUint32(0, nextId++);
            const state = {
              channelId,
              deviceKey: new Uint8Array(32),
              payeeId: 'payee',
              asset: 'USD',
              capacityBaseUnits: o.capacity,
              expiresAtUnixS: 2_000_000_000,
              seq: 1,
              amountBaseUnits: o.accepted,
              status: 'open' as const,
              closeReason: undefined,
            };
            slots.push(table.insert(state, 0, o.settled, 1, o.durable));
            continue;
          }
          if (slots.length === 0) continue;
          const index = o.pick % slots.length;
          const slot = slots[index]!;
          if (o.op === 'accept') table.markAccepted(slot, 2, o.amount);
          if (o.op === 'durable') table.markDurable(slot, o.seq, o.amount);
          if (o.op === 'settle') table.markSettled(slot, o.amount);
          if (o.op === 'topUp') table.setCapacity(slot, o.amount);
          if (o.op === 'remove') {
            table.remove(slot);
            slots.splice(index, 1);
          }
        }
        const expected = scan(table);
        expect(table.escrowOutstandingBaseUnits).toBe(expected.escrow);
        expect(table.acceptedBaseUnits).toBe(expected.accepted);
        expect(table.unsettledBaseUnits).toBe(expected.unsettled);
      }),
      { numRuns: 1000 },
    );
  });
});
