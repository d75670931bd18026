/**
 * The LevelDB ledger's accounts in memory: every account's balance per asset and the tail of its
 * history (the sequences not yet in a history entry on disk), loaded at open and changed only
 * after a commit is durable. Planning works on scratch fields (`pending`, `epoch`, `slot`) so
 * that a refused commit leaves nothing to undo.
 *
 * An account's entry on disk is a checkpoint, written when the account has been dirty (changed
 * since its entry) for a bounded number of transfers, not at every commit: the blocks hold every
 * change, and open replays the blocks after the oldest unwritten change.
 */
import { isExternal } from './accounts.js';
import { isCompactName } from './level-codec.js';
import type { AccountId, Balance } from './types.js';

/** A balance in an asset other than the account's first (rare: only external accounts). */
export interface ExtraAsset {
  readonly asset: string;
  balance: bigint;
  pending: bigint;
  /** False until a commit touching the pair is durable. */
  present: boolean;
  /** The commit epoch that last touched the pair while planning. */
  epoch: number;
}

export class AccountState {
  readonly name: AccountId;
  /** external/*: may go negative. */
  readonly external: boolean;
  /** Where the id part of the name starts (after the kind and '/'). */
  readonly idStart: number;
  /** A channel: blocks store its name as 16 bytes. */
  readonly compactName: boolean;
  /** The first asset the account held, with its balance. */
  readonly asset: string;
  balance: bigint;
  extra: ExtraAsset[] | undefined;
  /** Sequences of its transfers since its last history entry, ascending (≤ MAX_TAIL). */
  readonly tail: number[];
  /** The last sequence its entry on disk reflects (0: no entry). */
  asOf: number;
  /** The first sequence that changed it since its entry was written (0: clean). */
  dirtySince = 0;

  // Planning scratch, meaningful while `epoch` is the epoch of the commit being planned.
  epoch = 0;
  /** Index in the commit's list of touched accounts. */
  slot = 0;
  /** Balance in `asset` after the transfers planned so far. */
  pending: bigint;
  /** Offset of the name in the block's dictionary. */
  dictOffset = 0;

  constructor(name: AccountId, asset: string, balance = 0n, tail: number[] = [], asOf = 0) {
    this.name = name;
    this.asOf = asOf;
    this.external = isExternal(name);
    this.idStart = name.indexOf('/') + 1;
    this.compactName = isCompactName(name);
    this.asset = asset;
    this.balance = balance;
    this.pending = balance;
    this.extra = undefined;
    this.tail = tail;
  }

  /** The extra asset entry for `asset`, created (not present) if missing. */
  extraFor(asset: string): ExtraAsset {
    this.extra ??= [];
    for (const entry of this.extra) if (entry.asset === asset) return entry;
    const entry: ExtraAsset = { asset, balance: 0n, pending: 0n, present: false, epoch: 0 };
    this.extra.push(entry);
    return entry;
  }

  balanceOf(asset: string): bigint | undefined {
    if (asset === this.asset) return this.balance;
    if (this.extra !== undefined) {
      for (const entry of this.extra) {
        if (entry.asset === asset && entry.present) return entry.balance;
      }
    }
    return undefined;
  }

  *balances(): IterableIterator<Balance> {
    yield { account: this.name, asset: this.asset, balanceBaseUnits: this.balance };
    if (this.extra !== undefined) {
      for (const entry of this.extra) {
        if (entry.present) {
          yield { account: this.name, asset: entry.asset, balanceBaseUnits: entry.balance };
        }
      }
    }
  }
}

/**
 * Dirty accounts in the order they became dirty, so that the longest-dirty come out first. An
 * account cleaned and dirtied again is queued again; its older place is skipped when reached.
 */
export class DirtyAccounts {
  #states: AccountState[] = [];
  #since: number[] = [];
  #head = 0;

  /** Records that `state` became dirty at `since` (its dirtySince). */
  push(state: AccountState, since: number): void {
    this.#states.push(state);
    this.#since.push(since);
  }

  #skipStale(): void {
    while (
      this.#head < this.#states.length &&
      this.#states[this.#head]!.dirtySince !== this.#since[this.#head]
    ) {
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#states.length) {
      this.#states = this.#states.slice(this.#head);
      this.#since = this.#since.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The oldest dirtySince of a dirty account, or undefined if none is dirty. */
  oldest(): number | undefined {
    this.#skipStale();
    return this.#since[this.#head];
  }

  /** Takes out the accounts dirty since `since` or earlier, oldest first. */
  takeDirtySince(since: number): AccountState[] {
    const taken: AccountState[] = [];
    for (;;) {
      this.#skipStale();
      if (this.#head >= this.#states.length || this.#since[this.#head]! > since) return taken;
      taken.push(this.#states[this.#head]!);
      this.#head++;
    }
  }

  /** Takes out every dirty account. */
  takeAll(): AccountState[] {
    return this.takeDirtySince(Number.MAX_SAFE_INTEGER);
  }
}
