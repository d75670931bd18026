/**
 * The LevelDB ledger's derived entries, apart from I/O: id pointers, history entries, account
 * entries and the watermarks, encoded from a commit's plan (level-write.ts) into scratch
 * buffers. The ledger writes them after the commit's durable block, in a batch of their own,
 * and replays them from the blocks when a crash lost them (level-ledger.ts).
 */
import type { AccountState } from './level-accounts.js';
import {
  ID_KEY_BYTES,
  KeyTag,
  MAX_VARINT_BYTES,
  accountValueBound,
  writeAccountBalance,
  writeAccountHeader,
  writeU48BE,
  writeVarint,
} from './level-codec.js';
import { Slot, type Plan, type PutTarget, type Scratch } from './level-write.js';

/** History sequences an account entry carries before they move to an `h` entry. */
export const MAX_TAIL = 16;
/** Key of the index watermark: the last sequence whose id pointers and history are written. */
export const INDEXED_KEY = Buffer.from('mindexed', 'latin1');
/** Key of the accounts watermark: every account change up to it is in the account's entry. */
export const ACCOUNTS_KEY = Buffer.from('maccounts', 'latin1');
/** Id pointers are put in order of their first ID_ORDER_BITS bits (a counting sort). */
const ID_ORDER_BITS = 12;

/** Puts the watermarks: `indexed` (id pointers, history) and `accounts` (account entries). */
export function putWatermarks(target: PutTarget, indexed: number, accounts: number): void {
  for (const [key, sequence] of [
    [INDEXED_KEY, indexed],
    [ACCOUNTS_KEY, accounts],
  ] as const) {
    const value = Buffer.allocUnsafe(6);
    writeU48BE(value, 0, sequence);
    target.put(key, value);
  }
}

/**
 * `i <id>` → varint sequence, varint index in block. Encoded in block order (reading the ids
 * in sequence) but put in (about) key order, which makes LevelDB's memtable inserts
 * cache-friendly: a counting sort on the ids' first bits.
 */
export function putIdPointers(target: PutTarget, plan: Plan, scratch: Scratch): void {
  const { fresh, firstSequence } = plan;
  const ids = plan.ids!;
  const stride = ID_KEY_BYTES + 2 * MAX_VARINT_BYTES;
  const out = scratch.bytes(Slot.Pointers, stride * fresh);
  const ends = scratch.u32(Slot.PointerEnds, fresh);
  for (let e = 0; e < fresh; e++) {
    let offset = stride * e;
    out[offset] = KeyTag.Id;
    ids.copy(out, offset + 1, 16 * e, 16 * e + 16);
    offset = writeVarint(out, offset + ID_KEY_BYTES, firstSequence + e);
    ends[e] = writeVarint(out, offset, e);
  }
  const buckets = 1 << ID_ORDER_BITS;
  const shift = 16 - ID_ORDER_BITS;
  const starts = scratch.u32(Slot.IdStarts, buckets + 1);
  for (let e = 0; e < fresh; e++) starts[(readU16(out, stride * e + 1) >>> shift) + 1]!++;
  for (let b = 0; b < buckets; b++) starts[b + 1]! += starts[b]!;
  const order = scratch.u32(Slot.IdOrder, fresh);
  for (let e = 0; e < fresh; e++) order[starts[readU16(out, stride * e + 1) >>> shift]!++] = e;
  for (let k = 0; k < fresh; k++) {
    const e = order[k]!;
    const keyStart = stride * e;
    const valueStart = keyStart + ID_KEY_BYTES;
    target.put(out.subarray(keyStart, valueStart), out.subarray(valueStart, ends[e]!));
  }
}

function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/**
 * A history entry for each touched account whose tail overflows: its tail and this commit's
 * sequences move to `h <account> 0 <last>`, and plan.spilled marks it (apply empties the tail).
 */
export function putHistory(target: PutTarget, plan: Plan, scratch: Scratch): void {
  const { touched, order, starts, spilled, firstSequence } = plan;
  let bound = 0;
  for (let s = 0; s < touched.length; s++) {
    const state = touched[s]!;
    const added = starts[s + 1]! - starts[s]!;
    if (state.tail.length + added > MAX_TAIL) {
      bound += 8 + state.name.length + MAX_VARINT_BYTES * (1 + state.tail.length + added);
    }
  }
  if (bound === 0) return;
  const out = scratch.bytes(Slot.History, bound);
  let offset = 0;
  for (let s = 0; s < touched.length; s++) {
    const state = touched[s]!;
    const from = starts[s]!;
    const to = starts[s + 1]!;
    if (state.tail.length + (to - from) <= MAX_TAIL) continue;
    spilled[s] = 1;
    const keyStart = offset;
    out[offset++] = KeyTag.History;
    offset += out.write(state.name, offset, 'latin1');
    out[offset++] = 0;
    writeU48BE(out, offset, firstSequence + order[to - 1]!);
    offset += 6;
    const valueStart = offset;
    offset = writeHistory(out, offset, state.tail, order, from, to, firstSequence);
    target.put(out.subarray(keyStart, valueStart), out.subarray(valueStart, offset));
  }
}

/**
 * Entries (`a <account>`: balances and history tail, as of `asOf`) for `states`. A state the
 * plan touched is written as the plan leaves it (after putHistory), any other as it is.
 */
export function putAccountEntries(
  target: PutTarget,
  plan: Plan | undefined,
  states: readonly AccountState[],
  asOf: number,
  scratch: Scratch,
): void {
  if (states.length === 0) return;
  let bound = 0;
  for (const state of states) {
    bound += 1 + state.name.length + accountValueBound(1 + (state.extra?.length ?? 0), MAX_TAIL);
  }
  const out = scratch.bytes(Slot.Accounts, bound);
  let offset = 0;
  for (const state of states) {
    const touched = plan !== undefined && state.epoch === plan.epoch;
    const keyStart = offset;
    out[offset++] = KeyTag.Account;
    offset += out.write(state.name, offset, 'latin1');
    const valueStart = offset;
    const extra = state.extra?.filter((e) => e.present || (touched && e.epoch === plan.epoch));
    offset = writeAccountHeader(out, offset, asOf, 1 + (extra?.length ?? 0));
    offset = writeAccountBalance(out, offset, state.asset, touched ? state.pending : state.balance);
    if (extra !== undefined) {
      for (const e of extra) {
        offset = writeAccountBalance(out, offset, e.asset, touched ? e.pending : e.balance);
      }
    }
    if (!touched) {
      offset = writeHistory(out, offset, state.tail, plan?.order ?? EMPTY, 0, 0, 0);
    } else if (plan.spilled[state.slot] === 1) {
      offset = writeVarint(out, offset, 0);
    } else {
      const { order, starts, firstSequence } = plan;
      const from = starts[state.slot]!;
      const to = starts[state.slot + 1]!;
      offset = writeHistory(out, offset, state.tail, order, from, to, firstSequence);
    }
    target.put(out.subarray(keyStart, valueStart), out.subarray(valueStart, offset));
  }
}

const EMPTY = new Uint32Array(0);

/**
 * Writes an account's history sequences (its tail, then the entries `order[from..to)` of this
 * commit, as sequences from `first`) as level-codec's writeSequences does: varint count, then
 * varint deltas from 0.
 */
function writeHistory(
  out: Uint8Array,
  offset: number,
  tail: readonly number[],
  order: Uint32Array,
  from: number,
  to: number,
  first: number,
): number {
  offset = writeVarint(out, offset, tail.length + to - from);
  let previous = 0;
  for (const sequence of tail) {
    offset = writeVarint(out, offset, sequence - previous);
    previous = sequence;
  }
  for (let k = from; k < to; k++) {
    const sequence = first + order[k]!;
    offset = writeVarint(out, offset, sequence - previous);
    previous = sequence;
  }
  return offset;
}
