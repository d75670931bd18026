/**
 * A Bloom filter over transfer ids, so that a commit learns that its ids are new without a
 * disk read per id. "No" is certain (every applied id was added: at load, and at planning time
 * for every id a commit carries); "maybe" is checked on disk. Adding the ids of a commit that
 * then fails leaves extra bits set: more "maybe"s, never a wrong "no".
 *
 * Split-block layout (as in Parquet's SBBF): each id sets one bit in each of the 8 words of one
 * 32-byte block, so a test or an insert touches one cache line. At 10 bits per id (256-bit
 * blocks, ~26 ids per block at capacity) about 1% of new ids are false "maybe"s.
 *
 * Memory is bounded by the count, not by time: 10 bits per id of capacity, sized at open to
 * twice the ids on disk (1M at least); when full, a segment of the total capacity so far is
 * added (tests check every segment; after a reopen there is one again). 100M ids take about
 * 125–250 MB, a tenth of a set of the ids themselves.
 */

const BITS_PER_ID = 10;
const MIN_CAPACITY = 1 << 20;
const SALT = Uint32Array.of(
  0x47b6137b,
  0x44974d91,
  0x8824ad5b,
  0xa2b7289d,
  0x705495c7,
  0x2df1424b,
  0x9efc4947,
  0x5c6bfb31,
);

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) |
      (bytes[offset + 1]! << 16) |
      (bytes[offset + 2]! << 8) |
      bytes[offset + 3]!) >>>
    0
  );
}

class Segment {
  readonly words: Uint32Array;
  readonly blocks: number;
  readonly capacity: number;
  count = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.blocks = Math.max(1, Math.ceil((capacity * BITS_PER_ID) / 256));
    this.words = new Uint32Array(this.blocks * 8);
  }

  has(block: number, h2: number): boolean {
    const words = this.words;
    const base = (block % this.blocks) * 8;
    for (let i = 0; i < 8; i++) {
      const bit = 1 << (Math.imul(h2, SALT[i]!) >>> 27);
      if ((words[base + i]! & bit) === 0) return false;
    }
    return true;
  }

  /** Sets the id's bits; returns whether all were set already. */
  add(block: number, h2: number): boolean {
    const words = this.words;
    const base = (block % this.blocks) * 8;
    let present = true;
    for (let i = 0; i < 8; i++) {
      const bit = 1 << (Math.imul(h2, SALT[i]!) >>> 27);
      const word = words[base + i]!;
      if ((word & bit) === 0) {
        present = false;
        words[base + i] = word | bit;
      }
    }
    this.count++;
    return present;
  }
}

export class IdFilter {
  #segments: Segment[];

  /** A filter for `expected` ids before it grows. */
  constructor(expected: number) {
    this.#segments = [new Segment(Math.max(MIN_CAPACITY, Math.ceil(expected)))];
  }

  /** Whether the id at `ids[offset..offset+16)` may have been added. */
  mayContain(ids: Uint8Array, offset: number): boolean {
    hash(ids, offset);
    for (const segment of this.#segments) if (segment.has(h1, h2)) return true;
    return false;
  }

  /** Adds the id; returns whether it may have been added before (mayContain, then add). */
  add(ids: Uint8Array, offset: number): boolean {
    hash(ids, offset);
    const segments = this.#segments;
    let present = false;
    for (let i = 0; i < segments.length - 1 && !present; i++) present = segments[i]!.has(h1, h2);
    let last = segments[segments.length - 1]!;
    if (last.count >= last.capacity) {
      let total = 0;
      for (const segment of segments) total += segment.capacity;
      present ||= last.has(h1, h2);
      last = new Segment(total);
      segments.push(last);
    }
    return last.add(h1, h2) || present;
  }

  /**
   * Adds `count` ids stored back to back (16 bytes each) in `ids`; returns the indices of those
   * that may have been added before, in order, or undefined if none.
   */
  addAll(ids: Uint8Array, count: number): number[] | undefined {
    let maybe: number[] | undefined;
    for (let i = 0; i < count; i++) if (this.add(ids, 16 * i)) (maybe ??= []).push(i);
    return maybe;
  }

  /** Bytes held, for tests and metrics. */
  get bytes(): number {
    let bytes = 0;
    for (const segment of this.#segments) bytes += segment.words.byteLength;
    return bytes;
  }
}

/** The two hashes of the last id hashed (module state: no allocation per id). */
let h1 = 0;
let h2 = 0;

/** Two 32-bit hashes of a 16-byte id: all 128 bits reach them, whatever the ids look like. */
function hash(ids: Uint8Array, offset: number): void {
  const w0 = readU32(ids, offset);
  const w1 = readU32(ids, offset + 4);
  const w2 = readU32(ids, offset + 8);
  const w3 = readU32(ids, offset + 12);
  h1 = fmix32(w0 ^ Math.imul(w1, 0x9e3779b1) ^ Math.imul(w3 ^ (w3 >>> 15), 0x85ebca77));
  h2 = fmix32(w2 ^ Math.imul(w3, 0xc2b2ae3d) ^ Math.imul(w1 ^ (w1 >>> 13), 0x27d4eb2f)) | 1;
}
