import type { Ledger, Transfer } from '../../ledger/types.js';
import { TransferCode } from '../../ledger/types.js';
import { channelAccount } from '../../ledger/accounts.js';
import { toHex } from '../../protocol/bytes.js';
import { CloseReason, type CloseReceipt } from '../../protocol/messages.js';
import { keyId } from '../../protocol/topics.js';
import { SlotStatus, type ChannelTable } from '../channel-table.js';
import {
  channelKey,
  decodeChannelRecord,
  decodeVoucherRecord,
  settledFromEscrow,
  voucherKey,
  type ChannelRecord,
} from '../records.js';
import type { SettlementRun } from '../settlement.js';

/**
 * The JSON shapes of the admin API. Amounts are decimal strings (base units), times ISO 8601,
 * ids hex (channels, transfers) or base64url (devices, as in MQTT topics).
 */

export type CloseReasonName = 'cooperative' | 'operator' | 'expiry';

const closeReasonNames = new Map<number, CloseReasonName>([
  [CloseReason.Cooperative, 'cooperative'],
  [CloseReason.Operator, 'operator'],
  [CloseReason.Expiry, 'expiry'],
]);

export const closeReasonName = (reason: number): CloseReasonName | null =>
  closeReasonNames.get(reason) ?? null;

const transferCodeNames = new Map<number, string>(
  Object.entries(TransferCode).map(([name, code]) => [code, name]),
);

export const transferCodeName = (code: number): string =>
  transferCodeNames.get(code) ?? String(code);

const iso = (ms: number): string => new Date(ms).toISOString();

export interface ChannelView {
  channelId: string;
  deviceId: string;
  payeeId: string;
  asset: string;
  /** 'closing' while an operator, device or expiry close is being committed. */
  status: 'open' | 'closing' | 'closed';
  capacity: string;
  feeBasisPoints: number;
  /** The newest durable voucher (on disk, acknowledged). */
  seq: number;
  amount: string;
  /** Verified in memory, maybe not yet durable: live figures, open channels only. */
  acceptedSeq: number | null;
  acceptedAmount: string | null;
  settledAmount: string;
  expiresAt: string;
  openedAt: string;
  closedAt: string | null;
  closeReason: CloseReasonName | null;
  /** How a closed channel's final amount was split. */
  final: { payee: string; fee: string; refund: string } | null;
}

function baseView(
  record: ChannelRecord,
): Omit<
  ChannelView,
  'status' | 'capacity' | 'seq' | 'amount' | 'acceptedSeq' | 'acceptedAmount' | 'settledAmount'
> {
  return {
    channelId: toHex(record.channelId),
    deviceId: keyId(record.deviceKey),
    payeeId: record.payeeId,
    asset: record.asset,
    feeBasisPoints: record.feeBasisPoints,
    expiresAt: iso(record.expiresAtUnixS * 1000),
    openedAt: iso(record.openedAtMs),
    closedAt: record.status === 'closed' ? iso(record.closedAtMs) : null,
    closeReason: record.status === 'closed' ? closeReasonName(record.closeReason) : null,
    final:
      record.status === 'closed'
        ? {
            payee: record.payeeBaseUnits.toString(),
            fee: record.feeBaseUnits.toString(),
            refund: record.refundBaseUnits.toString(),
          }
        : null,
  };
}

/**
 * A channel as the admin API shows it: a closed channel from its durable record, an open one
 * with live figures from the hub's in-memory table. An open record that is no longer in the
 * table has just closed (the record is read again) or the hub is not serving it (the durable
 * voucher and settled records are used).
 */
export async function channelView(
  ledger: Ledger,
  table: ChannelTable,
  record: ChannelRecord,
): Promise<ChannelView> {
  if (record.status === 'open') {
    const slot = table.slotOf(record.channelId);
    if (slot !== undefined && table.status[slot] !== SlotStatus.Free) {
      return {
        ...baseView(record),
        status: table.status[slot] === SlotStatus.Closing ? 'closing' : 'open',
        capacity: table.capacityBaseUnits[slot]!.toString(),
        seq: table.durableSeq[slot]!,
        amount: table.durableAmount[slot]!.toString(),
        acceptedSeq: table.acceptedSeq[slot]!,
        acceptedAmount: table.acceptedAmount[slot]!.toString(),
        settledAmount: table.settledAmount[slot]!.toString(),
      };
    }
    const idHex = toHex(record.channelId);
    const again = await ledger.record(channelKey(idHex));
    const fresh = again === undefined ? record : decodeChannelRecord(again);
    if (fresh.status === 'open') {
      const voucher = await ledger.record(voucherKey(idHex));
      const escrow = await ledger.balance(channelAccount(idHex), fresh.asset);
      const v = voucher === undefined ? undefined : decodeVoucherRecord(voucher);
      return {
        ...baseView(fresh),
        status: 'open',
        capacity: fresh.capacityBaseUnits.toString(),
        seq: v?.seq ?? 0,
        amount: (v?.amountBaseUnits ?? 0n).toString(),
        acceptedSeq: null,
        acceptedAmount: null,
        settledAmount: settledFromEscrow(fresh.capacityBaseUnits, escrow).toString(),
      };
    }
    record = fresh;
  }
  return {
    ...baseView(record),
    status: 'closed',
    capacity: record.capacityBaseUnits.toString(),
    seq: record.finalSeq,
    amount: record.finalAmountBaseUnits.toString(),
    acceptedSeq: null,
    acceptedAmount: null,
    // A close settles the final voucher in the same commit.
    settledAmount: record.finalAmountBaseUnits.toString(),
  };
}

export interface TransferView {
  id: string;
  code: string;
  asset: string;
  amount: string;
  debitAccount: string;
  creditAccount: string;
  /** From the listed account's side: the other account, and whether it was debited or credited. */
  counterparty?: string;
  direction?: 'debit' | 'credit';
  reference: string;
  sequence: number;
  time: string;
}

export function transferView(transfer: Transfer, account?: string): TransferView {
  const view: TransferView = {
    id: transfer.id,
    code: transferCodeName(transfer.code),
    asset: transfer.asset,
    amount: transfer.amountBaseUnits.toString(),
    debitAccount: transfer.debitAccount,
    creditAccount: transfer.creditAccount,
    reference: transfer.reference,
    sequence: transfer.sequence,
    time: iso(transfer.timestampMs),
  };
  if (account !== undefined) {
    const debited = transfer.debitAccount === account;
    view.direction = debited ? 'debit' : 'credit';
    view.counterparty = debited ? transfer.creditAccount : transfer.debitAccount;
  }
  return view;
}

export function closeReceiptView(receipt: CloseReceipt): Record<string, unknown> {
  return {
    channelId: toHex(receipt.channelId),
    seq: receipt.seq,
    amount: receipt.amountBaseUnits.toString(),
    payee: receipt.payeeBaseUnits.toString(),
    fee: receipt.feeBaseUnits.toString(),
    refund: receipt.refundBaseUnits.toString(),
    reason: closeReasonName(receipt.reason),
  };
}

export function settlementRunView(run: SettlementRun & { atMs?: number }): Record<string, unknown> {
  return {
    ...(run.atMs === undefined ? {} : { at: iso(run.atMs) }),
    channels: run.channels,
    moved: run.movedBaseUnits.toString(),
    batches: run.batches,
    durationMs: Math.round(run.durationMs * 1000) / 1000,
    payouts: run.payouts,
  };
}
