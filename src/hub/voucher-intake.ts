import { checkVoucher } from '../channel/rules.js';
import type { SignedEnvelope } from '../protocol/codec.js';
import { MessageType, type Voucher } from '../protocol/messages.js';
import { Status } from '../protocol/status.js';
import { ChannelTable } from './channel-table.js';
import { nowUnixS, type HubCore } from './core.js';
import type { StagedVoucher } from './group-commit.js';
import { refuseChannelMessage } from './refusals.js';
import type { VerifyItem } from './ports.js';

/** Signed receipts a commit may make for the receipt interval (requested ones do not count). */
const TIMED_RECEIPTS_PER_COMMIT = 4;

interface Waiting {
  receivedAtMs: number;
  deviceKey: Uint8Array;
  voucher: Voucher;
  signed: SignedEnvelope;
  bytes: Uint8Array;
}

/**
 * The hot path (DESIGN §5): cheapest checks first, the signature last, then group commit,
 * then the receipt. Vouchers that pass the channel rules wait in a batch for the verifier;
 * when several vouchers of one channel share a batch only the newest is verified (the others
 * are superseded by it), falling back to the next newest if its signature fails.
 */
export class VoucherIntake {
  private batch = new Map<string, Waiting[]>();
  private batchSize = 0;
  private scheduled = false;
  private pendingVerifications = 0;
  /** The verification round each channel's newest offered voucher belongs to. */
  private readonly roundOf = new Map<string, Promise<void>>();
  /** The round that the vouchers now in `batch` will be verified in. */
  private nextRound: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Channels whose device asked for a signed receipt at the next durable point. */
  readonly receiptRequested = new Set<string>();

  constructor(private readonly core: HubCore) {}

  get pending(): number {
    return this.pendingVerifications + this.batchSize;
  }

  offer(deviceKey: Uint8Array, voucher: Voucher, signed: SignedEnvelope, bytes: Uint8Array): void {
    const { core } = this;
    core.counters.vouchersReceived++;
    const key = ChannelTable.keyOf(voucher.channelId);
    const slot = core.table.slotOfKey(key);
    if (slot === undefined) {
      this.refuseUnknown(deviceKey, voucher);
      return;
    }
    const verdict = checkVoucher(core.table.view(slot), voucher, nowUnixS(core), deviceKey);
    switch (verdict.kind) {
      case 'refuse':
        this.reject(deviceKey, voucher, verdict.status);
        return;
      case 'stale':
        core.counters.vouchersStale++;
        return;
      case 'duplicate':
        core.counters.vouchersDuplicate++;
        this.answerDuplicate(slot, key, deviceKey);
        return;
      case 'accept':
        break;
    }
    if (this.pending >= core.settings.maxPendingVerifications) {
      this.reject(deviceKey, voucher, Status.HUB_BUSY);
      return;
    }
    let waiting = this.batch.get(key);
    if (waiting === undefined) {
      waiting = [];
      this.batch.set(key, waiting);
    }
    waiting.push({ receivedAtMs: performance.now(), deviceKey, voucher, signed, bytes });
    this.batchSize++;
    if (this.nextRound === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.nextRound = { promise, resolve };
    }
    this.roundOf.set(key, this.nextRound.promise);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.dispatch());
    }
  }

  /** Hands the current batch to the verifier: newest voucher of each channel first. */
  private dispatch(): void {
    this.scheduled = false;
    const batch = this.batch;
    this.batch = new Map();
    this.pendingVerifications += this.batchSize;
    const size = this.batchSize;
    this.batchSize = 0;
    const candidates: Waiting[][] = [];
    for (const waiting of batch.values()) {
      waiting.sort((a, b) => b.voucher.seq - a.voucher.seq);
      candidates.push(waiting);
    }
    const round = this.nextRound!;
    this.nextRound = undefined;
    void this.verifyRound(candidates).finally(() => {
      this.pendingVerifications -= size;
      for (const key of batch.keys())
        if (this.roundOf.get(key) === round.promise) this.roundOf.delete(key);
      round.resolve();
    });
  }

  private async verifyRound(groups: Waiting[][]): Promise<void> {
    let round = groups;
    while (round.length > 0) {
      const items: VerifyItem[] = round.map((group) => {
        const head = group[0]!;
        return {
          signature: head.signed.signature,
          message: head.signed.toBeSigned,
          publicKey: head.deviceKey,
        };
      });
      let results: boolean[];
      const started = performance.now();
      try {
        results = await this.core.verifier.verifyBatch(items);
        this.core.observer.verifyBatch(items.length, (performance.now() - started) / 1000);
      } catch (error) {
        this.core.logger.error({ err: error }, 'verifier failed');
        for (const group of round)
          for (const w of group) this.reject(w.deviceKey, w.voucher, Status.HUB_FAILURE);
        return;
      }
      const next: Waiting[][] = [];
      const { core } = this;
      round.forEach((group, i) => {
        const head = group.shift()!;
        if (results[i] === true) {
          this.applyVerified(head);
          // The rest of the group is superseded by the newest valid voucher.
          core.counters.vouchersCoalesced += group.length;
        } else {
          this.reject(head.deviceKey, head.voucher, Status.SIGNATURE_INVALID);
          if (group.length > 0) next.push(group);
        }
      });
      round = next;
    }
  }

  /**
   * Resolves once every voucher of this channel offered so far has its verdict. A close waits
   * for this, so that the voucher a device sent just before closing is settled, not refused;
   * vouchers offered later do not delay it.
   */
  whenIdle(key: string): Promise<void> {
    return this.roundOf.get(key) ?? Promise.resolve();
  }

  /** A verified voucher: check again (the channel may have moved meanwhile), then stage it. */
  private applyVerified(w: Waiting): void {
    const { core } = this;
    const key = ChannelTable.keyOf(w.voucher.channelId);
    const slot = core.table.slotOfKey(key);
    if (slot === undefined) {
      this.refuseUnknown(w.deviceKey, w.voucher);
      return;
    }
    const verdict = checkVoucher(core.table.view(slot), w.voucher, nowUnixS(core), w.deviceKey);
    if (verdict.kind === 'refuse') return this.reject(w.deviceKey, w.voucher, verdict.status);
    if (verdict.kind === 'stale') {
      core.counters.vouchersStale++;
      return;
    }
    if (verdict.kind === 'duplicate') {
      core.counters.vouchersDuplicate++;
      return this.answerDuplicate(slot, key, w.deviceKey);
    }
    core.table.markAccepted(slot, w.voucher.seq, w.voucher.amountBaseUnits);
    core.counters.vouchersAccepted++;
    const staged: StagedVoucher = {
      channelKey: key,
      channelId: w.voucher.channelId,
      seq: w.voucher.seq,
      amountBaseUnits: w.voucher.amountBaseUnits,
      voucherBytes: w.bytes,
      receivedAtMs: w.receivedAtMs,
    };
    core.committer.stage(staged);
  }

  /** A duplicate of what the hub already holds: repeat the acknowledgement once it is durable. */
  private answerDuplicate(slot: number, key: string, deviceKey: Uint8Array): void {
    const { core } = this;
    if (core.committer.isPending(key)) return; // the ack follows the commit
    const seq = core.table.durableSeq[slot]!;
    if (seq === 0) return;
    core.counters.acksSent++;
    core.responder.ack(deviceKey, core.table.channelId(slot), seq, core.table.durableAmount[slot]!);
  }

  /** A channel not in memory is either closed (its record says so) or unknown. */
  private refuseUnknown(deviceKey: Uint8Array, voucher: Voucher): void {
    void this.core.unknownLookups
      .status(voucher.channelId)
      .then((status) => this.reject(deviceKey, voucher, status));
  }

  reject(deviceKey: Uint8Array, voucher: Voucher, status: number): void {
    refuseChannelMessage(
      this.core,
      deviceKey,
      voucher.channelId,
      MessageType.Voucher,
      voucher.seq,
      status,
    );
  }

  /** After a group commit: acknowledge every channel it made durable. */
  acknowledge(batch: StagedVoucher[]): void {
    // One commit's acknowledgements leave together: one socket write instead of hundreds.
    this.core.responder.batch(() => this.acknowledgeEach(batch));
  }

  private acknowledgeEach(batch: StagedVoucher[]): void {
    const { core } = this;
    const nowS = nowUnixS(core);
    const { table, settings } = core;
    const nowMs = performance.now();
    let timedSignatures = 0;
    for (const v of batch) {
      core.observer.receiptLatency((nowMs - v.receivedAtMs) / 1000);
      // Match by key: the slot may have been freed and reused if the channel closed meanwhile.
      const slot = table.slotOfKey(v.channelKey);
      if (slot === undefined) continue;
      table.markDurable(slot, v.seq, v.amountBaseUnits);
      const deviceKey = table.deviceKey(slot);
      // A view into the table: the answer is encoded before the table can change.
      const channelId = table.channelId(slot);
      // Channels that opened together come due together: without a cap per commit, a thousand
      // signatures land in the same few commits every few seconds and every voucher queued
      // behind them waits (the latency p99). A channel over the cap signs on a later commit.
      const requested = this.receiptRequested.delete(v.channelKey);
      const timed =
        nowS - table.lastSignedReceiptS[slot]! >= settings.receiptEveryMs / 1000 ||
        table.acksSinceSigned[slot]! >= settings.receiptEveryAcks;
      const wantsSigned = requested || (timed && timedSignatures++ < TIMED_RECEIPTS_PER_COMMIT);
      if (wantsSigned) {
        table.lastSignedReceiptS[slot] = nowS;
        table.acksSinceSigned[slot] = 0;
        core.counters.receiptsSigned++;
        core.responder.toDevice(deviceKey, {
          type: MessageType.Receipt,
          channelId,
          seq: table.durableSeq[slot]!,
          amountBaseUnits: table.durableAmount[slot]!,
          capacityBaseUnits: table.capacityBaseUnits[slot]!,
        });
      } else {
        table.acksSinceSigned[slot] = table.acksSinceSigned[slot]! + 1;
        core.counters.acksSent++;
        core.responder.ack(
          deviceKey,
          channelId,
          table.durableSeq[slot]!,
          table.durableAmount[slot]!,
        );
      }
    }
  }
}
