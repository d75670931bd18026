import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Limits,
  PROTECTED_EDDSA,
  Status,
  checkCborStructure,
  concatBytes,
  decodeCborStrict,
  decodeMessage,
  encodeCbor,
  schemas,
  writePayload,
  type Direction,
} from '../../src/protocol/index.js';
import { encodeSample, samples } from '../unit/protocol-samples.js';

/**
 * Hostile input never crashes the decoder: decodeMessage returns a result for every input (a
 * 1x status from the catalogue, or a message whose bytes are the one canonical encoding of it),
 * checkCborStructure never throws, and nothing takes long (a hang guard, not a speed target).
 * Over 100 000 inputs in all, in five families.
 */
const SLOW_MS = 50;
const MESSAGE_STATUSES = new Set<number>([
  Status.MESSAGE_TOO_LARGE,
  Status.MESSAGE_MALFORMED,
  Status.MESSAGE_INVALID,
  Status.MESSAGE_TYPE_UNKNOWN,
  Status.MESSAGE_FORM_WRONG,
]);
const DIRECTIONS: Direction[] = ['up', 'down', 'payee', 'connect'];
const encodedSamples = samples.map(encodeSample);

let inputs = 0;
const outcomes = new Map<string, number>();

function examine(bytes: Uint8Array, direction?: Direction): void {
  const started = performance.now();
  run(bytes, direction);
  const elapsed = performance.now() - started;
  if (elapsed > SLOW_MS) {
    // Rerun before failing, so a GC pause or a busy machine is not reported as a hang.
    const again = performance.now();
    run(bytes, direction);
    expect(
      performance.now() - again,
      `slow input ${Buffer.from(bytes).toString('hex').slice(0, 200)}`,
    ).toBeLessThan(SLOW_MS);
  }
  inputs++;
}

function run(bytes: Uint8Array, given?: Direction): void {
  expect(() => checkCborStructure(bytes)).not.toThrow();
  const structure = checkCborStructure(bytes);
  // Directions only matter once a message has decoded, so each input gets one, in rotation.
  const direction = given ?? DIRECTIONS[inputs % DIRECTIONS.length]!;
  for (const maxBytes of [Limits.maxMessageBytes, 1 << 20]) {
    const decoded = decodeMessage(bytes, direction, maxBytes);
    if (!decoded.ok) {
      expect(MESSAGE_STATUSES.has(decoded.status), `status ${decoded.status}`).toBe(true);
      expect(typeof decoded.reason).toBe('string');
      if (bytes.length > maxBytes) expect(decoded.status).toBe(Status.MESSAGE_TOO_LARGE);
      else if (!structure.ok) expect(decoded.status).toBe(Status.MESSAGE_MALFORMED);
      count(`refused ${decoded.status}`);
      continue;
    }
    expect(bytes.length).toBeLessThanOrEqual(maxBytes);
    expect(structure.ok).toBe(true);
    // Whatever is accepted is the one canonical encoding of what was decoded.
    const payload = encodeCbor(writePayload(decoded.message));
    const again =
      decoded.signed === undefined
        ? payload
        : encodeCbor([PROTECTED_EDDSA, new Map(), payload, decoded.signed.signature]);
    expect(Buffer.from(again).equals(bytes)).toBe(true);
    count('accepted');
  }
  const strict = decodeCborStrict(bytes, 1 << 20);
  // Structurally valid CBOR re-encodes to itself; the one known exception is -2^64, which
  // cbor-x cannot write as an integer (so encodeCbor refuses it and the decoder says MALFORMED).
  if (structure.ok && !strict.ok) {
    expect(Buffer.from(bytes).toString('hex')).toContain('3bffffffffffffffff');
  }
  if (!structure.ok) expect(strict.ok).toBe(false);
}

function count(outcome: string): void {
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
}

// ---------------------------------------------------------------------------------------------
// A loose CBOR writer: any item, with optional non-shortest heads, indefinite lengths and
// unsorted map keys, so the generators can produce every kind of almost-right input.

type Loose =
  | { k: 'uint' | 'nint'; v: bigint; q: number }
  | { k: 'bytes' | 'rawtext'; v: Uint8Array; q: number }
  | { k: 'text'; v: string; q: number }
  | { k: 'array'; v: Loose[]; q: number }
  | { k: 'map'; v: Array<[Loose, Loose]>; q: number }
  | { k: 'tag'; tag: bigint; v: Loose; q: number }
  | { k: 'float'; width: 2 | 4 | 8; bits: Uint8Array; q: number }
  | { k: 'simple'; v: number; q: number };

/** Quirk codes: 0 non-shortest head, 1 indefinite length, 2 unsorted map; else canonical. */
const quirk = fc.integer({ min: 0, max: 15 });

function head(major: number, n: bigint, nonShortest: boolean): number[] {
  // 0: in the initial byte; 1, 2, 3, 4: followed by 1, 2, 4 or 8 bytes.
  let level = n < 24n ? 0 : n < 0x100n ? 1 : n < 0x10000n ? 2 : n < 0x100000000n ? 3 : 4;
  if (nonShortest && level < 4) level++;
  if (level === 0) return [(major << 5) | Number(n)];
  const out = [(major << 5) | (23 + level)];
  for (let i = (1 << (level - 1)) - 1; i >= 0; i--) out.push(Number((n >> BigInt(i * 8)) & 0xffn));
  return out;
}

function write(item: Loose): number[] {
  const ns = item.q === 0;
  const indefinite = item.q === 1;
  switch (item.k) {
    case 'uint':
      return head(0, item.v, ns);
    case 'nint':
      return head(1, item.v, ns);
    case 'bytes':
    case 'rawtext':
    case 'text': {
      const major = item.k === 'bytes' ? 2 : 3;
      const data = item.k === 'text' ? [...new TextEncoder().encode(item.v)] : [...item.v];
      if (indefinite) {
        const half = data.length >> 1;
        return [
          (major << 5) | 31,
          ...head(major, BigInt(half), false),
          ...data.slice(0, half),
          ...head(major, BigInt(data.length - half), false),
          ...data.slice(half),
          0xff,
        ];
      }
      return [...head(major, BigInt(data.length), ns), ...data];
    }
    case 'array': {
      const body = item.v.flatMap(write);
      return indefinite ? [0x9f, ...body, 0xff] : [...head(4, BigInt(item.v.length), ns), ...body];
    }
    case 'map': {
      let entries = item.v.map(([key, value]) => [write(key), write(value)] as const);
      if (item.q !== 2) entries = [...entries].sort(([a], [b]) => compare(a, b));
      const body = entries.flatMap(([key, value]) => [...key, ...value]);
      return indefinite ? [0xbf, ...body, 0xff] : [...head(5, BigInt(item.v.length), ns), ...body];
    }
    case 'tag':
      return [...head(6, item.tag, ns), ...write(item.v)];
    case 'float':
      return [0xe0 | (item.width === 2 ? 25 : item.width === 4 ? 26 : 27), ...item.bits];
    case 'simple':
      return item.v < 24 ? [0xe0 | item.v] : [0xf8, item.v];
  }
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const interestingUint = fc.oneof(
  fc.bigInt({ min: 0n, max: 30n }),
  fc.constantFrom(23n, 24n, 255n, 256n, 65535n, 65536n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'USD', 'payee-1'),
);
const leaf: fc.Arbitrary<Loose> = fc.oneof(
  fc.record({ k: fc.constant('uint' as const), v: interestingUint, q: quirk }),
  fc.record({ k: fc.constant('nint' as const), v: interestingUint, q: quirk }),
  fc.record({
    k: fc.constant('bytes' as const),
    v: fc.oneof(
      fc.uint8Array({ maxLength: 8 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
    ),
    q: quirk,
  }),
  fc.record({ k: fc.constant('text' as const), v: text, q: quirk }),
  fc.record({ k: fc.constant('rawtext' as const), v: fc.uint8Array({ maxLength: 6 }), q: quirk }),
  fc
    .record({
      k: fc.constant('float' as const),
      width: fc.constantFrom<2 | 4 | 8>(2, 4, 8),
      bits: fc.uint8Array({ minLength: 8, maxLength: 8 }),
      q: quirk,
    })
    .map((f) => ({ ...f, bits: f.bits.subarray(0, f.width) })),
  fc.record({
    k: fc.constant('simple' as const),
    v: fc.integer({ min: 0, max: 255 }).filter((v) => v < 24 || v >= 32),
    q: quirk,
  }),
);
const { item } = fc.letrec<{ item: Loose }>((tie) => ({
  item: fc.oneof(
    { depthSize: 'small', maxDepth: 6 },
    leaf,
    fc.record({
      k: fc.constant('array' as const),
      v: fc.array(tie('item'), { maxLength: 6 }),
      q: quirk,
    }),
    fc.record({
      k: fc.constant('map' as const),
      v: fc.array(fc.tuple(fc.oneof(leaf, tie('item')), tie('item')), { maxLength: 4 }),
      q: quirk,
    }),
    fc.record({
      k: fc.constant('tag' as const),
      tag: fc.constantFrom(0n, 1n, 2n, 3n, 24n, 27n, 28n, 29n, 258n, 259n, 55799n, 2n ** 32n),
      v: tie('item'),
      q: quirk,
    }),
  ),
}));

/** Arrays shaped like messages (a type number first, then field-like items), often signed. */
const fieldLike: fc.Arbitrary<Loose> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .uint8Array({ minLength: 16, maxLength: 16 })
      .map((v) => ({ k: 'bytes' as const, v, q: 15 })),
  },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ minLength: 32, maxLength: 32 })
      .map((v) => ({ k: 'bytes' as const, v, q: 15 })),
  },
  { weight: 3, arbitrary: interestingUint.map((v) => ({ k: 'uint' as const, v, q: 15 })) },
  { weight: 2, arbitrary: text.map((v) => ({ k: 'text' as const, v, q: 15 })) },
  { weight: 1, arbitrary: item },
);
const messageShaped = fc
  .record({
    type: fc.integer({ min: 0, max: 15 }),
    fields: fc.array(fieldLike, { maxLength: 9 }),
    signed: fc.boolean(),
    signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    q: quirk,
  })
  .map(({ type, fields, signed, signature, q }) => {
    const payload = Uint8Array.from(
      write({
        k: 'array',
        v: [{ k: 'uint', v: BigInt(type), q: 15 }, ...fields],
        q: q === 0 || q === 1 ? q : 15,
      }),
    );
    return signed ? encodeCbor([PROTECTED_EDDSA, new Map(), payload, signature]) : payload;
  });

// ---------------------------------------------------------------------------------------------
// Mutations of valid messages.

type Mutation =
  | { m: 'flip'; at: number; xor: number }
  | { m: 'set'; at: number; byte: number }
  | { m: 'truncate'; at: number }
  | { m: 'insert'; at: number; bytes: Uint8Array }
  | { m: 'delete'; at: number; length: number };

const specialByte = fc.constantFrom(
  0x00,
  0x17,
  0x18,
  0x19,
  0x1a,
  0x1b,
  0x1c,
  0x1f,
  0x3b,
  0x40,
  0x50,
  0x58,
  0x5b,
  0x5f,
  0x7f,
  0x80,
  0x9b,
  0x9f,
  0xa0,
  0xbb,
  0xbf,
  0xc0,
  0xd8,
  0xd9,
  0xf4,
  0xf7,
  0xf9,
  0xfb,
  0xff,
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    m: fc.constant('flip' as const),
    at: fc.nat(),
    xor: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({ m: fc.constant('set' as const), at: fc.nat(), byte: specialByte }),
  fc.record({ m: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    m: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 9 }),
      specialByte.map((b) => Uint8Array.of(b)),
    ),
  }),
  fc.record({
    m: fc.constant('delete' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 9 }),
  }),
);

function applyMutation(bytes: Uint8Array, mutation: Mutation): Uint8Array {
  const at =
    bytes.length === 0 ? 0 : mutation.at % (bytes.length + (mutation.m === 'insert' ? 1 : 0));
  switch (mutation.m) {
    case 'flip':
    case 'set': {
      if (bytes.length === 0) return bytes;
      const out = Uint8Array.from(bytes);
      out[at] = mutation.m === 'flip' ? out[at]! ^ mutation.xor : mutation.byte;
      return out;
    }
    case 'truncate':
      return bytes.subarray(0, at);
    case 'insert':
      return concatBytes(bytes.subarray(0, at), mutation.bytes, bytes.subarray(at));
    case 'delete':
      return concatBytes(bytes.subarray(0, at), bytes.subarray(at + mutation.length));
  }
}

const mutated = fc
  .tuple(
    fc.integer({ min: 0, max: encodedSamples.length - 1 }),
    fc.array(mutation, { minLength: 1, maxLength: 4 }),
  )
  .map(([index, mutations]) => mutations.reduce(applyMutation, encodedSamples[index]!));

// ---------------------------------------------------------------------------------------------
// Adversarial constructions.

const validSample = fc.constantFrom(...encodedSamples);
const tagHead = fc.oneof(
  fc.constantFrom(
    'd81b',
    'd81c',
    'd81d',
    'c0',
    'c1',
    'c2',
    'd9d9f7',
    'd818',
    'd90103',
    'da00010000',
    'db0000000100000000',
  ),
  fc.integer({ min: 0xc0, max: 0xd7 }).map((b) => b.toString(16)),
);
const hugeLength = fc.constantFrom(
  '5bffffffffffffffff',
  '7bffffffffffffffff',
  '9bffffffffffffffff',
  'bbffffffffffffffff',
  '5affffffff',
  '7affffffff',
  '9affffffff',
  'baffffffff',
  '59ffff',
  '99ffff',
  'b9ffff',
  '5b0000000100000000',
  '9b7fffffffffffff',
  '1bffffffffffffffff',
  '3bffffffffffffffff',
);
const nonShortest = fc.constantFrom(
  '1800',
  '1817',
  '190000',
  '1900ff',
  '1a0000ffff',
  '1b00000000ffffffff',
  '3800',
  '5800',
  '7800',
  '9800',
  'b800',
  '9900 04',
);
const protoMap = fc
  .tuple(
    fc.constantFrom('__proto__', 'constructor', 'prototype'),
    fc.oneof(item, fc.constant({ k: 'uint', v: 1n, q: 15 } as Loose)),
    fc.boolean(),
  )
  .map(([key, value, wrap]) => {
    const map = Uint8Array.from(
      write({ k: 'map', v: [[{ k: 'text', v: key, q: 15 }, value]], q: 15 }),
    );
    return wrap
      ? encodeCbor([
          PROTECTED_EDDSA,
          map as unknown as Map<never, never>,
          new Uint8Array(0),
          new Uint8Array(64),
        ])
      : map;
  });
const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

const adversarial: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .oneof(fc.constant(10_000), fc.integer({ min: 1, max: 10_000 }))
    .map((n) => new Uint8Array(n).fill(0x81)),
  fc
    .tuple(
      fc.integer({ min: 1, max: 10_000 }),
      fc.constantFrom(0x81, 0x9f, 0xa1, 0xbf, 0xd8, 0x5f, 0xc6),
    )
    .map(([n, b]) => concatBytes(new Uint8Array(n).fill(b), Uint8Array.of(0))),
  fc
    .tuple(hugeLength, fc.uint8Array({ maxLength: 32 }))
    .map(([h, tail]) => concatBytes(hex(h), tail)),
  fc
    .tuple(fc.array(tagHead, { minLength: 1, maxLength: 3 }), validSample)
    .map(([tags, sample]) => concatBytes(hex(tags.join('')), sample)),
  fc.tuple(validSample, nonShortest, fc.nat()).map(([sample, ns, at]) => {
    const i = at % sample.length;
    return concatBytes(sample.subarray(0, i), hex(ns), sample.subarray(i + 1));
  }),
  fc
    .tuple(validSample, fc.uint8Array({ minLength: 1, maxLength: 16 }))
    .map(([sample, tail]) => concatBytes(sample, tail)),
  protoMap,
  // A valid envelope around a payload of hostile CBOR.
  item.map((loose) =>
    encodeCbor([PROTECTED_EDDSA, new Map(), Uint8Array.from(write(loose)), new Uint8Array(64)]),
  ),
);

// ---------------------------------------------------------------------------------------------

const check = (arbitrary: fc.Arbitrary<Uint8Array>, numRuns: number) =>
  fc.assert(
    fc.property(arbitrary, (bytes) => examine(bytes)),
    { numRuns },
  );

describe('decodeMessage on hostile input', () => {
  afterAll(() => {
    console.log(`fuzz: ${inputs} inputs;`, Object.fromEntries([...outcomes].sort()));
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(({} as Record<string, unknown>).__proto__).toBe(Object.prototype);
  });

  it('accepts every valid sample (the mutations start from real messages)', () => {
    samples.forEach((sample, i) => examine(encodedSamples[i]!, schemas[sample.type].direction));
    expect(outcomes.get('accepted')).toBeGreaterThanOrEqual(encodedSamples.length);
  });

  it('random bytes (30 000)', () => check(fc.uint8Array({ maxLength: 600 }), 30_000), 60_000);
  it('mutated valid messages (30 000)', () => check(mutated, 30_000), 60_000);
  it(
    'loose CBOR items (15 000)',
    () =>
      check(
        item.map((l) => Uint8Array.from(write(l))),
        15_000,
      ),
    60_000,
  );
  it(
    'message-shaped arrays, plain and in envelopes (15 000)',
    () => check(messageShaped, 15_000),
    60_000,
  );
  it('adversarial constructions (15 000)', () => check(adversarial, 15_000), 60_000);

  it('ran at least 100 000 inputs and reached every outcome', () => {
    expect(inputs).toBeGreaterThanOrEqual(100_000);
    for (const status of MESSAGE_STATUSES)
      expect(outcomes.get(`refused ${status}`) ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('accepted') ?? 0).toBeGreaterThan(encodedSamples.length * 8);
  });
});
