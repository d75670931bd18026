import { bytesEqual } from '../protocol/bytes.js';
import { Limits } from '../protocol/limits.js';
import type { CloseReasonNumber, TopUp, Voucher } from '../protocol/messages.js';
import { Status } from '../protocol/status.js';
import type { ChannelState, Verdict } from './state.js';

/**
 * The channel state machine: pure functions from (state, input, time) to a verdict. No I/O, no
 * clock, no signature (the hub verifies only what passes these cheaper checks, then applies the
 * same function again, since another voucher may have landed while the signature was checked).
 *
 * Voucher checks, in this fixed order (cheapest and most final first):
 *   1. CHANNEL_NOT_OWNED        the message came from another device's topic
 *   2. CHANNEL_CLOSED           nothing is accepted after close
 *   3. CHANNEL_EXPIRED          nor at or after the expiry second
 *   4. SEQ_NOT_INCREASING       seq 0 is never valid
 *   5. stale (ignored)          seq below the newest: superseded, not an error
 *   6. duplicate / SEQ_NOT_INCREASING   same seq: same amount is a duplicate, another is refused
 *   7. AMOUNT_DECREASED         cumulative amounts never go down
 *   8. AMOUNT_EXCEEDS_CAPACITY  nor above the escrow
 */
export function checkVoucher(
  state: ChannelState,
  voucher: Pick<Voucher, 'seq' | 'amountBaseUnits'>,
  nowUnixS: number,
  senderKey: Uint8Array = state.deviceKey,
): Verdict<ChannelState> {
  if (senderKey !== state.deviceKey && !bytesEqual(senderKey, state.deviceKey))
    return refuse(Status.CHANNEL_NOT_OWNED);
  if (state.status === 'closed') return refuse(Status.CHANNEL_CLOSED);
  if (nowUnixS >= state.expiresAtUnixS) return refuse(Status.CHANNEL_EXPIRED);
  if (voucher.seq === 0) return refuse(Status.SEQ_NOT_INCREASING);
  if (voucher.seq < state.seq) return { kind: 'stale' };
  if (voucher.seq === state.seq) {
    return voucher.amountBaseUnits === state.amountBaseUnits
      ? { kind: 'duplicate' }
      : refuse(Status.SEQ_NOT_INCREASING);
  }
  if (voucher.amountBaseUnits < state.amountBaseUnits) return refuse(Status.AMOUNT_DECREASED);
  if (voucher.amountBaseUnits > state.capacityBaseUnits)
    return refuse(Status.AMOUNT_EXCEEDS_CAPACITY);
  return {
    kind: 'accept',
    state: { ...state, seq: voucher.seq, amountBaseUnits: voucher.amountBaseUnits },
  };
}

/**
 * A top-up names the new total capacity, so a redelivered or replayed one is harmless:
 * equal is a duplicate, lower is refused, higher escrows the difference (funds are the hub's
 * check, against the ledger).
 */
export function checkTopUp(
  state: ChannelState,
  topUp: Pick<TopUp, 'capacityBaseUnits'>,
  nowUnixS: number,
  maxCapacityBaseUnits: bigint = Limits.maxAmount,
  senderKey: Uint8Array = state.deviceKey,
): Verdict<ChannelState> {
  if (!bytesEqual(senderKey, state.deviceKey)) return refuse(Status.CHANNEL_NOT_OWNED);
  if (state.status === 'closed') return refuse(Status.CHANNEL_CLOSED);
  if (nowUnixS >= state.expiresAtUnixS) return refuse(Status.CHANNEL_EXPIRED);
  if (topUp.capacityBaseUnits === state.capacityBaseUnits) return { kind: 'duplicate' };
  if (topUp.capacityBaseUnits < state.capacityBaseUnits)
    return refuse(Status.CAPACITY_NOT_INCREASING);
  if (topUp.capacityBaseUnits > maxCapacityBaseUnits) return refuse(Status.CAPACITY_INVALID);
  return { kind: 'accept', state: { ...state, capacityBaseUnits: topUp.capacityBaseUnits } };
}

/**
 * Closing: cooperative (the device asks), operator, or expiry. Closing a closed channel is a
 * duplicate, so a redelivered CloseRequest gets the same CloseReceipt again. Only the channel's
 * device may ask for a cooperative close. An expiry close before the expiry second is `stale`:
 * the timer fired early and there is nothing to do yet.
 */
export function checkClose(
  state: ChannelState,
  reason: CloseReasonNumber,
  nowUnixS: number,
  senderKey: Uint8Array = state.deviceKey,
): Verdict<ChannelState> {
  if (!bytesEqual(senderKey, state.deviceKey)) return refuse(Status.CHANNEL_NOT_OWNED);
  if (state.status === 'closed') return { kind: 'duplicate' };
  if (reason === 3 && nowUnixS < state.expiresAtUnixS) return { kind: 'stale' };
  return { kind: 'accept', state: { ...state, status: 'closed', closeReason: reason } };
}

/** Whether the expiry timer should close this channel now. */
export function isDueForExpiry(state: ChannelState, nowUnixS: number): boolean {
  return state.status === 'open' && nowUnixS >= state.expiresAtUnixS;
}

function refuse(status: number): { kind: 'refuse'; status: number } {
  return { kind: 'refuse', status };
}
