import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor, toHex, writeCborHead } from '../../src/protocol/index.js';

/** The head writeCborHead writes, as hex. */
function head(major: 0 | 2, value: number | bigint): string {
  const out = new Uint8Array(9);
  return toHex(out.subarray(0, writeCborHead(out, 0, major, value)));
}

describe('writeCborHead', () => {
  it('writes an integer as encodeCbor does, from a number or a bigint', () => {
    fc.assert(
      fc.property(
        // Every width: up to 23 (in the head), 1, 2, 4 and 8 bytes.
        fc.oneof(
          ...[30n, 0x10000n, 0x1_0000_0000n, 2n ** 64n - 1n].map((max) =>
            fc.bigInt({ min: 0n, max }),
          ),
        ),
        (value) => {
          const expected = toHex(encodeCbor(value));
          expect(head(0, value)).toBe(expected);
          if (value <= BigInt(Number.MAX_SAFE_INTEGER))
            expect(head(0, Number(value))).toBe(expected);
        },
      ),
    );
  });

  it('writes a byte string head as encodeCbor does, at every width edge', () => {
    for (const length of [0, 23, 24, 255, 256, 65_535, 65_536]) {
      const encoded = encodeCbor(new Uint8Array(length));
      expect(head(2, length), `length ${length}`).toBe(
        toHex(encoded.subarray(0, -length || undefined)),
      );
    }
  });

  it('refuses a negative or fractional value', () => {
    const out = new Uint8Array(9);
    expect(() => writeCborHead(out, 0, 0, -1)).toThrow(RangeError);
    expect(() => writeCborHead(out, 0, 0, -1n)).toThrow(RangeError);
    expect(() => writeCborHead(out, 0, 0, 1.5)).toThrow(RangeError);
  });
});
