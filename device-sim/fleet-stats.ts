import { BoundedList, LatencyReservoir, Tally } from './stats.js';

/** Counters shared by every simulated device of one fleet run (single-threaded: plain fields). */
export class FleetStats {
  devicesConnected = 0;
  channelsOpened = 0;
  channelsOpen = 0;
  channelsClosed = 0;
  vouchersSent = 0;
  vouchersAcked = 0;
  topUps = 0;
  /** Ticks with no usage (an idle EV charger). */
  ticksIdle = 0;
  /** Ticks skipped because the channel was full and a top-up was still on its way. */
  ticksDeferred = 0;
  /** Hub messages that failed to decode or verify at a device ('invalid' events). */
  invalidFromHub = 0;
  /** Final refusals seen by honest devices, by status name. */
  readonly refused = new Tally();
  /** Retryable answers (HUB_BUSY, RATE_LIMITED, HUB_FAILURE) that the SDK re-sent past. */
  readonly retried = new Tally();
  readonly errors = new BoundedList<string>(20);
  readonly latency: LatencyReservoir;
  /** Latencies since the last progress report (bounded), for a live p99. */
  recentLatencies: number[] = [];
  firstSendMs: number | undefined;
  lastAckMs: number | undefined;

  constructor(seed: number) {
    this.latency = new LatencyReservoir(200_000, seed);
  }

  ackLatency(ms: number, nowMs: number): void {
    this.vouchersAcked++;
    this.latency.add(ms);
    if (this.recentLatencies.length < 50_000) this.recentLatencies.push(ms);
    this.lastAckMs = nowMs;
  }

  takeRecent(): number[] {
    const recent = this.recentLatencies;
    this.recentLatencies = [];
    return recent;
  }

  error(message: string): void {
    this.errors.push(message);
  }
}
