import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FIELD_PRIME,
  GROUP_ORDER,
  SMALL_ORDER_ENCODINGS,
  keyPairFromSeed,
  signerFor,
  verifyNoble,
  verifyNode,
} from '../../src/crypto/index.js';
import { encodeLe32, leToBigint } from '../../scripts/make-vectors.js';

/**
 * The two verification paths implement one strict rule: on honest signatures and on every
 * kind of mutation they must agree, accept the honest ones and refuse the mutated ones.
 * Keys come from a small fixed pool and are signed with the fast node path, so the cost is
 * the verifications themselves (noble is about 1 ms each).
 */
// Each run signs once and checks an honest and a mutated signature: 10 000 signatures made,
// 20 000 checked by both paths (about 15 s).
const RUNS = 10_000;

const pool = Array.from({ length: 8 }, (_, i) => {
  const pair = keyPairFromSeed(new Uint8Array(32).fill(i + 1));
  return { pair, sign: signerFor(pair, 'node') };
});

type Mutation =
  | { kind: 'flip'; region: 'R' | 'S' | 'A' | 'message'; bit: number }
  | { kind: 'sPlusL'; multiple: 1n | 2n }
  | { kind: 'yPlusP'; target: 'R' | 'A'; y: number; sign: boolean }
  | { kind: 'x0SignBit'; target: 'R' | 'A'; point: 'one' | 'minusOne' }
  | { kind: 'smallOrder'; target: 'R' | 'A'; index: number }
  | { kind: 'otherKey'; offset: number }
  | { kind: 'random'; bytes: Uint8Array };

const target = fc.constantFrom<'R' | 'A'>('R', 'A');
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    region: fc.constantFrom<'R' | 'S' | 'A' | 'message'>('R', 'S', 'A', 'message'),
    bit: fc.nat(),
  }),
  fc.record({ kind: fc.constant('sPlusL' as const), multiple: fc.constantFrom<1n | 2n>(1n, 2n) }),
  fc.record({
    kind: fc.constant('yPlusP' as const),
    target,
    y: fc.integer({ min: 0, max: 18 }),
    sign: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('x0SignBit' as const),
    target,
    point: fc.constantFrom<'one' | 'minusOne'>('one', 'minusOne'),
  }),
  fc.record({
    kind: fc.constant('smallOrder' as const),
    target,
    index: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ kind: fc.constant('otherKey' as const), offset: fc.integer({ min: 1, max: 7 }) }),
  fc.record({
    kind: fc.constant('random' as const),
    bytes: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  }),
);

interface Case {
  signature: Uint8Array;
  message: Uint8Array;
  publicKey: Uint8Array;
}

function replacePoint(c: Case, where: 'R' | 'A', point: Uint8Array): Case {
  if (where === 'A') return { ...c, publicKey: point };
  const signature = Uint8Array.from(c.signature);
  signature.set(point, 0);
  return { ...c, signature };
}

function mutate(c: Case, m: Mutation, keyIndex: number): Case {
  switch (m.kind) {
    case 'flip': {
      const copy = (b: Uint8Array) => Uint8Array.from(b);
      if (m.region === 'message') {
        if (c.message.length === 0) return { ...c, message: Uint8Array.of(1 << (m.bit % 8)) };
        const message = copy(c.message);
        const bit = m.bit % (message.length * 8);
        message[bit >> 3]! ^= 1 << (bit & 7);
        return { ...c, message };
      }
      if (m.region === 'A') {
        const publicKey = copy(c.publicKey);
        const bit = m.bit % 256;
        publicKey[bit >> 3]! ^= 1 << (bit & 7);
        return { ...c, publicKey };
      }
      const signature = copy(c.signature);
      const bit = (m.region === 'R' ? 0 : 256) + (m.bit % 256);
      signature[bit >> 3]! ^= 1 << (bit & 7);
      return { ...c, signature };
    }
    case 'sPlusL': {
      const s = leToBigint(c.signature.subarray(32)) + m.multiple * GROUP_ORDER;
      const signature = Uint8Array.from(c.signature);
      signature.set(encodeLe32(s), 32);
      return { ...c, signature };
    }
    case 'yPlusP': {
      const point = encodeLe32(FIELD_PRIME + BigInt(m.y));
      if (m.sign) point[31]! |= 0x80;
      return replacePoint(c, m.target, point);
    }
    case 'x0SignBit': {
      const point = encodeLe32(m.point === 'one' ? 1n : FIELD_PRIME - 1n);
      point[31]! |= 0x80;
      return replacePoint(c, m.target, point);
    }
    case 'smallOrder':
      return replacePoint(c, m.target, SMALL_ORDER_ENCODINGS[m.index]!);
    case 'otherKey':
      return { ...c, publicKey: pool[(keyIndex + m.offset) % pool.length]!.pair.publicKey };
    case 'random':
      return { ...c, signature: m.bytes };
  }
}

const verdicts = (c: Case) => ({
  noble: verifyNoble(c.signature, c.message, c.publicKey),
  node: verifyNode(c.signature, c.message, c.publicKey),
});

describe('verifyNoble and verifyNode never disagree', () => {
  it(`${RUNS} honest signatures accepted and ${RUNS} mutations refused by both paths`, () => {
    const seen = new Map<string, number>();
    let checked = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: pool.length - 1 }),
        fc.uint8Array({ maxLength: 96 }),
        mutation,
        (keyIndex, message, m) => {
          const { pair, sign } = pool[keyIndex]!;
          const honest: Case = { signature: sign(message), message, publicKey: pair.publicKey };
          expect(verdicts(honest)).toEqual({ noble: true, node: true });
          const mutated = mutate(honest, m, keyIndex);
          expect(verdicts(mutated)).toEqual({ noble: false, node: false });
          checked += 2;
          seen.set(m.kind, (seen.get(m.kind) ?? 0) + 1);
        },
      ),
      { numRuns: RUNS },
    );
    expect(checked).toBeGreaterThanOrEqual(20_000);
    // Every mutation kind was exercised a fair number of times.
    expect(seen.size).toBe(7);
    for (const count of seen.values()) expect(count).toBeGreaterThan(RUNS / 20);
  }, 120_000);
});
