import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyPairFromSeed, signerFor, verifyNode } from '../../src/crypto/index.js';
import {
  ASSET_PATTERN,
  ID_PATTERN,
  Limits,
  MessageType,
  decodeCborStrict,
  decodeMessage,
  encodeCbor,
  encodeMessage,
  schemas,
  toHex,
  type CborValue,
  type Message,
  type MessageTypeNumber,
} from '../../src/protocol/index.js';

/** Any message of any type, with every field anywhere in its range, survives the wire. */
const key = keyPairFromSeed(new Uint8Array(32).fill(0x5a));
const sign = signerFor(key, 'node');

const fieldArbitraries: Record<string, fc.Arbitrary<unknown>> = {
  key32: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  bytes16: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  amount: fc.oneof(
    fc.bigInt({ min: 0n, max: Limits.maxAmount }),
    fc.constantFrom(0n, 23n, 24n, 2n ** 32n - 1n, 2n ** 32n, Limits.maxAmount),
  ),
  seq: fc.oneof(fc.integer({ min: 0, max: Limits.maxSeq }), fc.constantFrom(0, Limits.maxSeq)),
  unixS: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  id: fc.stringMatching(ID_PATTERN),
  asset: fc.stringMatching(ASSET_PATTERN),
  status: fc.integer({ min: 0, max: 999 }),
  messageType: fc.integer({ min: 0, max: 255 }),
  closeReason: fc.integer({ min: 1, max: 3 }),
  basisPoints: fc.integer({ min: 0, max: 10_000 }),
};

const anyMessage: fc.Arbitrary<Message> = fc
  .constantFrom(...(Object.values(MessageType) as MessageTypeNumber[]))
  .chain((type) =>
    fc.tuple(...schemas[type].fields.map(([, kind]) => fieldArbitraries[kind]!)).map((values) => {
      const message: Record<string, unknown> = { type };
      schemas[type].fields.forEach(([name], i) => (message[name] = values[i]));
      return message as unknown as Message;
    }),
  );

describe('messages round-trip', () => {
  it('decodeMessage(encodeMessage(m)) is m, for 5 000 random messages of every type', () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        const schema = schemas[message.type];
        const bytes = encodeMessage(message, schema.form === 'signed' ? sign : undefined);
        expect(bytes.length).toBeLessThanOrEqual(Limits.maxMessageBytes);
        const decoded = decodeMessage(bytes, schema.direction);
        if (!decoded.ok) throw new Error(decoded.reason);
        expect(decoded.message).toStrictEqual(message);
        if (schema.form === 'signed') {
          expect(
            verifyNode(decoded.signed!.signature, decoded.signed!.toBeSigned, key.publicKey),
          ).toBe(true);
        } else {
          expect(decoded.signed).toBeUndefined();
        }
        if (message.type === MessageType.Voucher) expect(bytes.length).toBeLessThanOrEqual(110);
      }),
      { numRuns: 5_000 },
    );
  });
});

/** Values inside the default shape (depth 4, 16 items, 256-byte strings). */
const { value } = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.integer(),
    fc.constantFrom(
      0,
      23,
      24,
      255,
      256,
      65535,
      65536,
      2 ** 32 - 1,
      2 ** 32,
      -(2 ** 32),
      -(2 ** 32) - 1,
    ),
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(2n ** 64n) + 1n, max: 2n ** 64n - 1n }),
    fc.string({ maxLength: 60, unit: 'binary' }),
    fc.constantFrom('__proto__', 'constructor'),
    fc.uint8Array({ maxLength: 256 }),
    fc.array(tie('value'), { maxLength: 16 }),
    fc
      .uniqueArray(fc.tuple(fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), tie('value')), {
        maxLength: 16,
        selector: ([k]) => k,
      })
      .map((entries) => new Map(entries)),
  ),
}));

/** Integers as bigint, so 5 and 5n compare equal (the codec may return either). */
function canonical(v: CborValue): unknown {
  if (typeof v === 'number' || typeof v === 'bigint') return BigInt(v);
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(canonical);
  if (v instanceof Map) return [...v].map(([k, x]) => [canonical(k), canonical(x)]).sort();
  return v;
}

describe('generic CBOR values round-trip through the strict decoder', () => {
  it('decodeCborStrict(encodeCbor(v)) accepts and returns v (10 000 values)', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeCbor(v);
        const decoded = decodeCborStrict(bytes, 1 << 20);
        if (!decoded.ok) throw new Error(`${decoded.reason}: ${toHex(bytes).slice(0, 120)}`);
        expect(canonical(decoded.value)).toEqual(canonical(v));
        expect(toHex(encodeCbor(decoded.value))).toBe(toHex(bytes));
      }),
      { numRuns: 10_000 },
    );
  });
});
