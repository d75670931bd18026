import type { ChannelState } from '../channel/state.js';

/**
 * The hub's in-memory table of open channels, laid out as parallel typed arrays (one slot per
 * channel) rather than one object per channel, so that a million channels cost about 200 bytes
 * each instead of kilobytes, and the garbage collector has almost nothing to trace.
 *
 * Three voucher marks per channel, always accepted ≥ durable ≥ settled:
 *   accepted  verified and applied in memory (may not be on disk yet)
 *   durable   written by a group commit (what receipts and settlement use)
 *   settled   moved to the payee by a settlement commit
 */
export const SlotStatus = { Free: 0, Open: 1, Closing: 2 } as const;
export type SlotStatusNumber = (typeof SlotStatus)[keyof typeof SlotStatus];

/**
 * A mark array as the table's callers see it: every element readable, nothing writable (no
 * index assignment, no set/fill/copyWithin/sort/reverse, no writable view through subarray or
 * buffer), so the compiler refuses a write that would bypass the running totals.
 */
export type ReadonlyMarks<A extends BigUint64Array | Uint32Array> = Omit<
  Readonly<A>,
  'set' | 'fill' | 'copyWithin' | 'sort' | 'reverse' | 'subarray' | 'buffer'
>;

const ID_BYTES = 16;
const KEY_BYTES = 32;

export class ChannelTable {
  private capacitySlots: number;
  private nextSlot = 0;
  private readonly freeSlots: number[] = [];
  private readonly slotById = new Map<string, number>();
  private readonly payees: string[] = [];
  private readonly payeeIndex = new Map<string, number>();
  private readonly assets: string[] = [];
  private readonly assetIndex = new Map<string, number>();

  channelIds!: Uint8Array;
  /** The same memory as channelIds, for Buffer's native hex encoding. */
  private channelIdBuffer!: Buffer;
  deviceKeys!: Uint8Array;
  payeeOf!: Uint32Array;
  assetOf!: Uint8Array;
  status!: Uint8Array;
  feeBasisPoints!: Uint16Array;
  expiresAtUnixS!: Uint32Array;
  // The marks the running totals below follow: private, so that every write goes through the
  // methods that keep the totals true; callers get read-only views (ReadonlyMarks).
  #capacityBaseUnits!: BigUint64Array;
  #acceptedSeq!: Uint32Array;
  #acceptedAmount!: BigUint64Array;
  #durableSeq!: Uint32Array;
  #durableAmount!: BigUint64Array;
  #settledAmount!: BigUint64Array;
  #unsettledBaseUnits = 0n;
  #escrowOutstandingBaseUnits = 0n;
  #acceptedBaseUnits = 0n;
  /** Unix second of the last hub-signed Receipt, and acks sent since it. */
  lastSignedReceiptS!: Uint32Array;
  acksSinceSigned!: Uint16Array;
  /** Unix second of the last PayeeNotice for this channel. */
  lastPayeeNoticeS!: Uint32Array;

  constructor(initialSlots = 1024) {
    this.capacitySlots = Math.max(16, initialSlots);
    this.allocate(this.capacitySlots);
  }

  get capacityBaseUnits(): ReadonlyMarks<BigUint64Array> {
    return this.#capacityBaseUnits;
  }

  get acceptedSeq(): ReadonlyMarks<Uint32Array> {
    return this.#acceptedSeq;
  }

  get acceptedAmount(): ReadonlyMarks<BigUint64Array> {
    return this.#acceptedAmount;
  }

  get durableSeq(): ReadonlyMarks<Uint32Array> {
    return this.#durableSeq;
  }

  get durableAmount(): ReadonlyMarks<BigUint64Array> {
    return this.#durableAmount;
  }

  get settledAmount(): ReadonlyMarks<BigUint64Array> {
    return this.#settledAmount;
  }

  /**
   * Durable but unsettled value over all channels in the table, kept up to date by
   * markDurable/markSettled/remove, so the settlement threshold is checked after every group
   * commit without a pass over a million channels.
   */
  get unsettledBaseUnits(): bigint {
    return this.#unsettledBaseUnits;
  }

  /**
   * Escrow still held (capacity − settled) and accepted value, over all channels in the table,
   * kept up to date by every write of those marks: stats and metrics read them without a pass
   * over the table, which takes the main thread about 40 ms at a million channels.
   */
  get escrowOutstandingBaseUnits(): bigint {
    return this.#escrowOutstandingBaseUnits;
  }

  get acceptedBaseUnits(): bigint {
    return this.#acceptedBaseUnits;
  }

  get size(): number {
    return this.slotById.size;
  }

  /** Bytes held by the typed arrays (the Map and interned strings come on top). */
  get arrayBytes(): number {
    return (
      this.capacitySlots *
      (ID_BYTES + KEY_BYTES + 4 + 1 + 1 + 2 + 4 + 8 + 4 + 8 + 4 + 8 + 8 + 4 + 2 + 4)
    );
  }

  static keyOf(channelId: Uint8Array): string {
    // A 16-character one-byte string: the cheapest Map key V8 has for 16 raw bytes (explicit
    // arguments: spreading a typed array into fromCharCode is twenty times slower).
    const c = channelId;
    return String.fromCharCode(
      c[0]!,
      c[1]!,
      c[2]!,
      c[3]!,
      c[4]!,
      c[5]!,
      c[6]!,
      c[7]!,
      c[8]!,
      c[9]!,
      c[10]!,
      c[11]!,
      c[12]!,
      c[13]!,
      c[14]!,
      c[15]!,
    );
  }

  slotOf(channelId: Uint8Array): number | undefined {
    return this.slotById.get(ChannelTable.keyOf(channelId));
  }

  slotOfKey(key: string): number | undefined {
    return this.slotById.get(key);
  }

  insert(
    state: ChannelState,
    feeBasisPoints: number,
    settledAmount: bigint,
    durableSeq: number,
    durableAmount: bigint,
  ): number {
    const key = ChannelTable.keyOf(state.channelId);
    if (this.slotById.has(key)) throw new RangeError('channel already in table');
    const slot = this.freeSlots.pop() ?? this.takeNewSlot();
    this.slotById.set(key, slot);
    this.channelIds.set(state.channelId, slot * ID_BYTES);
    this.deviceKeys.set(state.deviceKey, slot * KEY_BYTES);
    this.payeeOf[slot] = intern(state.payeeId, this.payees, this.payeeIndex);
    this.assetOf[slot] = intern(state.asset, this.assets, this.assetIndex);
    this.status[slot] = SlotStatus.Open;
    this.feeBasisPoints[slot] = feeBasisPoints;
    this.expiresAtUnixS[slot] = state.expiresAtUnixS;
    this.#capacityBaseUnits[slot] = state.capacityBaseUnits;
    this.#acceptedSeq[slot] = Math.max(state.seq, durableSeq);
    this.#acceptedAmount[slot] =
      state.amountBaseUnits > durableAmount ? state.amountBaseUnits : durableAmount;
    this.#durableSeq[slot] = durableSeq;
    this.#durableAmount[slot] = durableAmount;
    this.#settledAmount[slot] = settledAmount;
    this.#unsettledBaseUnits += durableAmount - settledAmount;
    this.#escrowOutstandingBaseUnits += state.capacityBaseUnits - settledAmount;
    this.#acceptedBaseUnits += this.#acceptedAmount[slot]!;
    this.lastSignedReceiptS[slot] = 0;
    this.acksSinceSigned[slot] = 0;
    this.lastPayeeNoticeS[slot] = 0;
    return slot;
  }

  /** A verified voucher (or, on recovery, a durable one) is now the channel's newest. */
  markAccepted(slot: number, seq: number, amountBaseUnits: bigint): void {
    this.#acceptedBaseUnits += amountBaseUnits - this.#acceptedAmount[slot]!;
    this.#acceptedSeq[slot] = seq;
    this.#acceptedAmount[slot] = amountBaseUnits;
  }

  /** A top-up raised the channel's capacity. */
  setCapacity(slot: number, capacityBaseUnits: bigint): void {
    this.#escrowOutstandingBaseUnits += capacityBaseUnits - this.#capacityBaseUnits[slot]!;
    this.#capacityBaseUnits[slot] = capacityBaseUnits;
  }

  /** A group commit made this voucher durable (a no-op if a newer one already is). */
  markDurable(slot: number, seq: number, amountBaseUnits: bigint): void {
    if (seq <= this.#durableSeq[slot]!) return;
    this.#unsettledBaseUnits += amountBaseUnits - this.#durableAmount[slot]!;
    this.#durableSeq[slot] = seq;
    this.#durableAmount[slot] = amountBaseUnits;
  }

  /** A settlement commit moved the channel's settled mark up to this amount. */
  markSettled(slot: number, amountBaseUnits: bigint): void {
    this.#unsettledBaseUnits -= amountBaseUnits - this.#settledAmount[slot]!;
    this.#escrowOutstandingBaseUnits -= amountBaseUnits - this.#settledAmount[slot]!;
    this.#settledAmount[slot] = amountBaseUnits;
  }

  remove(slot: number): void {
    this.#unsettledBaseUnits -= this.#durableAmount[slot]! - this.#settledAmount[slot]!;
    this.#escrowOutstandingBaseUnits -= this.#capacityBaseUnits[slot]! - this.#settledAmount[slot]!;
    this.#acceptedBaseUnits -= this.#acceptedAmount[slot]!;
    const key = ChannelTable.keyOf(this.channelId(slot));
    this.slotById.delete(key);
    this.status[slot] = SlotStatus.Free;
    this.freeSlots.push(slot);
  }

  channelId(slot: number): Uint8Array {
    return this.channelIds.subarray(slot * ID_BYTES, (slot + 1) * ID_BYTES);
  }

  /** The channel id in hex, without allocating a view of it first (settlement's hot loop). */
  channelIdHex(slot: number): string {
    return this.channelIdBuffer.toString('hex', slot * ID_BYTES, (slot + 1) * ID_BYTES);
  }

  deviceKey(slot: number): Uint8Array {
    return this.deviceKeys.subarray(slot * KEY_BYTES, (slot + 1) * KEY_BYTES);
  }

  payeeId(slot: number): string {
    return this.payees[this.payeeOf[slot]!]!;
  }

  asset(slot: number): string {
    return this.assets[this.assetOf[slot]!]!;
  }

  isDeviceKey(slot: number, key: Uint8Array): boolean {
    const offset = slot * KEY_BYTES;
    for (let i = 0; i < KEY_BYTES; i++) if (this.deviceKeys[offset + i] !== key[i]) return false;
    return true;
  }

  /** The channel as the pure rules see it, with the accepted voucher as its newest. */
  view(slot: number): ChannelState {
    return {
      channelId: this.channelId(slot),
      deviceKey: this.deviceKey(slot),
      payeeId: this.payeeId(slot),
      asset: this.asset(slot),
      capacityBaseUnits: this.#capacityBaseUnits[slot]!,
      expiresAtUnixS: this.expiresAtUnixS[slot]!,
      seq: this.#acceptedSeq[slot]!,
      amountBaseUnits: this.#acceptedAmount[slot]!,
      status: this.status[slot] === SlotStatus.Open ? 'open' : 'closed',
      closeReason: undefined,
    };
  }

  /** Every occupied slot, in slot order. */
  *slots(): IterableIterator<number> {
    for (let slot = 0; slot < this.nextSlot; slot++)
      if (this.status[slot] !== SlotStatus.Free) yield slot;
  }

  private takeNewSlot(): number {
    if (this.nextSlot === this.capacitySlots) this.grow();
    return this.nextSlot++;
  }

  private grow(): void {
    const old = { ...this.arrays() };
    this.capacitySlots *= 2;
    this.allocate(this.capacitySlots);
    const now = this.arrays();
    for (const name of Object.keys(old) as (keyof typeof old)[]) {
      (now[name] as Uint8Array).set(old[name] as Uint8Array);
    }
  }

  private arrays() {
    return {
      channelIds: this.channelIds,
      deviceKeys: this.deviceKeys,
      payeeOf: this.payeeOf,
      assetOf: this.assetOf,
      status: this.status,
      feeBasisPoints: this.feeBasisPoints,
      expiresAtUnixS: this.expiresAtUnixS,
      capacityBaseUnits: this.#capacityBaseUnits,
      acceptedSeq: this.#acceptedSeq,
      acceptedAmount: this.#acceptedAmount,
      durableSeq: this.#durableSeq,
      durableAmount: this.#durableAmount,
      settledAmount: this.#settledAmount,
      lastSignedReceiptS: this.lastSignedReceiptS,
      acksSinceSigned: this.acksSinceSigned,
      lastPayeeNoticeS: this.lastPayeeNoticeS,
    };
  }

  private allocate(n: number): void {
    this.channelIds = new Uint8Array(n * ID_BYTES);
    this.channelIdBuffer = Buffer.from(this.channelIds.buffer, 0, n * ID_BYTES);
    this.deviceKeys = new Uint8Array(n * KEY_BYTES);
    this.payeeOf = new Uint32Array(n);
    this.assetOf = new Uint8Array(n);
    this.status = new Uint8Array(n);
    this.feeBasisPoints = new Uint16Array(n);
    this.expiresAtUnixS = new Uint32Array(n);
    this.#capacityBaseUnits = new BigUint64Array(n);
    this.#acceptedSeq = new Uint32Array(n);
    this.#acceptedAmount = new BigUint64Array(n);
    this.#durableSeq = new Uint32Array(n);
    this.#durableAmount = new BigUint64Array(n);
    this.#settledAmount = new BigUint64Array(n);
    this.lastSignedReceiptS = new Uint32Array(n);
    this.acksSinceSigned = new Uint16Array(n);
    this.lastPayeeNoticeS = new Uint32Array(n);
  }
}

function intern(value: string, list: string[], index: Map<string, number>): number {
  let i = index.get(value);
  if (i === undefined) {
    i = list.length;
    list.push(value);
    index.set(value, i);
  }
  return i;
}
