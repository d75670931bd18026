import { deviceAccount, externalAccount } from '../ledger/accounts.js';
import { TransferCode, type CommitResult, type Ledger } from '../ledger/types.js';
import { decodeMessage } from '../protocol/codec.js';
import { decodeVoucherFast } from '../protocol/voucher-fast.js';
import { Limits } from '../protocol/limits.js';
import { CloseReason, MessageType, type CloseReasonNumber } from '../protocol/messages.js';
import { Status } from '../protocol/status.js';
import { keyFromId, keyId, upWildcard } from '../protocol/topics.js';
import type { KeyPair } from '../crypto/keys.js';
import { signerFor } from '../crypto/keys.js';
import { FarthingError } from '../errors.js';
import { ChannelTable } from './channel-table.js';
import { HubCounters, silentObserver, type HubObserver } from './counters.js';
import type { HubCore } from './core.js';
import { GroupCommitter } from './group-commit.js';
import { Lifecycle, type CloseOutcome } from './lifecycle.js';
import { depositTransferId } from './ids.js';
import {
  systemClock,
  silentLogger,
  type BrokerPort,
  type Clock,
  type HubLogger,
  type SignatureVerifier,
} from './ports.js';
import { PayoutsDue } from './payouts-due.js';
import { reloadOpenChannels } from './recovery.js';
import { refuseChannelMessage, UnknownChannelLookups } from './refusals.js';
import { Responder } from './responder.js';
import { SerialQueue } from './serial-queue.js';
import { Settlement, type SettlementRun } from './settlement.js';
import type { HubSettings } from './settings.js';
import { resolveHubSettings } from './settings-check.js';
import { VoucherIntake } from './voucher-intake.js';
import { InlineVerifier } from './inline-verifier.js';

export interface HubOptions {
  keyPair: KeyPair;
  ledger: Ledger;
  broker: BrokerPort;
  settings?: Partial<HubSettings>;
  verifier?: SignatureVerifier;
  clock?: Clock;
  logger?: HubLogger;
  /** Receives timings for metrics histograms. */
  observer?: HubObserver;
  /** Expected number of open channels, to size the table once. */
  initialChannelSlots?: number;
}

/** An operator deposit (admin API): money entering a device's prepaid account. */
export interface DepositInput {
  /**
   * The client's deposit id, 32 lower-case hex characters; the same id again is an idempotent
   * retry. The ledger transfer's own id is derived from it (depositTransferId).
   */
  id: string;
  deviceId: string;
  asset: string;
  amountBaseUnits: bigint;
  reference: string;
  /** The external account the money comes from: external/<rail>. */
  rail: string;
}

export interface HubStats {
  openChannels: number;
  /** Escrow still held by open channels: capacity − settled, summed. */
  escrowOutstandingBaseUnits: bigint;
  /** Durable voucher value not yet settled. */
  unsettledBaseUnits: bigint;
  /** Accepted voucher value in open channels (settled or not). */
  acceptedOpenBaseUnits: bigint;
  pendingVerifications: number;
  stagedVouchers: number;
  lastGroupCommit: { size: number; ms: number };
  uptimeS: number;
}

/**
 * The hub: takes device messages from the broker, keeps channels in memory, makes vouchers
 * durable in group commits, answers with receipts, settles on a timer and closes channels.
 */
export class Hub {
  readonly hubId: string;
  readonly counters = new HubCounters();
  readonly settings: HubSettings;
  private readonly core: HubCore;
  private readonly intake: VoucherIntake;
  readonly lifecycle: Lifecycle;
  readonly settlement: Settlement;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  readonly startedAtMs: number;
  private readonly upPrefix: string;
  private settlingForThreshold = false;

  constructor(private readonly options: HubOptions) {
    this.settings = resolveHubSettings(options.settings);
    const hubKey = options.keyPair.publicKey;
    this.hubId = keyId(hubKey);
    this.upPrefix = upWildcard(this.hubId).slice(0, -1);
    const sign = signerFor(options.keyPair, 'node');
    const logger = options.logger ?? silentLogger;
    const clock = options.clock ?? systemClock;
    this.startedAtMs = clock.nowMs();
    const responder = new Responder(this.hubId, options.broker, sign, logger);
    const committer = new GroupCommitter(
      options.ledger,
      {
        intervalMs: this.settings.groupCommitIntervalMs,
        maxVouchers: this.settings.groupCommitMaxVouchers,
      },
      (batch, commitMs) => this.onDurable(batch, commitMs),
      () => this.counters.groupCommitFailures++,
      logger,
    );
    this.core = {
      hubKey,
      hubId: this.hubId,
      sign,
      settings: this.settings,
      table: new ChannelTable(options.initialChannelSlots ?? 1024),
      ledger: options.ledger,
      verifier: options.verifier ?? new InlineVerifier(),
      responder,
      counters: this.counters,
      observer: options.observer ?? silentObserver,
      committer,
      moneyQueue: new SerialQueue(),
      unknownLookups: new UnknownChannelLookups({ ledger: options.ledger }),
      payoutsDue: new PayoutsDue(this.settings.payoutThresholdBaseUnits !== undefined),
      clock,
      logger,
    };
    this.intake = new VoucherIntake(this.core);
    this.lifecycle = new Lifecycle(this.core, (key) => this.intake.whenIdle(key));
    this.settlement = new Settlement(this.core);
  }

  get hubKey(): Uint8Array {
    return this.core.hubKey;
  }

  get table(): ChannelTable {
    return this.core.table;
  }

  get ledger(): Ledger {
    return this.core.ledger;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  get pendingVerifications(): number {
    return this.intake.pending;
  }

  /** Whether the broker link is up (the embedded broker's in-process link always is). */
  get brokerConnected(): boolean {
    return this.options.broker.connected;
  }

  /** A consistent read of the in-memory figures, for the admin API, metrics and the dashboard. */
  stats(): HubStats {
    const { table } = this.core;
    return {
      openChannels: table.size,
      escrowOutstandingBaseUnits: table.escrowOutstandingBaseUnits,
      unsettledBaseUnits: table.unsettledBaseUnits,
      acceptedOpenBaseUnits: table.acceptedBaseUnits,
      pendingVerifications: this.intake.pending,
      stagedVouchers: this.core.committer.stagedCount,
      lastGroupCommit: this.lastGroupCommit,
      uptimeS: (this.core.clock.nowMs() - this.startedAtMs) / 1000,
    };
  }

  get lastGroupCommit(): { size: number; ms: number } {
    return { size: this.core.committer.lastCommitSize, ms: this.core.committer.lastCommitMs };
  }

  /** Reloads open channels, closes the ones that expired while down, then starts serving. */
  async start(): Promise<{ reloadedChannels: number; expiredOnStart: number }> {
    if (this.state !== 'new') throw new FarthingError('HUB_STOPPED', 'a hub starts once');
    const reloadedChannels = await reloadOpenChannels(this.core);
    await this.settlement.recoverPayoutsDue();
    this.state = 'running';
    this.options.broker.onMessage((topic, payload) => this.handle(topic, payload));
    // QoS 0 from the broker to the hub: no PUBACK round per voucher. Nothing is lost that
    // matters: a device re-sends its newest voucher until the hub acknowledges it.
    await this.options.broker.subscribe(upWildcard(this.hubId), 0);
    const expiredOnStart = await this.lifecycle.expireDue();
    this.every(this.settings.settleIntervalMs, () => this.settlement.settle());
    this.every(this.settings.expiryCheckIntervalMs, () => this.lifecycle.expireDue());
    this.core.logger.info({ hubId: this.hubId, reloadedChannels, expiredOnStart }, 'hub started');
    return { reloadedChannels, expiredOnStart };
  }

  /**
   * Graceful stop: take no new input, finish signature checks under way, make every accepted
   * voucher durable and send its receipt, run a last settlement.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    for (const timer of this.timers) clearInterval(timer);
    while (this.inFlight.size > 0 || this.intake.pending > 0) {
      await Promise.allSettled([...this.inFlight]);
      if (this.intake.pending > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await this.core.committer.flush();
    this.core.committer.stop();
    await this.settlement
      .settle()
      .catch((error: unknown) => this.core.logger.error({ err: error }, 'final settlement failed'));
    await this.core.moneyQueue.drain();
    await this.core.verifier.close();
    this.state = 'stopped';
    this.core.logger.info({ hubId: this.hubId }, 'hub stopped');
  }

  private readonly deviceKeys = new Map<string, Uint8Array>();

  /**
   * The device key a topic names, decoded once per device rather than per message (base64url
   * decoding was ~3% of the hub's main thread at saturation). Bounded: cleared when full.
   */
  private deviceKeyOf(deviceId: string): Uint8Array | undefined {
    let key = this.deviceKeys.get(deviceId);
    if (key === undefined) {
      key = keyFromId(deviceId);
      if (key === undefined) return undefined;
      if (this.deviceKeys.size >= 65_536) this.deviceKeys.clear();
      this.deviceKeys.set(deviceId, key);
    }
    return key;
  }

  /** Entry point for every MQTT message on the hub's `up/+` subscription. */
  handle(topic: string, payload: Uint8Array): void {
    if (this.state !== 'running') return;
    // farthing/v1/<hubId>/up/<deviceId>: the subscription guarantees the prefix on a conforming
    // broker; check it anyway, then the device id must be exactly a canonical 32-byte key.
    if (!topic.startsWith(this.upPrefix)) return this.counters.dropped('topic');
    const deviceKey = this.deviceKeyOf(topic.slice(this.upPrefix.length));
    if (deviceKey === undefined) return this.counters.dropped('device-id');
    // Most traffic is vouchers: read their one valid shape directly (anything else, including
    // every malformed voucher, goes through the general strict decoder below).
    const fast = decodeVoucherFast(payload);
    if (fast !== undefined) return this.intake.offer(deviceKey, fast.voucher, fast, payload);
    const decoded = decodeMessage(payload, 'up', Limits.maxUpMessageBytes);
    if (!decoded.ok) {
      // Without a parsed message there is no channel or nonce to answer about.
      this.counters.refused(decoded.status);
      return this.counters.dropped(`decode:${decoded.status}`);
    }
    const { message, signed } = decoded;
    switch (message.type) {
      case MessageType.Voucher:
        return this.intake.offer(deviceKey, message, signed!, payload);
      case MessageType.OpenRequest:
        return this.track(this.lifecycle.open(deviceKey, message, signed!));
      case MessageType.TopUp:
        return this.track(this.lifecycle.topUp(deviceKey, message, signed!));
      case MessageType.CloseRequest:
        return this.track(this.lifecycle.closeByDevice(deviceKey, message, signed!));
      case MessageType.ReceiptRequest:
        return this.receiptRequested(deviceKey, message.channelId);
      default:
        return this.counters.dropped('type');
    }
  }

  private receiptRequested(deviceKey: Uint8Array, channelId: Uint8Array): void {
    const { table } = this.core;
    const key = ChannelTable.keyOf(channelId);
    const slot = table.slotOfKey(key);
    const reject = (status: number): void =>
      refuseChannelMessage(this.core, deviceKey, channelId, MessageType.ReceiptRequest, 0, status);
    if (slot === undefined) {
      return this.track(this.lifecycle.unknownStatus(channelId).then(reject));
    }
    if (!table.isDeviceKey(slot, deviceKey)) return reject(Status.CHANNEL_NOT_OWNED);
    if (this.core.committer.isPending(key)) {
      this.intake.receiptRequested.add(key);
      return;
    }
    const nowS = Math.floor(this.core.clock.nowMs() / 1000);
    if (table.lastSignedReceiptS[slot] === nowS) return reject(Status.RATE_LIMITED);
    table.lastSignedReceiptS[slot] = nowS;
    table.acksSinceSigned[slot] = 0;
    this.counters.receiptsSigned++;
    this.core.responder.toDevice(deviceKey, {
      type: MessageType.Receipt,
      channelId,
      seq: table.durableSeq[slot]!,
      amountBaseUnits: table.durableAmount[slot]!,
      capacityBaseUnits: table.capacityBaseUnits[slot]!,
    });
  }

  private onDurable(batch: Parameters<VoucherIntake['acknowledge']>[0], commitMs: number): void {
    this.core.observer.groupCommit(batch.length, commitMs / 1000);
    this.counters.groupCommits++;
    this.counters.groupCommitVouchers += batch.length;
    this.intake.acknowledge(batch);
    if (
      !this.settlingForThreshold &&
      this.core.table.unsettledBaseUnits >= this.settings.settleThresholdBaseUnits
    ) {
      this.settlingForThreshold = true;
      void this.settlement
        .settle()
        .catch((error: unknown) => this.core.logger.error({ err: error }, 'settlement failed'))
        .finally(() => (this.settlingForThreshold = false));
    }
  }

  /** Operator close (admin API / CLI). */
  closeChannel(
    channelId: Uint8Array,
    reason: CloseReasonNumber = CloseReason.Operator,
  ): Promise<CloseOutcome> {
    return this.lifecycle.close(channelId, reason);
  }

  settleNow(): Promise<SettlementRun> {
    return this.settlement.settle();
  }

  /**
   * Credits device/<id> from external/<rail> in one ledger commit, serialized with opens,
   * top-ups, closes and settlements on the money queue. Idempotent by `id`; the same id with
   * other fields fails with LEDGER_ID_CONFLICT.
   */
  deposit(input: DepositInput): Promise<CommitResult> {
    if (this.state !== 'running') {
      return Promise.reject(new FarthingError('HUB_STOPPED', 'the hub is not running'));
    }
    return this.core.moneyQueue.run(() =>
      this.core.ledger.commit({
        transfers: [
          {
            id: depositTransferId(input.id),
            debitAccount: externalAccount(input.rail),
            creditAccount: deviceAccount(input.deviceId),
            asset: input.asset,
            amountBaseUnits: input.amountBaseUnits,
            code: TransferCode.Deposit,
            reference: input.reference,
          },
        ],
      }),
    );
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) =>
      this.core.logger.error({ err: error }, 'request failed'),
    );
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  private every(intervalMs: number, task: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || this.state !== 'running') return;
      busy = true;
      task()
        .catch((error: unknown) => this.core.logger.error({ err: error }, 'scheduled task failed'))
        .finally(() => (busy = false));
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }
}
