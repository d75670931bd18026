/**
 * The LevelDB ledger (`level`, i.e. classic-level on Node): the embedded default.
 *
 * Single writer. Balances and the last sequence live in memory (loaded at open); commits are
 * serialized by a promise queue, planned against memory (validate.ts), written as ONE LevelDB
 * batch (`sync: true` by default) and only then applied to memory. If the write fails, memory
 * is unchanged, the commit fails with LEDGER_UNAVAILABLE, and so does every later commit: the
 * disk may hold the batch or not, and only a reopen (which reloads from disk) can tell.
 * Idempotency needs a read (are these ids applied already?); it runs on LevelDB's threads while
 * the commit is planned and built on the guess that they are not, and the rare retried commit
 * is planned again with what the read found.
 *
 * Layout (keys utf8, values binary, see level-codec.ts):
 *   m/format                      format version (1 byte)
 *   t/<seq:12 hex>                commit block: every transfer of one commit, from sequence
 *                                 <seq> on, with one timestamp and an entry offset table
 *   i/<transfer id>               varint sequence, varint index in its block
 *   a/<account>\0<seq:12 hex>     the account's transfers in one commit: varint first sequence
 *                                 of the block, varint count, varint sequence deltas; <seq> is
 *                                 the last of them, so "after N" is a range start
 *   b/<account>\0<asset>          balance: sign byte, magnitude big-endian
 *   r/<key>                       the caller's records
 *
 * Why blocks and per-commit index entries: LevelDB's cost is per key far more than per byte,
 * and a settlement commit writes two transfers and a record for each of thousands of channels.
 * One key per commit for the transfers and one per account touched (not per transfer side)
 * keeps a settled channel at about five keys (two ids, its index entry, its balance, its
 * record). The last sequence is the last block's first sequence + count - 1, so no meta key
 * is rewritten per commit.
 */
import { Level } from 'level';
import { FarthingError, isFarthingError } from '../errors.js';
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
  TransferInput,
  TransferQuery,
} from './types.js';
import {
  planBatch,
  selectBalances,
  validateCommit,
  validateQuery,
  BalanceTable,
  type BatchPlan,
  type ValidatedCommit,
} from './validate.js';
import {
  decodeBalance,
  encodeBalance,
  encodeBlock,
  openBlock,
  parseSequenceHex,
  sequenceHex,
  MAX_VARINT_BYTES,
  VarintReader,
  writeVarint,
  type BlockView,
} from './level-codec.js';
import { isValidTransferId } from './accounts.js';

export interface LevelLedgerOptions {
  /** The LevelDB directory; created if missing. */
  path: string;
  /** fsync every commit before it resolves (default true). false only for tests and benches. */
  sync?: boolean;
}

type Db = Level<string, Uint8Array>;
type ChainedBatch = ReturnType<Db['batch']>;
type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

const FORMAT_KEY = 'm/format';
const FORMAT_VERSION = 1;
const BLOCK_PREFIX = 't/';
const ID_PREFIX = 'i/';
const ACCOUNT_PREFIX = 'a/';
const BALANCE_PREFIX = 'b/';
const RECORD_PREFIX = 'r/';

function unavailable(message: string, cause: unknown): FarthingError {
  if (isFarthingError(cause)) return cause;
  return new FarthingError('LEDGER_UNAVAILABLE', message, { cause });
}

/** The exclusive upper bound of every key starting with `prefix`, as bytes. */
function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8');
  // UTF-8 never contains 0xff, so incrementing the last byte cannot overflow.
  bytes[bytes.length - 1]! += 1;
  return bytes;
}

/** classic-level hands some values out as Buffers; callers get plain Uint8Arrays. */
function plainView(value: Uint8Array): Uint8Array {
  return Buffer.isBuffer(value)
    ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    : value;
}

export class LevelLedger implements Ledger {
  readonly #path: string;
  readonly #sync: boolean;
  #db: Db | undefined;
  #state: State = 'new';
  #opening: Promise<void> | undefined;
  /** Tail of the commit queue; never rejects. */
  #tail: Promise<unknown> = Promise.resolve();
  /** Set when a batch write failed: the disk state is unknown until a reopen. */
  #writeFailure: unknown;
  #lastSequence = 0;
  readonly #balances = new BalanceTable();

  constructor(options: LevelLedgerOptions) {
    if (typeof options?.path !== 'string' || options.path.length === 0) {
      throw new TypeError('LevelLedger needs { path: string }');
    }
    this.#path = options.path;
    this.#sync = options.sync ?? true;
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
    const db: Db = new Level<string, Uint8Array>(this.#path, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
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
      await db.put(FORMAT_KEY, Uint8Array.of(FORMAT_VERSION), { sync: this.#sync });
    } else if (format.length !== 1 || format[0] !== FORMAT_VERSION) {
      throw new FarthingError('LEDGER_UNAVAILABLE', `unknown ledger format ${format.join(',')}`);
    }

    const last = await db
      .iterator({
        gte: BLOCK_PREFIX,
        lt: prefixEnd(BLOCK_PREFIX).toString('latin1'),
        reverse: true,
        limit: 1,
      })
      .all();
    if (last.length > 0) {
      const [key, value] = last[0]!;
      const first = parseSequenceHex(key.slice(BLOCK_PREFIX.length));
      this.#lastSequence = first + openBlock(value).count - 1;
    }

    const sums = new Map<string, bigint>();
    for await (const [key, value] of db.iterator({
      gte: BALANCE_PREFIX,
      lt: prefixEnd(BALANCE_PREFIX).toString('latin1'),
    })) {
      const pair = key.slice(BALANCE_PREFIX.length);
      const separator = pair.indexOf('\u0000');
      const account = pair.slice(0, separator);
      const asset = pair.slice(separator + 1);
      const balanceBaseUnits = decodeBalance(value);
      this.#balances.set({ account, asset, balanceBaseUnits });
      sums.set(asset, (sums.get(asset) ?? 0n) + balanceBaseUnits);
    }
    for (const [asset, sum] of sums) {
      if (sum !== 0n) {
        throw new FarthingError(
          'INVARIANT_BROKEN',
          `ledger at ${this.#path}: balances of ${asset} sum to ${sum}, not zero`,
        );
      }
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    if (this.#state === 'opening') await this.#opening?.catch(() => undefined);
    this.#state = 'closing';
    await this.#tail;
    const db = this.#db;
    this.#db = undefined;
    this.#state = 'closed';
    if (db !== undefined) {
      try {
        await db.close();
      } catch (cause) {
        throw unavailable('closing the ledger failed', cause);
      }
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
    this.#openDb();
    // Validated and copied now, in the caller's tick: later mutation cannot change the commit.
    const commit = validateCommit(request);
    const run = this.#tail.then(() => this.#commitNow(commit));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Subclasses in fault-injection tests override this to make a write fail. It must write the
   * whole batch or nothing.
   */
  protected async writeBatch(batch: ChainedBatch, options: { sync: boolean }): Promise<void> {
    await batch.write(options);
  }

  async #commitNow({ transfers, records }: ValidatedCommit): Promise<CommitResult> {
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
    const balance = (account: AccountId, asset: string): bigint | undefined =>
      this.#balances.get(account, asset)?.balanceBaseUnits;

    // Looking the ids up is a read on LevelDB's threads. Meanwhile, plan and build the batch on
    // the guess that none was applied before, the common case; if the guess was wrong, both
    // are redone with what the read found. Commits are serialized, so nothing else can write
    // in between.
    const lookup = this.#existing(db, transfers);
    lookup.catch(() => undefined);
    let plan: BatchPlan | undefined;
    let batch: ChainedBatch | undefined;
    let guessError: unknown;
    try {
      plan = planBatch(transfers, { balance, existing: () => undefined });
      batch = this.#build(db, plan, records);
    } catch (error) {
      guessError = error;
    }
    let existing: Map<string, Transfer>;
    try {
      existing = await lookup;
    } catch (error) {
      await batch?.close().catch(() => undefined);
      throw error;
    }
    if (existing.size > 0) {
      await batch?.close().catch(() => undefined);
      plan = planBatch(transfers, { balance, existing: (id) => existing.get(id) });
      batch = this.#build(db, plan, records);
    } else if (guessError !== undefined) {
      throw guessError;
    }
    if (plan === undefined) throw new Error('unreachable: no plan');

    const result = { applied: plan.fresh.length, alreadyApplied: plan.alreadyApplied };
    if (batch === undefined) return result;
    try {
      await this.writeBatch(batch, { sync: this.#sync });
    } catch (cause) {
      this.#writeFailure = cause;
      await batch.close().catch(() => undefined);
      throw unavailable('the ledger write failed', cause);
    }

    // Durable: now memory may follow.
    this.#lastSequence += plan.fresh.length;
    for (const change of plan.balances) this.#balances.set(change);
    return result;
  }

  /** The batch that stores a plan and the records; undefined if there is nothing to write. */
  #build(db: Db, plan: BatchPlan, records: readonly RecordWrite[]): ChainedBatch | undefined {
    if (plan.fresh.length === 0 && records.length === 0) return undefined;
    const batch = db.batch();
    try {
      if (plan.fresh.length > 0) this.#putTransfers(batch, plan.fresh, this.#lastSequence + 1);
      for (const change of plan.balances) {
        batch.put(
          `${BALANCE_PREFIX}${change.account}\u0000${change.asset}`,
          encodeBalance(change.balanceBaseUnits),
        );
      }
      for (const { key, value } of records) {
        if (value === null) batch.del(RECORD_PREFIX + key);
        else batch.put(RECORD_PREFIX + key, value);
      }
    } catch (error) {
      void batch.close().catch(() => undefined);
      throw error;
    }
    return batch;
  }

  /** The already applied transfers among those ids, read in one round trip. */
  async #existing(db: Db, transfers: readonly TransferInput[]): Promise<Map<string, Transfer>> {
    const found = new Map<string, Transfer>();
    if (transfers.length === 0) return found;
    const ids =
      transfers.length === 1 ? [transfers[0]!.id] : [...new Set(transfers.map((t) => t.id))];
    // Keys as slices of one buffer: classic-level converts each string key to bytes on the
    // calling thread, which costs more than the lookups' own share of this thread here.
    const keyBytes = ID_PREFIX.length + 32;
    const keyBuffer = Buffer.allocUnsafe(keyBytes * ids.length);
    const keys: Buffer[] = [];
    for (let i = 0; i < ids.length; i++) {
      const offset = keyBytes * i;
      keyBuffer.write(ID_PREFIX, offset, 'latin1');
      keyBuffer.write(ids[i]!, offset + ID_PREFIX.length, 'latin1');
      keys.push(keyBuffer.subarray(offset, offset + keyBytes));
    }
    let locations: (Uint8Array | undefined)[];
    try {
      // Mostly misses: caching the blocks they touch would only evict useful ones.
      locations = await db.getMany<Buffer, Uint8Array>(keys, {
        keyEncoding: 'buffer',
        fillCache: false,
      });
    } catch (cause) {
      throw unavailable('reading transfer ids failed', cause);
    }
    const hits: [id: string, location: Uint8Array][] = [];
    for (let i = 0; i < ids.length; i++) {
      const location = locations[i];
      if (location !== undefined) hits.push([ids[i]!, location]);
    }
    if (hits.length > 0) {
      const transfersFound = await this.#readLocated(
        db,
        hits.map(([, location]) => location),
      );
      hits.forEach(([id], i) => found.set(id, transfersFound[i]!));
    }
    return found;
  }

  /** Decodes `i/` values (sequence, index in block) into transfers, reading each block once. */
  async #readLocated(db: Db, locations: readonly Uint8Array[]): Promise<Transfer[]> {
    const wanted = locations.map((location) => {
      const reader = new VarintReader(location);
      const sequence = reader.read();
      const index = reader.read();
      return { sequence, index, first: sequence - index };
    });
    const blocks = await this.#blocks(
      db,
      wanted.map((w) => w.first),
    );
    return wanted.map((w) => blocks.get(w.first)!.entry(w.index, w.sequence));
  }

  async #blocks(db: Db, firsts: readonly number[]): Promise<Map<number, BlockView>> {
    const unique = [...new Set(firsts)];
    let values: (Uint8Array | undefined)[];
    try {
      values = await db.getMany(unique.map((first) => BLOCK_PREFIX + sequenceHex(first)));
    } catch (cause) {
      throw unavailable('reading transfers failed', cause);
    }
    const blocks = new Map<number, BlockView>();
    unique.forEach((first, i) => {
      const value = values[i];
      if (value === undefined) {
        throw new FarthingError(
          'LEDGER_UNAVAILABLE',
          `ledger storage is corrupt: no block ${first}`,
        );
      }
      blocks.set(first, openBlock(value));
    });
    return blocks;
  }

  #putTransfers(batch: ChainedBatch, fresh: readonly TransferInput[], first: number): void {
    batch.put(BLOCK_PREFIX + sequenceHex(first), encodeBlock(fresh, Date.now()));
    const byAccount = new Map<AccountId, number[]>();
    const touch = (account: AccountId, sequence: number): void => {
      const sequences = byAccount.get(account);
      if (sequences === undefined) byAccount.set(account, [sequence]);
      else sequences.push(sequence);
    };
    // One allocation for all the id values of the commit; each put gets its own slice of it.
    const values = Buffer.allocUnsafe(MAX_VARINT_BYTES * 2 * fresh.length);
    let offset = 0;
    for (let i = 0; i < fresh.length; i++) {
      const transfer = fresh[i]!;
      const sequence = first + i;
      const start = offset;
      offset = writeVarint(values, offset, sequence);
      offset = writeVarint(values, offset, i);
      batch.put(ID_PREFIX + transfer.id, values.subarray(start, offset));
      touch(transfer.debitAccount, sequence);
      touch(transfer.creditAccount, sequence);
    }
    // Each account's entry is two varints plus one per sequence; 2 sequences per transfer.
    const entries = Buffer.allocUnsafe(MAX_VARINT_BYTES * (2 * byAccount.size + 2 * fresh.length));
    offset = 0;
    for (const [account, sequences] of byAccount) {
      const start = offset;
      offset = writeVarint(entries, offset, first);
      offset = writeVarint(entries, offset, sequences.length);
      let previous = first;
      for (const sequence of sequences) {
        offset = writeVarint(entries, offset, sequence - previous);
        previous = sequence;
      }
      batch.put(
        `${ACCOUNT_PREFIX}${account}\u0000${sequenceHex(previous)}`,
        entries.subarray(start, offset),
      );
    }
  }

  async balance(account: AccountId, asset: string): Promise<bigint> {
    this.#openDb();
    return this.#balances.get(account, asset)?.balanceBaseUnits ?? 0n;
  }

  async balances(filter?: { accountPrefix?: string; asset?: string }): Promise<Balance[]> {
    this.#openDb();
    return selectBalances(this.#balances.values(), filter);
  }

  async transfer(id: TransferId): Promise<Transfer | undefined> {
    const db = this.#openDb();
    if (!isValidTransferId(id)) return undefined;
    let location: Uint8Array | undefined;
    try {
      location = await db.get(ID_PREFIX + id);
    } catch (cause) {
      throw unavailable('reading a transfer failed', cause);
    }
    if (location === undefined) return undefined;
    const [transfer] = await this.#readLocated(db, [location]);
    return transfer;
  }

  async transfers(query: TransferQuery): Promise<Page<Transfer>> {
    const db = this.#openDb();
    const { account, after, limit } = validateQuery(query);
    try {
      return account === undefined
        ? await this.#transfersInOrder(db, after, limit)
        : await this.#transfersOfAccount(db, account, after, limit);
    } catch (cause) {
      throw unavailable('reading transfers failed', cause);
    }
  }

  async #transfersInOrder(db: Db, after: number, limit: number): Promise<Page<Transfer>> {
    const last = this.#lastSequence;
    const end = Math.min(after + limit, last);
    const items: Transfer[] = [];
    if (end <= after) return { items, next: undefined };
    // The block holding `after + 1` starts at or before it.
    const [start] = await db
      .keys({
        gte: BLOCK_PREFIX,
        lte: BLOCK_PREFIX + sequenceHex(after + 1),
        reverse: true,
        limit: 1,
      })
      .all();
    if (start === undefined) throw new FarthingError('LEDGER_UNAVAILABLE', 'no block found');
    for await (const [key, value] of db.iterator({
      gte: start,
      lte: BLOCK_PREFIX + sequenceHex(end),
    })) {
      const first = parseSequenceHex(key.slice(BLOCK_PREFIX.length));
      const block = openBlock(value);
      for (let i = Math.max(0, after + 1 - first); i < block.count && first + i <= end; i++) {
        items.push(block.entry(i, first + i));
      }
    }
    return { items, next: end < last ? end : undefined };
  }

  async #transfersOfAccount(
    db: Db,
    account: AccountId,
    after: number,
    limit: number,
  ): Promise<Page<Transfer>> {
    const prefix = `${ACCOUNT_PREFIX}${account}\u0000`;
    const wanted: { first: number; sequence: number }[] = [];
    // One more than asked for tells whether there is a next page.
    const iterator = db.iterator({
      gt: prefix + sequenceHex(after),
      lt: `${ACCOUNT_PREFIX}${account}\u0001`,
    });
    try {
      for await (const [, value] of iterator) {
        const reader = new VarintReader(value);
        const first = reader.read();
        const count = reader.read();
        let sequence = first;
        for (let i = 0; i < count; i++) {
          sequence += reader.read();
          if (sequence > after) wanted.push({ first, sequence });
        }
        if (wanted.length > limit) break;
      }
    } finally {
      await iterator.close();
    }
    const page = wanted.slice(0, limit);
    const blocks = await this.#blocks(
      db,
      page.map((w) => w.first),
    );
    const items = page.map((w) => blocks.get(w.first)!.entry(w.sequence - w.first, w.sequence));
    return { items, next: wanted.length > limit ? items.at(-1)!.sequence : undefined };
  }

  async record(key: string): Promise<Uint8Array | undefined> {
    const db = this.#openDb();
    if (typeof key !== 'string') throw new TypeError('a record key is a string');
    try {
      const value = await db.get(RECORD_PREFIX + key);
      return value === undefined ? undefined : plainView(value);
    } catch (cause) {
      throw unavailable('reading a record failed', cause);
    }
  }

  async *records(prefix: string): AsyncIterable<[key: string, value: Uint8Array]> {
    const db = this.#openDb();
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    const iterator = db.iterator<Buffer, Uint8Array>({
      gte: Buffer.from(RECORD_PREFIX + prefix, 'utf8'),
      lt: prefixEnd(RECORD_PREFIX + prefix),
      keyEncoding: 'buffer',
    });
    try {
      for (;;) {
        let entries: [Buffer, Uint8Array][];
        try {
          entries = await iterator.nextv(256);
        } catch (cause) {
          throw unavailable('reading records failed', cause);
        }
        if (entries.length === 0) return;
        for (const [key, value] of entries) {
          yield [key.toString('utf8', RECORD_PREFIX.length), plainView(value)];
        }
      }
    } finally {
      await iterator.close().catch(() => undefined);
    }
  }
}
