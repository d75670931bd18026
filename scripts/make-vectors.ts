/**
 * Writes test/vectors/protocol-vectors.json: the Farthing wire protocol as bytes, so that a
 * device written in another language can check its encoder, decoder, signer and channel rules
 * against ours. Everything is derived from fixed seeds and nonces, so the file is reproducible
 * byte for byte; test/vectors/protocol-vectors.test.ts fails if the code and the file disagree.
 *
 *   npm run vectors            (re)writes the file
 *   node dist/scripts/make-vectors.js --check   exits 1 if the file is not up to date
 */
import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkVoucher, type ChannelState } from '../src/channel/index.js';
import {
  FIELD_PRIME,
  GROUP_ORDER,
  SMALL_ORDER_ENCODINGS,
  keyPairFromSeed,
  signerFor,
  verifyNoble,
  verifyNode,
  type KeyPair,
} from '../src/crypto/index.js';
import {
  CloseReason,
  Limits,
  MessageType,
  PROTECTED_EDDSA,
  Status,
  channelIdOf,
  concatBytes,
  decodeCborStrict,
  decodeMessage,
  encodeCbor,
  encodeMessage,
  keyId,
  readSign1,
  schemas,
  sigStructure,
  statusName,
  toHex,
  writePayload,
  type Direction,
  type Message,
  type StatusName,
} from '../src/protocol/index.js';

// ---------------------------------------------------------------------------------------------
// Ed25519 arithmetic helpers (also used by the crypto tests to build edge cases).

/** 32-byte little-endian encoding of 0 <= n < 2^256. */
export function encodeLe32(n: bigint): Uint8Array {
  if (n < 0n || n >= 2n ** 256n) throw new RangeError('out of 32-byte range');
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

export function leToBigint(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}

/** The RFC 8032 secret scalar a: the clamped low half of SHA-512(seed). */
export function secretScalarOf(seed: Uint8Array): bigint {
  const h = sha512(seed).slice(0, 32);
  h[0]! &= 248;
  h[31]! &= 127;
  h[31]! |= 64;
  return leToBigint(h);
}

/** The challenge k = SHA-512(R ‖ A ‖ M) mod L. */
export function challengeOf(R: Uint8Array, A: Uint8Array, message: Uint8Array): bigint {
  return leToBigint(sha512(concatBytes(R, A, message))) % GROUP_ORDER;
}

// ---------------------------------------------------------------------------------------------
// Fixed inputs.

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Seeds are SHA-256 of a label, so anyone can re-derive them. */
export const HUB_SEED = sha256(utf8('farthing test vectors: hub key'));
export const DEVICE_SEED = sha256(utf8('farthing test vectors: device key'));
export const NONCE = Uint8Array.from({ length: 16 }, (_, i) => i);
/** 2026-01-01T00:00:00Z: the clock the vectors' channel rules use. */
export const NOW_UNIX_S = 1_767_225_600;
export const EXPIRES_AT_UNIX_S = NOW_UNIX_S + 30 * 24 * 3600;
export const CAPACITY_BASE_UNITS = 1_000_000_000n;

// ---------------------------------------------------------------------------------------------
// JSON shapes.

type FieldJson = { name: string; kind: string; value: string | number };

interface MessageVector {
  name: string;
  description: string;
  type: number;
  form: 'signed' | 'plain';
  direction: Direction;
  signer: 'hub' | 'device' | null;
  fields: FieldJson[];
  payload: string;
  encoded: string;
  encodedBytes: number;
  toBeSigned: string | null;
  signature: string | null;
}

interface RefusalVector {
  description: string;
  direction: Direction;
  bytes: string;
  status: StatusName;
  statusCode: number;
}

interface ScenarioStep {
  description: string;
  nowUnixS: number;
  sender: 'device' | 'hub';
  seq: number;
  amountBaseUnits: string;
  encoded: string;
  verdict: 'accept' | 'duplicate' | 'stale' | 'refuse';
  status: StatusName | null;
  statusCode: number | null;
  stateAfter: { seq: number; amountBaseUnits: string };
}

interface Ed25519Vector {
  description: string;
  publicKey: string;
  message: string;
  signature: string;
  expected: 'accept' | 'refuse';
}

// ---------------------------------------------------------------------------------------------
// Builders.

function keyJson(pair: KeyPair) {
  return {
    seed: toHex(pair.secretSeed),
    publicKey: toHex(pair.publicKey),
    id: keyId(pair.publicKey),
  };
}

function fieldValue(kind: string, value: unknown): string | number {
  if (value instanceof Uint8Array) return toHex(value);
  if (typeof value === 'bigint') return value.toString(10);
  if (typeof value === 'number' || typeof value === 'string') return value;
  throw new TypeError(`cannot list a ${kind} field of ${typeof value}`);
}

function sampleMessages(hub: KeyPair, device: KeyPair, channelId: Uint8Array) {
  const samples: Array<{ description: string; message: Message }> = [
    {
      description: 'device asks to open a channel of 1 USD (scale 9) for 30 days',
      message: {
        type: MessageType.OpenRequest,
        hubKey: hub.publicKey,
        deviceKey: device.publicKey,
        payeeId: 'charger-17',
        asset: 'USD',
        capacityBaseUnits: CAPACITY_BASE_UNITS,
        expiresAtUnixS: EXPIRES_AT_UNIX_S,
        nonce: NONCE,
      },
    },
    {
      description: 'hub accepts it with a 1.5 % fee',
      message: {
        type: MessageType.OpenAccepted,
        nonce: NONCE,
        channelId,
        payeeId: 'charger-17',
        asset: 'USD',
        capacityBaseUnits: CAPACITY_BASE_UNITS,
        expiresAtUnixS: EXPIRES_AT_UNIX_S,
        feeBasisPoints: 150,
      },
    },
    {
      description: 'hub refuses an open for lack of funds',
      message: { type: MessageType.OpenRejected, nonce: NONCE, status: Status.INSUFFICIENT_FUNDS },
    },
    {
      description: 'a typical voucher: seq 42, 12 345 678 base units owed in total',
      message: { type: MessageType.Voucher, channelId, seq: 42, amountBaseUnits: 12_345_678n },
    },
    {
      description: 'the largest voucher: seq 2^32 - 1, amount 2^64 - 1',
      message: {
        type: MessageType.Voucher,
        channelId,
        seq: Limits.maxSeq,
        amountBaseUnits: Limits.maxAmount,
      },
    },
    {
      description: 'plain acknowledgement of voucher 42',
      message: { type: MessageType.Ack, channelId, seq: 42, amountBaseUnits: 12_345_678n },
    },
    {
      description: 'hub-signed receipt for voucher 42',
      message: {
        type: MessageType.Receipt,
        channelId,
        seq: 42,
        amountBaseUnits: 12_345_678n,
        capacityBaseUnits: CAPACITY_BASE_UNITS,
      },
    },
    {
      description: 'hub refuses voucher 43 because it exceeds the capacity',
      message: {
        type: MessageType.Rejection,
        channelId,
        refusedType: MessageType.Voucher,
        seq: 43,
        status: Status.AMOUNT_EXCEEDS_CAPACITY,
      },
    },
    {
      description: 'device raises the capacity to 2 USD',
      message: { type: MessageType.TopUp, channelId, capacityBaseUnits: 2n * CAPACITY_BASE_UNITS },
    },
    {
      description: 'device closes the channel',
      message: { type: MessageType.CloseRequest, channelId, seq: 3 },
    },
    {
      description: 'hub closes it: 12 345 678 paid, 185 185 fee (1.5 %), the rest refunded',
      message: {
        type: MessageType.CloseReceipt,
        channelId,
        seq: 42,
        amountBaseUnits: 12_345_678n,
        payeeBaseUnits: 12_160_493n,
        feeBaseUnits: 185_185n,
        refundBaseUnits: 2n * CAPACITY_BASE_UNITS - 12_345_678n,
        reason: CloseReason.Cooperative,
      },
    },
    {
      description: 'device asks for a signed receipt now',
      message: { type: MessageType.ReceiptRequest, channelId },
    },
    {
      description: 'hub tells the payee what the channel has settled to it',
      message: {
        type: MessageType.PayeeNotice,
        payeeId: 'charger-17',
        channelId,
        asset: 'USD',
        seq: 42,
        settledBaseUnits: 12_345_678n,
        payeeBaseUnits: 12_160_493n,
      },
    },
    {
      description: 'device proves its key to the embedded broker',
      message: {
        type: MessageType.ConnectProof,
        hubKey: hub.publicKey,
        deviceKey: device.publicKey,
        timestampUnixS: NOW_UNIX_S,
        nonce: Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i),
      },
    },
  ];
  return samples;
}

function messageVector(
  description: string,
  message: Message,
  hub: KeyPair,
  device: KeyPair,
): MessageVector {
  const schema = schemas[message.type];
  const signerName =
    schema.form === 'plain'
      ? null
      : schema.direction === 'up' || schema.direction === 'connect'
        ? 'device'
        : 'hub';
  const signer = signerName === null ? undefined : signerFor(signerName === 'hub' ? hub : device);
  const payload = encodeCbor(writePayload(message));
  const encoded = encodeMessage(message, signer);
  const record = message as unknown as Record<string, unknown>;
  let toBeSigned: string | null = null;
  let signature: string | null = null;
  if (schema.form === 'signed') {
    const decoded = decodeMessage(encoded, schema.direction);
    if (!decoded.ok || decoded.signed === undefined) throw new Error(`${schema.name} round trip`);
    toBeSigned = toHex(decoded.signed.toBeSigned);
    signature = toHex(decoded.signed.signature);
  }
  return {
    name: schema.name,
    description,
    type: message.type,
    form: schema.form,
    direction: schema.direction,
    signer: signerName,
    fields: schema.fields.map(([name, kind]) => ({
      name,
      kind,
      value: fieldValue(kind, record[name]),
    })),
    payload: toHex(payload),
    encoded: toHex(encoded),
    encodedBytes: encoded.length,
    toBeSigned,
    signature,
  };
}

/** A refusal with the status the protocol requires; throws if the decoder says otherwise. */
function refusal(
  status: StatusName,
  description: string,
  direction: Direction,
  bytes: Uint8Array,
): RefusalVector {
  const decoded = decodeMessage(bytes, direction);
  if (decoded.ok || decoded.status !== Status[status]) {
    throw new Error(`refusal vector "${description}": expected ${status}, decoder disagrees`);
  }
  return { description, direction, bytes: toHex(bytes), status, statusCode: Status[status] };
}

function buildRefusals(device: KeyPair, hub: KeyPair, channelId: Uint8Array): RefusalVector[] {
  const sign = signerFor(device);
  const voucher: Message = { type: MessageType.Voucher, channelId, seq: 7, amountBaseUnits: 700n };
  const voucherPayload = encodeCbor(writePayload(voucher));
  const signedVoucher = encodeMessage(voucher, sign);
  /** A COSE_Sign1 around any payload bytes, properly signed by the device. */
  const sign1 = (payload: Uint8Array) =>
    encodeCbor([PROTECTED_EDDSA, new Map(), payload, sign(sigStructure(payload))]);
  const cid = toHex(channelId);
  const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

  return [
    refusal(
      'MESSAGE_TOO_LARGE',
      '513 bytes: over the 512-byte cap, refused before parsing',
      'up',
      new Uint8Array(513),
    ),
    refusal(
      'MESSAGE_MALFORMED',
      'tag 27 (serialised object) around a voucher',
      'up',
      concatBytes(bytes('d81b'), signedVoucher),
    ),
    refusal(
      'MESSAGE_MALFORMED',
      'tag 55799 (self-described CBOR) around a voucher',
      'up',
      concatBytes(bytes('d9d9f7'), signedVoucher),
    ),
    refusal(
      'MESSAGE_MALFORMED',
      'tag 0 (date string)',
      'up',
      bytes('c074323032362d30312d30315430303a30303a30305a'),
    ),
    refusal('MESSAGE_MALFORMED', 'indefinite-length array', 'up', bytes('9f0401ff')),
    refusal('MESSAGE_MALFORMED', 'indefinite-length byte string', 'up', bytes('5f4100ff')),
    refusal(
      'MESSAGE_MALFORMED',
      'non-shortest integer: seq 7 written as 0x18 0x07',
      'up',
      sign1(bytes(`8404 50${cid} 1807 1902bc`.replace(/ /g, ''))),
    ),
    refusal(
      'MESSAGE_MALFORMED',
      'non-shortest length: channel id length as 0x58 0x10',
      'up',
      sign1(bytes(`8404 5810${cid} 07 1902bc`.replace(/ /g, ''))),
    ),
    refusal(
      'MESSAGE_MALFORMED',
      'float where an integer belongs (payload)',
      'up',
      sign1(bytes(`8404 50${cid} 07 f95e00`.replace(/ /g, ''))),
    ),
    refusal('MESSAGE_MALFORMED', 'simple value true', 'up', bytes('f5')),
    refusal(
      'MESSAGE_MALFORMED',
      'one trailing byte after a valid voucher',
      'up',
      concatBytes(signedVoucher, bytes('00')),
    ),
    refusal('MESSAGE_MALFORMED', 'nesting deeper than 4', 'up', bytes('818181818100')),
    refusal('MESSAGE_MALFORMED', 'map keys out of order ({2: 0, 1: 0})', 'up', bytes('a202000100')),
    refusal('MESSAGE_MALFORMED', 'duplicate map keys ({1: 0, 1: 0})', 'up', bytes('a201000100')),
    refusal(
      'MESSAGE_MALFORMED',
      'invalid UTF-8 in a text string (payee id)',
      'up',
      bytes('820163c328a1'),
    ),
    refusal('MESSAGE_TYPE_UNKNOWN', 'unknown message type 99', 'up', bytes('8118' + '63')),
    refusal(
      'MESSAGE_INVALID',
      'voucher with a missing field',
      'up',
      sign1(bytes(`8304 50${cid} 07`.replace(/ /g, ''))),
    ),
    refusal(
      'MESSAGE_INVALID',
      'voucher whose channel id is 15 bytes',
      'up',
      sign1(bytes(`8404 4f${cid.slice(2)} 07 1902bc`.replace(/ /g, ''))),
    ),
    refusal(
      'MESSAGE_INVALID',
      'voucher whose seq is negative',
      'up',
      sign1(bytes(`8404 50${cid} 20 1902bc`.replace(/ /g, ''))),
    ),
    refusal(
      'MESSAGE_INVALID',
      'voucher whose seq is 2^32 (above uint32)',
      'up',
      sign1(bytes(`8404 50${cid} 1b0000000100000000 1902bc`.replace(/ /g, ''))),
    ),
    refusal(
      'MESSAGE_MALFORMED',
      'COSE envelope with alg -7 (ES256) instead of EdDSA',
      'up',
      encodeCbor([bytes('a10126'), new Map(), voucherPayload, sign(sigStructure(voucherPayload))]),
    ),
    refusal(
      'MESSAGE_MALFORMED',
      'COSE envelope with a 63-byte signature',
      'up',
      encodeCbor([PROTECTED_EDDSA, new Map(), voucherPayload, new Uint8Array(63)]),
    ),
    refusal('MESSAGE_FORM_WRONG', 'signed type (Voucher) sent plain', 'up', voucherPayload),
    refusal(
      'MESSAGE_FORM_WRONG',
      'plain type (ReceiptRequest) sent signed',
      'up',
      sign1(encodeCbor(writePayload({ type: MessageType.ReceiptRequest, channelId }))),
    ),
    refusal(
      'MESSAGE_FORM_WRONG',
      'hub message (Receipt) offered on the up topic',
      'up',
      encodeMessage(
        {
          type: MessageType.Receipt,
          channelId,
          seq: 7,
          amountBaseUnits: 700n,
          capacityBaseUnits: CAPACITY_BASE_UNITS,
        },
        signerFor(hub),
      ),
    ),
    refusal(
      'MESSAGE_FORM_WRONG',
      'device message (Voucher) offered on the down topic',
      'down',
      signedVoucher,
    ),
  ];
}

function buildScenario(device: KeyPair, hub: KeyPair, channelId: Uint8Array) {
  const initial: ChannelState = {
    channelId,
    deviceKey: device.publicKey,
    payeeId: 'charger-17',
    asset: 'USD',
    capacityBaseUnits: CAPACITY_BASE_UNITS,
    expiresAtUnixS: EXPIRES_AT_UNIX_S,
    seq: 0,
    amountBaseUnits: 0n,
    status: 'open',
    closeReason: undefined,
  };
  const later = NOW_UNIX_S + 60;
  type Expected = 'accept' | 'duplicate' | 'stale' | StatusName;
  const plan: Array<[string, number, 'device' | 'hub', number, bigint, Expected]> = [
    ['first voucher', later, 'device', 1, 100n, 'accept'],
    ['the same voucher again (MQTT QoS 1 redelivery)', later, 'device', 1, 100n, 'duplicate'],
    ['same seq, another amount', later, 'device', 1, 150n, 'SEQ_NOT_INCREASING'],
    ['seq 3 overtakes seq 2 in flight', later, 'device', 3, 300n, 'accept'],
    ['seq 2 arrives late: superseded, ignored', later, 'device', 2, 200n, 'stale'],
    ['seq 0 is never valid', later, 'device', 0, 0n, 'SEQ_NOT_INCREASING'],
    ['seq up, amount down', later, 'device', 4, 250n, 'AMOUNT_DECREASED'],
    [
      'amount above the capacity',
      later,
      'device',
      5,
      CAPACITY_BASE_UNITS + 1n,
      'AMOUNT_EXCEEDS_CAPACITY',
    ],
    ['seq jumps, amount equal to the capacity', later, 'device', 9, CAPACITY_BASE_UNITS, 'accept'],
    [
      'a voucher from another device’s topic',
      later,
      'hub',
      10,
      CAPACITY_BASE_UNITS,
      'CHANNEL_NOT_OWNED',
    ],
    [
      'one second before expiry',
      EXPIRES_AT_UNIX_S - 1,
      'device',
      10,
      CAPACITY_BASE_UNITS,
      'accept',
    ],
    [
      'at the expiry second',
      EXPIRES_AT_UNIX_S,
      'device',
      11,
      CAPACITY_BASE_UNITS,
      'CHANNEL_EXPIRED',
    ],
  ];
  const sign = signerFor(device);
  let state = initial;
  const steps: ScenarioStep[] = plan.map(
    ([description, nowUnixS, sender, seq, amount, expected]) => {
      const verdict = checkVoucher(
        state,
        { seq, amountBaseUnits: amount },
        nowUnixS,
        sender === 'device' ? device.publicKey : hub.publicKey,
      );
      const got = verdict.kind === 'refuse' ? statusName(verdict.status) : verdict.kind;
      if (got !== expected)
        throw new Error(`scenario "${description}": expected ${expected}, got ${got}`);
      if (verdict.kind === 'accept') state = verdict.state;
      // seq 0 is a valid wire value (the rules refuse it), so every step has its voucher bytes.
      const encoded = encodeMessage(
        { type: MessageType.Voucher, channelId, seq, amountBaseUnits: amount },
        sign,
      );
      const status = verdict.kind === 'refuse' ? verdict.status : null;
      return {
        description,
        nowUnixS,
        sender,
        seq,
        amountBaseUnits: amount.toString(10),
        encoded: toHex(encoded),
        verdict: verdict.kind,
        status: status === null ? null : statusName(status)!,
        statusCode: status,
        stateAfter: { seq: state.seq, amountBaseUnits: state.amountBaseUnits.toString(10) },
      };
    },
  );
  return {
    description:
      'Vouchers offered in this order to one open channel (channelId above, device key, ' +
      'capacity and expiry below), applying the channel rules in their fixed order. ' +
      '"sender" names whose topic carried the voucher. stateAfter is the newest accepted voucher.',
    capacityBaseUnits: CAPACITY_BASE_UNITS.toString(10),
    expiresAtUnixS: EXPIRES_AT_UNIX_S,
    steps,
  };
}

function buildEd25519Cases(device: KeyPair): Ed25519Vector[] {
  const L = GROUP_ORDER;
  const A = device.publicKey;
  const a = secretScalarOf(device.secretSeed);
  const sign = signerFor(device);
  const out: Ed25519Vector[] = [];
  /** Every case is refused but the honest one; throws if either path says otherwise. */
  const add = (
    description: string,
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ) => {
    const expected = out.length === 0 ? 'accept' : 'refuse';
    const noble = verifyNoble(signature, message, publicKey);
    const node = verifyNode(signature, message, publicKey);
    if (noble !== (expected === 'accept') || node !== noble) {
      throw new Error(`"${description}": expected ${expected}, noble ${noble}, node ${node}`);
    }
    out.push({
      description,
      publicKey: toHex(publicKey),
      message: toHex(message),
      signature: toHex(signature),
      expected,
    });
  };

  const honestMessage = utf8('farthing honest signature');
  const honest = sign(honestMessage);
  add('honest signature by the device key', A, honestMessage, honest);

  const s = leToBigint(honest.subarray(32));
  add(
    'S + L (malleated; equation holds mod L)',
    A,
    honestMessage,
    concatBytes(honest.subarray(0, 32), encodeLe32(s + L)),
  );
  add('S + 2L', A, honestMessage, concatBytes(honest.subarray(0, 32), encodeLe32(s + 2n * L)));

  // R small order: R = identity and S = k·a satisfy [S]B = R + [k]A without the cofactor.
  const identity = SMALL_ORDER_ENCODINGS[0]!;
  const smallR = utf8('farthing small-order R');
  const kR = challengeOf(identity, A, smallR);
  add(
    'small-order R (identity), S = k·a: the equation holds',
    A,
    smallR,
    concatBytes(identity, encodeLe32((kR * a) % L)),
  );

  // A small order (order 8) and a message whose k is a multiple of 8: [k]A is the identity.
  const order8 = SMALL_ORDER_ENCODINGS[4]!;
  const r = leToBigint(sha512(utf8('farthing vector nonce'))) % L;
  const R = ed.Point.BASE.multiply(r).toBytes();
  const multipleOf8 = (point: Uint8Array, label: string): Uint8Array => {
    for (let i = 0; ; i++) {
      const message = utf8(`${label} #${i}`);
      if (challengeOf(point, order8, message) % 8n === 0n) return message;
    }
  };
  const smallA = multipleOf8(R, 'farthing small-order A');
  add(
    'small-order A (order 8), k ≡ 0 mod 8, S = r: the equation holds',
    order8,
    smallA,
    concatBytes(R, encodeLe32(r)),
  );
  const smallAR = multipleOf8(identity, 'farthing small-order A and R');
  add(
    'small-order A and R, S = 0: the equation holds',
    order8,
    smallAR,
    concatBytes(identity, new Uint8Array(32)),
  );

  // Non-canonical encodings of the identity (x = 0 with the sign bit set; y = p + 1).
  const identitySignBit = Uint8Array.from(identity);
  identitySignBit[31] = 0x80;
  const identityPlusP = encodeLe32(FIELD_PRIME + 1n);
  const nonCanonicalA = utf8('farthing non-canonical A');
  for (const [form, point] of [
    ['x = 0 with the sign bit set', identitySignBit],
    ['y = p + 1', identityPlusP],
  ] as const) {
    add(
      `non-canonical A (identity as ${form}), S = r`,
      point,
      nonCanonicalA,
      concatBytes(R, encodeLe32(r)),
    );
    const message = utf8(`farthing non-canonical R, ${form}`);
    const k = challengeOf(point, A, message);
    add(
      `non-canonical R (identity as ${form}), S = k·a`,
      A,
      message,
      concatBytes(point, encodeLe32((k * a) % L)),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

export function buildVectors() {
  const hub = keyPairFromSeed(HUB_SEED);
  const device = keyPairFromSeed(DEVICE_SEED);
  const channelId = channelIdOf(hub.publicKey, device.publicKey, NONCE);
  const messages = sampleMessages(hub, device, channelId).map(({ description, message }) =>
    messageVector(description, message, hub, device),
  );
  // Sanity: the envelope of every signed vector is what readSign1 expects.
  for (const vector of messages) {
    if ((vector.form === 'signed') !== isSign1(vector.encoded)) {
      throw new Error(`${vector.name} is not a COSE_Sign1`);
    }
  }
  return {
    description:
      'Farthing wire-protocol test vectors. Generated by scripts/make-vectors.ts from fixed ' +
      'seeds; see test/vectors/README.md. Byte strings are lower-case hex, amounts decimal ' +
      'strings (they reach 2^64 - 1), other integers JSON numbers.',
    version: 1,
    statuses: Object.fromEntries(Object.entries(Status)),
    keys: {
      hub: { label: 'farthing test vectors: hub key', ...keyJson(hub) },
      device: { label: 'farthing test vectors: device key', ...keyJson(device) },
    },
    channel: {
      derivation: 'channelId = first 16 bytes of SHA-256(hubKey ‖ deviceKey ‖ nonce)',
      nonce: toHex(NONCE),
      channelId: toHex(channelId),
    },
    cose: {
      protectedHeader: toHex(PROTECTED_EDDSA),
      sigStructure:
        "toBeSigned = CBOR [\"Signature1\", h'a10127', h'', payload]; " +
        "encoded = CBOR [h'a10127', {}, payload, signature]",
    },
    messages,
    refusals: buildRefusals(device, hub, channelId),
    voucherScenario: buildScenario(device, hub, channelId),
    ed25519: buildEd25519Cases(device),
  };
}

function isSign1(hex: string): boolean {
  const decoded = decodeCborStrict(
    Uint8Array.from(Buffer.from(hex, 'hex')),
    Limits.maxMessageBytes,
  );
  return decoded.ok && typeof readSign1(decoded.value) === 'object';
}

/** Canonical text of the vectors: stable key order (insertion order above), 2-space JSON. */
export function renderVectors(): string {
  return `${JSON.stringify(buildVectors(), null, 2)}\n`;
}

/** The repository root: the nearest directory upwards that holds this project's package.json. */
function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name;
      if (name === 'farthing') return dir;
    }
    if (dirname(dir) === dir) throw new Error('cannot find the farthing repository root');
  }
}

export const VECTORS_RELATIVE_PATH = 'test/vectors/protocol-vectors.json';

function main(argv: string[]): number {
  const root = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
  const path = resolve(root, VECTORS_RELATIVE_PATH);
  const text = renderVectors();
  if (argv.includes('--check')) {
    const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (current !== text) {
      console.error(`${VECTORS_RELATIVE_PATH} is out of date: run npm run vectors`);
      return 1;
    }
    console.log(`${VECTORS_RELATIVE_PATH} is up to date`);
    return 0;
  }
  writeFileSync(path, text);
  console.log(`wrote ${VECTORS_RELATIVE_PATH} (${text.length} bytes)`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
