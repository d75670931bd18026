/**
 * The LevelDB ledger's reads from disk: blocks by id pointer or sequence, an account's history,
 * the caller's records. Functions of the open database only; the ledger (level-ledger.ts) owns
 * the state that says when they may run (open, index written) and what memory adds (the tails).
 * Key layout: the comment at the top of level-ledger.ts.
 */
import type { Level } from 'level';
import {
  ID_KEY_BYTES,
  KeyTag,
  blockKey,
  blockKeySequence,
  corrupt,
  openBlock,
  parseId,
  readSequences,
  writeU48BE,
  VarintReader,
  unavailable,
  type BlockView,
} from './level-codec.js';
import type { AccountId, Page, Transfer } from './types.js';

export type Db = Level<Buffer, Buffer>;

export function tagRange(tag: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.of(tag), lt: Buffer.of(tag + 1) };
}

/** The exclusive upper bound of every key starting with `prefix`. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  // Keys here never end in 0xff (UTF-8 has no 0xff byte, tags are ASCII).
  end[end.length - 1]! += 1;
  return end;
}

/** classic-level hands values out as Buffers; callers get plain Uint8Arrays. */
function plainView(value: Uint8Array): Uint8Array {
  return Buffer.isBuffer(value)
    ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    : value;
}

function recordKey(key: string): Buffer {
  const out = Buffer.allocUnsafe(1 + Buffer.byteLength(key, 'utf8'));
  out[0] = KeyTag.Record;
  out.write(key, 1, 'utf8');
  return out;
}

/** The `i` key of a transfer id; undefined if the id is not 32 hex digits. */
export function idKey(id: string): Buffer | undefined {
  const key = Buffer.allocUnsafe(ID_KEY_BYTES);
  key[0] = KeyTag.Id;
  return parseId(id, key, 1) ? key : undefined;
}

/** Decodes `i` values (sequence, index in block) into transfers, reading each block once. */
export async function readLocated(db: Db, locations: readonly Uint8Array[]): Promise<Transfer[]> {
  const wanted = locations.map((location) => {
    const reader = new VarintReader(location);
    const sequence = reader.read();
    const index = reader.read();
    return { sequence, index, first: sequence - index };
  });
  const blocks = await readBlocks(
    db,
    wanted.map((w) => w.first),
  );
  return wanted.map((w) => blocks.get(w.first)!.entry(w.index, w.sequence));
}

async function readBlocks(db: Db, firsts: readonly number[]): Promise<Map<number, BlockView>> {
  const unique = [...new Set(firsts)];
  let values: (Buffer | undefined)[];
  try {
    values = await db.getMany(unique.map(blockKey));
  } catch (cause) {
    throw unavailable('reading transfers failed', cause);
  }
  const blocks = new Map<number, BlockView>();
  unique.forEach((first, i) => {
    const value = values[i];
    if (value === undefined) throw corrupt(`no block ${first}`);
    blocks.set(first, openBlock(value));
  });
  return blocks;
}

/** Every transfer with a sequence in (after, end], `last` being the ledger's last sequence. */
export async function transfersInOrder(
  db: Db,
  after: number,
  end: number,
  last: number,
): Promise<Page<Transfer>> {
  const items: Transfer[] = [];
  if (end <= after) return { items, next: undefined };
  // The block holding `after + 1` starts at or before it.
  const [start] = await db
    .keys({ gte: blockKey(0), lte: blockKey(after + 1), reverse: true, limit: 1 })
    .all();
  if (start === undefined) throw corrupt('no block found');
  for await (const [key, value] of db.iterator({ gte: start, lte: blockKey(end) })) {
    const first = blockKeySequence(key);
    const block = openBlock(value);
    for (let i = Math.max(0, after + 1 - first); i < block.count && first + i <= end; i++) {
      items.push(block.entry(i, first + i));
    }
  }
  return { items, next: end < last ? end : undefined };
}

/**
 * One page of an account's transfers after `after`: its `h` entries on disk, then `tail` (the
 * sequences since its last entry, from memory). The caller makes sure no index write is pending,
 * so that the two agree.
 */
export async function transfersOfAccount(
  db: Db,
  account: AccountId,
  tail: readonly number[],
  after: number,
  limit: number,
): Promise<Page<Transfer>> {
  const prefix = Buffer.allocUnsafe(2 + account.length);
  prefix[0] = KeyTag.History;
  prefix.write(account, 1, 'latin1');
  prefix[1 + account.length] = 0;
  const from = Buffer.allocUnsafe(prefix.length + 6);
  prefix.copy(from);
  writeU48BE(from, prefix.length, after);
  // Defensive: tail sequences at or below the last one read from `h` entries are skipped, so
  // that a tail and an entry holding the same sequences could never list them twice.
  const wanted: number[] = [];
  let lastSeen = after;
  // One more than asked for tells whether there is a next page.
  const iterator = db.iterator({ gt: from, lt: prefixEnd(prefix) });
  try {
    outer: for (;;) {
      const entries = await iterator.nextv(64);
      if (entries.length === 0) break;
      for (const [, value] of entries) {
        for (const sequence of readSequences(new VarintReader(value))) {
          if (sequence <= lastSeen) continue;
          wanted.push(sequence);
          lastSeen = sequence;
          if (wanted.length > limit) break outer;
        }
      }
    }
  } finally {
    await iterator.close();
  }
  for (const sequence of tail) {
    if (wanted.length > limit) break;
    if (sequence > lastSeen) {
      wanted.push(sequence);
      lastSeen = sequence;
    }
  }
  const page = wanted.slice(0, limit);
  const items = await transfersAt(db, page);
  return { items, next: wanted.length > limit ? items.at(-1)!.sequence : undefined };
}

/** The transfers at these ascending sequences: one seek per block they fall in. */
async function transfersAt(db: Db, sequences: readonly number[]): Promise<Transfer[]> {
  const items: Transfer[] = [];
  let first = 0;
  let block: BlockView | undefined;
  for (const sequence of sequences) {
    if (block === undefined || sequence >= first + block.count) {
      const [entry] = await db
        .iterator({ gte: blockKey(0), lte: blockKey(sequence), reverse: true, limit: 1 })
        .all();
      if (entry === undefined) throw corrupt(`no block for sequence ${sequence}`);
      first = blockKeySequence(entry[0]);
      block = openBlock(entry[1]);
    }
    items.push(block.entry(sequence - first, sequence));
  }
  return items;
}

export async function readRecord(db: Db, key: string): Promise<Uint8Array | undefined> {
  try {
    const value = await db.get(recordKey(key));
    return value === undefined ? undefined : plainView(value);
  } catch (cause) {
    throw unavailable('reading a record failed', cause);
  }
}

export async function* readRecords(
  db: Db,
  prefix: string,
): AsyncIterable<[key: string, value: Uint8Array]> {
  const start = recordKey(prefix);
  const iterator = db.iterator({ gte: start, lt: prefixEnd(start) });
  try {
    for (;;) {
      let entries: [Buffer, Buffer][];
      try {
        entries = await iterator.nextv(256);
      } catch (cause) {
        throw unavailable('reading records failed', cause);
      }
      if (entries.length === 0) return;
      for (const [key, value] of entries) {
        yield [key.toString('utf8', 1), plainView(value)];
      }
    }
  } finally {
    await iterator.close().catch(() => undefined);
  }
}
