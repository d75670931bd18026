/**
 * What every ledger backend shares: input validation and the pure planner that applies a batch
 * of transfers to balances. A backend only supplies lookups (current balance, already applied
 * transfer) and stores the plan, so memory, LevelDB and PostgreSQL cannot disagree on what a
 * commit means.
 */
import { FarthingError } from '../errors.js';
import { isExternal, isValidAccount, isValidTransferId } from './accounts.js';
import {
  TransferCode,
  type AccountId,
  type Balance,
  type CommitRequest,
  type RecordWrite,
  type TransferInput,
  type TransferQuery,
} from './types.js';

export const MAX_AMOUNT_BASE_UNITS = (1n << 64n) - 1n;
export const MAX_REFERENCE_LENGTH = 64;
/** A commit is one atomic storage write; the hub splits bigger settlements into several. */
export const MAX_TRANSFERS_PER_COMMIT = 100_000;
export const MAX_RECORDS_PER_COMMIT = 100_000;
export const MAX_RECORD_KEY_LENGTH = 512;
export const MAX_RECORD_VALUE_BYTES = 1 << 20;
export const MAX_PAGE_LIMIT = 1000;

const ASSET_PATTERN = /^[A-Z0-9]{1,12}$/;
const CODES = Object.values(TransferCode) as number[];
/** Transfer codes are 1..MAX_TRANSFER_CODE without gaps (checked below), so a range test does. */
export const MAX_TRANSFER_CODE = Math.max(...CODES);
if (CODES.length !== MAX_TRANSFER_CODE || Math.min(...CODES) !== 1) {
  throw new Error('TransferCode values must be 1..n without gaps');
}
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
type MaybeWellFormed = string & { isWellFormed?: () => boolean };

/** No lone surrogates: the text has a UTF-8 encoding that decodes back to it. */
export const isWellFormed: (text: string) => boolean =
  typeof ('' as MaybeWellFormed).isWellFormed === 'function'
    ? (text) => (text as MaybeWellFormed).isWellFormed!()
    : (text) => !LONE_SURROGATE.test(text);

/** A transfer code this version knows. */
export function isKnownCode(code: unknown): code is number {
  return (
    typeof code === 'number' && code >= 1 && code <= MAX_TRANSFER_CODE && Number.isInteger(code)
  );
}

export function isValidAsset(asset: unknown): asset is string {
  return typeof asset === 'string' && ASSET_PATTERN.test(asset);
}

function invalid(index: number, message: string): FarthingError {
  return new FarthingError('LEDGER_INVALID_TRANSFER', `transfers[${index}]: ${message}`);
}

/** Checks one transfer and returns a copy holding only the contract's fields. */
export function validateTransfer(input: TransferInput, index = 0): TransferInput {
  if (typeof input !== 'object' || input === null) throw invalid(index, 'not an object');
  const { id, debitAccount, creditAccount, asset, amountBaseUnits, code, reference } = input;
  if (!isValidTransferId(id)) throw invalid(index, 'id must be 32 lower-case hex characters');
  if (!isValidAccount(debitAccount)) {
    throw invalid(index, `invalid debit account ${JSON.stringify(debitAccount)}`);
  }
  if (!isValidAccount(creditAccount)) {
    throw invalid(index, `invalid credit account ${JSON.stringify(creditAccount)}`);
  }
  if (debitAccount === creditAccount) {
    throw invalid(index, `debit and credit are the same account ${debitAccount}`);
  }
  if (!isValidAsset(asset)) throw invalid(index, 'asset must match [A-Z0-9]{1,12}');
  if (typeof amountBaseUnits !== 'bigint') throw invalid(index, 'amount must be a bigint');
  if (amountBaseUnits <= 0n) throw invalid(index, 'amount must be positive');
  if (amountBaseUnits > MAX_AMOUNT_BASE_UNITS) throw invalid(index, 'amount exceeds 2^64 - 1');
  if (!isKnownCode(code)) throw invalid(index, `unknown transfer code ${String(code)}`);
  if (typeof reference !== 'string') throw invalid(index, 'reference must be a string');
  if (reference.length > MAX_REFERENCE_LENGTH) {
    throw invalid(index, `reference longer than ${MAX_REFERENCE_LENGTH} characters`);
  }
  if (!isWellFormed(reference)) throw invalid(index, 'reference is not well-formed text');
  return { id, debitAccount, creditAccount, asset, amountBaseUnits, code, reference };
}

/**
 * Checks one record write and returns its fields, read once, without copying the value.
 * Record keys and values are the caller's own bookkeeping: a bad one is API misuse.
 */
export function checkRecord(record: RecordWrite, index: number): RecordWrite {
  if (typeof record !== 'object' || record === null) {
    throw new TypeError(`records[${index}] is not an object`);
  }
  const { key, value } = record;
  checkRecordFields(key, value, index);
  return { key, value };
}

/**
 * A key or prefix to look records up by: a string of whole characters. A lone UTF-16 half has
 * no UTF-8 form, so LevelDB would look up U+FFFD in its place where memory looks up the half.
 */
export function checkRecordLookup(text: unknown, what: 'key' | 'prefix'): asserts text is string {
  if (typeof text !== 'string') throw new TypeError(`a record ${what} is a string`);
  if (!isWellFormed(text)) throw new TypeError(`a record ${what} is not well-formed`);
}

/** What checkRecord checks, on fields already read (no allocation). */
export function checkRecordFields(
  key: unknown,
  value: unknown,
  index: number,
): asserts value is Uint8Array | null {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_RECORD_KEY_LENGTH) {
    throw new TypeError(`records[${index}].key must be 1..${MAX_RECORD_KEY_LENGTH} characters`);
  }
  if (!isWellFormed(key)) throw new TypeError(`records[${index}].key is not well-formed`);
  if (value === null) return;
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`records[${index}].value must be a Uint8Array or null`);
  }
  if (value.byteLength > MAX_RECORD_VALUE_BYTES) {
    throw new RangeError(`records[${index}].value is larger than ${MAX_RECORD_VALUE_BYTES} bytes`);
  }
}

function validateRecord(record: RecordWrite, index: number): RecordWrite {
  const { key, value } = checkRecord(record, index);
  // A private copy: the caller may reuse its buffer as soon as commit() returns.
  return { key, value: value === null ? null : value.slice() };
}

export interface ValidatedCommit {
  transfers: TransferInput[];
  records: RecordWrite[];
}

/**
 * Validates a whole commit request and copies it, so that a caller mutating its objects after
 * calling commit() cannot change what is written.
 */
export function validateCommit(request: CommitRequest): ValidatedCommit {
  const { transfers, records } = checkCommitShape(request);
  return {
    transfers: transfers.map((t, i) => validateTransfer(t, i)),
    records: records.map((r, i) => validateRecord(r, i)),
  };
}

/** The request's arrays, checked for type and bounds (not their items). */
export function checkCommitShape(request: CommitRequest): {
  transfers: readonly TransferInput[];
  records: readonly RecordWrite[];
} {
  if (typeof request !== 'object' || request === null || !Array.isArray(request.transfers)) {
    throw new TypeError('commit() takes { transfers: TransferInput[], records?: RecordWrite[] }');
  }
  const records = request.records ?? [];
  if (!Array.isArray(records)) throw new TypeError('records must be an array');
  if (request.transfers.length > MAX_TRANSFERS_PER_COMMIT) {
    throw new RangeError(`at most ${MAX_TRANSFERS_PER_COMMIT} transfers per commit`);
  }
  if (records.length > MAX_RECORDS_PER_COMMIT) {
    throw new RangeError(`at most ${MAX_RECORDS_PER_COMMIT} records per commit`);
  }
  return { transfers: request.transfers, records };
}

export function validateQuery(query: TransferQuery): {
  account?: AccountId;
  after: number;
  limit: number;
} {
  if (typeof query !== 'object' || query === null) throw new TypeError('query must be an object');
  const { account, after = 0, limit } = query;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new RangeError(`limit must be an integer in 1..${MAX_PAGE_LIMIT}`);
  }
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new RangeError('after must be a non-negative integer');
  }
  if (account !== undefined && !isValidAccount(account)) {
    throw new TypeError(`invalid account ${JSON.stringify(account)}`);
  }
  return account === undefined ? { after, limit } : { account, after, limit };
}

/** The first field in which two transfers differ, or undefined if they are the same. */
export function differingField(a: TransferInput, b: TransferInput): string | undefined {
  if (a.id !== b.id) return 'id';
  if (a.debitAccount !== b.debitAccount) return 'debitAccount';
  if (a.creditAccount !== b.creditAccount) return 'creditAccount';
  if (a.asset !== b.asset) return 'asset';
  if (a.amountBaseUnits !== b.amountBaseUnits) return 'amountBaseUnits';
  if (a.code !== b.code) return 'code';
  if (a.reference !== b.reference) return 'reference';
  return undefined;
}

export interface BalanceChange {
  account: AccountId;
  asset: string;
  /** The balance after the whole batch. */
  balanceBaseUnits: bigint;
}

/**
 * Balances by account, then asset. Nested maps rather than one map keyed by a concatenation:
 * a settlement looks thousands of pairs up per commit, and the account strings it passes in
 * hash once, where a fresh concatenated key would be built and hashed on every lookup.
 */
export class BalanceTable {
  readonly #byAccount = new Map<AccountId, Map<string, BalanceChange>>();

  get(account: AccountId, asset: string): BalanceChange | undefined {
    return this.#byAccount.get(account)?.get(asset);
  }

  /** Stores the entry itself: the caller hands it over and must not change it afterwards. */
  set(entry: BalanceChange): void {
    let assets = this.#byAccount.get(entry.account);
    if (assets === undefined) {
      assets = new Map();
      this.#byAccount.set(entry.account, assets);
    }
    assets.set(entry.asset, entry);
  }

  *values(): IterableIterator<BalanceChange> {
    for (const assets of this.#byAccount.values()) yield* assets.values();
  }
}

export interface BatchPlan {
  /** Transfers this batch applies, in order; index i gets sequence lastSequence + 1 + i. */
  fresh: TransferInput[];
  /** Transfers skipped as already applied (earlier, or earlier in this same batch). */
  alreadyApplied: number;
  /** The new balance of every account/asset pair a fresh transfer touches (new objects). */
  balances: BalanceChange[];
}

export interface PlanLookups {
  /** Current balance of a pair, undefined if no transfer ever touched it. */
  balance(account: AccountId, asset: string): bigint | undefined;
  /** The applied transfer with this id, if any. */
  existing(id: string): TransferInput | undefined;
}

/**
 * Applies validated transfers, in order, to the current balances, without side effects.
 * Refuses the whole batch on an id reused with other fields (LEDGER_ID_CONFLICT) or if a
 * non-external account would go negative at any point (LEDGER_INSUFFICIENT_BALANCE).
 */
export function planBatch(transfers: readonly TransferInput[], lookups: PlanLookups): BatchPlan {
  const fresh: TransferInput[] = [];
  const freshById = new Map<string, TransferInput>();
  const touched = new BalanceTable();
  const balances: BalanceChange[] = [];
  let alreadyApplied = 0;

  const current = (account: AccountId, asset: string): BalanceChange => {
    let change = touched.get(account, asset);
    if (change === undefined) {
      const balanceBaseUnits = lookups.balance(account, asset) ?? 0n;
      change = { account, asset, balanceBaseUnits };
      touched.set(change);
      balances.push(change);
    }
    return change;
  };

  for (let i = 0; i < transfers.length; i++) {
    const transfer = transfers[i]!;
    const earlier = freshById.get(transfer.id) ?? lookups.existing(transfer.id);
    if (earlier !== undefined) {
      const field = differingField(earlier, transfer);
      if (field !== undefined) {
        throw new FarthingError(
          'LEDGER_ID_CONFLICT',
          `transfers[${i}]: id ${transfer.id} was already used with a different ${field}`,
        );
      }
      alreadyApplied++;
      continue;
    }
    const debit = current(transfer.debitAccount, transfer.asset);
    const credit = current(transfer.creditAccount, transfer.asset);
    const debited = debit.balanceBaseUnits - transfer.amountBaseUnits;
    if (debited < 0n && !isExternal(transfer.debitAccount)) {
      throw new FarthingError(
        'LEDGER_INSUFFICIENT_BALANCE',
        `transfers[${i}] (${transfer.id}): ${transfer.debitAccount} holds ` +
          `${debit.balanceBaseUnits} ${transfer.asset}, cannot debit ${transfer.amountBaseUnits}`,
      );
    }
    debit.balanceBaseUnits = debited;
    credit.balanceBaseUnits += transfer.amountBaseUnits;
    fresh.push(transfer);
    freshById.set(transfer.id, transfer);
  }
  return { fresh, alreadyApplied, balances };
}

/** Every tracked pair matching the filter, sorted by account then asset (both backends). */
export function selectBalances(
  pairs: Iterable<{ account: AccountId; asset: string; balanceBaseUnits: bigint }>,
  filter: { accountPrefix?: string; asset?: string } = {},
): Balance[] {
  const { accountPrefix, asset } = filter;
  const out: Balance[] = [];
  for (const pair of pairs) {
    if (accountPrefix !== undefined && !pair.account.startsWith(accountPrefix)) continue;
    if (asset !== undefined && pair.asset !== asset) continue;
    out.push({ account: pair.account, asset: pair.asset, balanceBaseUnits: pair.balanceBaseUnits });
  }
  return out.sort((a, b) =>
    a.account < b.account
      ? -1
      : a.account > b.account
        ? 1
        : a.asset < b.asset
          ? -1
          : a.asset > b.asset
            ? 1
            : 0,
  );
}

/** Orders record keys as LevelDB does: by their UTF-8 bytes. */
export function compareRecordKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
