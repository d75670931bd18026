import { toHex } from '../protocol/bytes.js';
import { MessageType } from '../protocol/messages.js';
import { Status } from '../protocol/status.js';
import type { HubCore } from './core.js';
import { channelKey, decodeChannelRecord } from './records.js';

/** Counts a refusal of a channel message and sends the device its Rejection. */
export function refuseChannelMessage(
  core: Pick<HubCore, 'counters' | 'responder'>,
  deviceKey: Uint8Array,
  channelId: Uint8Array,
  refusedType: number,
  seq: number,
  status: number,
): void {
  core.counters.refused(status);
  core.responder.toDevice(deviceKey, {
    type: MessageType.Rejection,
    channelId,
    refusedType,
    seq,
    status,
  });
}

/**
 * The status for a channel that is not in memory: CHANNEL_CLOSED if its durable record says it
 * closed, CHANNEL_UNKNOWN otherwise. Rejects if the ledger cannot be read.
 */
export async function closedOrUnknown(
  core: Pick<HubCore, 'ledger'>,
  channelId: Uint8Array,
): Promise<number> {
  const value = await core.ledger.record(channelKey(toHex(channelId)));
  if (value === undefined) return Status.CHANNEL_UNKNOWN;
  return decodeChannelRecord(value).status === 'closed'
    ? Status.CHANNEL_CLOSED
    : Status.CHANNEL_UNKNOWN;
}
