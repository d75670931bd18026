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
async function closedOrUnknown(
  core: Pick<HubCore, 'ledger'>,
  channelId: Uint8Array,
): Promise<number> {
  const value = await core.ledger.record(channelKey(toHex(channelId)));
  if (value === undefined) return Status.CHANNEL_UNKNOWN;
  return decodeChannelRecord(value).status === 'closed'
    ? Status.CHANNEL_CLOSED
    : Status.CHANNEL_UNKNOWN;
}

/** Most ledger reads in flight for channels not in memory, across every message type. */
export const MAX_UNKNOWN_LOOKUPS = 256;

/**
 * closedOrUnknown for messages off the wire. Each lookup costs a read, and a made-up channel
 * id costs its sender nothing (a ReceiptRequest is not even signed), so past a bound shared by
 * vouchers, receipt requests, top-ups and closes the answer is HUB_BUSY; a failed read is
 * HUB_FAILURE, which a device retries, not a verdict on the channel.
 */
export class UnknownChannelLookups {
  private inFlight = 0;

  constructor(private readonly core: Pick<HubCore, 'ledger'>) {}

  async status(channelId: Uint8Array): Promise<number> {
    if (this.inFlight >= MAX_UNKNOWN_LOOKUPS) return Status.HUB_BUSY;
    this.inFlight++;
    try {
      return await closedOrUnknown(this.core, channelId);
    } catch {
      return Status.HUB_FAILURE;
    } finally {
      this.inFlight--;
    }
  }
}
