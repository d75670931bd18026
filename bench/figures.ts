/** The middle value (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Three decimals: enough for a ratio, few enough to read. */
export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * A ratio measured in rounds, as `name` (the rounds' median) beside `nameLowest` and
 * `nameHighest`: the spread says how far one noisy round could move the median.
 */
export function ratioFigures(name: string, ratios: readonly number[]): Record<string, number> {
  return {
    [name]: round3(median(ratios)),
    [`${name}Lowest`]: round3(Math.min(...ratios)),
    [`${name}Highest`]: round3(Math.max(...ratios)),
  };
}

/**
 * Each round's rate over the mean of the limit read on either side of it: a shared machine's
 * speed drifts within minutes (by a quarter within one run, seen here), so a limit read a minute
 * away from the rate it divides would move the ratio with it.
 */
export function ratiosBetweenReadings(
  ratesPerS: readonly number[],
  limitReadingsPerS: readonly number[],
): number[] {
  if (ratesPerS.length === 0 || limitReadingsPerS.length !== ratesPerS.length + 1)
    throw new RangeError(
      `${ratesPerS.length} rounds need ${ratesPerS.length + 1} readings of the limit, not ${limitReadingsPerS.length}`,
    );
  return ratesPerS.map(
    (rate, i) => rate / ((limitReadingsPerS[i]! + limitReadingsPerS[i + 1]!) / 2),
  );
}

/** CPU per voucher over one load phase, in µs, as the cpu bench reads it from /proc. */
export interface CpuMicrosPerVoucher {
  hubAll: number;
  hubVerifyWorkers: number;
  mosquitto: number;
  generator: number;
}

/**
 * What the end-to-end ratio could reach at most if the hub's main thread and its other threads
 * cost nothing: the signature's share of the CPU that the verify workers, the broker and the load
 * generator take per voucher on the same cores. Above it nothing the hub does can lift the ratio.
 */
export function freeHubCeilingRatio(micros: CpuMicrosPerVoucher): number {
  return round3(
    micros.hubVerifyWorkers / (micros.hubVerifyWorkers + micros.mosquitto + micros.generator),
  );
}

/**
 * The hub's rate if it had every core to itself (the broker and the load elsewhere, as DESIGN §8
 * grows into): the cores' time over the hub's own CPU per voucher. An estimate from the split,
 * not a measurement, as the bench's machine has no spare core to move the broker to.
 */
export function hubAloneEstimatePerS(micros: CpuMicrosPerVoucher, cores: number): number {
  // Written so that NaN (a phase with no vouchers) is refused too, not printed.
  if (!(micros.hubAll > 0))
    throw new RangeError(`the hub's CPU per voucher is ${micros.hubAll} µs`);
  return Math.round((cores * 1e6) / micros.hubAll);
}
