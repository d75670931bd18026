/**
 * The LevelDB ledger (`level`, i.e. classic-level on Node): the embedded default.
 *
 * Single writer. Balances, history tails and the last sequence live in memory (loaded at open);
 * commits are serialized by a promise queue and planned against memory (level-write.ts). A
 * commit is durable when its ONE synchronous LevelDB batch is: the commit's block (all its
 * transfers) and its records. Only then does memory follow and the commit resolve. If a write
 * fails, memory is unchanged, the commit fails with LEDGER_UNAVAILABLE, and so does every later
 * commit: the disk may hold the batch or not, and only a reopen (which reloads from disk) can
 * tell. The derived entries are encoded in level-index.ts; reads from disk (blocks, history,
 * records) are in level-read.ts.
 *
 * Layout. Keys are bytes; the first byte says what a key is (level-codec.ts has the codecs):
 *   m format                      format version (1 byte)
 *   t <seq u48 BE>                block: every transfer of one commit, from sequence <seq> on,
 *                                 in columns (ids, amounts, accounts as offsets in a dictionary
 *                                 of the block's accounts, a channel's name as its 16 bytes)
 *   r <key UTF-8>                 the caller's records
 *   i <id 16 bytes>               id pointer: varint sequence, varint index in its block
 *   h <account> 0x00 <seq u48 BE> history entry: sequences of the account's transfers, <seq> the
 *                                 last of them, so "after N" is a range start
 *   a <account>                   account entry (a checkpoint): the sequence it is as of, the
 *                                 balance per asset, the history tail (the sequences since the
 *                                 account's last history entry)
 *   m indexed                     watermark: id pointers and history entries are written for
 *                                 every sequence up to it
 *   m accounts                    watermark: every account change up to it is in an entry
 * `t` and `r` are the commit; `i`, `h`, `a` and the watermarks are derived from the blocks.
 *
 * Why this shape. LevelDB's cost is per key far more than per byte, a key inserted at a random
 * place costs about twice one appended, and a settlement commit writes two transfers and a
 * record for each of thousands of channels; the process is CPU-bound (a settled channel costs
 * about 7 µs of CPU where LevelDB writes a raw record for 1.4 µs). So:
 *  - One key per commit holds all its transfers (the block), so the synchronous batch of a
 *    settlement is one key plus its records.
 *  - The derived entries (id pointers, history, due account entries, watermarks) are encoded
 *    while the commit's synchronous write is in flight and written right after it, without
 *    sync, in their own batch; the next commit's write waits for it. A crash can only lose
 *    derived entries of durable blocks: open replays the blocks after the watermarks. Reads
 *    that use them (transfer(id), an account's history, the idempotency check) wait for the
 *    pending write first, so they always see every resolved commit.
 *  - Account entries are checkpoints, not written at every commit: an account changed since
 *    its entry is rewritten once it has been dirty for `checkpointTransfers` transfers (1M by
 *    default), at close, and after a replay. The hub settles every changed channel every
 *    second, so a streaming channel's account changes many times per checkpoint; writing it at
 *    every commit cost about a fifth of the settlement throughput. Open replays at most
 *    `checkpointTransfers` transfers after a crash (about 1.7 s per million here).
 *  - History costs a key per MAX_TAIL sequences of an account (its tail lives in memory and in
 *    its entry), or one per commit for an account with many transfers in it (a payee, hub/fees).
 *  - Id pointers are put in about key order (sorted on their first 12 bits), which makes
 *    LevelDB's memtable inserts cache-friendlier (~7% faster settlements).
 *  - The last sequence is the last block's first sequence + count − 1: no meta key per commit.
 *
 * Idempotency without a read per id: a Bloom filter of every applied id (id-filter.ts, filled
 * at open from the `i` keys, about a million a second) answers "new" for almost every fresh id;
 * only the "maybe"s (about 1% of new ids, and every retried id) are read from disk and
 * compared. Ids are added while planning, so a duplicate inside one commit is a "maybe" too.
 * Memory: about 10 bits per id of the filter, and per account its state (~400 bytes with a
 * short tail), as the balances in memory always needed.
 *
 * The records' bytes are copied by LevelDB itself: they go into the native batch at call time.
 */
import { Level } from 'level';
import { FarthingError } from '../errors.js';
import { isValidTransferId } from './accounts.js';
import { IdFilter } from './id-filter.js';
import { AccountState, DirtyAccounts } from './level-accounts.js';
import {
  ID_KEY_BYTES,
  KeyTag,
  blockKey,
  blockKeySequence,
  corrupt,
  decodeAccountValue,
  openBlock,
  readU48BE,
  unavailable,
} from './level-codec.js';
import {
  ACCOUNTS_KEY,
  INDEXED_KEY,
  putAccountEntries,
  putHistory,
  putIdPointers,
  putWatermarks,
} from './level-index.js';
import {
  idKey,
  readLocated,
  readRecord,
  readRecords,
  tagRange,
  transfersInOrder,
  transfersOfAccount,
  type Db,
} from './level-read.js';
import {
  Planner,
  Scratch,
  Slot,
  Stager,
  putBlock,
  stagedFromBlock,
  type Plan,
  type Staged,
  type Suspects,
} from './level-write.js';
import type {
  AccountId,
  Balance,
  CommitRequest,
  CommitResult,
  Ledger,
  Page,
  RecordWrite,
  Transfer,
  TransferId,
  TransferQuery,
} from './types.js';
import {
  checkRecord,
  checkRecordFields,
  checkRecordLookup,
  selectBalances,
  validateQuery,
} from './validate.js';

export interface LevelLedgerOptions {
  /** The LevelDB directory; created if missing. */
  path: string;
  /** fsync every commit before it resolves (default true). false only for tests and benches. */
  sync?: boolean;
  /**
   * How many transfers an account's entry may lag behind its changes before it is rewritten
   * (default 1,000,000): the most transfers open replays after a crash. Tests use small ones.
   */
  checkpointTransfers?: number;
}

type ChainedBatch = ReturnType<Db['batch']>;
type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

const FORMAT_KEY = Buffer.from('mformat', 'latin1');
const FORMAT_VERSION = 2;
const DEFAULT_CHECKPOINT_TRANSFERS = 1_000_000;
/** Blocks replayed per index batch at open. */
const REPLAY_BLOCKS_PER_BATCH = 16;

function readU32BE(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) |
      (bytes[offset + 1]! << 16) |
      (bytes[offset + 2]! << 8) |
      bytes[offset + 3]!) >>>
    0
  );
}

/** A commit request as it waits in the queue. */
interface Pending {
  staged: Staged;
  /** The records, already in a native batch (which copied their bytes); undefined if none. */
  batch: ChainedBatch | undefined;
}

export class LevelLedger implements Ledger {
  readonly #path: string;
  readonly #sync: boolean;
  readonly #checkpointTransfers: number;
  #db: Db | undefined;
  #state: State = 'new';
  #opening: Promise<void> | undefined;
  /** Tail of the commit queue; never rejects. */
  #tail: Promise<unknown> = Promise.resolve();
  /** The last index write; never rejects (a failure sets #indexFailure). */
  #indexing: Promise<void> = Promise.resolve();
  /** Set when a batch write failed: the disk state is unknown until a reopen. */
  #writeFailure: unknown;
  /** Set when an index write failed: reads through the index would miss entries. */
  #indexFailure: unknown;
  #lastSequence = 0;
  readonly #accounts = new Map<AccountId, AccountState>();
  readonly #scratch = new Scratch();
  readonly #stager = new Stager(this.#accounts);
  readonly #planner = new Planner(this.#accounts, this.#scratch);
  /** Accounts changed since their entry was written, longest first. */
  readonly #dirty = new DirtyAccounts();
  #filter: IdFilter | undefined;

  constructor(options: LevelLedgerOptions) {
    if (typeof options?.path !== 'string' || options.path.length === 0) {
      throw new TypeError('LevelLedger needs { path: string }');
    }
    this.#path = options.path;
    this.#sync = options.sync ?? true;
    this.#checkpointTransfers = options.checkpointTransfers ?? DEFAULT_CHECKPOINT_TRANSFERS;
    if (!Number.isSafeInteger(this.#checkpointTransfers) || this.#checkpointTransfers < 0) {
      throw new RangeError('checkpointTransfers must be a non-negative integer');
    }
  }

  open(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') {
      return Promise.reject(new FarthingError('LEDGER_CLOSED'));
    }
    this.#opening ??= this.#open();
    return this.#opening;
  }

  async #open(): Promise<void> {
    this.#state = 'opening';
    const db: Db = new Level<Buffer, Buffer>(this.#path, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      createIfMissing: true,
    });
    try {
      await db.open();
    } catch (cause) {
      this.#state = 'closed';
      throw new FarthingError(
        'LEDGER_UNAVAILABLE',
        `cannot open the ledger at ${this.#path} (locked by another process?)`,
        { cause },
      );
    }
    try {
      await this.#load(db);
    } catch (cause) {
      this.#state = 'closed';
      await db.close().catch(() => undefined);
      throw unavailable(`cannot load the ledger at ${this.#path}`, cause);
    }
    this.#db = db;
    this.#state = 'open';
  }

  async #load(db: Db): Promise<void> {
    const format = await db.get(FORMAT_KEY);
    if (format === undefined) {
      const empty = await db.keys({ limit: 1 }).all();
      if (empty.length > 0) throw new FarthingError('LEDGER_UNAVAILABLE', 'not a ledger directory');
      await db.put(FORMAT_KEY, Buffer.of(FORMAT_VERSION), { sync: this.#sync });
    } else if (format.length !== 1 || format[0] !== FORMAT_VERSION) {
      throw new FarthingError('LEDGER_UNAVAILABLE', `unknown ledger format ${format.join(',')}`);
    }

    const last = await db.iterator({ ...tagRange(KeyTag.Block), reverse: true, limit: 1 }).all();
    if (last.length > 0) {
      const [key, value] = last[0]!;
      this.#lastSequence = blockKeySequence(key) + openBlock(value).count - 1;
    }

    await this.#loadAccounts(db);
    const [indexed, accounts] = await Promise.all(
      [INDEXED_KEY, ACCOUNTS_KEY].map(async (key) => {
        const watermark = await db.get(key);
        if (watermark === undefined) return 0;
        if (watermark.length !== 6) throw corrupt('watermark');
        const sequence = readU48BE(watermark, 0);
        if (sequence > this.#lastSequence) throw corrupt(`a watermark ahead of the blocks`);
        return sequence;
      }),
    );
    if (Math.min(indexed!, accounts!) < this.#lastSequence) {
      await this.#replay(db, indexed!, accounts!);
    }

    const sums = new Map<string, bigint>();
    for (const state of this.#accounts.values()) {
      for (const { asset, balanceBaseUnits } of state.balances()) {
        sums.set(asset, (sums.get(asset) ?? 0n) + balanceBaseUnits);
      }
    }
    for (const [asset, sum] of sums) {
      if (sum !== 0n) {
        throw new FarthingError(
          'INVARIANT_BROKEN',
          `ledger at ${this.#path}: balances of ${asset} sum to ${sum}, not zero`,
        );
      }
    }
    this.#filter = await this.#loadFilter(db);
  }

  async #loadAccounts(db: Db): Promise<void> {
    const accounts = db.iterator({ ...tagRange(KeyTag.Account) });
    try {
      for (;;) {
        const entries = await accounts.nextv(1024);
        if (entries.length === 0) break;
        for (const [key, value] of entries) {
          const name = key.toString('latin1', 1);
          const { asOf, balances, tail } = decodeAccountValue(value);
          const [primary, ...others] = balances;
          if (primary === undefined) throw corrupt(`account ${name} has no balance`);
          const state = new AccountState(name, primary.asset, primary.balanceBaseUnits, tail, asOf);
          for (const other of others) {
            const entry = state.extraFor(other.asset);
            entry.balance = entry.pending = other.balanceBaseUnits;
            entry.present = true;
          }
          this.#accounts.set(name, state);
        }
      }
    } finally {
      await accounts.close();
    }
  }

  /**
   * Replays the blocks after min(indexed, accounts): id pointers and history for blocks after
   * `indexed`, and account changes not in the accounts' entries (an entry's asOf says which);
   * then writes every account it changed.
   */
  async #replay(db: Db, indexed: number, accounts: number): Promise<void> {
    const from = Math.min(indexed, accounts) + 1;
    const blocks = db.iterator({ gte: blockKey(from), lt: Buffer.of(KeyTag.Block + 1) });
    let expected = from;
    try {
      for (;;) {
        const entries = await blocks.nextv(REPLAY_BLOCKS_PER_BATCH);
        if (entries.length === 0) break;
        const batch = db.batch();
        for (const [key, value] of entries) {
          const first = blockKeySequence(key);
          if (first !== expected) throw corrupt(`block ${first} where ${expected} was expected`);
          const staged = stagedFromBlock(value);
          const plan = this.#planner.plan(staged, undefined, first, true);
          plan.ids = staged.ids;
          expected = first + staged.count;
          if (expected - 1 > indexed) putIdPointers(batch, plan, this.#scratch);
          // Always: it also decides which tails spill. An entry already on disk is rewritten
          // with the same contents.
          putHistory(batch, plan, this.#scratch);
          this.#planner.apply(plan);
          this.#markDirty(plan);
        }
        putWatermarks(batch, Math.max(indexed, expected - 1), accounts);
        await this.writeBatch(batch, { sync: false, index: true });
      }
    } finally {
      await blocks.close();
    }
    if (expected !== this.#lastSequence + 1) throw corrupt('blocks end before the last sequence');
    await this.#checkpoint(db);
  }

  /** Writes every dirty account's entry and both watermarks, synchronously. */
  async #checkpoint(db: Db): Promise<void> {
    const last = this.#lastSequence;
    const dirty = this.#dirty.takeAll();
    const batch = db.batch();
    putAccountEntries(batch, undefined, dirty, last, this.#scratch);
    putWatermarks(batch, last, last);
    await this.writeBatch(batch, { sync: this.#sync, index: true });
    for (const state of dirty) {
      state.dirtySince = 0;
      state.asOf = last;
    }
  }

  /** The plan's accounts changed: those that were clean are dirty since its first sequence. */
  #markDirty(plan: Plan): void {
    for (const state of plan.touched) {
      if (state.dirtySince === 0) {
        state.dirtySince = plan.firstSequence;
        this.#dirty.push(state, plan.firstSequence);
      }
    }
  }

  /** Every applied id, into the filter: the `i` keys, about a million a second. */
  async #loadFilter(db: Db): Promise<IdFilter> {
    const filter = new IdFilter(2 * this.#lastSequence);
    const ids = db.keys({ ...tagRange(KeyTag.Id), fillCache: false });
    let count = 0;
    try {
      for (;;) {
        const keys = await ids.nextv(4096);
        if (keys.length === 0) break;
        for (const key of keys) {
          if (key.length !== ID_KEY_BYTES) throw corrupt('id key');
          filter.add(key, 1);
        }
        count += keys.length;
      }
    } finally {
      await ids.close();
    }
    if (count !== this.#lastSequence) {
      throw corrupt(`${count} transfer ids for ${this.#lastSequence} transfers`);
    }
    return filter;
  }

  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    if (this.#state === 'opening') await this.#opening?.catch(() => undefined);
    this.#state = 'closing';
    await this.#tail;
    await this.#indexing;
    const db = this.#db;
    this.#db = undefined;
    this.#state = 'closed';
    if (db !== undefined) {
      let failure: unknown;
      // A clean close leaves nothing to replay (unless a write failed: then the disk state is
      // unknown, and the next open finds out).
      if (this.#writeFailure === undefined) {
        await this.#checkpoint(db).catch((cause: unknown) => (failure = cause));
      }
      await db.close().catch((cause: unknown) => (failure ??= cause));
      if (failure !== undefined) throw unavailable('closing the ledger failed', failure);
    }
  }

  #openDb(): Db {
    if (this.#state === 'open' && this.#db !== undefined) return this.#db;
    if (this.#state === 'closing' || this.#state === 'closed') {
      throw new FarthingError('LEDGER_CLOSED');
    }
    throw new FarthingError('LEDGER_UNAVAILABLE', 'the ledger is not open: call open() first');
  }

  async commit(request: CommitRequest): Promise<CommitResult> {
    const db = this.#openDb();
    // Validated and copied now, in the caller's tick: later mutation cannot change the commit.
    const { staged, records } = this.#stager.stage(request);
    const pending: Pending = {
      staged,
      batch: records.length > 0 ? this.#stageRecords(db, records) : undefined,
    };
    const run = this.#tail.then(() => this.#commitNow(pending));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Subclasses in fault-injection tests override this to make a write fail, or (for `index`
   * writes, which a crash may lose) not happen. It must write the whole batch or nothing.
   */
  protected async writeBatch(
    batch: ChainedBatch,
    options: { sync: boolean; index?: boolean },
  ): Promise<void> {
    await batch.write({ sync: options.sync });
  }

  /** Puts the records into a new native batch, which copies their bytes now. */
  #stageRecords(db: Db, records: readonly RecordWrite[]): ChainedBatch {
    // A bound, not the exact size: a UTF-16 unit takes at most 3 UTF-8 bytes.
    let keyBytes = 0;
    for (let i = 0; i < records.length; i++) {
      const key: unknown = records[i]?.key;
      keyBytes += 1 + 3 * (typeof key === 'string' ? key.length : 0);
    }
    const keys = this.#scratch.bytes(Slot.RecordKeys, keyBytes);
    const batch = db.batch();
    try {
      let offset = 0;
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!;
        if (typeof record !== 'object' || record === null) checkRecord(record, i);
        // Each field read once: a getter cannot show validation one value and storage another.
        const { key, value } = record;
        checkRecordFields(key, value, i);
        const start = offset;
        keys[offset++] = KeyTag.Record;
        offset += keys.write(key, offset, 'utf8');
        const encoded = keys.subarray(start, offset);
        if (value === null) batch.del(encoded);
        else batch.put(encoded, value as Buffer);
      }
    } catch (error) {
      void batch.close().catch(() => undefined);
      throw error;
    }
    return batch;
  }

  // ---- the commit, in queue order ----

  #checkWritable(): Db {
    // Commits queued before close() still run: close() waits for them.
    const db = this.#db;
    if (db === undefined) throw new FarthingError('LEDGER_CLOSED');
    if (this.#writeFailure !== undefined) {
      throw new FarthingError(
        'LEDGER_UNAVAILABLE',
        'an earlier ledger write failed; close and reopen the ledger',
        { cause: this.#writeFailure },
      );
    }
    return db;
  }

  async #commitNow({ staged, batch }: Pending): Promise<CommitResult> {
    let index: ChainedBatch | undefined;
    try {
      let db = this.#checkWritable();
      let plan: Plan | undefined;
      if (staged.count > 0) {
        const maybe = this.#filter!.addAll(staged.ids, staged.count);
        let suspects: Suspects | undefined;
        if (maybe !== undefined) {
          // The index must hold every resolved commit before it is read.
          await this.#indexing;
          db = this.#checkWritable();
          suspects = await this.#resolve(db, staged, maybe);
        }
        plan = this.#planner.plan(staged, suspects, this.#lastSequence + 1);
        if (plan.fresh > 0) {
          batch ??= db.batch();
          putBlock(batch, staged, plan, Date.now(), this.#scratch);
        }
      }
      const result = {
        applied: plan?.fresh ?? 0,
        alreadyApplied: staged.count - (plan?.fresh ?? 0),
      };
      if (batch === undefined) return result;
      const applies = plan !== undefined && plan.fresh > 0;
      if (applies) {
        // At most one index write in flight: the previous one is usually done by now.
        await this.#indexing;
        db = this.#checkWritable();
      }
      const writing = batch;
      batch = undefined;
      const written = this.writeBatch(writing, { sync: this.#sync });
      let due: AccountState[] = [];
      if (applies) {
        try {
          // Encoded while the synchronous write is in flight; written once it is durable.
          index = db.batch();
          const last = plan!.firstSequence + plan!.fresh - 1;
          putIdPointers(index, plan!, this.#scratch);
          putHistory(index, plan!, this.#scratch);
          // The accounts dirty for too long get their entry rewritten (as this commit leaves them).
          due = this.#dirty.takeDirtySince(last - this.#checkpointTransfers);
          putAccountEntries(index, plan!, due, last, this.#scratch);
          // Every change up to `accounts` is in an entry once this batch lands: what is still
          // dirty changed later, and so did this commit's accounts.
          const accounts = Math.min(this.#dirty.oldest() ?? Infinity, plan!.firstSequence) - 1;
          putWatermarks(index, last, accounts);
        } catch (cause) {
          // The block may land while memory cannot follow it: fence the ledger (no more commits,
          // no checkpoint at close), so that the next open replays the block from disk.
          this.#writeFailure = cause;
          await written.catch(() => writing.close().catch(() => undefined));
          throw unavailable('encoding the ledger index failed; reopen the ledger', cause);
        }
      }
      try {
        await written;
      } catch (cause) {
        this.#writeFailure = cause;
        await writing.close().catch(() => undefined);
        throw unavailable('the ledger write failed', cause);
      }
      if (applies) {
        // Durable: now memory may follow.
        this.#planner.apply(plan!);
        this.#markDirty(plan!);
        this.#lastSequence += plan!.fresh;
        for (const state of due) {
          state.dirtySince = 0;
          state.asOf = this.#lastSequence;
        }
        this.#indexing = this.#writeIndex(index!);
        index = undefined;
      }
      return result;
    } finally {
      if (batch !== undefined) await batch.close().catch(() => undefined);
      if (index !== undefined) await index.close().catch(() => undefined);
    }
  }

  /**
   * Writes a commit's index entries (after the commit itself is durable). Not synced: a later
   * synchronous write syncs the log up to it, and a crash before that is repaired at open.
   */
  async #writeIndex(index: ChainedBatch): Promise<void> {
    try {
      await this.writeBatch(index, { sync: false, index: true });
    } catch (cause) {
      this.#writeFailure ??= cause;
      this.#indexFailure = cause;
      await index.close().catch(() => undefined);
    }
  }

  /**
   * Resolves once the index entries of every resolved commit are written (they are written
   * just after each commit). For benchmarks and tests: reads wait for them by themselves.
   */
  async whenIndexed(): Promise<void> {
    for (;;) {
      const pending = this.#indexing;
      await pending;
      if (pending === this.#indexing) return;
    }
  }

  /** Waits for pending index writes, for reads that go through the index. */
  async #indexed(): Promise<void> {
    await this.#indexing;
    this.#checkIndex();
  }

  #checkIndex(): void {
    if (this.#indexFailure !== undefined) {
      throw new FarthingError(
        'LEDGER_UNAVAILABLE',
        'an index write failed; close and reopen the ledger',
        { cause: this.#indexFailure },
      );
    }
  }

  /** Finds which suspect ids are applied already (disk), and every transfer carrying one. */
  async #resolve(db: Db, staged: Staged, maybe: number[]): Promise<Suspects> {
    const ids = staged.ids;
    const hexOf = (i: number): string => ids.toString('hex', 16 * i, 16 * i + 16);
    const suspectIds = new Set(maybe.map(hexOf));
    const words = new Set(maybe.map((i) => readU32BE(ids, 16 * i)));
    const tracked = new Map<number, string>();
    for (let i = 0; i < staged.count; i++) {
      if (!words.has(readU32BE(ids, 16 * i))) continue;
      const id = hexOf(i);
      if (suspectIds.has(id)) tracked.set(i, id);
    }
    const unique = [...suspectIds];
    let locations: (Buffer | undefined)[];
    try {
      // Mostly misses: caching the blocks they touch would only evict useful ones.
      locations = await db.getMany(
        unique.map((id) => idKey(id)!),
        { fillCache: false },
      );
    } catch (cause) {
      throw unavailable('reading transfer ids failed', cause);
    }
    const hits: string[] = [];
    const hitLocations: Buffer[] = [];
    unique.forEach((id, i) => {
      const location = locations[i];
      if (location !== undefined) {
        hits.push(id);
        hitLocations.push(location);
      }
    });
    const onDisk = new Map<string, Transfer>();
    if (hits.length > 0) {
      const found = await readLocated(db, hitLocations);
      hits.forEach((id, i) => onDisk.set(id, found[i]!));
    }
    return { tracked, onDisk };
  }

  // ---- reads ----

  async balance(account: AccountId, asset: string): Promise<bigint> {
    this.#openDb();
    return this.#accounts.get(account)?.balanceOf(asset) ?? 0n;
  }

  async balances(filter?: { accountPrefix?: string; asset?: string }): Promise<Balance[]> {
    this.#openDb();
    const accounts = this.#accounts;
    function* all(): IterableIterator<Balance> {
      for (const state of accounts.values()) yield* state.balances();
    }
    return selectBalances(all(), filter);
  }

  async transfer(id: TransferId): Promise<Transfer | undefined> {
    const db = this.#openDb();
    if (!isValidTransferId(id)) return undefined;
    const key = idKey(id)!;
    if (!this.#filter!.mayContain(key, 1)) return undefined;
    await this.#indexed();
    let location: Buffer | undefined;
    try {
      location = await db.get(key);
    } catch (cause) {
      throw unavailable('reading a transfer failed', cause);
    }
    if (location === undefined) return undefined;
    const [transfer] = await readLocated(db, [location]);
    return transfer;
  }

  async transfers(query: TransferQuery): Promise<Page<Transfer>> {
    const db = this.#openDb();
    const { account, after, limit } = validateQuery(query);
    try {
      if (account === undefined) {
        const last = this.#lastSequence;
        return await transfersInOrder(db, after, Math.min(after + limit, last), last);
      }
      // Until no index write is pending: from there to the iterator's snapshot (taken when it
      // is created) nothing can run, so memory (the tail) and disk (the `h` entries) agree.
      for (;;) {
        const pending = this.#indexing;
        await pending;
        if (pending === this.#indexing) break;
      }
      this.#checkIndex();
      const state = this.#accounts.get(account);
      if (state === undefined) return { items: [], next: undefined };
      return await transfersOfAccount(db, account, state.tail.slice(), after, limit);
    } catch (cause) {
      throw unavailable('reading transfers failed', cause);
    }
  }

  async record(key: string): Promise<Uint8Array | undefined> {
    const db = this.#openDb();
    checkRecordLookup(key, 'key');
    return readRecord(db, key);
  }

  async *records(prefix: string): AsyncIterable<[key: string, value: Uint8Array]> {
    const db = this.#openDb();
    checkRecordLookup(prefix, 'prefix');
    yield* readRecords(db, prefix);
  }
}
