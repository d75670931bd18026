import { HUB_FEES, transferIdFrom } from '../ledger/accounts.js';
import { TransferCode, type TransferInput } from '../ledger/types.js';
import { settleTransferId } from './ids.js';

/*
 * The transfers that settle channels, shared by settlement and close: the escrow moves whole to
 * the payee, and the hub's fee leaves the payee for hub/fees (per channel at close, summed per
 * payee in a settlement batch).
 */

/**
 * Appends the transfer that settles a channel from its settled mark to voucher `seq`: the whole
 * amount moved, escrow → payee (the payee's fee goes to hub/fees in a separate transfer). Shared
 * by settlement and close, so a channel settles the same way whichever of them moves its money.
 * Returns the transfer's id.
 */
export function pushSettlementLeg(
  transfers: TransferInput[],
  idHex: string,
  seq: number,
  movedBaseUnits: bigint,
  payeeAccountName: string,
  asset: string,
): string {
  const id = settleTransferId(idHex, seq, 'payee');
  transfers.push({
    id,
    // Table ids are 16 bytes by construction: the escrow name needs no re-validation.
    debitAccount: `channel/${idHex}`,
    creditAccount: payeeAccountName,
    asset,
    amountBaseUnits: movedBaseUnits,
    code: TransferCode.SettlePayee,
    reference: idHex,
  });
  return id;
}

/** A close's fee for its channel, payee → hub/fees, with an id from (channel, seq) like its leg. */
export function pushChannelFee(
  transfers: TransferInput[],
  idHex: string,
  seq: number,
  feeBaseUnits: bigint,
  payeeAccountName: string,
  asset: string,
): void {
  const id = settleTransferId(idHex, seq, 'fee');
  transfers.push(feeTransfer(id, payeeAccountName, asset, feeBaseUnits, idHex));
}

/** The hub's fee out of a payee's settled money: payee → hub/fees. */
export function feeTransfer(
  id: string,
  payeeAccountName: string,
  asset: string,
  feeBaseUnits: bigint,
  reference: string,
): TransferInput {
  return {
    id,
    debitAccount: payeeAccountName,
    creditAccount: HUB_FEES,
    asset,
    amountBaseUnits: feeBaseUnits,
    code: TransferCode.SettleFee,
    reference,
  };
}

/**
 * A batch's fees, one sum per (payee, asset): one fee transfer per payee per batch instead of
 * one per channel halves the ledger entries of a settlement. Its id derives from the first
 * channel transfer of the group (unique to one (channel, seq)), the count and the sum, so a
 * retried batch repeats it exactly.
 */
export class BatchFees {
  private readonly groups = new Map<
    number,
    { payee: string; asset: string; feeBaseUnits: bigint; channels: number; firstLegId: string }
  >();

  add(group: number, payee: string, asset: string, feeBaseUnits: bigint, legId: string): void {
    const entry = this.groups.get(group);
    if (entry === undefined) {
      this.groups.set(group, { payee, asset, feeBaseUnits, channels: 1, firstLegId: legId });
    } else {
      entry.feeBaseUnits += feeBaseUnits;
      entry.channels++;
    }
  }

  pushTransfers(transfers: TransferInput[]): void {
    for (const { payee, asset, feeBaseUnits, channels, firstLegId } of this.groups.values()) {
      if (feeBaseUnits === 0n) continue;
      const id = transferIdFrom('fees', firstLegId, channels, feeBaseUnits);
      transfers.push(
        feeTransfer(id, payee, asset, feeBaseUnits, `fees of ${channels} from ${firstLegId}`),
      );
    }
  }
}
