import { describe, expect, it } from 'vitest';
import {
  checkClose,
  checkTopUp,
  checkVoucher,
  isDueForExpiry,
  type ChannelState,
} from '../../src/channel/index.js';
import { CloseReason, Status } from '../../src/protocol/index.js';

const deviceKey = new Uint8Array(32).fill(0xd0);
const otherKey = new Uint8Array(32).fill(0x0e);
const EXPIRES = 2_000_000_000;
const NOW = EXPIRES - 1000;

function channel(patch: Partial<ChannelState> = {}): ChannelState {
  return {
    channelId: new Uint8Array(16).fill(0xc1),
    deviceKey,
    payeeId: 'payee-1',
    asset: 'USD',
    capacityBaseUnits: 1000n,
    expiresAtUnixS: EXPIRES,
    seq: 5,
    amountBaseUnits: 500n,
    status: 'open',
    closeReason: undefined,
    ...patch,
  };
}

const refuse = (status: number) => ({ kind: 'refuse', status });
const voucher = (seq: number, amountBaseUnits: bigint) => ({ seq, amountBaseUnits });

describe('checkVoucher, each refusal in its documented order', () => {
  const closedAndExpired = channel({ status: 'closed', closeReason: CloseReason.Operator });

  it('1. CHANNEL_NOT_OWNED comes before everything, even a closed and expired channel', () => {
    expect(checkVoucher(closedAndExpired, voucher(0, 0n), EXPIRES + 1, otherKey)).toEqual(
      refuse(Status.CHANNEL_NOT_OWNED),
    );
    expect(checkVoucher(channel(), voucher(6, 600n), NOW, otherKey)).toEqual(
      refuse(Status.CHANNEL_NOT_OWNED),
    );
  });

  it('the owner is recognised by key bytes, not by object identity', () => {
    const verdict = checkVoucher(channel(), voucher(6, 600n), NOW, Uint8Array.from(deviceKey));
    expect(verdict.kind).toBe('accept');
  });

  it('2. CHANNEL_CLOSED before CHANNEL_EXPIRED (closed and expired gives CLOSED)', () => {
    expect(checkVoucher(closedAndExpired, voucher(6, 600n), EXPIRES + 1)).toEqual(
      refuse(Status.CHANNEL_CLOSED),
    );
    expect(checkVoucher(closedAndExpired, voucher(0, 0n), NOW)).toEqual(
      refuse(Status.CHANNEL_CLOSED),
    );
    // A closed channel refuses even a duplicate or a stale voucher.
    expect(checkVoucher(closedAndExpired, voucher(5, 500n), NOW)).toEqual(
      refuse(Status.CHANNEL_CLOSED),
    );
    expect(checkVoucher(closedAndExpired, voucher(1, 1n), NOW)).toEqual(
      refuse(Status.CHANNEL_CLOSED),
    );
  });

  it('3. CHANNEL_EXPIRED at and after the expiry second, before any seq check', () => {
    expect(checkVoucher(channel(), voucher(6, 600n), EXPIRES)).toEqual(
      refuse(Status.CHANNEL_EXPIRED),
    );
    expect(checkVoucher(channel(), voucher(0, 0n), EXPIRES + 1)).toEqual(
      refuse(Status.CHANNEL_EXPIRED),
    );
    expect(checkVoucher(channel(), voucher(5, 500n), EXPIRES)).toEqual(
      refuse(Status.CHANNEL_EXPIRED),
    );
    expect(checkVoucher(channel(), voucher(6, 600n), EXPIRES - 1).kind).toBe('accept');
  });

  it('4. seq 0 is SEQ_NOT_INCREASING, even against a fresh 0/0 channel', () => {
    expect(checkVoucher(channel({ seq: 0, amountBaseUnits: 0n }), voucher(0, 0n), NOW)).toEqual(
      refuse(Status.SEQ_NOT_INCREASING),
    );
    expect(checkVoucher(channel(), voucher(0, 900n), NOW)).toEqual(
      refuse(Status.SEQ_NOT_INCREASING),
    );
  });

  it('5. a lower seq is stale (ignored), whatever its amount', () => {
    expect(checkVoucher(channel(), voucher(4, 400n), NOW)).toEqual({ kind: 'stale' });
    expect(checkVoucher(channel(), voucher(1, 5000n), NOW)).toEqual({ kind: 'stale' });
    expect(checkVoucher(channel(), voucher(4, 600n), NOW)).toEqual({ kind: 'stale' });
  });

  it('6. the same seq: same amount is a duplicate, another is SEQ_NOT_INCREASING', () => {
    expect(checkVoucher(channel(), voucher(5, 500n), NOW)).toEqual({ kind: 'duplicate' });
    expect(checkVoucher(channel(), voucher(5, 501n), NOW)).toEqual(
      refuse(Status.SEQ_NOT_INCREASING),
    );
    expect(checkVoucher(channel(), voucher(5, 499n), NOW)).toEqual(
      refuse(Status.SEQ_NOT_INCREASING),
    );
  });

  it('7. AMOUNT_DECREASED before AMOUNT_EXCEEDS_CAPACITY', () => {
    expect(checkVoucher(channel(), voucher(6, 499n), NOW)).toEqual(refuse(Status.AMOUNT_DECREASED));
    // A state above its capacity cannot arise, but it pins the order of the two checks.
    const over = channel({ amountBaseUnits: 1500n });
    expect(checkVoucher(over, voucher(6, 1200n), NOW)).toEqual(refuse(Status.AMOUNT_DECREASED));
  });

  it('8. AMOUNT_EXCEEDS_CAPACITY above the escrow; exactly the capacity is fine', () => {
    expect(checkVoucher(channel(), voucher(6, 1001n), NOW)).toEqual(
      refuse(Status.AMOUNT_EXCEEDS_CAPACITY),
    );
    expect(checkVoucher(channel(), voucher(6, 2n ** 64n - 1n), NOW)).toEqual(
      refuse(Status.AMOUNT_EXCEEDS_CAPACITY),
    );
    expect(checkVoucher(channel(), voucher(6, 1000n), NOW).kind).toBe('accept');
  });

  it('accepts a higher seq with an equal or higher amount, changing only seq and amount', () => {
    const before = channel();
    const frozen = structuredClone(before);
    const verdict = checkVoucher(before, voucher(4_294_967_295, 500n), NOW);
    expect(verdict).toEqual({
      kind: 'accept',
      state: { ...before, seq: 4_294_967_295, amountBaseUnits: 500n },
    });
    expect(before).toEqual(frozen); // the input state is not mutated
  });
});

describe('checkTopUp, in order', () => {
  const top = (capacityBaseUnits: bigint) => ({ capacityBaseUnits });

  it('CHANNEL_NOT_OWNED, then CHANNEL_CLOSED, then CHANNEL_EXPIRED', () => {
    const closed = channel({ status: 'closed', closeReason: CloseReason.Cooperative });
    expect(checkTopUp(closed, top(2000n), EXPIRES + 1, undefined, otherKey)).toEqual(
      refuse(Status.CHANNEL_NOT_OWNED),
    );
    expect(checkTopUp(closed, top(2000n), EXPIRES + 1)).toEqual(refuse(Status.CHANNEL_CLOSED));
    expect(checkTopUp(channel(), top(2000n), EXPIRES)).toEqual(refuse(Status.CHANNEL_EXPIRED));
    // An equal capacity on an expired channel is still EXPIRED, not a duplicate.
    expect(checkTopUp(channel(), top(1000n), EXPIRES)).toEqual(refuse(Status.CHANNEL_EXPIRED));
  });

  it('equal is a duplicate, lower is CAPACITY_NOT_INCREASING, above the cap CAPACITY_INVALID', () => {
    expect(checkTopUp(channel(), top(1000n), NOW)).toEqual({ kind: 'duplicate' });
    expect(checkTopUp(channel(), top(999n), NOW)).toEqual(refuse(Status.CAPACITY_NOT_INCREASING));
    expect(checkTopUp(channel(), top(5001n), NOW, 5000n)).toEqual(refuse(Status.CAPACITY_INVALID));
    // Lower and above the cap: NOT_INCREASING comes first.
    expect(checkTopUp(channel(), top(800n), NOW, 500n)).toEqual(
      refuse(Status.CAPACITY_NOT_INCREASING),
    );
  });

  it('accepts a higher total up to the cap, changing only the capacity', () => {
    expect(checkTopUp(channel(), top(5000n), NOW, 5000n)).toEqual({
      kind: 'accept',
      state: { ...channel(), capacityBaseUnits: 5000n },
    });
    // Default cap: the largest amount.
    expect(checkTopUp(channel(), top(2n ** 64n - 1n), NOW).kind).toBe('accept');
  });
});

describe('checkClose, in order', () => {
  const closed = channel({ status: 'closed', closeReason: CloseReason.Cooperative });

  it('CHANNEL_NOT_OWNED first, even for a closed channel', () => {
    expect(checkClose(closed, CloseReason.Cooperative, NOW, otherKey)).toEqual(
      refuse(Status.CHANNEL_NOT_OWNED),
    );
    expect(checkClose(channel(), CloseReason.Cooperative, NOW, otherKey)).toEqual(
      refuse(Status.CHANNEL_NOT_OWNED),
    );
  });

  it('closing a closed channel is a duplicate, whatever the reason', () => {
    for (const reason of [CloseReason.Cooperative, CloseReason.Operator, CloseReason.Expiry]) {
      expect(checkClose(closed, reason, EXPIRES + 1)).toEqual({ kind: 'duplicate' });
    }
  });

  it('an expiry close before the expiry second is stale; at it, it closes', () => {
    expect(checkClose(channel(), CloseReason.Expiry, EXPIRES - 1)).toEqual({ kind: 'stale' });
    expect(checkClose(channel(), CloseReason.Expiry, EXPIRES)).toEqual({
      kind: 'accept',
      state: { ...channel(), status: 'closed', closeReason: CloseReason.Expiry },
    });
  });

  it('cooperative and operator closes are accepted at any time, keeping the last voucher', () => {
    for (const reason of [CloseReason.Cooperative, CloseReason.Operator]) {
      for (const now of [NOW, EXPIRES + 10]) {
        expect(checkClose(channel(), reason, now)).toEqual({
          kind: 'accept',
          state: { ...channel(), status: 'closed', closeReason: reason },
        });
      }
    }
  });

  it('after a close, vouchers and top-ups are refused as CHANNEL_CLOSED', () => {
    const verdict = checkClose(channel(), CloseReason.Cooperative, NOW);
    if (verdict.kind !== 'accept') throw new Error('close refused');
    expect(checkVoucher(verdict.state, voucher(6, 600n), NOW)).toEqual(
      refuse(Status.CHANNEL_CLOSED),
    );
    expect(checkTopUp(verdict.state, { capacityBaseUnits: 2000n }, NOW)).toEqual(
      refuse(Status.CHANNEL_CLOSED),
    );
  });
});

describe('isDueForExpiry', () => {
  it('is true for an open channel at or after its expiry second only', () => {
    expect(isDueForExpiry(channel(), EXPIRES - 1)).toBe(false);
    expect(isDueForExpiry(channel(), EXPIRES)).toBe(true);
    expect(isDueForExpiry(channel(), EXPIRES + 1)).toBe(true);
    expect(isDueForExpiry(channel({ status: 'closed' }), EXPIRES + 1)).toBe(false);
  });
});
