import { describe, expect, it } from 'vitest';
import {
  freeHubCeilingRatio,
  hubAloneEstimatePerS,
  median,
  ratioFigures,
  ratiosBetweenReadings,
  round3,
} from '../../bench/figures.js';

describe('bench figures', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow(RangeError);
  });

  it('rounds a ratio to three decimals', () => {
    expect(round3(0.56749)).toBe(0.567);
    expect(round3(0.5675)).toBe(0.568);
  });

  it("names a ratio's median beside its lowest and highest round", () => {
    expect(ratioFigures('fooVsBar', [0.41234, 0.6, 0.50049])).toEqual({
      fooVsBar: 0.5,
      fooVsBarLowest: 0.412,
      fooVsBarHighest: 0.6,
    });
  });

  it('divides each round by the mean of the readings on either side of it', () => {
    // The limit drifts 12 000 → 10 000 → 8 000 while the rate stays proportional to it.
    expect(ratiosBetweenReadings([5_500, 4_500], [12_000, 10_000, 8_000])).toEqual([0.5, 0.5]);
    // Against the mean of all readings the same rounds would look 0.55 and 0.45.
    expect(ratiosBetweenReadings([3_000], [4_000, 8_000])).toEqual([0.5]);
  });

  it('refuses readings that do not bracket every round', () => {
    expect(() => ratiosBetweenReadings([5_000, 5_000], [10_000, 10_000])).toThrow(
      /2 rounds need 3 readings/,
    );
    expect(() => ratiosBetweenReadings([], [10_000])).toThrow(RangeError);
  });

  // The saturated split of the cpu run at 15:51 on 2026-12-07, in µs per voucher.
  const split = { hubAll: 163.4, hubVerifyWorkers: 118.5, mosquitto: 29.7, generator: 36.6 };

  it("bounds the ratio by the signature's share of the workers', broker's and generator's CPU", () => {
    // 118.5 ÷ (118.5 + 29.7 + 36.6) = 0.6412…
    expect(freeHubCeilingRatio(split)).toBe(0.641);
    // The hub's main and other threads do not enter it: only what else shares the cores.
    expect(freeHubCeilingRatio({ ...split, hubAll: 1_000 })).toBe(0.641);
    expect(freeHubCeilingRatio({ ...split, mosquitto: 0, generator: 0 })).toBe(1);
  });

  it("estimates the hub's own rate from its CPU per voucher and the cores", () => {
    expect(hubAloneEstimatePerS(split, 2)).toBe(12_240);
    expect(hubAloneEstimatePerS(split, 4)).toBe(24_480);
    expect(() => hubAloneEstimatePerS({ ...split, hubAll: 0 }, 2)).toThrow(RangeError);
    expect(() => hubAloneEstimatePerS({ ...split, hubAll: NaN }, 2)).toThrow(RangeError);
  });
});
