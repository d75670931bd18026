/**
 * The ledger contract (DESIGN §1). Double-entry: every transfer debits one account and credits
 * another by the same positive amount, so the sum of all balances of an asset is always zero.
 * A balance is credits − debits; only `external/*` accounts may go negative.
 *
 * Every backend (memory, LevelDB, later PostgreSQL) passes test/contract/ledger-contract.ts.
 */

/**
 * Account names by kind:
 *   device/<id>     a device's prepaid balance
 *   channel/<id>    a channel's escrow (id: 32 hex chars)
 *   payee/<id>      a payee's accrued earnings
 *   hub/fees        the hub's fee income
 *   external/<rail> money entering or leaving the system (may go negative)
 * <id> and <rail> use the id alphabet [A-Za-z0-9_-]{1,64}.
 */
export type AccountId = string;

/** A caller-chosen 128-bit transfer id, as 32 lower-case hexadecimal characters. */
export type TransferId = string;

/** What a transfer is for; stored with it and shown in histories. Never renumber. */
export const TransferCode = {
  Deposit: 1,
  Escrow: 2,
  TopUpEscrow: 3,
  SettlePayee: 4,
  SettleFee: 5,
  Refund: 6,
  Payout: 7,
  Withdrawal: 8,
} as const;
export type TransferCodeNumber = (typeof TransferCode)[keyof typeof TransferCode];

export interface TransferInput {
  id: TransferId;
  debitAccount: AccountId;
  creditAccount: AccountId;
  asset: string;
  /** Strictly positive, at most 2^64 − 1. */
  amountBaseUnits: bigint;
  code: TransferCodeNumber;
  /** Free text tying the transfer to its cause, e.g. a channel id (at most 64 characters). */
  reference: string;
}

export interface Transfer extends TransferInput {
  /** Position in the ledger's total order of applied transfers, from 1. */
  sequence: number;
  /** Wall-clock time of the commit that applied it (milliseconds since the epoch). */
  timestampMs: number;
}

/**
 * An opaque key/value write committed atomically with the transfers of the same commit.
 * The hub keeps its durable channel records here, so that an escrow and the channel it
 * funds, or a settlement and the settled mark, are written together or not at all.
 * `value: null` deletes the key.
 */
export interface RecordWrite {
  key: string;
  value: Uint8Array | null;
}

export interface CommitRequest {
  transfers: readonly TransferInput[];
  records?: readonly RecordWrite[];
}

export interface CommitResult {
  /** Transfers newly applied by this commit. */
  applied: number;
  /** Transfers skipped because the same id with the same fields was already applied. */
  alreadyApplied: number;
}

export interface Balance {
  account: AccountId;
  asset: string;
  balanceBaseUnits: bigint;
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` to get the next page; undefined on the last page. */
  next: number | undefined;
}

export interface TransferQuery {
  /** Only transfers debiting or crediting this account. */
  account?: AccountId;
  /** Only transfers with a sequence above this. */
  after?: number;
  /** 1..1000. */
  limit: number;
}

export interface Ledger {
  /** Opens storage and loads what it must; idempotent. */
  open(): Promise<void>;
  /** Flushes and closes; later calls fail with LEDGER_CLOSED. */
  close(): Promise<void>;
  /**
   * Applies the transfers in order and writes the records, atomically and durably: on success
   * everything is on disk; on any failure nothing changed. Failures are FarthingErrors:
   * LEDGER_INVALID_TRANSFER, LEDGER_ID_CONFLICT, LEDGER_INSUFFICIENT_BALANCE,
   * LEDGER_UNAVAILABLE, LEDGER_CLOSED. Commits are serialized in call order.
   */
  commit(request: CommitRequest): Promise<CommitResult>;
  balance(account: AccountId, asset: string): Promise<bigint>;
  /** Every account/asset pair that any transfer has touched, optionally filtered by prefix. */
  balances(filter?: { accountPrefix?: string; asset?: string }): Promise<Balance[]>;
  transfer(id: TransferId): Promise<Transfer | undefined>;
  transfers(query: TransferQuery): Promise<Page<Transfer>>;
  record(key: string): Promise<Uint8Array | undefined>;
  /** Records whose key starts with `prefix`, in key order. */
  records(prefix: string): AsyncIterable<[key: string, value: Uint8Array]>;
}
