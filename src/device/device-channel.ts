import { asError, FarthingError } from '../errors.js';
import { fromHex, toHex } from '../protocol/bytes.js';
import { encodeMessage } from '../protocol/codec.js';
import type { SignFn } from '../protocol/cose.js';
import { Limits } from '../protocol/limits.js';
import {
  MessageType,
  type Ack,
  type CloseReceipt,
  type Receipt,
  type Rejection,
} from '../protocol/messages.js';
import { Status } from '../protocol/status.js';
import { Emitter } from './emitter.js';
import { RequestRefusedError } from './errors.js';
import { PendingRequest } from './pending.js';
import { checkPrice, owedFor, type Price } from './price.js';
import type { PersistedChannel } from './state-store.js';

export interface ChannelEvents extends Record<string, unknown[]> {
  ack: [Ack];
  receipt: [Receipt];
  rejection: [Rejection];
  closed: [CloseReceipt];
}

/**
 * What the channel needs from its device: publishing, persisting and request timing.
 * Everything goes at QoS 1 (DESIGN §4). The broker's QoS does not make a voucher reach the
 * hub, though: the channel re-sends its newest voucher until the hub acknowledges it, and a
 * CloseRequest names that voucher's seq so that the hub cannot close short of it.
 */
export interface ChannelHost {
  readonly sign: SignFn;
  publish(payload: Uint8Array, qos: 0 | 1): void;
  persist(): Promise<void>;
  /** Saves without a caller to tell; a failure is reported on the device ('saveFailed'). */
  persistInBackground(): void;
  /** The device's clock (ms since the epoch). */
  nowMs(): number;
  readonly resendMs: number;
  readonly timeoutMs: number;
}

export interface VoucherSent {
  seq: number;
  amountBaseUnits: bigint;
}

/** Statuses after which the same voucher is worth sending again later. */
const RETRYABLE: ReadonlySet<number> = new Set([
  Status.HUB_BUSY,
  Status.HUB_FAILURE,
  Status.RATE_LIMITED,
]);

/**
 * One open channel, device side: accrues usage at its price, signs cumulative vouchers with a
 * strictly increasing seq, and tracks what the hub has acknowledged (plain Ack) and receipted
 * (hub-signed Receipt).
 */
export class DeviceChannel extends Emitter<ChannelEvents> {
  readonly channelId: Uint8Array;
  readonly channelIdHex: string;
  readonly payeeId: string;
  readonly asset: string;
  readonly expiresAtUnixS: number;
  readonly feeBasisPoints: number;
  readonly nonce: Uint8Array;
  private readonly price: Price;
  /** Base units paid directly with payBaseUnits, on top of what usage at the price owes. */
  private directBaseUnits: bigint;
  capacityBaseUnits: bigint;
  usageUnits: bigint;
  seq: number;
  amountBaseUnits: bigint;
  ackedSeq = 0;
  ackedAmountBaseUnits = 0n;
  receiptedSeq = 0;
  receiptedAmountBaseUnits = 0n;
  status: 'open' | 'closed';
  closeReceipt: CloseReceipt | undefined;
  private lastVoucher: Uint8Array | undefined;
  /**
   * The newest voucher known to be saved: the only one ever re-sent. One still being saved must
   * not leave the device, or a crash before the save completes would let it sign that seq again
   * for another amount.
   */
  private savedVoucher: { seq: number; bytes: Uint8Array } | undefined;
  /** The hub refused the newest voucher for good: a close stands by the acknowledged one. */
  private newestRefusal: RequestRefusedError | undefined;
  private readonly ackWaiters: {
    seq: number;
    resolve: (v: VoucherSent) => void;
    reject: (e: Error) => void;
  }[] = [];
  private topUpRequest: { capacity: bigint; pending: PendingRequest<Receipt> } | undefined;
  private receiptRequest: PendingRequest<Receipt> | undefined;
  private closeRequest: PendingRequest<CloseReceipt> | undefined;

  constructor(
    private readonly host: ChannelHost,
    persisted: PersistedChannel,
  ) {
    super();
    this.channelIdHex = persisted.channelIdHex;
    this.channelId = fromHex(persisted.channelIdHex);
    this.nonce = fromHex(persisted.nonceHex);
    this.payeeId = persisted.payeeId;
    this.asset = persisted.asset;
    this.expiresAtUnixS = persisted.expiresAtUnixS;
    this.feeBasisPoints = persisted.feeBasisPoints;
    this.capacityBaseUnits = BigInt(persisted.capacityBaseUnits);
    this.price = {
      baseUnits: BigInt(persisted.priceBaseUnits),
      perUnits: BigInt(persisted.pricePerUnits),
    };
    checkPrice(this.price);
    this.usageUnits = BigInt(persisted.usageUnits);
    this.directBaseUnits = BigInt(persisted.directBaseUnits);
    this.seq = persisted.seq;
    this.amountBaseUnits = BigInt(persisted.amountBaseUnits);
    this.lastVoucher =
      persisted.lastVoucherHex === '' ? undefined : fromHex(persisted.lastVoucherHex);
    if (this.lastVoucher !== undefined)
      this.savedVoucher = { seq: this.seq, bytes: this.lastVoucher };
    this.status = persisted.status;
  }

  toPersisted(): PersistedChannel {
    return {
      channelIdHex: this.channelIdHex,
      nonceHex: toHex(this.nonce),
      payeeId: this.payeeId,
      asset: this.asset,
      capacityBaseUnits: this.capacityBaseUnits.toString(),
      expiresAtUnixS: this.expiresAtUnixS,
      feeBasisPoints: this.feeBasisPoints,
      priceBaseUnits: this.price.baseUnits.toString(),
      pricePerUnits: this.price.perUnits.toString(),
      usageUnits: this.usageUnits.toString(),
      directBaseUnits: this.directBaseUnits.toString(),
      seq: this.seq,
      amountBaseUnits: this.amountBaseUnits.toString(),
      lastVoucherHex: this.lastVoucher === undefined ? '' : toHex(this.lastVoucher),
      status: this.status,
    };
  }

  /**
   * Records `usageUnits` more usage and, if that makes at least one more whole base unit owed,
   * signs and sends a voucher for the new cumulative amount. Resolves once the voucher is
   * persisted and handed to the broker (not when the hub acknowledges it: see whenAcked).
   */
  async pay(usageUnits: bigint | number): Promise<VoucherSent | undefined> {
    const usage = typeof usageUnits === 'number' ? BigInt(usageUnits) : usageUnits;
    if (usage < 0n) throw new RangeError('usage cannot be negative');
    // Before any usage is recorded: usage that can never be signed for must not look paid.
    this.checkCanSign();
    const usageTotal = this.usageUnits + usage;
    const owed = this.directBaseUnits + owedFor(usageTotal, this.price);
    if (owed > this.capacityBaseUnits) {
      throw new RangeError(
        `payment would exceed the channel capacity (${owed} > ${this.capacityBaseUnits}); top up first`,
      );
    }
    this.usageUnits = usageTotal;
    if (owed === this.amountBaseUnits) {
      await this.host.persist();
      return undefined;
    }
    return this.sendVoucher(owed);
  }

  /** Pays a whole number of base units directly, bypassing the price. */
  async payBaseUnits(amountBaseUnits: bigint): Promise<VoucherSent> {
    if (amountBaseUnits <= 0n) throw new RangeError('amount must be positive');
    this.checkCanSign();
    const owed = this.amountBaseUnits + amountBaseUnits;
    if (owed > this.capacityBaseUnits)
      throw new RangeError('payment would exceed the channel capacity; top up first');
    this.directBaseUnits += amountBaseUnits;
    return this.sendVoucher(owed);
  }

  /** A new voucher may be signed: the channel is open, unexpired, and has a seq left. */
  private checkCanSign(): void {
    if (this.status !== 'open') throw new FarthingError('REQUEST_REFUSED', 'channel is closed');
    if (Math.floor(this.host.nowMs() / 1000) >= this.expiresAtUnixS)
      throw new FarthingError(
        'REQUEST_REFUSED',
        'channel expired: no more vouchers (PROTOCOL §7.4); close it and open another',
      );
    if (this.seq >= Limits.maxSeq)
      throw new RangeError('seq exhausted: close this channel and open another');
  }

  private async sendVoucher(owedBaseUnits: bigint): Promise<VoucherSent> {
    this.checkCanSign();
    this.seq += 1;
    this.amountBaseUnits = owedBaseUnits;
    const bytes = encodeMessage(
      {
        type: MessageType.Voucher,
        channelId: this.channelId,
        seq: this.seq,
        amountBaseUnits: owedBaseUnits,
      },
      this.host.sign,
    );
    this.lastVoucher = bytes;
    this.newestRefusal = undefined;
    const sent = { seq: this.seq, amountBaseUnits: owedBaseUnits };
    // Persist before publishing: after a crash the device must not sign this seq again.
    await this.host.persist();
    this.host.publish(bytes, 1);
    this.armAckTimer();
    return sent;
  }

  /**
   * Called as a save of this channel's state starts; what it returns is called once that save
   * is durable, and lets the voucher it holds leave the device (any save will do: after a failed
   * one, the next pay(), Receipt or close saves it).
   */
  savePoint(): () => void {
    const seq = this.seq;
    const bytes = this.lastVoucher;
    return () => {
      if (bytes !== undefined && (this.savedVoucher === undefined || this.savedVoucher.seq < seq))
        this.savedVoucher = { seq, bytes };
    };
  }

  /**
   * Re-sends the newest saved voucher (after a reconnect, a reboot, a HUB_BUSY or before a
   * close), and keeps re-sending it until the hub acknowledges it.
   */
  resendLatest(): void {
    if (this.status !== 'open' || this.savedVoucher === undefined) return;
    this.host.publish(this.savedVoucher.bytes, 1);
    if (this.ackedSeq < this.savedVoucher.seq) this.armAckTimer();
  }

  /** Resolves when the hub has acknowledged (made durable) a voucher with at least this seq. */
  whenAcked(seq: number = this.seq): Promise<VoucherSent> {
    if (this.ackedSeq >= seq)
      return Promise.resolve({ seq: this.ackedSeq, amountBaseUnits: this.ackedAmountBaseUnits });
    // No acknowledgement can come any more: the CloseReceipt is in and stops short of this
    // seq, or that voucher was refused for good.
    const final =
      this.closeReceipt !== undefined
        ? new RequestRefusedError('voucher', Status.CHANNEL_CLOSED)
        : seq >= this.seq
          ? this.newestRefusal
          : undefined;
    const waiting =
      final !== undefined
        ? Promise.reject(final)
        : new Promise<VoucherSent>((resolve, reject) =>
            this.ackWaiters.push({ seq, resolve, reject }),
          );
    waiting.catch(() => undefined); // handled for fire-and-forget callers; awaiting still throws
    // Closed by the hub, its CloseReceipt not here yet: asking for it settles this wait.
    if (final === undefined && this.status === 'closed') this.fetchCloseReceipt();
    return waiting;
  }

  /** Asks the hub to raise the capacity to `capacityBaseUnits` (a new total); resolves with its signed Receipt. */
  topUp(capacityBaseUnits: bigint): Promise<Receipt> {
    if (capacityBaseUnits <= this.capacityBaseUnits)
      throw new RangeError('a top-up names a larger total capacity');
    this.topUpRequest?.pending.reject(
      new FarthingError('REQUEST_REFUSED', 'superseded by a newer top-up'),
    );
    const bytes = encodeMessage(
      { type: MessageType.TopUp, channelId: this.channelId, capacityBaseUnits },
      this.host.sign,
    );
    const pending = new PendingRequest<Receipt>(
      'top-up',
      () => this.host.publish(bytes, 1),
      this.host.resendMs,
      this.host.timeoutMs,
    );
    this.topUpRequest = { capacity: capacityBaseUnits, pending };
    return pending.promise;
  }

  /** Asks for a hub-signed Receipt of the newest durable voucher now. */
  requestReceipt(): Promise<Receipt> {
    if (this.receiptRequest === undefined || this.receiptRequest.done) {
      const bytes = encodeMessage({ type: MessageType.ReceiptRequest, channelId: this.channelId });
      this.receiptRequest = new PendingRequest<Receipt>(
        'receipt request',
        () => this.host.publish(bytes, 1),
        this.host.resendMs,
        this.host.timeoutMs,
      );
    }
    return this.receiptRequest.promise;
  }

  /** Closes the channel cooperatively; resolves with the hub-signed CloseReceipt. */
  close(): Promise<CloseReceipt> {
    if (this.closeReceipt !== undefined) return Promise.resolve(this.closeReceipt);
    // A voucher whose save failed has not left the device: saving now lets the attempts send it.
    if ((this.savedVoucher?.seq ?? 0) < this.seq) this.host.persistInBackground();
    if (this.closeRequest === undefined || this.closeRequest.done) {
      let signed: { seq: number; bytes: Uint8Array } | undefined;
      // Every attempt re-sends the newest voucher first, and the CloseRequest names its seq: the
      // hub answers VOUCHER_MISSING rather than close short of it (a voucher lost in a restart,
      // or overtaken by the CloseRequest in a reconnect's replay), and the next attempt retries.
      this.closeRequest = new PendingRequest<CloseReceipt>(
        'close',
        () => {
          const seq = this.newestRefusal !== undefined ? this.ackedSeq : this.seq;
          if (signed?.seq !== seq) {
            const message = { type: MessageType.CloseRequest, channelId: this.channelId, seq };
            signed = { seq, bytes: encodeMessage(message, this.host.sign) };
          }
          this.resendLatest();
          this.host.publish(signed.bytes, 1);
        },
        this.host.resendMs,
        this.host.timeoutMs,
      );
    }
    return this.closeRequest.promise;
  }

  /** An Ack (plain) from the hub. */
  onAck(ack: Ack): void {
    if (ack.seq > this.seq) return; // never sent by this device: ignore
    if (ack.seq > this.ackedSeq) {
      this.ackedSeq = ack.seq;
      this.ackedAmountBaseUnits = ack.amountBaseUnits;
    }
    this.resolveAckWaiters();
    this.emit('ack', ack);
  }

  /** A verified, hub-signed Receipt. */
  onReceipt(receipt: Receipt): void {
    if (receipt.seq <= this.seq && receipt.seq >= this.receiptedSeq) {
      this.receiptedSeq = receipt.seq;
      this.receiptedAmountBaseUnits = receipt.amountBaseUnits;
      if (receipt.seq > this.ackedSeq) {
        this.ackedSeq = receipt.seq;
        this.ackedAmountBaseUnits = receipt.amountBaseUnits;
      }
    }
    if (receipt.capacityBaseUnits > this.capacityBaseUnits)
      this.capacityBaseUnits = receipt.capacityBaseUnits;
    if (
      this.topUpRequest !== undefined &&
      receipt.capacityBaseUnits >= this.topUpRequest.capacity
    ) {
      this.topUpRequest.pending.resolve(receipt);
      this.topUpRequest = undefined;
      this.host.persistInBackground();
    }
    this.receiptRequest?.resolve(receipt);
    this.resolveAckWaiters();
    this.emit('receipt', receipt);
  }

  onRejection(rejection: Rejection): void {
    this.emit('rejection', rejection);
    const refused = new RequestRefusedError(refusedWhat(rejection.refusedType), rejection.status);
    switch (rejection.refusedType) {
      case MessageType.Voucher:
        // Retryable: re-send soon (restart the re-send timer at its shortest period). Refused
        // for good: stop re-sending that voucher.
        if (RETRYABLE.has(rejection.status)) {
          this.stopAckTimer();
          this.armAckTimer();
        } else if (rejection.status === Status.CHANNEL_CLOSED) {
          // Not a verdict on this voucher: the close may have settled it. Its CloseReceipt
          // (asked for now) settles the waits, and stops the re-sending.
          this.stopAckTimer();
          this.markClosedByHub();
        } else if (rejection.seq === this.seq) {
          this.newestRefusal = refused;
          this.stopAckTimer();
          this.rejectAckWaiters(refused);
        }
        return;
      case MessageType.TopUp:
        if (!RETRYABLE.has(rejection.status)) this.topUpRequest?.pending.reject(refused);
        return;
      case MessageType.ReceiptRequest:
        if (!RETRYABLE.has(rejection.status)) this.receiptRequest?.reject(refused);
        return;
      case MessageType.CloseRequest:
        // VOUCHER_MISSING: the next attempt re-sends the newest voucher before the CloseRequest.
        if (!RETRYABLE.has(rejection.status) && rejection.status !== Status.VOUCHER_MISSING)
          this.closeRequest?.reject(refused);
        return;
    }
  }

  /** A verified CloseReceipt: the channel is over. */
  onCloseReceipt(receipt: CloseReceipt): void {
    this.closeReceipt = receipt;
    this.status = 'closed';
    this.stopAckTimer();
    this.closeRequest?.resolve(receipt);
    this.topUpRequest?.pending.reject(new RequestRefusedError('top-up', Status.CHANNEL_CLOSED));
    if (receipt.seq >= this.ackedSeq) {
      this.ackedSeq = receipt.seq;
      this.ackedAmountBaseUnits = receipt.amountBaseUnits;
    }
    this.resolveAckWaiters();
    this.rejectAckWaiters(new RequestRefusedError('voucher', Status.CHANNEL_CLOSED));
    this.host.persistInBackground();
    this.emit('closed', receipt);
  }

  /**
   * The hub closed this channel (operator or expiry) while the device was not listening. The
   * CloseReceipt went out then; a CloseRequest makes the hub send it again.
   */
  private markClosedByHub(): void {
    if (this.closeReceipt !== undefined) return;
    this.status = 'closed';
    this.host.persistInBackground();
    this.fetchCloseReceipt();
  }

  /** Asks for the CloseReceipt: it, or the request failing, settles every ack wait. */
  private fetchCloseReceipt(): void {
    this.close().catch((error: unknown) => this.rejectAckWaiters(asError(error)));
  }

  /**
   * Until the hub acknowledges the newest voucher, re-send it now and then (backing off to 30 s).
   * The broker's own QoS only covers the hop to the broker; this covers a hub that restarted,
   * or an Ack that was lost.
   */
  private armAckTimer(delayMs = this.host.resendMs): void {
    if (this.ackTimer !== undefined) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      if (this.status !== 'open' || this.ackedSeq >= this.seq) return;
      this.resendLatest();
      this.armAckTimer(Math.min(delayMs * 2, 30_000));
    }, delayMs);
  }

  private ackTimer: ReturnType<typeof setTimeout> | undefined;

  private stopAckTimer(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  private resolveAckWaiters(): void {
    if (this.ackedSeq >= this.seq) this.stopAckTimer();
    for (let i = this.ackWaiters.length - 1; i >= 0; i--) {
      const waiter = this.ackWaiters[i]!;
      if (waiter.seq <= this.ackedSeq) {
        this.ackWaiters.splice(i, 1);
        waiter.resolve({ seq: this.ackedSeq, amountBaseUnits: this.ackedAmountBaseUnits });
      }
    }
  }

  private rejectAckWaiters(error: Error): void {
    for (const waiter of this.ackWaiters.splice(0)) waiter.reject(error);
  }

  /** Stops timers (the device is shutting down). */
  dispose(): void {
    this.stopAckTimer();
    const stopped = new FarthingError('DEVICE_NOT_CONNECTED', 'device closed');
    this.topUpRequest?.pending.reject(stopped);
    this.receiptRequest?.reject(stopped);
    this.closeRequest?.reject(stopped);
    this.rejectAckWaiters(stopped);
  }
}

function refusedWhat(type: number): string {
  switch (type) {
    case MessageType.Voucher:
      return 'voucher';
    case MessageType.TopUp:
      return 'top-up';
    case MessageType.CloseRequest:
      return 'close';
    case MessageType.ReceiptRequest:
      return 'receipt request';
    default:
      return `message type ${type}`;
  }
}
