import { Decoder, Encoder } from 'cbor-x';
import { bytesEqual } from './bytes.js';
import { checkCborStructure, defaultShape, type CborShape } from './cbor-check.js';
import { Status } from './status.js';

/** What a Farthing CBOR value can be: the subset the structural check admits. */
export type CborValue =
  number | bigint | string | Uint8Array | CborValue[] | Map<CborKey, CborValue>;
export type CborKey = number | bigint | string;

// useTag259ForMaps and int64AsNumber are read by cbor-x at run time but missing from its types.
type CborXOptions = ConstructorParameters<typeof Encoder>[0] & {
  useTag259ForMaps?: boolean;
  int64AsNumber?: boolean;
};

const encoderOptions: CborXOptions = {
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false,
  useTag259ForMaps: false,
  variableMapSize: true,
  pack: false,
};
const encoder = new Encoder(encoderOptions);

const decoderOptions: CborXOptions = {
  useRecords: false,
  mapsAsObjects: false,
  int64AsNumber: false,
  // Decoded byte strings outlive the network buffer they came in; a view would pin it.
  copyBuffers: true,
};
const decoder = new Decoder(decoderOptions);

const INT32_LIMIT = 2 ** 32;

/**
 * cbor-x writes every bigint as a 9-byte integer and every number above 2^32 as a float; this
 * maps values so that it emits shortest-form integers only, and refuses floats outright.
 */
function normalize(value: CborValue): unknown {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`not an integer: ${value}`);
    // cbor-x writes numbers in [-2^32, 2^32) as shortest integers (-2^32 is 0x3a ffffffff).
    return value >= -INT32_LIMIT && value < INT32_LIMIT ? value : BigInt(value);
  }
  if (typeof value === 'bigint') {
    // cbor-x writes -2^64 as a tag-3 bignum, so the one 64-bit value it cannot write is refused.
    if (value >= 2n ** 64n || value <= -(2n ** 64n)) throw new RangeError('integer beyond 64 bits');
    return value < BigInt(INT32_LIMIT) && value >= -BigInt(INT32_LIMIT) ? Number(value) : value;
  }
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Map) {
    // Core deterministic encoding orders keys by their encoded bytes (RFC 8949 §4.2.1); cbor-x
    // writes insertion order, which the strict decoder would refuse.
    const entries = [...value].map(([k, v]) => {
      const key = normalize(k);
      return { key, encodedKey: encoder.encode(key) as Uint8Array, value: normalize(v) };
    });
    entries.sort((a, b) => compareBytes(a.encodedKey, b.encodedKey));
    return new Map(entries.map((entry) => [entry.key, entry.value]));
  }
  return value;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Encodes a value in deterministic form (shortest integers, definite lengths, no tags). */
export function encodeCbor(value: CborValue): Uint8Array {
  const out = encoder.encode(normalize(value));
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export type StrictDecode =
  | { ok: true; value: CborValue }
  | {
      ok: false;
      status: typeof Status.MESSAGE_TOO_LARGE | typeof Status.MESSAGE_MALFORMED;
      reason: string;
    };

/**
 * Decodes untrusted bytes: size cap first, then the structural check, only then cbor-x, and
 * finally re-encoding, which must reproduce the input exactly (one value, one encoding).
 */
export function decodeCborStrict(
  bytes: Uint8Array,
  maxBytes: number,
  shape: CborShape = defaultShape,
): StrictDecode {
  if (bytes.length > maxBytes) {
    return {
      ok: false,
      status: Status.MESSAGE_TOO_LARGE,
      reason: `${bytes.length} > ${maxBytes} bytes`,
    };
  }
  const check = checkCborStructure(bytes, shape);
  if (!check.ok) return { ok: false, status: Status.MESSAGE_MALFORMED, reason: check.reason };
  let value: CborValue;
  try {
    value = decoder.decode(bytes) as CborValue;
  } catch (error) {
    return { ok: false, status: Status.MESSAGE_MALFORMED, reason: `decoder: ${String(error)}` };
  }
  let again: Uint8Array;
  try {
    again = encodeCbor(value);
  } catch (error) {
    return { ok: false, status: Status.MESSAGE_MALFORMED, reason: `re-encode: ${String(error)}` };
  }
  if (!bytesEqual(again, bytes)) {
    return { ok: false, status: Status.MESSAGE_MALFORMED, reason: 'not in deterministic encoding' };
  }
  return { ok: true, value };
}

/**
 * Writes a CBOR head in shortest form: major type 0 (`value` is the integer) or 2 (`value` is a
 * byte string's length). For hand-written encoders on hot paths; at most 9 bytes. Values below
 * 2^32 (lengths, sequence numbers, most amounts) are written with number arithmetic: bigint
 * steps allocate, and the hub writes several heads per voucher.
 */
export function writeCborHead(
  out: Uint8Array,
  offset: number,
  major: 0 | 2,
  value: number | bigint,
): number {
  const type = major << 5;
  if (value < 0 || (typeof value === 'number' && !Number.isInteger(value)))
    throw new RangeError('a CBOR head needs a non-negative integer');
  if (value <= 0xffffffff) return writeSmallHead(out, offset, type, Number(value));
  // From 2^32 up, the 8-byte form.
  out[offset] = type | 0x1b;
  let v = BigInt(value);
  for (let i = 8; i >= 1; i--) {
    out[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return offset + 9;
}

function writeSmallHead(out: Uint8Array, offset: number, type: number, value: number): number {
  if (value < 24) {
    out[offset] = type | value;
    return offset + 1;
  }
  if (value < 0x100) {
    out[offset] = type | 0x18;
    out[offset + 1] = value;
    return offset + 2;
  }
  if (value < 0x10000) {
    out[offset] = type | 0x19;
    out[offset + 1] = value >>> 8;
    out[offset + 2] = value & 0xff;
    return offset + 3;
  }
  out[offset] = type | 0x1a;
  out[offset + 1] = value >>> 24;
  out[offset + 2] = (value >>> 16) & 0xff;
  out[offset + 3] = (value >>> 8) & 0xff;
  out[offset + 4] = value & 0xff;
  return offset + 5;
}
