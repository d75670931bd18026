/**
 * Hub fee arithmetic. The fee is computed on the cumulative amount and settled as differences,
 * so the total fee of a channel does not depend on how its settlement was batched:
 *   feeTotal(amount) = floor(amount × feeBasisPoints / 10 000)
 *   fee of a batch   = feeTotal(newAmount) − feeTotal(settledAmount)
 *   payee share      = (newAmount − settledAmount) − fee of the batch
 * Floor rounding gives every fraction of a base unit to the payee; fee + payee share always
 * equals the amount moved, so no rounding step can create or destroy a base unit.
 */
export const BASIS_POINTS_PER_WHOLE = 10_000n;

export function cumulativeFee(amountBaseUnits: bigint, feeBasisPoints: number): bigint {
  if (amountBaseUnits < 0n) throw new RangeError('amount must not be negative');
  if (!Number.isInteger(feeBasisPoints) || feeBasisPoints < 0 || feeBasisPoints > 10_000) {
    throw new RangeError('fee must be 0..10000 basis points');
  }
  return (amountBaseUnits * BigInt(feeBasisPoints)) / BASIS_POINTS_PER_WHOLE;
}

export interface SettlementSplit {
  movedBaseUnits: bigint;
  payeeBaseUnits: bigint;
  feeBaseUnits: bigint;
}

/** The split of moving a channel from `settled` to `amount` (amount ≥ settled). */
export function splitSettlement(
  settledBaseUnits: bigint,
  amountBaseUnits: bigint,
  feeBasisPoints: number,
): SettlementSplit {
  if (amountBaseUnits < settledBaseUnits) throw new RangeError('cannot settle backwards');
  const movedBaseUnits = amountBaseUnits - settledBaseUnits;
  const feeBaseUnits =
    cumulativeFee(amountBaseUnits, feeBasisPoints) -
    cumulativeFee(settledBaseUnits, feeBasisPoints);
  return { movedBaseUnits, feeBaseUnits, payeeBaseUnits: movedBaseUnits - feeBaseUnits };
}
