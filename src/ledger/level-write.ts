/**
 * The LevelDB ledger's write path, apart from I/O: a commit request staged into columns at call
 * time, planned against the accounts in memory, and turned into the commit's block (its index
 * entries are in level-index.ts). The same planner replays blocks whose index entries a crash
 * lost (level-ledger.ts).
 *
 * Everything here runs once per transfer on the single writer's thread, so it avoids per-item
 * allocations, regexes and BigInt↔string conversions: ids are parsed into one buffer, accounts
 * already known are trusted without a regex, and keys and values are slices of a few large
 * buffers.
 */
import { FarthingError } from '../errors.js';
import { AccountState, type ExtraAsset } from './level-accounts.js';
import {
  REFERENCE_IS_DEBIT_ID,
  blockIds,
  blockKey,
  blockLayout,
  dictionaryEntryBytes,
  openBlock,
  parseId,
  referenceIsDebitId,
  writeBlockHeader,
  writeDictionaryEntry,
} from './level-codec.js';
import type {
  AccountId,
  CommitRequest,
  RecordWrite,
  Transfer,
  TransferCodeNumber,
  TransferInput,
} from './types.js';
import {
  MAX_AMOUNT_BASE_UNITS,
  MAX_REFERENCE_LENGTH,
  checkCommitShape,
  differingField,
  isKnownCode,
  isValidAsset,
  isWellFormed,
  validateTransfer,
} from './validate.js';

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Memory reused from commit to commit for encoding and planning. LevelDB copies a key and a
 * value when they are put into a batch, so one buffer serves every commit; fresh multi-megabyte
 * buffers per commit cost page faults and garbage collection. Each slot grows to the largest
 * commit seen (bounded by MAX_TRANSFERS_PER_COMMIT) and keeps its own ArrayBuffer, so views
 * start at offset 0 and typed-array columns stay aligned.
 */
export class Scratch {
  readonly #slots: ArrayBuffer[] = [];

  #buffer(slot: number, bytes: number): ArrayBuffer {
    let buffer = this.#slots[slot];
    if (buffer === undefined || buffer.byteLength < bytes) {
      buffer = new ArrayBuffer(Math.max(bytes, 2 * (buffer?.byteLength ?? 0), 256));
      this.#slots[slot] = buffer;
    }
    return buffer;
  }

  /** A buffer of exactly `bytes` bytes (contents undefined). */
  bytes(slot: number, bytes: number): Buffer {
    return Buffer.from(this.#buffer(slot, bytes), 0, bytes);
  }

  /** `length` zeroed u32s. */
  u32(slot: number, length: number): Uint32Array {
    return new Uint32Array(this.#buffer(slot, 4 * length), 0, length).fill(0);
  }

  /** `length` zeroed bytes. */
  u8(slot: number, length: number): Uint8Array {
    return new Uint8Array(this.#buffer(slot, length), 0, length).fill(0);
  }
}

/** Scratch slots; a slot's contents live until the same slot is asked for again. */
export const Slot = {
  Block: 0,
  EntryAsset: 1,
  Codes: 2,
  TouchSlots: 3,
  TouchStarts: 4,
  TouchOrder: 5,
  Spilled: 6,
  IdStarts: 7,
  IdOrder: 8,
  Pointers: 9,
  Accounts: 10,
  RecordKeys: 11,
  PointerEnds: 12,
  History: 13,
} as const;

/** Where keys and values go: a LevelDB chained batch. */
export interface PutTarget {
  put(key: Buffer, value: Buffer): unknown;
}

/** A commit's transfers, validated and copied into columns. */
export interface Staged {
  count: number;
  /** 16 bytes per transfer. */
  ids: Buffer;
  amounts: bigint[];
  codes: Uint8Array;
  /** The account state when it was known at staging, else the (validated) name. */
  debits: (AccountState | string)[];
  credits: (AccountState | string)[];
  assets: string[];
  references: string[];
}

/**
 * Validates the transfers of a request and copies them into columns, in the caller's tick:
 * later mutation of the request cannot change the commit. Throws what validateTransfer throws.
 */
export class Stager {
  /** The last asset that passed validation: most commits use one asset throughout. */
  #lastAsset: string | undefined;

  constructor(private readonly accounts: ReadonlyMap<AccountId, AccountState>) {}

  stage(request: CommitRequest): { staged: Staged; records: readonly RecordWrite[] } {
    const { transfers, records } = checkCommitShape(request);
    const count = transfers.length;
    const staged: Staged = {
      count,
      ids: Buffer.allocUnsafeSlow(16 * count),
      amounts: new Array<bigint>(count),
      codes: new Uint8Array(count),
      debits: new Array<AccountState | string>(count),
      credits: new Array<AccountState | string>(count),
      assets: new Array<string>(count),
      references: new Array<string>(count),
    };
    const accounts = this.accounts;
    // Consecutive transfers often share a debit account (a close's legs, a payout's): a
    // string comparison is cheaper than hashing a fresh string for the lookup.
    let lastDebitName: unknown;
    let lastDebit: AccountState | undefined;
    // Names of accounts this commit creates, once validated: a settlement batch crediting a
    // payee's new account ten thousand times checks the name once, not ten thousand times.
    let created: Set<unknown> | undefined;
    for (let i = 0; i < count; i++) {
      const input = transfers[i]!;
      if (typeof input !== 'object' || input === null) validateTransfer(input, i);
      // Each field read once: a getter cannot show validation one value and storage another.
      const { id, debitAccount, creditAccount, asset, amountBaseUnits, code, reference } = input;
      // Known accounts were valid when first seen, so only new ones need the full check.
      let debit: AccountState | undefined;
      if (debitAccount === lastDebitName) {
        debit = lastDebit;
      } else {
        debit = accounts.get(debitAccount);
        lastDebitName = debitAccount;
        lastDebit = debit;
      }
      const credit = accounts.get(creditAccount);
      if (
        !parseId(id, staged.ids, 16 * i) ||
        (debit === undefined && created?.has(debitAccount) !== true) ||
        (credit === undefined && created?.has(creditAccount) !== true) ||
        (debit === undefined || credit === undefined
          ? debitAccount === creditAccount
          : debit === credit) ||
        (asset !== this.#lastAsset && !isValidAsset(asset)) ||
        typeof amountBaseUnits !== 'bigint' ||
        amountBaseUnits <= 0n ||
        amountBaseUnits > MAX_AMOUNT_BASE_UNITS ||
        !isKnownCode(code) ||
        typeof reference !== 'string' ||
        reference.length > MAX_REFERENCE_LENGTH ||
        !isWellFormed(reference)
      ) {
        // Throws the exact LEDGER_INVALID_TRANSFER, or passes a transfer with a new account.
        validateTransfer(
          { id, debitAccount, creditAccount, asset, amountBaseUnits, code, reference },
          i,
        );
        parseId(id, staged.ids, 16 * i);
        if (debit === undefined) (created ??= new Set()).add(debitAccount);
        if (credit === undefined) (created ??= new Set()).add(creditAccount);
      }
      this.#lastAsset = asset;
      staged.debits[i] = debit ?? debitAccount;
      staged.credits[i] = credit ?? creditAccount;
      staged.assets[i] = asset;
      staged.amounts[i] = amountBaseUnits;
      staged.codes[i] = code;
      staged.references[i] = reference;
    }
    return { staged, records };
  }
}

/** A stored block as staged transfers, to replay it. */
export function stagedFromBlock(bytes: Buffer): Staged {
  const block = openBlock(bytes);
  const { count } = block;
  const staged: Staged = {
    count,
    ids: blockIds(bytes).ids,
    amounts: new Array<bigint>(count),
    codes: new Uint8Array(count),
    debits: new Array<string>(count),
    credits: new Array<string>(count),
    assets: new Array<string>(count),
    references: new Array<string>(count),
  };
  for (let i = 0; i < count; i++) {
    const t = block.entry(i, 0);
    staged.amounts[i] = t.amountBaseUnits;
    staged.codes[i] = t.code;
    staged.debits[i] = t.debitAccount;
    staged.credits[i] = t.creditAccount;
    staged.assets[i] = t.asset;
    staged.references[i] = t.reference;
  }
  return staged;
}

/** The staged transfer `i` as a plain input, with its id. */
export function stagedInput(staged: Staged, i: number, id: string): TransferInput {
  const name = (account: AccountState | string): string =>
    typeof account === 'string' ? account : account.name;
  return {
    id,
    debitAccount: name(staged.debits[i]!),
    creditAccount: name(staged.credits[i]!),
    asset: staged.assets[i]!,
    amountBaseUnits: staged.amounts[i]!,
    code: staged.codes[i]! as TransferCodeNumber,
    reference: staged.references[i]!,
  };
}

/** Ids a commit may have applied before (the filter said "maybe"), resolved on disk. */
export interface Suspects {
  /** Staged index → id (hex), for every transfer whose id is one of the suspects. */
  tracked: Map<number, string>;
  onDisk: Map<string, Transfer>;
}

/** What planning decided, for the block, the index entries and memory. */
export interface Plan {
  epoch: number;
  /** Transfers to apply; block entry e is staged transfer freshIndex[e] (or e). */
  fresh: number;
  freshIndex: Uint32Array | undefined;
  debitStates: AccountState[];
  creditStates: AccountState[];
  /** Accounts touched by fresh transfers, in first-touch order (their `slot`). */
  touched: AccountState[];
  /** Extra-asset pairs touched (rare). */
  extras: ExtraAsset[];
  /** Accounts created by this commit, added to the table once it is durable. */
  created: Map<string, AccountState> | undefined;
  /** Block entries by touched account: slot s has order[starts[s]..starts[s+1]), ascending. */
  order: Uint32Array;
  starts: Uint32Array;
  /** 1 where the account's tail moves to a history entry. */
  spilled: Uint8Array;
  firstSequence: number;
  /** The ids of the fresh transfers, 16 bytes each in block order (set with the block). */
  ids: Buffer | undefined;
}

/**
 * Plans commits against the accounts in memory, and applies a plan once it is durable. Between
 * the two, memory holds only scratch fields (`pending`, `epoch`, `slot`), which the next plan
 * resets: a refused commit leaves nothing to undo.
 */
export class Planner {
  #epoch = 0;
  /** Debit and credit account of each fresh transfer of the current plan (reused). */
  readonly #debitStates: AccountState[] = [];
  readonly #creditStates: AccountState[] = [];

  constructor(
    private readonly accounts: Map<AccountId, AccountState>,
    private readonly scratch: Scratch,
  ) {}

  /**
   * Applies the staged transfers, in order, to pending balances. Refuses the whole commit on an
   * id reused with other fields (LEDGER_ID_CONFLICT) or an overdraft of a non-external account
   * at any point (LEDGER_INSUFFICIENT_BALANCE).
   */
  plan(
    staged: Staged,
    suspects: Suspects | undefined,
    firstSequence: number,
    replay = false,
  ): Plan {
    const epoch = ++this.#epoch;
    const count = staged.count;
    const touched: AccountState[] = [];
    const extras: ExtraAsset[] = [];
    let created: Map<string, AccountState> | undefined;
    const debitStates = this.#debitStates;
    const creditStates = this.#creditStates;
    let freshIndex: Uint32Array | undefined;
    let fresh = 0;
    const inBatch = suspects === undefined ? undefined : new Map<string, TransferInput>();
    // Two touches per fresh transfer: the account's slot, debit then credit.
    const touchSlots = this.scratch.u32(Slot.TouchSlots, 2 * count);
    const accounts = this.accounts;

    const resolve = (account: AccountState | string, asset: string): AccountState => {
      let state = typeof account === 'string' ? accounts.get(account) : account;
      if (state === undefined) {
        created ??= new Map();
        state = created.get(account as string);
        if (state === undefined) {
          state = new AccountState(account as string, asset);
          created.set(state.name, state);
        }
      }
      return state;
    };
    /** Replaying a block: an account whose entry is newer than the block already holds it. */
    const frozen = (state: AccountState): boolean => replay && state.asOf >= firstSequence;
    const touch = (state: AccountState): void => {
      if (state.epoch !== epoch) {
        state.epoch = epoch;
        state.slot = touched.length;
        touched.push(state);
        state.pending = state.balance;
        if (state.extra !== undefined) for (const e of state.extra) e.pending = e.balance;
      }
    };
    const extraPair = (state: AccountState, asset: string): ExtraAsset => {
      const pair = state.extraFor(asset);
      if (pair.epoch !== epoch) {
        pair.epoch = epoch;
        extras.push(pair);
      }
      return pair;
    };

    for (let i = 0; i < count; i++) {
      if (suspects !== undefined) {
        const id = suspects.tracked.get(i);
        if (id !== undefined) {
          const input = stagedInput(staged, i, id);
          const earlier = inBatch!.get(id) ?? suspects.onDisk.get(id);
          if (earlier !== undefined) {
            const field = differingField(earlier, input);
            if (field !== undefined) {
              throw new FarthingError(
                'LEDGER_ID_CONFLICT',
                `transfers[${i}]: id ${id} was already used with a different ${field}`,
              );
            }
            freshIndex ??= Uint32Array.from({ length: Math.max(16, 2 * fresh) }, (_, e) => e);
            continue;
          }
          inBatch!.set(id, input);
        }
      }
      const amount = staged.amounts[i]!;
      const asset = staged.assets[i]!;
      const debit = resolve(staged.debits[i]!, asset);
      const credit = resolve(staged.credits[i]!, asset);
      if (frozen(debit)) {
        touchSlots[2 * fresh] = UNTOUCHED;
      } else {
        touch(debit);
        touchSlots[2 * fresh] = debit.slot;
        if (debit.asset === asset) {
          const debited = debit.pending - amount;
          if (debited < 0n && !debit.external) overdraft(staged, i, debit, debit.pending);
          debit.pending = debited;
        } else {
          const pair = extraPair(debit, asset);
          const debited = pair.pending - amount;
          if (debited < 0n && !debit.external) overdraft(staged, i, debit, pair.pending);
          pair.pending = debited;
        }
      }
      if (frozen(credit)) {
        touchSlots[2 * fresh + 1] = UNTOUCHED;
      } else {
        touch(credit);
        touchSlots[2 * fresh + 1] = credit.slot;
        if (credit.asset === asset) credit.pending += amount;
        else extraPair(credit, asset).pending += amount;
      }
      if (freshIndex !== undefined) freshIndex = setIndex(freshIndex, fresh, i);
      debitStates[fresh] = debit;
      creditStates[fresh] = credit;
      fresh++;
    }

    // Group the touches by account (a counting sort): each account's entries stay ascending.
    const slots = touched.length;
    const starts = this.scratch.u32(Slot.TouchStarts, 2 * slots + 1);
    let touches = 0;
    for (let t = 0; t < 2 * fresh; t++) {
      const slot = touchSlots[t]!;
      if (slot !== UNTOUCHED) {
        starts[slot + 1]!++;
        touches++;
      }
    }
    for (let s = 0; s < slots; s++) starts[s + 1]! += starts[s]!;
    // Placement cursors after the starts, in the same slot.
    const next = starts.subarray(slots + 1);
    next.set(starts.subarray(0, slots));
    const order = this.scratch.u32(Slot.TouchOrder, touches);
    for (let t = 0; t < 2 * fresh; t++) {
      const slot = touchSlots[t]!;
      if (slot !== UNTOUCHED) order[next[slot]!++] = t >>> 1;
    }

    return {
      epoch,
      fresh,
      freshIndex: freshIndex?.subarray(0, fresh),
      debitStates,
      creditStates,
      touched,
      extras,
      created,
      order,
      starts: starts.subarray(0, slots + 1),
      spilled: this.scratch.u8(Slot.Spilled, slots),
      firstSequence,
      ids: undefined,
    };
  }

  /** The plan's commit is durable: memory follows it. */
  apply(plan: Plan): void {
    const { touched, order, starts, spilled, firstSequence, epoch } = plan;
    for (let s = 0; s < touched.length; s++) {
      const state = touched[s]!;
      state.balance = state.pending;
      if (state.extra !== undefined) {
        for (const e of state.extra) {
          e.balance = e.pending;
          if (e.epoch === epoch) e.present = true;
        }
      }
      if (spilled[s] === 1) {
        state.tail.length = 0;
      } else {
        for (let k = starts[s]!; k < starts[s + 1]!; k++) {
          state.tail.push(firstSequence + order[k]!);
        }
      }
    }
    if (plan.created !== undefined) {
      for (const [name, state] of plan.created) this.accounts.set(name, state);
    }
  }
}

/** A transfer side that a replay skips (see `frozen`). */
const UNTOUCHED = 0xffff_ffff;

function overdraft(staged: Staged, i: number, debit: AccountState, held: bigint): never {
  const id = staged.ids.toString('hex', 16 * i, 16 * i + 16);
  throw new FarthingError(
    'LEDGER_INSUFFICIENT_BALANCE',
    `transfers[${i}] (${id}): ${debit.name} holds ${held} ${staged.assets[i]!}, ` +
      `cannot debit ${staged.amounts[i]!}`,
  );
}

/** Sets `indices[at] = value`, growing the array when full. */
function setIndex(indices: Uint32Array, at: number, value: number): Uint32Array {
  if (at >= indices.length) {
    const grown = new Uint32Array(indices.length * 2);
    grown.set(indices);
    indices = grown;
  }
  indices[at] = value;
  return indices;
}

/** Encodes the plan's block (level-codec.ts has the layout), puts it, and sets plan.ids. */
export function putBlock(
  target: PutTarget,
  staged: Staged,
  plan: Plan,
  timestampMs: number,
  scratch: Scratch,
): void {
  const { fresh, freshIndex, touched, debitStates, creditStates } = plan;

  // The dictionary: each touched account, then each asset, once.
  let dictionaryBytes = 0;
  for (const state of touched) {
    state.dictOffset = dictionaryBytes;
    dictionaryBytes += dictionaryEntryBytes(state.name, state.compactName);
  }
  const assetOffsets = new Map<string, number>();
  const entryAsset = scratch.u32(Slot.EntryAsset, fresh);
  const codes = scratch.u8(Slot.Codes, fresh);
  let referenceBytes = 0;
  let lastAsset = '';
  let lastOffset = 0;
  for (let e = 0; e < fresh; e++) {
    const i = freshIndex === undefined ? e : freshIndex[e]!;
    const reference = staged.references[i]!;
    const debit = debitStates[e]!;
    if (referenceIsDebitId(reference, debit.name, debit.idStart)) {
      codes[e] = staged.codes[i]! | REFERENCE_IS_DEBIT_ID;
    } else {
      codes[e] = staged.codes[i]!;
      if (reference.length > 0) referenceBytes += Buffer.byteLength(reference, 'utf8');
    }
    const asset = staged.assets[i]!;
    if (asset !== lastAsset) {
      let offset = assetOffsets.get(asset);
      if (offset === undefined) {
        offset = dictionaryBytes;
        assetOffsets.set(asset, offset);
        dictionaryBytes += 1 + asset.length;
      }
      lastAsset = asset;
      lastOffset = offset;
    }
    entryAsset[e] = lastOffset;
  }

  const hasReferences = referenceBytes > 0;
  const layout = blockLayout(fresh, dictionaryBytes, hasReferences);
  // At offset 0 of its ArrayBuffer, so the aligned columns can be typed-array views.
  const block = scratch.bytes(Slot.Block, layout.references + referenceBytes);
  writeBlockHeader(block, fresh, timestampMs, dictionaryBytes, hasReferences);
  for (const state of touched) {
    writeDictionaryEntry(
      block,
      layout.dictionary + state.dictOffset,
      state.name,
      state.compactName,
    );
  }
  for (const [asset, offset] of assetOffsets) {
    writeDictionaryEntry(block, layout.dictionary + offset, asset, false);
  }
  if (freshIndex === undefined) {
    staged.ids.copy(block, layout.ids, 0, 16 * fresh);
  } else {
    for (let e = 0; e < fresh; e++) {
      const i = freshIndex[e]!;
      staged.ids.copy(block, layout.ids + 16 * e, 16 * i, 16 * i + 16);
    }
  }
  block.set(codes, layout.codes);
  const references = layout.references;
  let referenceEnd = 0;
  if (LITTLE_ENDIAN) {
    const amounts = new BigUint64Array(block.buffer, layout.amounts, fresh);
    const debits = new Uint32Array(block.buffer, layout.debits, fresh);
    const credits = new Uint32Array(block.buffer, layout.credits, fresh);
    const assets = new Uint32Array(block.buffer, layout.assets, fresh);
    for (let e = 0; e < fresh; e++) {
      const i = freshIndex === undefined ? e : freshIndex[e]!;
      amounts[e] = staged.amounts[i]!;
      debits[e] = debitStates[e]!.dictOffset;
      credits[e] = creditStates[e]!.dictOffset;
      assets[e] = entryAsset[e]!;
    }
    if (hasReferences) {
      const referenceEnds = new Uint32Array(block.buffer, layout.referenceEnds, fresh);
      for (let e = 0; e < fresh; e++) {
        const i = freshIndex === undefined ? e : freshIndex[e]!;
        if (codes[e]! < REFERENCE_IS_DEBIT_ID && staged.references[i]!.length > 0) {
          referenceEnd += block.write(staged.references[i]!, references + referenceEnd, 'utf8');
        }
        referenceEnds[e] = referenceEnd;
      }
    }
  } else {
    for (let e = 0; e < fresh; e++) {
      const i = freshIndex === undefined ? e : freshIndex[e]!;
      block.writeBigUInt64LE(staged.amounts[i]!, layout.amounts + 8 * e);
      block.writeUInt32LE(debitStates[e]!.dictOffset, layout.debits + 4 * e);
      block.writeUInt32LE(creditStates[e]!.dictOffset, layout.credits + 4 * e);
      block.writeUInt32LE(entryAsset[e]!, layout.assets + 4 * e);
      if (codes[e]! < REFERENCE_IS_DEBIT_ID) {
        referenceEnd += block.write(staged.references[i]!, references + referenceEnd, 'utf8');
      }
      if (hasReferences) block.writeUInt32LE(referenceEnd, layout.referenceEnds + 4 * e);
    }
  }
  target.put(blockKey(plan.firstSequence), block);
  plan.ids = block.subarray(layout.ids, layout.ids + 16 * fresh);
}
