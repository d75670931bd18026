import { toHex } from '../protocol/bytes.js';
import type { HubCore } from './core.js';
import {
  CHANNEL_PREFIX,
  decodeChannelRecord,
  decodeSettledRecord,
  decodeVoucherRecord,
  settledKey,
  voucherKey,
} from './records.js';

/**
 * Start-up: reload every open channel with its latest durable voucher and settled mark, so
 * settlement resumes where it stopped. Devices re-send their newest voucher on reconnect,
 * which restores anything that was received but not yet durable when the hub went down.
 */
export async function reloadOpenChannels(core: HubCore): Promise<number> {
  let loaded = 0;
  for await (const [, value] of core.ledger.records(CHANNEL_PREFIX)) {
    const record = decodeChannelRecord(value);
    if (record.status !== 'open') continue;
    const idHex = toHex(record.channelId);
    const voucherValue = await core.ledger.record(voucherKey(idHex));
    const settledValue = await core.ledger.record(settledKey(idHex));
    const voucher = voucherValue === undefined ? undefined : decodeVoucherRecord(voucherValue);
    const settled = settledValue === undefined ? undefined : decodeSettledRecord(settledValue);
    core.table.insert(
      {
        channelId: record.channelId,
        deviceKey: record.deviceKey,
        payeeId: record.payeeId,
        asset: record.asset,
        capacityBaseUnits: record.capacityBaseUnits,
        expiresAtUnixS: record.expiresAtUnixS,
        seq: voucher?.seq ?? 0,
        amountBaseUnits: voucher?.amountBaseUnits ?? 0n,
        status: 'open',
        closeReason: undefined,
      },
      record.feeBasisPoints,
      settled?.seq ?? 0,
      settled?.amountBaseUnits ?? 0n,
      voucher?.seq ?? 0,
      voucher?.amountBaseUnits ?? 0n,
    );
    loaded++;
  }
  return loaded;
}
