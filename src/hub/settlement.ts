import { cumulativeFee, splitSettlement } from '../channel/fees.js';
import { FarthingError } from '../errors.js';
import { externalAccount, payeeAccount } from '../ledger/accounts.js';
import { TransferCode, type TransferInput } from '../ledger/types.js';
import { MessageType } from '../protocol/messages.js';
import { SlotStatus } from './channel-table.js';
import type { HubCore } from './core.js';
import { payoutTransferId } from './ids.js';
import { BatchFees, pushSettlementLeg } from './settlement-transfers.js';
import { decodeCborStrict, encodeCbor } from '../protocol/cbor.js';

export interface SettlementRun {
  channels: number;
  movedBaseUnits: bigint;
  batches: number;
  durationMs: number;
  payouts: number;
}

const PAYOUT_COUNT_PREFIX = 'po/';
/** About a millisecond of building between turns of the event loop. */
const YIELD_EVERY_CHANNELS = 256;
const YIELD_EVERY_NOTICES = 16;
const MAX_PAYEE_NOTICES_PER_RUN = 256;
const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Settlement (DESIGN §2.4): for every open channel whose durable voucher is ahead of its settled
 * mark, move the difference from escrow to the payee, and the hub fee on it from the payee to
 * hub/fees (one fee transfer per payee per batch), as one atomic commit per batch. The escrow
 * balance is the durable settled mark (records.ts), so a batch writes transfers and nothing
 * else. It reads only what group commit made durable and never re-verifies a signature.
 * Transfer ids derive from (channelId, seq), and a batch's fee ids from its channel transfers,
 * so a batch retried after a crash applies nothing twice.
 */
export class Settlement {
  private running: Promise<SettlementRun> | undefined;
  lastRun: (SettlementRun & { atMs: number }) | undefined;
  readonly history: (SettlementRun & { atMs: number })[] = [];

  constructor(private readonly core: HubCore) {}

  /** Runs a settlement now, or joins the one already running. */
  settle(): Promise<SettlementRun> {
    if (this.running === undefined) {
      this.running = this.core.moneyQueue
        .run(() => this.settleAll())
        .finally(() => {
          this.running = undefined;
        });
    }
    return this.running;
  }

  private async settleAll(): Promise<SettlementRun> {
    const { core } = this;
    const { table } = core;
    const started = performance.now();
    const run: SettlementRun = {
      channels: 0,
      movedBaseUnits: 0n,
      batches: 0,
      durationMs: 0,
      payouts: 0,
    };
    const due: number[] = [];
    // The running total says whether anything is due without a pass over every channel.
    if (table.unsettledBaseUnits > 0n) {
      for (const slot of table.slots()) {
        const moved = table.durableAmount[slot]! > table.settledAmount[slot]!;
        if (table.status[slot] === SlotStatus.Open && moved) due.push(slot);
      }
    }
    /** (payee, asset) pairs that received money, keyed by their interned indexes. */
    const touchedPayees = new Map<number, [payeeId: string, asset: string]>();
    const payeeAccounts = new Map<string, string>();
    const max = core.settings.settleMaxChannelsPerBatch;
    // Two batches in flight: the next is built and staged while LevelDB syncs the previous
    // one (about a fifth of a batch's time), and memory stays bounded by two batches.
    let previous: Promise<void> | undefined;
    let failure: { cause: unknown } | undefined;
    const notices: [slot: number, seq: number, amount: bigint][] = [];
    for (let i = 0; i < due.length && failure === undefined; i += max) {
      const slots = due.slice(i, i + max);
      const batch = await this.buildBatch(slots, payeeAccounts, touchedPayees);
      const { transfers, settledSeqs, settledAmounts, movedBaseUnits } = batch;
      const committed = core.ledger.commit({ transfers }).then(
        () => {
          run.batches++;
          run.channels += slots.length;
          run.movedBaseUnits += movedBaseUnits;
          for (let j = 0; j < slots.length; j++) {
            const slot = slots[j]!;
            table.markSettled(slot, settledAmounts[j]!);
            // Only channels due a notice, and no more than one run sends: a million settled
            // channels must not mean a million entries here.
            if (notices.length < MAX_PAYEE_NOTICES_PER_RUN && this.noticeDue(slot))
              notices.push([slot, settledSeqs[j]!, settledAmounts[j]!]);
          }
        },
        (cause: unknown) => {
          failure ??= { cause };
        },
      );
      await previous;
      previous = committed;
    }
    await previous;
    await this.sendNotices(notices);
    for (const [payeeId, asset] of touchedPayees.values()) core.payoutsDue.add(payeeId, asset);
    // Also after a failed batch: the payees of the batches that did commit are paid.
    const paid = await this.payOut();
    run.payouts = paid.payouts;
    // A failed batch leaves its channels unsettled for the next run; the batches that did
    // commit are marked above. Either way the caller hears of the failure, the batch's first.
    if (failure !== undefined) throw failure.cause;
    if (paid.failure !== undefined) throw paid.failure.cause;
    run.durationMs = performance.now() - started;
    if (run.channels > 0)
      core.observer.settlement(run.channels, run.durationMs / 1000, run.movedBaseUnits);
    core.counters.settlementBatches += run.batches;
    core.counters.settlementChannels += run.channels;
    core.counters.settledBaseUnits += run.movedBaseUnits;
    if (run.channels > 0 || run.payouts > 0) {
      const entry = { ...run, atMs: core.clock.nowMs() };
      this.lastRun = entry;
      this.history.push(entry);
      if (this.history.length > 100) this.history.shift();
      core.logger.debug(
        { channels: run.channels, moved: run.movedBaseUnits.toString(), ms: run.durationMs },
        'settled',
      );
    }
    return run;
  }

  /** The transfers of one batch, and what each channel settles to. */
  private async buildBatch(
    slots: number[],
    payeeAccounts: Map<string, string>,
    touchedPayees: Map<number, [payeeId: string, asset: string]>,
  ): Promise<{
    transfers: TransferInput[];
    settledSeqs: number[];
    settledAmounts: bigint[];
    movedBaseUnits: bigint;
  }> {
    const { table } = this.core;
    const transfers: TransferInput[] = [];
    // What each channel is settled to: group commits may move its durable mark meanwhile.
    const settledSeqs: number[] = [];
    const settledAmounts: bigint[] = [];
    let movedBaseUnits = 0n;
    const fees = new BatchFees();
    for (let j = 0; j < slots.length; j++) {
      // Let vouchers in between: a batch takes milliseconds to build, and every voucher
      // arriving meanwhile would wait for it (the receipt-latency tail).
      if (j > 0 && j % YIELD_EVERY_CHANNELS === 0) await yieldToIo();
      const slot = slots[j]!;
      const idHex = table.channelIdHex(slot);
      const seq = table.durableSeq[slot]!;
      const amount = table.durableAmount[slot]!;
      const split = splitSettlement(
        table.settledAmount[slot]!,
        amount,
        table.feeBasisPoints[slot]!,
      );
      const asset = table.asset(slot);
      const payeeId = table.payeeId(slot);
      const payee = payeeAccounts.get(payeeId) ?? cachePayeeAccount(payeeAccounts, payeeId);
      const legId = pushSettlementLeg(transfers, idHex, seq, split.movedBaseUnits, payee, asset);
      const group = table.payeeOf[slot]! * 256 + table.assetOf[slot]!;
      fees.add(group, payee, asset, split.feeBaseUnits, legId);
      if (!touchedPayees.has(group)) touchedPayees.set(group, [payeeId, asset]);
      settledSeqs.push(seq);
      settledAmounts.push(amount);
      movedBaseUnits += split.movedBaseUnits;
    }
    // After every channel's transfer: the payee holds the money its fee comes out of.
    fees.pushTransfers(transfers);
    return { transfers, settledSeqs, settledAmounts, movedBaseUnits };
  }

  /**
   * Each notice is a signature: they go a few at a time, letting vouchers in between, and at
   * most a few hundred per run, so that notices cost a bounded share of the hub however many
   * channels settle. A channel left out is told at a later settlement or at its close.
   */
  private async sendNotices(notices: [slot: number, seq: number, amount: bigint][]): Promise<void> {
    for (let n = 0; n < notices.length; n++) {
      if (n > 0 && n % YIELD_EVERY_NOTICES === 0) await yieldToIo();
      const [slot, seq, amount] = notices[n]!;
      // No close can free the slot meanwhile: settlement holds the money queue throughout.
      this.notifyPayee(slot, seq, amount);
    }
  }

  /**
   * Whether the channel may have a PayeeNotice now. A signature per channel per settlement
   * would cost more than the settlement: at most one per channel per payeeNoticeEveryMs, and
   * the close always sends the final one. Channels told this run are not due in the next
   * ones, so the next runs' notices go to the channels still waiting.
   */
  private noticeDue(slot: number): boolean {
    const { settings, table } = this.core;
    if (!settings.payeeNotices) return false;
    const nowS = Math.floor(this.core.clock.nowMs() / 1000);
    return nowS - table.lastPayeeNoticeS[slot]! >= settings.payeeNoticeEveryMs / 1000;
  }

  private notifyPayee(slot: number, seq: number, amount: bigint): void {
    const { table } = this.core;
    table.lastPayeeNoticeS[slot] = Math.floor(this.core.clock.nowMs() / 1000);
    const fee = cumulativeFee(amount, table.feeBasisPoints[slot]!);
    this.core.responder.toPayee(table.payeeId(slot), {
      type: MessageType.PayeeNotice,
      payeeId: table.payeeId(slot),
      channelId: table.channelId(slot).slice(),
      asset: table.asset(slot),
      seq,
      settledBaseUnits: amount,
      payeeBaseUnits: amount - fee,
    });
  }

  /**
   * At start: every payee already over the payout threshold is due one (a crash may have come
   * between its settlement and its payout). One pass over the payee accounts.
   */
  async recoverPayoutsDue(): Promise<void> {
    const { core } = this;
    const threshold = core.settings.payoutThresholdBaseUnits;
    if (threshold === undefined) return;
    for (const { account, asset, balanceBaseUnits } of await core.ledger.balances({
      accountPrefix: 'payee/',
    }))
      if (balanceBaseUnits >= threshold) core.payoutsDue.add(account.slice('payee/'.length), asset);
  }

  /**
   * Aggregated payout: a payee whose balance has reached the threshold is paid out in full to
   * external/<rail>. The payout counter is committed with the transfer, so its id is stable
   * across a crash and a retry.
   */
  private async payOut(): Promise<{ payouts: number; failure?: { cause: unknown } }> {
    const threshold = this.core.settings.payoutThresholdBaseUnits;
    if (threshold === undefined) return { payouts: 0 };
    let payouts = 0;
    let failure: { cause: unknown } | undefined;
    // One payee's failing payout does not hold up the others; it stays due for the next run.
    for (const [payeeId, asset] of this.core.payoutsDue.list()) {
      try {
        if (await this.payOutOne(payeeId, asset, threshold)) payouts++;
      } catch (cause) {
        failure ??= { cause };
        this.core.logger.error({ err: cause, payee: payeeId, asset }, 'payout failed');
      }
    }
    return failure === undefined ? { payouts } : { payouts, failure };
  }

  /** Pays one payee out if its balance is at the threshold; whether it did. */
  private async payOutOne(payeeId: string, asset: string, threshold: bigint): Promise<boolean> {
    const { core } = this;
    const balance = await core.ledger.balance(payeeAccount(payeeId), asset);
    if (balance < threshold) {
      core.payoutsDue.delete(payeeId, asset);
      return false;
    }
    const counterKey = `${PAYOUT_COUNT_PREFIX}${payeeId}/${asset}`;
    const count = decodeCount(await core.ledger.record(counterKey));
    await core.ledger.commit({
      transfers: [
        {
          id: payoutTransferId(payeeId, asset, count + 1),
          debitAccount: payeeAccount(payeeId),
          creditAccount: externalAccount(core.settings.payoutRail),
          asset,
          amountBaseUnits: balance,
          code: TransferCode.Payout,
          reference: `payout ${count + 1} to ${payeeId}`,
        },
      ],
      records: [{ key: counterKey, value: encodeCbor(count + 1) }],
    });
    core.payoutsDue.delete(payeeId, asset);
    core.counters.payouts++;
    core.logger.info({ payee: payeeId, asset, amount: balance.toString() }, 'payout recorded');
    return true;
  }
}

function cachePayeeAccount(cache: Map<string, string>, payeeId: string): string {
  const account = payeeAccount(payeeId);
  cache.set(payeeId, account);
  return account;
}

function decodeCount(value: Uint8Array | undefined): number {
  if (value === undefined) return 0;
  const decoded = decodeCborStrict(value, 16);
  if (!decoded.ok || typeof decoded.value !== 'number')
    throw new FarthingError('LEDGER_UNAVAILABLE', 'unreadable payout counter');
  return decoded.value;
}
