import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkClose,
  checkTopUp,
  checkVoucher,
  type ChannelState,
  type Verdict,
} from '../../src/channel/index.js';
import { CloseReason } from '../../src/protocol/index.js';

const deviceKey = new Uint8Array(32).fill(0xd7);
const strangerKey = new Uint8Array(32).fill(0x57);
const EXPIRES = 1_000_000;

function openChannel(capacityBaseUnits: bigint): ChannelState {
  return {
    channelId: new Uint8Array(16),
    deviceKey,
    payeeId: 'p',
    asset: 'USD',
    capacityBaseUnits,
    expiresAtUnixS: EXPIRES,
    seq: 0,
    amountBaseUnits: 0n,
    status: 'open',
    closeReason: undefined,
  };
}

interface SignedVoucher {
  seq: number;
  amountBaseUnits: bigint;
}

/** An honest device's vouchers: seq strictly up, cumulative amount never down, within capacity. */
const honestRun = fc
  .record({
    capacity: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
    steps: fc.array(
      fc.record({
        seqGap: fc.integer({ min: 1, max: 1000 }),
        share: fc.integer({ min: 0, max: 100 }),
      }),
      { minLength: 1, maxLength: 40 },
    ),
  })
  .map(({ capacity, steps }) => {
    const totalShare = BigInt(steps.reduce((sum, s) => sum + s.share, 0) || 1);
    let seq = 0;
    let cumulativeShare = 0n;
    const vouchers: SignedVoucher[] = steps.map(({ seqGap, share }) => {
      seq += seqGap;
      cumulativeShare += BigInt(share);
      return { seq, amountBaseUnits: (capacity * cumulativeShare) / totalShare };
    });
    return { capacity, vouchers };
  });

describe('honest vouchers delivered with duplicates, drops and reordering', () => {
  it('the state ends at the highest seq delivered, and no honest voucher is refused', () => {
    fc.assert(
      fc.property(
        honestRun.chain(({ capacity, vouchers }) =>
          fc.record({
            capacity: fc.constant(capacity),
            vouchers: fc.constant(vouchers),
            // Indices with repetition (duplicates), omissions (drops), in any order.
            delivery: fc.array(fc.nat(vouchers.length - 1), { maxLength: vouchers.length * 3 }),
          }),
        ),
        fc.integer({ min: 0, max: EXPIRES - 1 }),
        ({ capacity, vouchers, delivery }, now) => {
          let state = openChannel(capacity);
          for (const index of delivery) {
            const verdict = checkVoucher(state, vouchers[index]!, now);
            expect(verdict.kind).not.toBe('refuse');
            if (verdict.kind === 'accept') state = verdict.state;
            expect(state.amountBaseUnits <= capacity).toBe(true);
          }
          const delivered = delivery.map((i) => vouchers[i]!);
          const newest = delivered.reduce<SignedVoucher | undefined>(
            (best, v) => (best === undefined || v.seq > best.seq ? v : best),
            undefined,
          );
          expect({ seq: state.seq, amountBaseUnits: state.amountBaseUnits }).toEqual(
            newest ?? { seq: 0, amountBaseUnits: 0n },
          );
        },
      ),
      { numRuns: 3_000 },
    );
  });
});

type Event =
  | { e: 'voucher'; seq: number; amountBaseUnits: bigint; stranger: boolean }
  | { e: 'topUp'; capacityBaseUnits: bigint }
  | { e: 'close'; reason: 1 | 2 | 3 }
  | { e: 'tick'; seconds: number };

const smallAmount = fc.oneof(
  fc.bigInt({ min: 0n, max: 3000n }),
  fc.constantFrom(0n, 2n ** 64n - 1n),
);
const event: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      e: fc.constant('voucher' as const),
      seq: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constantFrom(2 ** 32 - 1)),
      amountBaseUnits: smallAmount,
      stranger: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ e: fc.constant('topUp' as const), capacityBaseUnits: smallAmount }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      e: fc.constant('close' as const),
      reason: fc.constantFrom<1 | 2 | 3>(1, 2, 3),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      e: fc.constant('tick' as const),
      seconds: fc.integer({ min: 0, max: 400_000 }),
    }),
  },
);

describe('arbitrary (dishonest) sequences', () => {
  it('accepted amounts stay within capacity and never decrease; accepted seqs strictly increase', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2000n }),
        fc.array(event, { maxLength: 60 }),
        (capacity, events) => {
          let state = openChannel(capacity);
          let now = 0;
          for (const ev of events) {
            const before = state;
            let verdict: Verdict<ChannelState>;
            switch (ev.e) {
              case 'tick':
                now += ev.seconds;
                continue;
              case 'voucher':
                verdict = checkVoucher(state, ev, now, ev.stranger ? strangerKey : deviceKey);
                break;
              case 'topUp':
                verdict = checkTopUp(state, ev, now);
                break;
              case 'close':
                verdict = checkClose(state, ev.reason, now);
                break;
            }
            if (verdict.kind !== 'accept') continue;
            state = verdict.state;
            // Money invariants hold after every accepted step.
            expect(state.amountBaseUnits <= state.capacityBaseUnits).toBe(true);
            expect(state.amountBaseUnits >= before.amountBaseUnits).toBe(true);
            expect(state.capacityBaseUnits >= before.capacityBaseUnits).toBe(true);
            expect(before.status).toBe('open');
            if (ev.e === 'voucher') {
              expect(ev.stranger).toBe(false);
              expect(now).toBeLessThan(EXPIRES);
              expect(state.seq).toBeGreaterThan(before.seq);
              expect(state).toEqual({
                ...before,
                seq: ev.seq,
                amountBaseUnits: ev.amountBaseUnits,
              });
            } else {
              expect(state.seq).toBe(before.seq);
              expect(state.amountBaseUnits).toBe(before.amountBaseUnits);
            }
            if (ev.e === 'close') {
              expect(state.status).toBe('closed');
              if (ev.reason === CloseReason.Expiry) expect(now).toBeGreaterThanOrEqual(EXPIRES);
            }
          }
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
