/**
 * Binary encodings of the LevelDB ledger's values (layout in level-ledger.ts). Hand-rolled and
 * fixed rather than CBOR or JSON: a settlement commit encodes thousands of transfers, and these
 * run in the single writer's critical path.
 */
import { FarthingError } from '../errors.js';
import type { Transfer, TransferCodeNumber, TransferInput } from './types.js';

const BLOCK_VERSION = 1;
/** version u8, count u32, timestampMs u48. */
const BLOCK_HEADER_BYTES = 1 + 4 + 6;
/** id 16, code u8, amount u64, then four length-prefixed strings. */
const ENTRY_FIXED_BYTES = 16 + 1 + 8 + 4;
const MAX_U48 = 2 ** 48 - 1;

function corrupt(what: string): FarthingError {
  return new FarthingError('LEDGER_UNAVAILABLE', `ledger storage is corrupt: ${what}`);
}

/** Sequences in keys: 12 hex digits sort numerically as strings (48 bits, never reached). */
export function sequenceHex(sequence: number): string {
  return sequence.toString(16).padStart(12, '0');
}

export function parseSequenceHex(hex: string): number {
  const sequence = Number.parseInt(hex, 16);
  if (!Number.isSafeInteger(sequence) || hex.length !== 12) throw corrupt(`sequence key ${hex}`);
  return sequence;
}

/**
 * A commit block: every transfer a commit applied, sequences firstSequence.. in order, with a
 * table of entry offsets so that one transfer decodes without the others.
 *   header: version u8 | count u32 | timestampMs u48
 *   offsets: count × u32 (entry start, from the block start)
 *   entry: id 16 | code u8 | amount u64 | debit, credit, asset, reference (u8 length + bytes)
 * Accounts and assets are ASCII (validated); the reference is UTF-8, at most 64 UTF-16 units,
 * so at most 192 bytes.
 */
export function encodeBlock(transfers: readonly TransferInput[], timestampMs: number): Uint8Array {
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0 || timestampMs > MAX_U48) {
    throw new RangeError(`timestamp out of range: ${timestampMs}`);
  }
  const count = transfers.length;
  const referenceBytes = new Array<number>(count);
  let size = BLOCK_HEADER_BYTES + 4 * count;
  for (let i = 0; i < count; i++) {
    const t = transfers[i]!;
    const refBytes = Buffer.byteLength(t.reference, 'utf8');
    referenceBytes[i] = refBytes;
    size +=
      ENTRY_FIXED_BYTES +
      t.debitAccount.length +
      t.creditAccount.length +
      t.asset.length +
      refBytes;
  }
  const buf = Buffer.allocUnsafe(size);
  buf[0] = BLOCK_VERSION;
  buf.writeUInt32BE(count, 1);
  buf.writeUIntBE(timestampMs, 5, 6);
  let offset = BLOCK_HEADER_BYTES + 4 * count;
  for (let i = 0; i < count; i++) {
    const t = transfers[i]!;
    buf.writeUInt32BE(offset, BLOCK_HEADER_BYTES + 4 * i);
    offset += buf.write(t.id, offset, 16, 'hex');
    buf[offset++] = t.code;
    buf.writeBigUInt64BE(t.amountBaseUnits, offset);
    offset += 8;
    buf[offset++] = t.debitAccount.length;
    offset += buf.write(t.debitAccount, offset, 'latin1');
    buf[offset++] = t.creditAccount.length;
    offset += buf.write(t.creditAccount, offset, 'latin1');
    buf[offset++] = t.asset.length;
    offset += buf.write(t.asset, offset, 'latin1');
    buf[offset++] = referenceBytes[i]!;
    offset += buf.write(t.reference, offset, 'utf8');
  }
  if (offset !== size) throw new Error(`block size mismatch: ${offset} != ${size}`);
  return buf;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export interface BlockView {
  count: number;
  timestampMs: number;
  /** Decodes entry `index`, whose sequence is the block's first sequence + index. */
  entry(index: number, sequence: number): Transfer;
}

export function openBlock(bytes: Uint8Array): BlockView {
  const buf = asBuffer(bytes);
  if (buf.length < BLOCK_HEADER_BYTES || buf[0] !== BLOCK_VERSION) throw corrupt('block header');
  const count = buf.readUInt32BE(1);
  const timestampMs = buf.readUIntBE(5, 6);
  if (buf.length < BLOCK_HEADER_BYTES + 4 * count) throw corrupt('block offsets');
  return {
    count,
    timestampMs,
    entry(index: number, sequence: number): Transfer {
      if (index < 0 || index >= count) throw corrupt(`block has no entry ${index}`);
      let offset = buf.readUInt32BE(BLOCK_HEADER_BYTES + 4 * index);
      if (offset + ENTRY_FIXED_BYTES > buf.length) throw corrupt('block entry');
      const id = buf.toString('hex', offset, offset + 16);
      offset += 16;
      const code = buf[offset++]! as TransferCodeNumber;
      const amountBaseUnits = buf.readBigUInt64BE(offset);
      offset += 8;
      const strings: string[] = [];
      for (let s = 0; s < 4; s++) {
        const length = buf[offset++]!;
        if (offset + length > buf.length) throw corrupt('block entry string');
        strings.push(buf.toString(s === 3 ? 'utf8' : 'latin1', offset, offset + length));
        offset += length;
      }
      const [debitAccount, creditAccount, asset, reference] = strings as [
        string,
        string,
        string,
        string,
      ];
      return {
        id,
        debitAccount,
        creditAccount,
        asset,
        amountBaseUnits,
        code,
        reference,
        sequence,
        timestampMs,
      };
    },
  };
}

/** The most bytes an unsigned LEB128 safe integer takes. */
export const MAX_VARINT_BYTES = 8;

/** Writes `value` (a non-negative safe integer) as unsigned LEB128; returns the end offset. */
export function writeVarint(out: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    out[offset++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[offset++] = value;
  return offset;
}

export class VarintReader {
  #offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.#offset >= this.bytes.length;
  }

  read(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.#offset >= this.bytes.length || scale > 2 ** 49) throw corrupt('varint');
      const byte = this.bytes[this.#offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  }
}

/** A balance: sign byte (0 or 1 for negative), then the magnitude big-endian, minimal. */
export function encodeBalance(balance: bigint): Uint8Array {
  const negative = balance < 0n;
  const magnitude = negative ? -balance : balance;
  if (magnitude <= 0xffff_ffff_ffff_ffffn) {
    // The common case, without going through a hex string.
    const word = Buffer.allocUnsafe(9);
    word.writeBigUInt64BE(magnitude, 1);
    let start = 1;
    while (start < 8 && word[start] === 0) start++;
    word[start - 1] = negative ? 1 : 0;
    return word.subarray(start - 1);
  }
  const hex = magnitude.toString(16);
  const buf = Buffer.allocUnsafe(1 + Math.ceil(hex.length / 2));
  buf[0] = negative ? 1 : 0;
  buf.write(hex.length % 2 === 1 ? '0' + hex : hex, 1, 'hex');
  return buf;
}

export function decodeBalance(bytes: Uint8Array): bigint {
  const buf = asBuffer(bytes);
  if (buf.length < 2 || buf[0]! > 1) throw corrupt('balance');
  const magnitude = BigInt('0x' + buf.toString('hex', 1));
  return buf[0] === 1 ? -magnitude : magnitude;
}
