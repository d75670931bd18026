/**
 * Binary keys and values of the LevelDB ledger (layout in level-ledger.ts). Hand-rolled and
 * fixed rather than CBOR or JSON: a settlement commit encodes tens of thousands of transfers in
 * the single writer's critical path, so these avoid per-item allocations and BigInt↔string
 * conversions.
 */
import { FarthingError, isFarthingError } from '../errors.js';
import type { Transfer, TransferCodeNumber, TransferInput } from './types.js';

/** First byte of every key: what the key is. */
export const KeyTag = {
  Meta: 0x6d, // 'm'
  Block: 0x74, // 't'
  Id: 0x69, // 'i'
  Account: 0x61, // 'a'
  History: 0x68, // 'h'
  Record: 0x72, // 'r'
} as const;

/** 'i' + id (16 bytes). */
export const ID_KEY_BYTES = 1 + 16;
/** 't' + first sequence, 6 bytes big-endian (sorts numerically). */
export const BLOCK_KEY_BYTES = 7;
const MAX_U48 = 2 ** 48 - 1;

export function corrupt(what: string): FarthingError {
  return new FarthingError('LEDGER_UNAVAILABLE', `ledger storage is corrupt: ${what}`);
}

/** A failure of the disk as LEDGER_UNAVAILABLE; the ledger's own coded errors pass through. */
export function unavailable(message: string, cause: unknown): FarthingError {
  if (isFarthingError(cause)) return cause;
  return new FarthingError('LEDGER_UNAVAILABLE', message, { cause });
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function writeU48BE(out: Uint8Array, offset: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000);
  const low = value >>> 0;
  out[offset] = high >>> 8;
  out[offset + 1] = high & 0xff;
  out[offset + 2] = low >>> 24;
  out[offset + 3] = (low >>> 16) & 0xff;
  out[offset + 4] = (low >>> 8) & 0xff;
  out[offset + 5] = low & 0xff;
}

export function readU48BE(bytes: Uint8Array, offset: number): number {
  return (
    (bytes[offset]! * 0x100 + bytes[offset + 1]!) * 0x1_0000_0000 +
    ((bytes[offset + 2]! << 24) >>> 0) +
    (bytes[offset + 3]! << 16) +
    (bytes[offset + 4]! << 8) +
    bytes[offset + 5]!
  );
}

export function blockKey(firstSequence: number): Buffer {
  const key = Buffer.allocUnsafe(BLOCK_KEY_BYTES);
  key[0] = KeyTag.Block;
  writeU48BE(key, 1, firstSequence);
  return key;
}

export function blockKeySequence(key: Uint8Array): number {
  if (key.length !== BLOCK_KEY_BYTES || key[0] !== KeyTag.Block) throw corrupt('block key');
  return readU48BE(key, 1);
}

/** 'a' + account name (ASCII, validated). */
export function accountKey(account: string): Buffer {
  const key = Buffer.allocUnsafe(1 + account.length);
  key[0] = KeyTag.Account;
  key.write(account, 1, 'latin1');
  return key;
}

/** Lower-case hex digit values by char code; 255 for anything else. */
const HEX_VALUE = new Uint8Array(128).fill(255);
for (let c = 0; c < 10; c++) HEX_VALUE[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX_VALUE[0x61 + c] = 10 + c;

/**
 * Writes a transfer id (32 lower-case hex characters) as 16 bytes at `offset`; false, with the
 * output partly written, if `id` is not such a string. One pass, no regex, no allocation.
 */
export function parseId(id: unknown, out: Uint8Array, offset: number): boolean {
  return typeof id === 'string' && id.length === 32 && parseHex(id, 0, 16, out, offset);
}

/** Writes the `bytes` bytes spelled in lower-case hex at text[start..]; false if not hex. */
function parseHex(
  text: string,
  start: number,
  bytes: number,
  out: Uint8Array,
  offset: number,
): boolean {
  for (let i = 0; i < bytes; i++) {
    const hi = text.charCodeAt(start + 2 * i);
    const lo = text.charCodeAt(start + 2 * i + 1);
    if (hi > 127 || lo > 127) return false;
    const h = HEX_VALUE[hi]!;
    const l = HEX_VALUE[lo]!;
    if ((h | l) > 15) return false;
    out[offset + i] = (h << 4) | l;
  }
  return true;
}

const CHANNEL_PREFIX = 'channel/';
const SCRATCH_16 = new Uint8Array(16);

/** A channel account name (`channel/` + 32 lower-case hex), which a block stores in 17 bytes. */
export function isCompactName(text: string): boolean {
  return (
    text.length === CHANNEL_PREFIX.length + 32 &&
    text.startsWith(CHANNEL_PREFIX) &&
    parseHex(text, CHANNEL_PREFIX.length, 16, SCRATCH_16, 0)
  );
}

// ---- varints ----

/** The most bytes an unsigned LEB128 safe integer takes. */
export const MAX_VARINT_BYTES = 8;

/** Writes `value` (a non-negative safe integer) as unsigned LEB128; returns the end offset. */
export function writeVarint(out: Uint8Array, offset: number, value: number): number {
  while (value > 0x7fff_ffff) {
    out[offset++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  while (value >= 0x80) {
    out[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[offset++] = value;
  return offset;
}

export class VarintReader {
  offset: number;
  constructor(
    private readonly bytes: Uint8Array,
    offset = 0,
  ) {
    this.offset = offset;
  }

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  read(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.offset >= this.bytes.length || scale > 2 ** 49) throw corrupt('varint');
      const byte = this.bytes[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  }
}

// ---- balances ----

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Sign byte + up to 17 magnitude bytes (sums of 2^64 − 1 amounts stay far below 2^136). */
export const MAX_BALANCE_BYTES = 1 + 17;

/**
 * A balance: sign byte (0, or 1 for negative), then the magnitude big-endian, minimal (one 0
 * byte for zero). Returns the end offset. The common case (|balance| < 2^53) does no BigInt
 * arithmetic. Callers preceed it with a length byte where it is embedded.
 */
export function writeBalance(out: Uint8Array, offset: number, balance: bigint): number {
  const negative = balance < 0n;
  out[offset++] = negative ? 1 : 0;
  if (balance <= MAX_SAFE && balance >= -MAX_SAFE) {
    // As two 32-bit halves: integer shifts, not floating-point division.
    const magnitude = Math.abs(Number(balance));
    const high = Math.floor(magnitude / 0x1_0000_0000);
    let low = magnitude >>> 0;
    let bytes = high > 0 ? 4 + (high > 0xffff ? 3 : high > 0xff ? 2 : 1) : 1;
    if (high === 0) for (let m = low; m > 0xff; m >>>= 8) bytes++;
    let end = offset + bytes;
    for (let i = 0; i < Math.min(bytes, 4); i++, low >>>= 8) out[--end] = low & 0xff;
    for (let h = high; end > offset; h >>>= 8) out[--end] = h & 0xff;
    return offset + bytes;
  }
  let magnitude = negative ? -balance : balance;
  const hex = magnitude.toString(16);
  const bytes = Math.ceil(hex.length / 2);
  if (bytes > MAX_BALANCE_BYTES - 1) throw new RangeError('balance out of range');
  for (let i = bytes - 1; i >= 0; i--) {
    out[offset + i] = Number(magnitude & 0xffn);
    magnitude >>= 8n;
  }
  return offset + bytes;
}

export function readBalance(bytes: Uint8Array, start: number, end: number): bigint {
  if (end - start < 2 || bytes[start]! > 1) throw corrupt('balance');
  let magnitude: bigint;
  if (end - start - 1 <= 6) {
    let m = 0;
    for (let i = start + 1; i < end; i++) m = m * 256 + bytes[i]!;
    magnitude = BigInt(m);
  } else {
    magnitude = BigInt('0x' + asBuffer(bytes).toString('hex', start + 1, end));
  }
  return bytes[start] === 1 ? -magnitude : magnitude;
}

export function encodeBalance(balance: bigint): Uint8Array {
  const out = Buffer.allocUnsafe(MAX_BALANCE_BYTES);
  return out.subarray(0, writeBalance(out, 0, balance));
}

export function decodeBalance(bytes: Uint8Array): bigint {
  return readBalance(bytes, 0, bytes.length);
}

// ---- account values ----

/** Version 1 held the asset count in one byte; version 2, written since, in a varint. */
const ACCOUNT_VALUE_VERSION = 2;
const ACCOUNT_VALUE_VERSION_U8_ASSETS = 1;

export interface AccountValue {
  /** The last sequence the value reflects: the account's transfers up to it, none after. */
  asOf: number;
  /** Balance by asset, in the order stored. */
  balances: { asset: string; balanceBaseUnits: bigint }[];
  /** Sequences of the account's transfers not yet in a history entry, ascending. */
  tail: number[];
}

/** Upper bound of an account value's size. */
export function accountValueBound(assets: number, tailLength: number): number {
  return (
    1 +
    2 * MAX_VARINT_BYTES +
    assets * (2 + 12 + MAX_BALANCE_BYTES) +
    MAX_VARINT_BYTES * (1 + tailLength)
  );
}

/**
 * version u8 | asOf varint | asset count varint (u8 in version 1) | per asset: length u8, ASCII,
 * balance length u8, balance | tail count varint | tail: varint deltas from 0 (writeSequences).
 */
export function writeAccountHeader(
  out: Uint8Array,
  offset: number,
  asOf: number,
  assets: number,
): number {
  if (assets < 1) throw new RangeError('an account value holds at least one asset');
  out[offset++] = ACCOUNT_VALUE_VERSION;
  offset = writeVarint(out, offset, asOf);
  return writeVarint(out, offset, assets);
}

export function writeAccountBalance(
  out: Buffer,
  offset: number,
  asset: string,
  balance: bigint,
): number {
  out[offset++] = asset.length;
  offset += out.write(asset, offset, 'latin1');
  const end = writeBalance(out, offset + 1, balance);
  out[offset] = end - offset - 1;
  return end;
}

/** Writes `count` sequences (ascending) taken from `sequenceAt(0..count-1)`. */
export function writeSequences(
  out: Uint8Array,
  offset: number,
  count: number,
  sequenceAt: (i: number) => number,
): number {
  offset = writeVarint(out, offset, count);
  let previous = 0;
  for (let i = 0; i < count; i++) {
    const sequence = sequenceAt(i);
    offset = writeVarint(out, offset, sequence - previous);
    previous = sequence;
  }
  return offset;
}

/** Reads what writeSequences wrote, from the reader's position. */
export function readSequences(reader: VarintReader): number[] {
  const count = reader.read();
  const sequences = new Array<number>(count);
  let sequence = 0;
  for (let i = 0; i < count; i++) {
    sequence += reader.read();
    sequences[i] = sequence;
  }
  return sequences;
}

export function encodeAccountValue(value: AccountValue): Buffer {
  const out = Buffer.allocUnsafe(accountValueBound(value.balances.length, value.tail.length));
  let offset = writeAccountHeader(out, 0, value.asOf, value.balances.length);
  for (const { asset, balanceBaseUnits } of value.balances) {
    offset = writeAccountBalance(out, offset, asset, balanceBaseUnits);
  }
  offset = writeSequences(out, offset, value.tail.length, (i) => value.tail[i]!);
  return out.subarray(0, offset);
}

export function decodeAccountValue(bytes: Uint8Array): AccountValue {
  const buf = asBuffer(bytes);
  const version = buf[0];
  if (
    buf.length < 3 ||
    (version !== ACCOUNT_VALUE_VERSION && version !== ACCOUNT_VALUE_VERSION_U8_ASSETS)
  )
    throw corrupt('account value');
  const header = new VarintReader(buf, 1);
  const asOf = header.read();
  let assets: number;
  if (version === ACCOUNT_VALUE_VERSION) assets = header.read();
  else {
    const count = buf[header.offset++];
    if (count === undefined) throw corrupt('account value');
    assets = count;
  }
  let offset = header.offset;
  const balances: AccountValue['balances'] = [];
  for (let a = 0; a < assets; a++) {
    const assetLength = buf[offset++];
    if (assetLength === undefined || offset + assetLength >= buf.length) throw corrupt('asset');
    const asset = buf.toString('latin1', offset, offset + assetLength);
    offset += assetLength;
    const balanceLength = buf[offset++]!;
    if (offset + balanceLength > buf.length) throw corrupt('balance');
    balances.push({ asset, balanceBaseUnits: readBalance(buf, offset, offset + balanceLength) });
    offset += balanceLength;
  }
  const reader = new VarintReader(buf, offset);
  const tail = readSequences(reader);
  if (!reader.done) throw corrupt('account value trailer');
  return { asOf, balances, tail };
}

// ---- blocks ----

const BLOCK_VERSION = 3;
/** version u8 | flags u8 | count u32 | timestampMs u48 | dictionary bytes u32 | pad to 24. */
const BLOCK_HEADER_BYTES = 24;
/** Flag: no entry stores a reference (each is empty or its debit account's id): no column. */
const NO_REFERENCES = 1;
/** Dictionary entry tag of a channel account: its 16-byte id follows. */
const COMPACT_CHANNEL = 0x80;

/**
 * Column offsets of a block of `count` transfers. Columns, so that every field of entry i is
 * at a computed offset (no offset table) and the writer fills each with tight loops:
 *   ids 16×n | amounts u64 LE ×n | debit, credit, asset u32 LE ×n (offsets of strings in the
 *   dictionary) | reference end u32 LE ×n (absent with NO_REFERENCES) | codes u8 ×n |
 *   dictionary | references (UTF-8)
 * The wide columns come first, so each is aligned to its width (the header is 24 bytes). The
 * dictionary holds each distinct account and asset of the block once (u8 length + ASCII, or
 * COMPACT_CHANNEL + 16 bytes for a channel), so a shared account (a payee, hub/fees) costs
 * 4 bytes per transfer and a channel 17 bytes per block.
 */
export function blockLayout(count: number, dictionaryBytes: number, references: boolean) {
  const ids = BLOCK_HEADER_BYTES;
  const amounts = ids + 16 * count;
  const debits = amounts + 8 * count;
  const credits = debits + 4 * count;
  const assets = credits + 4 * count;
  const referenceEnds = assets + 4 * count;
  const codes = referenceEnds + (references ? 4 * count : 0);
  const dictionary = codes + count;
  return {
    ids,
    amounts,
    codes,
    debits,
    credits,
    assets,
    referenceEnds,
    dictionary,
    references: dictionary + dictionaryBytes,
  };
}

/** Bytes of a dictionary entry; `compact` as isCompactName(text) says. */
export function dictionaryEntryBytes(text: string, compact: boolean): number {
  return compact ? 17 : 1 + text.length;
}

/** Writes a dictionary entry (see blockLayout); returns its size. */
export function writeDictionaryEntry(
  out: Uint8Array,
  at: number,
  text: string,
  compact: boolean,
): number {
  if (compact) {
    out[at] = COMPACT_CHANNEL;
    parseHex(text, CHANNEL_PREFIX.length, 16, out, at + 1);
    return 17;
  }
  out[at] = text.length;
  for (let i = 0; i < text.length; i++) out[at + 1 + i] = text.charCodeAt(i);
  return 1 + text.length;
}

/**
 * Set in an entry's code byte when its reference is the id part of its debit account (what
 * follows the first '/'), as in a settlement, whose reference is the channel id: the reference
 * is then not stored again.
 */
export const REFERENCE_IS_DEBIT_ID = 0x80;

/** Whether `reference` is the part of `debitAccount` after its first '/'. */
export function referenceIsDebitId(
  reference: string,
  debitAccount: string,
  idStart: number,
): boolean {
  return (
    reference.length > 0 &&
    reference.length === debitAccount.length - idStart &&
    debitAccount.endsWith(reference)
  );
}

export function writeBlockHeader(
  out: Buffer,
  count: number,
  timestampMs: number,
  dictionaryBytes: number,
  references: boolean,
): void {
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0 || timestampMs > MAX_U48) {
    throw new RangeError(`timestamp out of range: ${timestampMs}`);
  }
  out.fill(0, 0, BLOCK_HEADER_BYTES);
  out[0] = BLOCK_VERSION;
  out[1] = references ? 0 : NO_REFERENCES;
  out.writeUInt32LE(count, 2);
  writeU48BE(out, 6, timestampMs);
  out.writeUInt32LE(dictionaryBytes, 12);
}

/**
 * A block from plain transfers: the simple (and slower) path, for tests and tools. The ledger
 * writes blocks column by column from its staged commit (level-ledger.ts).
 */
export function encodeBlock(transfers: readonly TransferInput[], timestampMs: number): Buffer {
  const count = transfers.length;
  const dictionary = new Map<string, number>();
  let dictionaryBytes = 0;
  let referenceBytes = 0;
  const intern = (text: string): void => {
    if (!dictionary.has(text)) {
      dictionary.set(text, dictionaryBytes);
      dictionaryBytes += dictionaryEntryBytes(text, isCompactName(text));
    }
  };
  const elided = transfers.map((t) =>
    referenceIsDebitId(t.reference, t.debitAccount, t.debitAccount.indexOf('/') + 1),
  );
  transfers.forEach((t, i) => {
    intern(t.debitAccount);
    intern(t.creditAccount);
    intern(t.asset);
    if (!elided[i]) referenceBytes += Buffer.byteLength(t.reference, 'utf8');
  });
  const references = referenceBytes > 0;
  const layout = blockLayout(count, dictionaryBytes, references);
  const out = Buffer.allocUnsafe(layout.references + referenceBytes);
  writeBlockHeader(out, count, timestampMs, dictionaryBytes, references);
  for (const [text, offset] of dictionary) {
    writeDictionaryEntry(out, layout.dictionary + offset, text, isCompactName(text));
  }
  let referenceEnd = 0;
  transfers.forEach((t, i) => {
    if (!parseId(t.id, out, layout.ids + 16 * i)) throw new TypeError(`bad id ${t.id}`);
    out.writeBigUInt64LE(t.amountBaseUnits, layout.amounts + 8 * i);
    out[layout.codes + i] = elided[i] ? t.code | REFERENCE_IS_DEBIT_ID : t.code;
    out.writeUInt32LE(dictionary.get(t.debitAccount)!, layout.debits + 4 * i);
    out.writeUInt32LE(dictionary.get(t.creditAccount)!, layout.credits + 4 * i);
    out.writeUInt32LE(dictionary.get(t.asset)!, layout.assets + 4 * i);
    if (!elided[i])
      referenceEnd += out.write(t.reference, layout.references + referenceEnd, 'utf8');
    if (references) out.writeUInt32LE(referenceEnd, layout.referenceEnds + 4 * i);
  });
  return out;
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
  const count = buf.readUInt32LE(2);
  const timestampMs = readU48BE(buf, 6);
  const dictionaryBytes = buf.readUInt32LE(12);
  const references = (buf[1]! & NO_REFERENCES) === 0;
  const layout = blockLayout(count, dictionaryBytes, references);
  if (buf.length < layout.references) throw corrupt('block columns');
  const text = (offset: number): string => {
    const start = layout.dictionary + offset;
    const tag = buf[start];
    const length = tag === COMPACT_CHANNEL ? 16 : tag;
    if (
      offset >= dictionaryBytes ||
      length === undefined ||
      start + 1 + length > layout.references
    ) {
      throw corrupt('block dictionary');
    }
    return tag === COMPACT_CHANNEL
      ? CHANNEL_PREFIX + buf.toString('hex', start + 1, start + 17)
      : buf.toString('latin1', start + 1, start + 1 + length);
  };
  return {
    count,
    timestampMs,
    entry(index: number, sequence: number): Transfer {
      if (!Number.isInteger(index) || index < 0 || index >= count) {
        throw corrupt(`block has no entry ${index}`);
      }
      const referenceStart =
        !references || index === 0 ? 0 : buf.readUInt32LE(layout.referenceEnds + 4 * (index - 1));
      const referenceEnd = references ? buf.readUInt32LE(layout.referenceEnds + 4 * index) : 0;
      if (referenceEnd < referenceStart || layout.references + referenceEnd > buf.length) {
        throw corrupt('block reference');
      }
      const debitAccount = text(buf.readUInt32LE(layout.debits + 4 * index));
      const codeByte = buf[layout.codes + index]!;
      return {
        id: buf.toString('hex', layout.ids + 16 * index, layout.ids + 16 * index + 16),
        debitAccount,
        creditAccount: text(buf.readUInt32LE(layout.credits + 4 * index)),
        asset: text(buf.readUInt32LE(layout.assets + 4 * index)),
        amountBaseUnits: buf.readBigUInt64LE(layout.amounts + 8 * index),
        code: (codeByte & ~REFERENCE_IS_DEBIT_ID) as TransferCodeNumber,
        reference:
          (codeByte & REFERENCE_IS_DEBIT_ID) !== 0
            ? debitAccount.slice(debitAccount.indexOf('/') + 1)
            : buf.toString(
                'utf8',
                layout.references + referenceStart,
                layout.references + referenceEnd,
              ),
        sequence,
        timestampMs,
      };
    },
  };
}

/** The ids column of a block: 16 bytes per transfer, in order. */
export function blockIds(bytes: Uint8Array): { ids: Buffer; count: number } {
  const buf = asBuffer(bytes);
  if (buf.length < BLOCK_HEADER_BYTES || buf[0] !== BLOCK_VERSION) throw corrupt('block header');
  const count = buf.readUInt32LE(2);
  const start = BLOCK_HEADER_BYTES;
  if (buf.length < start + 16 * count) throw corrupt('block ids');
  return { ids: buf.subarray(start, start + 16 * count), count };
}
