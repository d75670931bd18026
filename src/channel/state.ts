import type { CloseReasonNumber } from '../protocol/messages.js';

export type ChannelStatus = 'open' | 'closed';

/**
 * Everything the rules need to know about one channel. Amounts are in base units of the
 * channel's asset; `seq`/`amountBaseUnits` are the newest accepted voucher (0/0 before any).
 */
export interface ChannelState {
  readonly channelId: Uint8Array;
  readonly deviceKey: Uint8Array;
  readonly payeeId: string;
  readonly asset: string;
  readonly capacityBaseUnits: bigint;
  readonly expiresAtUnixS: number;
  readonly seq: number;
  readonly amountBaseUnits: bigint;
  readonly status: ChannelStatus;
  readonly closeReason: CloseReasonNumber | undefined;
}

/** The result of offering a message to a channel; refusals carry a catalogue status. */
export type Verdict<S> =
  | { kind: 'accept'; state: S }
  | { kind: 'duplicate' }
  | { kind: 'stale' }
  | { kind: 'refuse'; status: number };
