import * as ed from '@noble/ed25519';
import { verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  FIELD_PRIME,
  GROUP_ORDER,
  SMALL_ORDER_ENCODINGS,
  isPointEncodingCanonical,
  isPublicKeyAcceptable,
  isScalarCanonical,
  isSmallOrderEncoding,
  keyPairFromSeed,
  passesStrictPrechecks,
  publicKeyObject,
  signerFor,
  verifyNoble,
  verifyNode,
  verifySignature,
} from '../../src/crypto/index.js';
import { concatBytes, fromHex, toHex } from '../../src/protocol/bytes.js';
import { encodeLe32, leToBigint, secretScalarOf, challengeOf } from '../../scripts/make-vectors.js';

const L = GROUP_ORDER;
const P = FIELD_PRIME;

/** [n]Q for any n >= 0, including multiples of L that noble's range check refuses. */
function times(point: ed.Point, n: bigint): ed.Point {
  let result = ed.Point.ZERO;
  let addend = point;
  for (; n > 0n; n >>= 1n) {
    if (n & 1n) result = result.add(addend);
    addend = addend.double();
  }
  return result;
}

function orderOfSmall(point: ed.Point): number {
  let q = point;
  for (let order = 1; order <= 8; order++) {
    if (q.is0()) return order;
    q = q.add(point);
  }
  throw new Error('not a small-order point');
}

describe('SMALL_ORDER_ENCODINGS', () => {
  // Decode successive y until [L]P (the torsion component of P) has order 8, then enumerate
  // its eight multiples: they are all the points of order dividing 8.
  function torsionGenerator(): ed.Point {
    for (let y = 2n; y < 1000n; y++) {
      let point: ed.Point;
      try {
        point = ed.Point.fromBytes(encodeLe32(y), false);
      } catch {
        continue; // y is not on the curve
      }
      const torsion = times(point, L);
      if (!times(torsion, 4n).is0()) return torsion;
    }
    throw new Error('no point with an order-8 component found');
  }

  const generator = torsionGenerator();
  const multiples = Array.from({ length: 8 }, (_, k) => times(generator, BigInt(k)));

  it('matches the eight torsion points computed with curve arithmetic', () => {
    const computed = new Set(multiples.map((point) => toHex(point.toBytes())));
    expect(computed.size).toBe(8);
    expect(new Set(SMALL_ORDER_ENCODINGS.map(toHex))).toEqual(computed);
    expect(SMALL_ORDER_ENCODINGS).toHaveLength(8);
  });

  it('lists orders 1, 2, 4, 4, 8, 8, 8, 8 as its comments say', () => {
    const orders = SMALL_ORDER_ENCODINGS.map((bytes) => orderOfSmall(ed.Point.fromBytes(bytes)));
    expect(orders).toEqual([1, 2, 4, 4, 8, 8, 8, 8]);
  });

  it('every entry is a canonical encoding and isSmallOrderEncoding recognises it', () => {
    for (const bytes of SMALL_ORDER_ENCODINGS) {
      expect(isPointEncodingCanonical(bytes)).toBe(true);
      expect(isSmallOrderEncoding(bytes)).toBe(true);
      expect(isPublicKeyAcceptable(bytes)).toBe(false);
    }
  });

  it('isSmallOrderEncoding refuses the base point, real keys and near misses', () => {
    expect(isSmallOrderEncoding(ed.Point.BASE.toBytes())).toBe(false);
    const key = keyPairFromSeed(new Uint8Array(32).fill(7)).publicKey;
    expect(isSmallOrderEncoding(key)).toBe(false);
    expect(isPublicKeyAcceptable(key)).toBe(true);
    for (const bytes of SMALL_ORDER_ENCODINGS) {
      const nearMiss = Uint8Array.from(bytes);
      nearMiss[5]! ^= 1;
      expect(isSmallOrderEncoding(nearMiss)).toBe(false);
    }
  });

  it('a mixed-order point (torsion component but not small) is not in the list', () => {
    const mixed = ed.Point.BASE.add(generator);
    expect(mixed.isSmallOrder()).toBe(false);
    expect(mixed.isTorsionFree()).toBe(false);
    expect(isSmallOrderEncoding(mixed.toBytes())).toBe(false);
  });
});

describe('isPointEncodingCanonical', () => {
  /** A reference written with bigints: y < p, and x = 0 points must have the sign bit clear. */
  function reference(bytes: Uint8Array): boolean {
    const sign = bytes[31]! >> 7;
    const masked = Uint8Array.from(bytes);
    masked[31]! &= 0x7f;
    const y = leToBigint(masked);
    if (y >= P) return false;
    return !(sign === 1 && (y === 1n || y === P - 1n));
  }

  const withSign = (bytes: Uint8Array): Uint8Array => {
    const out = Uint8Array.from(bytes);
    out[31]! |= 0x80;
    return out;
  };

  it('refuses all 19 encodings of y >= p, with the sign bit clear or set', () => {
    const encodings = Array.from({ length: 19 }, (_, i) => encodeLe32(P + BigInt(i)));
    // p + 18 = 2^255 - 1 is the largest 255-bit value: the list is exactly the y >= p range.
    expect(leToBigint(encodings[18]!)).toBe(2n ** 255n - 1n);
    for (const bytes of encodings) {
      expect(isPointEncodingCanonical(bytes)).toBe(false);
      expect(isPointEncodingCanonical(withSign(bytes))).toBe(false);
    }
    // Some of them decode to real points leniently (y = p + 1 is the identity), which is why
    // they must be refused before any library sees them.
    expect(ed.Point.fromBytes(encodings[1]!, true).is0()).toBe(true);
    expect(() => ed.Point.fromBytes(encodings[1]!, false)).toThrow();
  });

  it('accepts y = p - 1 and y = 1 only with the sign bit clear (x = 0 points)', () => {
    const one = encodeLe32(1n);
    const minusOne = encodeLe32(P - 1n);
    expect(isPointEncodingCanonical(one)).toBe(true);
    expect(isPointEncodingCanonical(minusOne)).toBe(true);
    expect(isPointEncodingCanonical(withSign(one))).toBe(false);
    expect(isPointEncodingCanonical(withSign(minusOne))).toBe(false);
  });

  it('accepts both signs where x != 0 (y = 0, y = p - 2, the order-8 points)', () => {
    for (const y of [0n, 2n, P - 2n]) {
      expect(isPointEncodingCanonical(encodeLe32(y))).toBe(true);
      expect(isPointEncodingCanonical(withSign(encodeLe32(y)))).toBe(true);
    }
  });

  it('refuses wrong lengths', () => {
    expect(isPointEncodingCanonical(new Uint8Array(31))).toBe(false);
    expect(isPointEncodingCanonical(new Uint8Array(33))).toBe(false);
  });

  it('agrees with a bigint reference on edge values and pseudo-random bytes', () => {
    const inputs: Uint8Array[] = [];
    for (let i = -40n; i <= 40n; i++) {
      inputs.push(encodeLe32((P + i) & ((1n << 255n) - 1n)));
      inputs.push(encodeLe32((1n + i + P) % P));
    }
    let state = 0x12345678;
    for (let n = 0; n < 2000; n++) {
      const bytes = new Uint8Array(32);
      for (let i = 0; i < 32; i++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        bytes[i] = state >>> 24;
      }
      // Push half of them to the top of the range, where the interesting cases are.
      if (n % 2 === 0) bytes.fill(0xff, 1, 31);
      inputs.push(bytes);
    }
    for (const bytes of inputs) {
      expect(isPointEncodingCanonical(bytes)).toBe(reference(bytes));
      expect(isPointEncodingCanonical(withSign(bytes))).toBe(reference(withSign(bytes)));
    }
  });
});

describe('isScalarCanonical', () => {
  it('accepts 0 and L - 1, refuses L, L + 1 and 2^256 - 1', () => {
    expect(isScalarCanonical(encodeLe32(0n))).toBe(true);
    expect(isScalarCanonical(encodeLe32(L - 1n))).toBe(true);
    expect(isScalarCanonical(encodeLe32(L))).toBe(false);
    expect(isScalarCanonical(encodeLe32(L + 1n))).toBe(false);
    expect(isScalarCanonical(encodeLe32(2n ** 256n - 1n))).toBe(false);
    expect(isScalarCanonical(encodeLe32(2n ** 252n))).toBe(true);
    expect(isScalarCanonical(encodeLe32(2n ** 253n))).toBe(false);
  });

  it('refuses wrong lengths', () => {
    expect(isScalarCanonical(new Uint8Array(31))).toBe(false);
    expect(isScalarCanonical(new Uint8Array(33))).toBe(false);
  });
});

describe('strict rule, both paths', () => {
  const pair = keyPairFromSeed(fromHex('11'.repeat(32)));
  const message = new TextEncoder().encode('farthing strict rule');
  const honest = signerFor(pair, 'node')(message);
  const a = secretScalarOf(pair.secretSeed);

  const both = (signature: Uint8Array, msg: Uint8Array, key: Uint8Array) => ({
    noble: verifyNoble(signature, msg, key),
    node: verifyNode(signature, msg, key),
    nobleDispatch: verifySignature(signature, msg, key, 'noble'),
    nodeDispatch: verifySignature(signature, msg, key, 'node'),
  });
  const accepted = { noble: true, node: true, nobleDispatch: true, nodeDispatch: true };
  const refused = { noble: false, node: false, nobleDispatch: false, nodeDispatch: false };

  it('accepts an honest signature', () => {
    expect(passesStrictPrechecks(honest, pair.publicKey)).toBe(true);
    expect(both(honest, message, pair.publicKey)).toEqual(accepted);
  });

  it('refuses S + L although the equation still holds modulo L', () => {
    const s = leToBigint(honest.subarray(32));
    const malleated = concatBytes(honest.subarray(0, 32), encodeLe32(s + L));
    expect(passesStrictPrechecks(malleated, pair.publicKey)).toBe(false);
    expect(both(malleated, message, pair.publicKey)).toEqual(refused);
  });

  it('refuses R = identity with S = k·a, which OpenSSL alone accepts', () => {
    const R = encodeLe32(1n);
    const k = challengeOf(R, pair.publicKey, message);
    const forged = concatBytes(R, encodeLe32((k * a) % L));
    // The cofactorless equation holds: [S]B = [k]A = R + [k]A.
    expect(nodeVerify(null, message, publicKeyObject(pair.publicKey), forged)).toBe(true);
    expect(both(forged, message, pair.publicKey)).toEqual(refused);
  });

  it('refuses a small-order A whose equation holds, which OpenSSL alone accepts', () => {
    // A of order 8 and a message whose challenge k is a multiple of 8 make [k]A the identity,
    // so an honest-looking (R, S = r) satisfies [S]B = R + [k]A.
    const A = SMALL_ORDER_ENCODINGS[4]!;
    const r = 123456789n;
    const R = ed.Point.BASE.multiply(r).toBytes();
    let forgedMessage: Uint8Array | undefined;
    for (let i = 0; i < 256 && forgedMessage === undefined; i++) {
      const candidate = Uint8Array.of(i);
      if (challengeOf(R, A, candidate) % 8n === 0n) forgedMessage = candidate;
    }
    expect(forgedMessage).toBeDefined();
    const forged = concatBytes(R, encodeLe32(r));
    expect(nodeVerify(null, forgedMessage!, publicKeyObject(A), forged)).toBe(true);
    expect(both(forged, forgedMessage!, A)).toEqual(refused);
  });

  it('refuses non-canonical encodings of the identity as A or R', () => {
    const identityForms = [fromHex('01' + '00'.repeat(30) + '80'), encodeLe32(P + 1n)];
    const r = 987654321n;
    const R = ed.Point.BASE.multiply(r).toBytes();
    for (const A of identityForms) {
      // [S]B = R + [k]·identity holds with S = r, if A were decoded leniently.
      expect(both(concatBytes(R, encodeLe32(r)), message, A)).toEqual(refused);
    }
    for (const badR of identityForms) {
      const k = challengeOf(badR, pair.publicKey, message);
      expect(both(concatBytes(badR, encodeLe32((k * a) % L)), message, pair.publicKey)).toEqual(
        refused,
      );
    }
  });

  it('refuses wrong lengths, a y that is not on the curve, and a wrong key', () => {
    expect(both(honest.subarray(0, 63), message, pair.publicKey)).toEqual(refused);
    expect(both(concatBytes(honest, Uint8Array.of(0)), message, pair.publicKey)).toEqual(refused);
    expect(both(honest, message, pair.publicKey.subarray(0, 31))).toEqual(refused);
    // The smallest y > 1 with no x on the curve (about half of all y have none).
    let offCurve = 2n;
    for (; ; offCurve++) {
      try {
        ed.Point.fromBytes(encodeLe32(offCurve));
      } catch {
        break;
      }
    }
    expect(both(honest, message, encodeLe32(offCurve))).toEqual(refused);
    expect(
      both(concatBytes(encodeLe32(offCurve), honest.subarray(32)), message, pair.publicKey),
    ).toEqual(refused);
    const other = keyPairFromSeed(fromHex('22'.repeat(32))).publicKey;
    expect(both(honest, message, other)).toEqual(refused);
  });
});
