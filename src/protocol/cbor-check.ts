import { Limits } from './limits.js';

/**
 * Structural check of untrusted CBOR before any decoder sees it. Accepts only the subset that
 * Farthing messages use, in RFC 8949 §4.2.1 core deterministic form: unsigned and negative
 * integers, byte and UTF-8 text strings, definite-length arrays and maps with sorted unique
 * integer or text keys. Refuses tags (so cbor-x never builds Dates, RegExps, typed arrays or
 * records), floats and simple values, indefinite lengths, non-shortest heads, declared lengths
 * past the end of the input, nesting past the depth cap, and trailing bytes. Runs in time linear
 * in the input and allocates nothing proportional to a declared length.
 */
export interface CborShape {
  maxDepth: number;
  maxItems: number;
  maxStringBytes: number;
}

export const defaultShape: CborShape = {
  maxDepth: Limits.maxCborDepth,
  maxItems: Limits.maxCborItems,
  maxStringBytes: Limits.maxCborStringBytes,
};

export type CborCheck = { ok: true } | { ok: false; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Refusal {
  constructor(readonly reason: string) {}
}

export function checkCborStructure(bytes: Uint8Array, shape: CborShape = defaultShape): CborCheck {
  let offset = 0;

  const fail = (reason: string): never => {
    throw new Refusal(`${reason} at byte ${offset}`);
  };

  /** Reads an item head; returns [majorType, argument]. Argument is a number when it fits. */
  const readHead = (): [number, number | bigint] => {
    if (offset >= bytes.length) fail('unexpected end of input');
    const initial = bytes[offset++]!;
    const major = initial >> 5;
    const info = initial & 31;
    if (info < 24) return [major, info];
    if (info === 31) fail('indefinite length');
    if (info > 27) fail('reserved additional information');
    const width = 1 << (info - 24);
    if (offset + width > bytes.length) fail('unexpected end of input');
    let value: number | bigint;
    if (width === 8) {
      let big = 0n;
      for (let i = 0; i < 8; i++) big = (big << 8n) | BigInt(bytes[offset + i]!);
      value = big;
      if (big <= 0xffffffffn) fail('non-shortest integer');
    } else {
      let n = 0;
      for (let i = 0; i < width; i++) n = n * 256 + bytes[offset + i]!;
      value = n;
      const minimum = width === 1 ? 24 : width === 2 ? 0x100 : 0x10000;
      if (n < minimum) fail('non-shortest integer');
    }
    offset += width;
    return [major, value];
  };

  const asLength = (value: number | bigint, cap: number, what: string): number => {
    if (typeof value === 'bigint' || value > cap) fail(`${what} longer than ${cap}`);
    return value as number;
  };

  const readItem = (depth: number): void => {
    const start = offset;
    const [major, argument] = readHead();
    switch (major) {
      case 0:
      case 1:
        return;
      case 2:
      case 3: {
        const length = asLength(argument, shape.maxStringBytes, 'string');
        if (offset + length > bytes.length) fail('string runs past the end');
        if (major === 3) {
          try {
            utf8.decode(bytes.subarray(offset, offset + length));
          } catch {
            offset = start;
            fail('invalid UTF-8 text');
          }
        }
        offset += length;
        return;
      }
      case 4: {
        if (depth >= shape.maxDepth) fail('nesting too deep');
        const count = asLength(argument, shape.maxItems, 'array');
        for (let i = 0; i < count; i++) readItem(depth + 1);
        return;
      }
      case 5: {
        if (depth >= shape.maxDepth) fail('nesting too deep');
        const count = asLength(argument, shape.maxItems, 'map');
        let previousKey: Uint8Array | undefined;
        for (let i = 0; i < count; i++) {
          const keyStart = offset;
          if (offset >= bytes.length) fail('unexpected end of input');
          const keyMajor = bytes[offset]! >> 5;
          if (keyMajor !== 0 && keyMajor !== 1 && keyMajor !== 3) fail('map key not int or text');
          readItem(depth + 1);
          const key = bytes.subarray(keyStart, offset);
          if (previousKey !== undefined && compareBytes(previousKey, key) >= 0) {
            fail('map keys not in sorted unique order');
          }
          previousKey = key;
          readItem(depth + 1);
        }
        return;
      }
      case 6:
        offset = start;
        return fail('tags are not allowed');
      default:
        offset = start;
        return fail('floats and simple values are not allowed');
    }
  };

  try {
    readItem(0);
    if (offset !== bytes.length) fail('trailing bytes');
    return { ok: true };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.reason };
    throw error;
  }
}

/** Bytewise lexicographic order of encoded keys (RFC 8949 §4.2.1). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
