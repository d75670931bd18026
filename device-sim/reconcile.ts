import type { DeviceChannel } from '../src/device/index.js';
import type { CloseReceipt, Receipt } from '../src/protocol/index.js';

/**
 * The hub fee on a cumulative amount, from the protocol's rule (floor of amount × bp / 10 000),
 * computed here independently of the hub's code so the check means something.
 */
function feeOf(amountBaseUnits: bigint, feeBasisPoints: number): bigint {
  return (amountBaseUnits * BigInt(feeBasisPoints)) / 10_000n;
}

/**
 * Sums over channels, as the devices saw them and as the hub signed them. The sent, acked,
 * receipted and capacity sums cover the honest devices' channels; the closed sums cover every
 * channel the run closed, misbehaving devices' included (so they match the hub's ledger).
 */
export class ChannelTotals {
  /** Amount of each channel's newest voucher (what the devices promised). */
  sentBaseUnits = 0n;
  /** What the hub acknowledged (Ack, Receipt or CloseReceipt). */
  ackedBaseUnits = 0n;
  /** What hub-signed Receipts state at the end of the run. */
  receiptedBaseUnits = 0n;
  receipts = 0;
  /** Final capacity of the channels (initial escrow plus top-ups). */
  capacityBaseUnits = 0n;
  /** Hub-signed CloseReceipts. */
  closes = 0;
  closedAmountBaseUnits = 0n;
  closedPayeeBaseUnits = 0n;
  closedFeeBaseUnits = 0n;
  closedRefundBaseUnits = 0n;
}

/** Device-side view of a channel vs its hub-signed Receipt. */
export function checkReceipt(
  label: string,
  channel: DeviceChannel,
  receipt: Receipt,
  totals: ChannelTotals,
  mismatch: (text: string) => void,
  requested: ReadonlySet<bigint>,
): void {
  totals.receipts++;
  totals.receiptedBaseUnits += receipt.amountBaseUnits;
  const where = `${label} channel ${channel.channelIdHex.slice(0, 12)}`;
  if (receipt.amountBaseUnits !== channel.amountBaseUnits || receipt.seq !== channel.seq)
    mismatch(
      `${where}: signed receipt seq ${receipt.seq} amount ${receipt.amountBaseUnits} ≠ newest voucher seq ${channel.seq} amount ${channel.amountBaseUnits}`,
    );
  if (channel.ackedAmountBaseUnits !== channel.amountBaseUnits)
    mismatch(
      `${where}: acked amount ${channel.ackedAmountBaseUnits} ≠ newest voucher amount ${channel.amountBaseUnits}`,
    );
  checkCapacity(where, 'signed capacity', receipt.capacityBaseUnits, requested, mismatch);
}

/**
 * The capacity the hub states (or implies, amount + refund) must be one the device asked for:
 * its opening capacity or a top-up's target. The SDK's own figure follows the hub's Receipts,
 * so comparing with it would compare the hub with itself.
 */
function checkCapacity(
  where: string,
  what: string,
  capacityBaseUnits: bigint,
  requested: ReadonlySet<bigint>,
  mismatch: (text: string) => void,
): void {
  if (!requested.has(capacityBaseUnits))
    mismatch(
      `${where}: ${what} ${capacityBaseUnits} is none the device asked for (${[...requested].join(', ')})`,
    );
}

/**
 * A CloseReceipt against the device's channel: the final amount is the newest voucher's,
 * payee + fee = amount with the fee as the hub's rule computes it, amount + refund = capacity
 * (including top-ups).
 */
export function checkCloseReceipt(
  label: string,
  channel: DeviceChannel,
  receipt: CloseReceipt,
  totals: ChannelTotals,
  mismatch: (text: string) => void,
  requested: ReadonlySet<bigint>,
): void {
  totals.closes++;
  totals.closedAmountBaseUnits += receipt.amountBaseUnits;
  totals.closedPayeeBaseUnits += receipt.payeeBaseUnits;
  totals.closedFeeBaseUnits += receipt.feeBaseUnits;
  totals.closedRefundBaseUnits += receipt.refundBaseUnits;
  const where = `${label} channel ${channel.channelIdHex.slice(0, 12)}`;
  if (receipt.amountBaseUnits !== channel.amountBaseUnits || receipt.seq !== channel.seq)
    mismatch(
      `${where}: CloseReceipt seq ${receipt.seq} amount ${receipt.amountBaseUnits} ≠ newest voucher seq ${channel.seq} amount ${channel.amountBaseUnits}`,
    );
  if (receipt.payeeBaseUnits + receipt.feeBaseUnits !== receipt.amountBaseUnits)
    mismatch(
      `${where}: CloseReceipt payee ${receipt.payeeBaseUnits} + fee ${receipt.feeBaseUnits} ≠ amount ${receipt.amountBaseUnits}`,
    );
  const fee = feeOf(receipt.amountBaseUnits, channel.feeBasisPoints);
  if (receipt.feeBaseUnits !== fee)
    mismatch(
      `${where}: CloseReceipt fee ${receipt.feeBaseUnits} ≠ ${fee} (${channel.feeBasisPoints} bp)`,
    );
  if (receipt.amountBaseUnits + receipt.refundBaseUnits !== channel.capacityBaseUnits)
    mismatch(
      `${where}: CloseReceipt amount ${receipt.amountBaseUnits} + refund ${receipt.refundBaseUnits} ≠ capacity ${channel.capacityBaseUnits}`,
    );
  checkCapacity(
    where,
    'CloseReceipt amount + refund',
    receipt.amountBaseUnits + receipt.refundBaseUnits,
    requested,
    mismatch,
  );
}

/** What a device promised and the hub acknowledged on one channel, added once per channel. */
export function addChannel(channel: DeviceChannel, totals: ChannelTotals): void {
  totals.sentBaseUnits += channel.amountBaseUnits;
  totals.ackedBaseUnits += channel.ackedAmountBaseUnits;
  totals.capacityBaseUnits += channel.capacityBaseUnits;
}
