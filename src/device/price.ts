/**
 * A price is a ratio of integers: `baseUnits` of the asset per `perUnits` units of usage
 * (1 kWh = 1000 Wh, say). Usage accrues exactly as an integer count; what the device owes is
 * floor(usage × baseUnits / perUnits), so a price below one base unit per usage unit costs
 * nothing extra and loses nothing: the fraction carries over until it makes a whole base unit.
 */
export interface Price {
  baseUnits: bigint;
  perUnits: bigint;
}

export function checkPrice(price: Price): void {
  if (typeof price.baseUnits !== 'bigint' || typeof price.perUnits !== 'bigint') {
    throw new TypeError('price.baseUnits and price.perUnits are bigints');
  }
  if (price.baseUnits < 0n || price.perUnits <= 0n)
    throw new RangeError('price must be ≥ 0 per a positive number of units');
}

export function owedFor(usageUnits: bigint, price: Price): bigint {
  return (usageUnits * price.baseUnits) / price.perUnits;
}
