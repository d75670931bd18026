import type { CryptoPath } from '../src/crypto/keys.js';
import { Device, generateKeyPair, type DeviceChannel, type Price } from '../src/device/index.js';
import { isFarthingError } from '../src/errors.js';
import {
  Status,
  statusName,
  type CloseReceipt,
  type Receipt,
  type Rejection,
} from '../src/protocol/index.js';
import type { BrokerLink } from '../src/transport/index.js';
import { connectDeviceLink, type BrokerAuth } from './connect.js';
import type { FleetStats } from './fleet-stats.js';
import { checkCloseReceipt, checkReceipt, type ChannelTotals } from './reconcile.js';
import type { Scenario } from './scenarios.js';
import { sleep, untilSecondAfter, withTimeout } from './timing.js';

/** Answers after which the SDK sends the same thing again: not a refusal, a "later". */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([
  Status.HUB_BUSY,
  Status.HUB_FAILURE,
  Status.RATE_LIMITED,
]);

export interface SimDeviceConfig {
  index: number;
  brokerUrl: string;
  hubKey: Uint8Array;
  auth: BrokerAuth;
  cryptoPath: CryptoPath;
  scenario: Scenario;
  price: Price;
  payeeId: string;
  asset: string;
  capacityBaseUnits: bigint;
  lifetimeS: number;
  /** Ticks of payments to keep in reserve: top up when fewer would fit. */
  lookaheadTicks: number;
  resendMs: number;
  requestTimeoutMs: number;
  stats: FleetStats;
  /** Wall clock (the hub's receipt rate limit is per wall-clock second). */
  nowMs: () => number;
  /** Monotonic clock with sub-millisecond resolution, for latencies. */
  monoMs: () => number;
}

/**
 * One honest simulated device: a real Device with its own MQTT connection and one channel,
 * paying on a timer with usage from its scenario. It times every voucher from the moment it
 * is handed to the broker until an Ack, Receipt or CloseReceipt covers its seq.
 */
export class SimDevice {
  device: Device | undefined;
  channel: DeviceChannel | undefined;
  private link: BrokerLink | undefined;
  /** Sent and not yet acknowledged: seqs (increasing) and their send times, from `head`. */
  private readonly sentSeqs: number[] = [];
  private readonly sentAtMs: number[] = [];
  private head = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private startTimer: ReturnType<typeof setTimeout> | undefined;
  private busy = false;
  private stopped = false;
  private topUp: Promise<void> | undefined;
  private topUpsRefused = false;
  /** Every capacity this device asked for: the opening one and each top-up's target. */
  readonly requestedCapacities = new Set<bigint>();
  private lastReceiptAtMs = 0;
  /** Usage carried over from ticks that could not be paid (channel full). */
  private carriedUsage = 0n;

  constructor(private readonly config: SimDeviceConfig) {}

  get label(): string {
    return `device ${this.config.index} (${this.device?.deviceId.slice(0, 8) ?? 'unconnected'})`;
  }

  /** Connects to the broker and creates the Device (throws BROKER_UNREACHABLE). */
  async connect(): Promise<void> {
    const { config } = this;
    const keyPair = generateKeyPair();
    this.link = await connectDeviceLink({
      brokerUrl: config.brokerUrl,
      hubKey: config.hubKey,
      keyPair,
      auth: config.auth,
    });
    try {
      this.device = await Device.create({
        keyPair,
        hubKey: config.hubKey,
        link: this.link,
        cryptoPath: config.cryptoPath,
        resendMs: config.resendMs,
        timeoutMs: config.requestTimeoutMs,
      });
    } catch (error) {
      await this.link.close();
      throw error;
    }
    this.device.on('invalid', (reason) => {
      config.stats.invalidFromHub++;
      config.stats.error(`${this.label}: invalid message from the hub: ${reason}`);
    });
    config.stats.devicesConnected++;
  }

  /** Opens the channel; a refusal is counted (by status) and rethrown. */
  async open(): Promise<void> {
    const { config } = this;
    const device = this.device!;
    try {
      this.requestedCapacities.add(config.capacityBaseUnits);
      this.channel = await device.open({
        payeeId: config.payeeId,
        asset: config.asset,
        capacityBaseUnits: config.capacityBaseUnits,
        lifetimeS: config.lifetimeS,
        price: config.price,
      });
    } catch (error) {
      const status = (error as { statusName?: unknown }).statusName;
      if (typeof status === 'string') config.stats.refused.add(status);
      throw error;
    }
    config.stats.channelsOpened++;
    config.stats.channelsOpen++;
    const channel = this.channel;
    channel.on('ack', (ack) => this.acknowledged(ack.seq));
    channel.on('receipt', (receipt) => {
      this.lastReceiptAtMs = config.nowMs();
      this.acknowledged(receipt.seq);
    });
    channel.on('closed', (receipt) => this.acknowledged(receipt.seq));
    channel.on('rejection', (rejection) => this.rejected(rejection));
  }

  private acknowledged(seq: number): void {
    const { stats, monoMs } = this.config;
    const now = monoMs();
    while (this.head < this.sentSeqs.length && this.sentSeqs[this.head]! <= seq) {
      stats.ackLatency(now - this.sentAtMs[this.head]!, now);
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.sentSeqs.length) {
      this.sentSeqs.splice(0, this.head);
      this.sentAtMs.splice(0, this.head);
      this.head = 0;
    }
  }

  private rejected(rejection: Rejection): void {
    const name = statusName(rejection.status) ?? `status ${rejection.status}`;
    if (RETRYABLE_STATUSES.has(rejection.status)) this.config.stats.retried.add(name);
    else this.config.stats.refused.add(name);
  }

  /** Starts paying every `intervalMs`, the first tick after `offsetMs` (spreads the fleet). */
  start(intervalMs: number, offsetMs: number): void {
    if (this.channel === undefined) return;
    this.startTimer = setTimeout(() => {
      this.startTimer = undefined;
      if (this.stopped) return;
      void this.tick();
      this.timer = setInterval(() => void this.tick(), intervalMs);
    }, offsetMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.startTimer !== undefined) clearTimeout(this.startTimer);
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    const channel = this.channel;
    if (this.busy || this.stopped || channel === undefined || channel.status !== 'open') return;
    this.busy = true;
    const { config } = this;
    const { stats } = config;
    try {
      const usage = config.scenario.next() + this.carriedUsage;
      this.carriedUsage = 0n;
      if (usage === 0n) {
        stats.ticksIdle++;
        return;
      }
      const step = this.nextPayment(channel, usage);
      const increment = step.owed - channel.amountBaseUnits;
      if (step.owed + increment * BigInt(config.lookaheadTicks) > channel.capacityBaseUnits)
        this.ensureTopUp(channel, step.owed, increment);
      if (step.owed > channel.capacityBaseUnits) {
        // Full until the top-up lands: keep the usage owed for the next tick.
        this.carriedUsage = usage;
        stats.ticksDeferred++;
        return;
      }
      const sent =
        step.usage === undefined ? await channel.payBaseUnits(1n) : await channel.pay(step.usage);
      if (sent === undefined) return;
      const now = config.monoMs();
      stats.firstSendMs ??= now;
      stats.vouchersSent++;
      this.sentSeqs.push(sent.seq);
      this.sentAtMs.push(now);
    } catch (error) {
      if (!this.stopped) stats.error(`${this.label}: payment failed: ${describe(error)}`);
    } finally {
      this.busy = false;
    }
  }

  /**
   * The usage to pay this tick so that the cumulative amount advances by at least one base
   * unit (every tick is a voucher), and the amount it makes owed. A price of zero cannot
   * advance by usage: then one base unit is paid directly (usage undefined).
   */
  private nextPayment(
    channel: DeviceChannel,
    usage: bigint,
  ): { usage: bigint | undefined; owed: bigint } {
    const { price } = this.config;
    const current = channel.amountBaseUnits;
    if (price.baseUnits === 0n) return { usage: undefined, owed: current + 1n };
    // Smallest total usage U with floor(U × b / p) ≥ current + 1: U = ceil((current + 1) p / b).
    const needed = ((current + 1n) * price.perUnits + price.baseUnits - 1n) / price.baseUnits;
    const pay = channel.usageUnits + usage >= needed ? usage : needed - channel.usageUnits;
    // What the SDK will owe after this usage (its price rule: floor(usage × b / p)).
    return { usage: pay, owed: ((channel.usageUnits + pay) * price.baseUnits) / price.perUnits };
  }

  /** Raises the capacity ahead of need, one top-up at a time. */
  private ensureTopUp(channel: DeviceChannel, owed: bigint, increment: bigint): void {
    if (this.topUp !== undefined || this.topUpsRefused) return;
    const { config } = this;
    const reserve = increment * BigInt(config.lookaheadTicks) * 2n;
    const step = config.capacityBaseUnits > reserve ? config.capacityBaseUnits : reserve;
    let target = channel.capacityBaseUnits + step;
    if (target < owed + reserve) target = owed + reserve;
    // Signed from here on: the hub may apply it even if its answer never arrives.
    this.requestedCapacities.add(target);
    this.topUp = channel
      .topUp(target)
      .then(() => {
        config.stats.topUps++;
      })
      .catch((error: unknown) => {
        // A refusal is already counted from the rejection event; stop asking.
        if (isFarthingError(error, 'REQUEST_REFUSED')) this.topUpsRefused = true;
        if (!this.stopped || !isFarthingError(error, 'DEVICE_NOT_CONNECTED'))
          config.stats.error(`${this.label}: top-up to ${target} failed: ${describe(error)}`);
      })
      .finally(() => {
        this.topUp = undefined;
      });
  }

  /** Waits (until `deadlineMs`) for the hub to acknowledge the newest voucher and any top-up. */
  async drain(deadlineMs: number): Promise<boolean> {
    const channel = this.channel;
    if (channel === undefined) return true;
    const left = (): number => Math.max(0, deadlineMs - this.config.nowMs());
    if (this.topUp !== undefined) await withTimeout(this.topUp, left());
    if (channel.seq === 0 || channel.ackedSeq >= channel.seq) return true;
    const acked = await withTimeout(
      channel.whenAcked(channel.seq).then(
        () => true,
        () => false,
      ),
      left(),
    );
    return acked === true;
  }

  /** Unacknowledged vouchers (sent, never covered by an acknowledgement). */
  get outstanding(): number {
    return this.sentSeqs.length - this.head;
  }

  /**
   * Asks for a hub-signed Receipt and checks it against the device: receipted amount = acked
   * amount = the newest voucher's amount. The hub signs at most one receipt per channel per
   * second (RATE_LIMITED otherwise), so the request waits for the next second when a signed
   * receipt has just arrived.
   */
  async reconcileReceipt(totals: ChannelTotals, mismatch: (text: string) => void): Promise<void> {
    const channel = this.channel;
    if (channel === undefined || channel.status !== 'open') return;
    const { config } = this;
    await untilSecondAfter(this.lastReceiptAtMs, config.nowMs);
    let receipt: Receipt | undefined;
    try {
      receipt = await channel.requestReceipt();
    } catch (error) {
      mismatch(`${this.label}: no signed receipt: ${describe(error)}`);
      return;
    }
    checkReceipt(this.label, channel, receipt, totals, mismatch, this.requestedCapacities);
  }

  /** Closes the channel and checks the hub's CloseReceipt. */
  async close(totals: ChannelTotals, mismatch: (text: string) => void): Promise<void> {
    const channel = this.channel;
    if (channel === undefined) return;
    let receipt: CloseReceipt;
    try {
      receipt = await channel.close();
    } catch (error) {
      mismatch(`${this.label}: close failed: ${describe(error)}`);
      return;
    }
    this.config.stats.channelsOpen--;
    this.config.stats.channelsClosed++;
    checkCloseReceipt(this.label, channel, receipt, totals, mismatch, this.requestedCapacities);
  }

  async shutdown(): Promise<void> {
    this.stop();
    if (this.device !== undefined) await this.device.shutdown();
    else if (this.link !== undefined) await this.link.close();
    // Give mqtt.js a turn to release its socket before the next device closes.
    await sleep(0);
  }
}

export function describe(error: unknown): string {
  if (isFarthingError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
