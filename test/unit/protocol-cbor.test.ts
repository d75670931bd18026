import { describe, expect, it } from 'vitest';
import {
  Limits,
  Status,
  checkCborStructure,
  decodeCborStrict,
  defaultShape,
  encodeCbor,
  fromHex,
  toHex,
  type CborValue,
} from '../../src/protocol/index.js';

const h = (text: string): Uint8Array => fromHex(text.replace(/\s+/g, ''));

describe('encodeCbor writes RFC 8949 §4.2.1 core deterministic integers', () => {
  const cases: Array<[number | bigint, string]> = [
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [255, '18ff'],
    [256, '190100'],
    [65535, '19ffff'],
    [65536, '1a00010000'],
    [2 ** 32 - 1, '1affffffff'],
    [2 ** 32, '1b0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [2n ** 64n - 1n, '1bffffffffffffffff'],
    [-1, '20'],
    [-24, '37'],
    [-25, '3818'],
    [-256, '38ff'],
    [-257, '390100'],
    [-65537, '3a00010000'],
    [-(2 ** 31) - 1, '3a80000000'],
    [-(2 ** 32), '3affffffff'],
    [-(2 ** 32) - 1, '3b0000000100000000'],
    [-(2n ** 64n) + 1n, '3bfffffffffffffffe'],
  ];

  for (const [value, hex] of cases) {
    it(`${String(value)} → ${hex}, and back through the strict decoder`, () => {
      expect(toHex(encodeCbor(value))).toBe(hex);
      // The same value as number and as bigint encodes the same way.
      if (typeof value === 'number') expect(toHex(encodeCbor(BigInt(value)))).toBe(hex);
      else if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER))
        expect(toHex(encodeCbor(Number(value)))).toBe(hex);
      const decoded = decodeCborStrict(h(hex), 64);
      expect(decoded.ok).toBe(true);
      expect(decoded.ok && BigInt(decoded.value as number | bigint)).toBe(BigInt(value));
    });
  }

  it('refuses what CBOR cannot carry as an integer, never writing a float or a tag', () => {
    expect(() => encodeCbor(1.5)).toThrow(TypeError);
    expect(() => encodeCbor(Number.NaN)).toThrow(TypeError);
    expect(() => encodeCbor(2 ** 53)).toThrow(TypeError);
    expect(() => encodeCbor(2n ** 64n)).toThrow(RangeError);
    // -2^64 is valid CBOR (0x3b ff..ff) but cbor-x would write it as a tag-3 bignum.
    expect(() => encodeCbor(-(2n ** 64n))).toThrow(RangeError);
    // PROTOCOL §2.3 rule 4 names it: MESSAGE_MALFORMED, like any other head it cannot re-encode.
    expect(decodeCborStrict(h('3bffffffffffffffff'), 64)).toMatchObject({
      ok: false,
      status: Status.MESSAGE_MALFORMED,
    });
  });
});

describe('encodeCbor writes other items deterministically', () => {
  it('strings, byte strings and arrays with shortest lengths', () => {
    expect(toHex(encodeCbor(''))).toBe('60');
    expect(toHex(encodeCbor('a'.repeat(24)))).toBe(`7818${'61'.repeat(24)}`);
    expect(toHex(encodeCbor(new Uint8Array(0)))).toBe('40');
    expect(toHex(encodeCbor(new Uint8Array(256)))).toBe(`590100${'00'.repeat(256)}`);
    expect(toHex(encodeCbor([]))).toBe('80');
    expect(toHex(encodeCbor([1, [2, 'é']]))).toBe('8201 8202 62c3a9'.replace(/ /g, ''));
  });

  it('sorts map keys by their encoded bytes, whatever the insertion order', () => {
    const map = new Map<number | string, CborValue>([
      ['b', 1],
      [10, 2],
      [-1, 3],
      ['a', 4],
      [1, 5],
      [256, 6],
    ]);
    // 01 < 0a < 190100 < 20 < 6161 < 6162
    expect(toHex(encodeCbor(map))).toBe(
      'a6 0105 0a02 19010006 2003 616104 616201'.replace(/ /g, ''),
    );
    expect(decodeCborStrict(encodeCbor(map), 64).ok).toBe(true);
    expect(toHex(encodeCbor(new Map()))).toBe('a0');
  });
});

describe('checkCborStructure', () => {
  it('accepts exactly the caps and refuses one past each', () => {
    const { maxDepth, maxItems, maxStringBytes } = defaultShape;
    expect(maxDepth).toBe(Limits.maxCborDepth);
    const nest = (depth: number) => h(`${'81'.repeat(depth)}00`);
    expect(checkCborStructure(nest(maxDepth)).ok).toBe(true);
    expect(checkCborStructure(nest(maxDepth + 1)).ok).toBe(false);
    // maps count towards the depth too
    expect(checkCborStructure(h(`${'81'.repeat(maxDepth - 1)}a1 00 00`)).ok).toBe(true);
    expect(checkCborStructure(h(`${'81'.repeat(maxDepth)}a1 00 00`)).ok).toBe(false);
    expect(checkCborStructure(encodeCbor(new Array<number>(maxItems).fill(0))).ok).toBe(true);
    expect(checkCborStructure(encodeCbor(new Array<number>(maxItems + 1).fill(0))).ok).toBe(false);
    expect(checkCborStructure(encodeCbor(new Uint8Array(maxStringBytes))).ok).toBe(true);
    expect(checkCborStructure(encodeCbor(new Uint8Array(maxStringBytes + 1))).ok).toBe(false);
    expect(checkCborStructure(encodeCbor('x'.repeat(maxStringBytes + 1))).ok).toBe(false);
  });

  it('honours a custom shape', () => {
    const shape = { maxDepth: 1, maxItems: 2, maxStringBytes: 3 };
    expect(checkCborStructure(h('82 00 00'), shape).ok).toBe(true);
    expect(checkCborStructure(h('83 00 00 00'), shape).ok).toBe(false);
    expect(checkCborStructure(h('81 81 00'), shape).ok).toBe(false);
    expect(checkCborStructure(h('44 00000000'), shape).ok).toBe(false);
  });

  it('reports where and why it refused', () => {
    expect(checkCborStructure(h('82 00 f5'))).toEqual({
      ok: false,
      reason: 'floats and simple values are not allowed at byte 2',
    });
    expect(checkCborStructure(h('00 00'))).toEqual({
      ok: false,
      reason: 'trailing bytes at byte 1',
    });
  });

  it('allocates nothing for a huge declared length (refuses it at once)', () => {
    for (const hex of [
      '5b ffffffffffffffff',
      '9b ffffffffffffffff',
      'bb ffffffffffffffff',
      '7a ffffffff',
    ]) {
      expect(checkCborStructure(h(hex)).ok).toBe(false);
    }
  });

  it('accepts a UTF-8 byte-order mark and keeps it (one encoding, one value)', () => {
    const decoded = decodeCborStrict(h('63 efbbbf'), 16);
    expect(decoded).toEqual({ ok: true, value: '\ufeff' });
  });
});
