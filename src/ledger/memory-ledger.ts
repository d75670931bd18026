/**
 * The in-memory ledger: the reference backend for tests and demos. Nothing is durable. Values
 * are copied in and out, so a caller can never change stored state by mutating an object it
 * passed in or got back.
 */
import { FarthingError } from '../errors.js';
import type {
  Balance,
  CommitRequest,
  CommitResult,
  Ledger,
  Page,
  Transfer,
  TransferId,
  TransferQuery,
  AccountId,
} from './types.js';
import {
  checkRecordLookup,
  compareRecordKeys,
  planBatch,
  selectBalances,
  validateCommit,
  validateQuery,
  BalanceTable,
} from './validate.js';

type State = 'new' | 'open' | 'closed';

export class MemoryLedger implements Ledger {
  #state: State = 'new';
  /** Applied transfers in sequence order: #ordered[i].sequence === i + 1. */
  readonly #ordered: Transfer[] = [];
  readonly #byId = new Map<TransferId, Transfer>();
  /** Ascending sequences of the transfers touching each account. */
  readonly #byAccount = new Map<AccountId, number[]>();
  readonly #balances = new BalanceTable();
  readonly #records = new Map<string, Uint8Array>();

  async open(): Promise<void> {
    if (this.#state === 'closed') throw new FarthingError('LEDGER_CLOSED');
    this.#state = 'open';
  }

  async close(): Promise<void> {
    this.#state = 'closed';
  }

  #assertOpen(): void {
    if (this.#state === 'closed') throw new FarthingError('LEDGER_CLOSED');
    if (this.#state === 'new') {
      throw new FarthingError('LEDGER_UNAVAILABLE', 'the ledger is not open: call open() first');
    }
  }

  async commit(request: CommitRequest): Promise<CommitResult> {
    this.#assertOpen();
    const { transfers, records } = validateCommit(request);
    const plan = planBatch(transfers, {
      balance: (account, asset) => this.#balances.get(account, asset)?.balanceBaseUnits,
      existing: (id) => this.#byId.get(id),
    });

    // Nothing below can fail: the plan is applied whole.
    const timestampMs = Date.now();
    for (const input of plan.fresh) {
      const transfer: Transfer = { ...input, sequence: this.#ordered.length + 1, timestampMs };
      this.#ordered.push(transfer);
      this.#byId.set(transfer.id, transfer);
      this.#index(transfer.debitAccount, transfer.sequence);
      this.#index(transfer.creditAccount, transfer.sequence);
    }
    for (const change of plan.balances) this.#balances.set(change);
    for (const { key, value } of records) {
      if (value === null) this.#records.delete(key);
      else this.#records.set(key, value);
    }
    return { applied: plan.fresh.length, alreadyApplied: plan.alreadyApplied };
  }

  #index(account: AccountId, sequence: number): void {
    let sequences = this.#byAccount.get(account);
    if (sequences === undefined) {
      sequences = [];
      this.#byAccount.set(account, sequences);
    }
    sequences.push(sequence);
  }

  async balance(account: AccountId, asset: string): Promise<bigint> {
    this.#assertOpen();
    return this.#balances.get(account, asset)?.balanceBaseUnits ?? 0n;
  }

  async balances(filter?: { accountPrefix?: string; asset?: string }): Promise<Balance[]> {
    this.#assertOpen();
    return selectBalances(this.#balances.values(), filter);
  }

  async transfer(id: TransferId): Promise<Transfer | undefined> {
    this.#assertOpen();
    const transfer = this.#byId.get(id);
    return transfer === undefined ? undefined : { ...transfer };
  }

  async transfers(query: TransferQuery): Promise<Page<Transfer>> {
    this.#assertOpen();
    const { account, after, limit } = validateQuery(query);
    if (account === undefined) {
      const start = Math.min(after, this.#ordered.length);
      const end = Math.min(start + limit, this.#ordered.length);
      const items = this.#ordered.slice(start, end).map((t) => ({ ...t }));
      return { items, next: end < this.#ordered.length ? end : undefined };
    }
    const sequences = this.#byAccount.get(account) ?? [];
    const start = firstAbove(sequences, after);
    const end = Math.min(start + limit, sequences.length);
    const items: Transfer[] = [];
    for (let i = start; i < end; i++) items.push({ ...this.#ordered[sequences[i]! - 1]! });
    return { items, next: end < sequences.length ? items.at(-1)!.sequence : undefined };
  }

  async record(key: string): Promise<Uint8Array | undefined> {
    this.#assertOpen();
    checkRecordLookup(key, 'key');
    return this.#records.get(key)?.slice();
  }

  async *records(prefix: string): AsyncIterable<[key: string, value: Uint8Array]> {
    this.#assertOpen();
    checkRecordLookup(prefix, 'prefix');
    // A snapshot at the start, as a LevelDB iterator sees one.
    const matching: [string, Uint8Array][] = [];
    for (const [key, value] of this.#records) {
      if (key.startsWith(prefix)) matching.push([key, value]);
    }
    matching.sort((a, b) => compareRecordKeys(a[0], b[0]));
    for (const [key, value] of matching) {
      this.#assertOpen();
      yield [key, value.slice()];
    }
  }
}

/** Index of the first element above `value` in an ascending array. */
function firstAbove(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
