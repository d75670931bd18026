import { CHANNEL_ACCOUNT_PREFIX } from '../ledger/accounts.js';
import { fromHex } from '../protocol/bytes.js';
import type { HubCore } from './core.js';
import {
  CHANNEL_PREFIX,
  decodeChannelRecord,
  decodeVoucherRecord,
  settledFromEscrow,
  VOUCHER_PREFIX,
} from './records.js';

/**
 * Start-up: reload every open channel with its latest durable voucher and settled mark, so
 * settlement resumes where it stopped. Devices re-send their newest voucher on reconnect,
 * which restores anything that was received but not yet durable when the hub went down.
 *
 * Two sequential scans (channels, then vouchers) and one pass over the escrow balances rather
 * than point reads per channel: a million channels reload in key order instead of seeks.
 */
export async function reloadOpenChannels(core: HubCore): Promise<number> {
  const { table } = core;
  for await (const [, value] of core.ledger.records(CHANNEL_PREFIX)) {
    const record = decodeChannelRecord(value);
    if (record.status !== 'open') continue;
    table.insert(
      {
        channelId: record.channelId,
        deviceKey: record.deviceKey,
        payeeId: record.payeeId,
        asset: record.asset,
        capacityBaseUnits: record.capacityBaseUnits,
        expiresAtUnixS: record.expiresAtUnixS,
        seq: 0,
        amountBaseUnits: 0n,
        status: 'open',
        closeReason: undefined,
      },
      record.feeBasisPoints,
      0n,
      0,
      0n,
    );
  }
  for await (const [key, value] of core.ledger.records(VOUCHER_PREFIX)) {
    const slot = table.slotOf(fromHex(key.slice(VOUCHER_PREFIX.length)));
    if (slot === undefined) continue; // a closed channel's final voucher
    const voucher = decodeVoucherRecord(value);
    table.markDurable(slot, voucher.seq, voucher.amountBaseUnits);
    table.markAccepted(slot, voucher.seq, voucher.amountBaseUnits);
  }
  for (const { account, balanceBaseUnits } of await core.ledger.balances({
    accountPrefix: CHANNEL_ACCOUNT_PREFIX,
  })) {
    const slot = table.slotOf(fromHex(account.slice(CHANNEL_ACCOUNT_PREFIX.length)));
    if (slot === undefined) continue; // a closed channel: its escrow is empty
    table.markSettled(slot, settledFromEscrow(table.capacityBaseUnits[slot]!, balanceBaseUnits));
  }
  return table.size;
}
