import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cumulativeFee, splitSettlement } from '../../src/channel/index.js';

const MAX = 2n ** 64n - 1n;
const amount = fc.bigInt({ min: 0n, max: MAX });
const bps = fc.oneof(
  fc.integer({ min: 0, max: 10_000 }),
  fc.constantFrom(0, 1, 150, 9_999, 10_000),
);

describe('cumulativeFee', () => {
  it('is floor(amount × bps / 10 000)', () => {
    expect(cumulativeFee(0n, 150)).toBe(0n);
    expect(cumulativeFee(66n, 150)).toBe(0n); // 0.99 → 0
    expect(cumulativeFee(67n, 150)).toBe(1n); // 1.005 → 1
    expect(cumulativeFee(10_000n, 1)).toBe(1n);
    expect(cumulativeFee(9_999n, 1)).toBe(0n);
    expect(cumulativeFee(12_345_678n, 150)).toBe(185_185n);
    expect(cumulativeFee(MAX, 10_000)).toBe(MAX);
    expect(cumulativeFee(MAX, 0)).toBe(0n);
  });

  it('refuses a negative amount and a fee outside 0..10 000 integer basis points', () => {
    expect(() => cumulativeFee(-1n, 10)).toThrow(RangeError);
    expect(() => cumulativeFee(1n, -1)).toThrow(RangeError);
    expect(() => cumulativeFee(1n, 10_001)).toThrow(RangeError);
    expect(() => cumulativeFee(1n, 1.5)).toThrow(RangeError);
    expect(() => cumulativeFee(1n, Number.NaN)).toThrow(RangeError);
  });
});

describe('splitSettlement', () => {
  it('splits an example exactly', () => {
    expect(splitSettlement(0n, 12_345_678n, 150)).toEqual({
      movedBaseUnits: 12_345_678n,
      feeBaseUnits: 185_185n,
      payeeBaseUnits: 12_160_493n,
    });
    expect(splitSettlement(500n, 500n, 150)).toEqual({
      movedBaseUnits: 0n,
      feeBaseUnits: 0n,
      payeeBaseUnits: 0n,
    });
  });

  it('refuses to settle backwards', () => {
    expect(() => splitSettlement(10n, 9n, 150)).toThrow(RangeError);
  });

  it('fee + payee share = amount moved, both non-negative, fee never above its rate', () => {
    fc.assert(
      fc.property(amount, amount, bps, (a, b, feeBasisPoints) => {
        const [settled, total] = a <= b ? [a, b] : [b, a];
        const split = splitSettlement(settled, total, feeBasisPoints);
        expect(split.movedBaseUnits).toBe(total - settled);
        expect(split.feeBaseUnits + split.payeeBaseUnits).toBe(split.movedBaseUnits);
        expect(split.feeBaseUnits >= 0n && split.payeeBaseUnits >= 0n).toBe(true);
        // The fee of one batch is within one base unit of its exact share.
        const exact = (split.movedBaseUnits * BigInt(feeBasisPoints)) / 10_000n;
        expect(split.feeBaseUnits - exact >= 0n && split.feeBaseUnits - exact <= 1n).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('the total fee and payee share do not depend on how settlement was batched', () => {
    fc.assert(
      fc.property(
        fc.array(amount, { minLength: 1, maxLength: 20 }),
        bps,
        (points, feeBasisPoints) => {
          const sorted = [...points].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
          const final = sorted.at(-1)!;
          let settled = 0n;
          let fee = 0n;
          let payee = 0n;
          for (const point of sorted) {
            const split = splitSettlement(settled, point, feeBasisPoints);
            fee += split.feeBaseUnits;
            payee += split.payeeBaseUnits;
            settled = point;
          }
          const once = splitSettlement(0n, final, feeBasisPoints);
          expect(fee).toBe(once.feeBaseUnits);
          expect(payee).toBe(once.payeeBaseUnits);
          expect(fee).toBe(cumulativeFee(final, feeBasisPoints));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
