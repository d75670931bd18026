import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { statusName } from '../protocol/status.js';
import type { HubCounters, HubObserver } from './counters.js';
import type { Hub, HubStats } from './hub.js';

/**
 * Prometheus metrics for one hub, in a registry of its own (several hubs in one process, as in
 * tests, never share series). Counters and gauges read hub.counters and hub.stats() when
 * scraped (collect callbacks), so the hot path pays nothing for them; histograms are fed as
 * things happen through the HubObserver hook (pass `observer` in HubOptions).
 *
 * Names are `farthing_…` with the unit last (`_seconds`, `_base_units`, `_total`). Amounts are
 * base units of the channel's asset, summed over all assets.
 *
 * Precision: Prometheus samples are float64. An amount above 2^53 base units (about 9e15;
 * 9 million USD at scale 9) is exported rounded to the nearest representable value. The
 * ledger and the admin API (decimal strings) are exact; metrics are for graphs and alerts.
 */

/** Refusal and connection statistics of the embedded broker (src/transport/embedded-broker.ts). */
export interface BrokerStatsSource {
  connectsAccepted: number;
  connectsRefused: Record<string, number>;
  publishesRefused: Record<string, number>;
  subscribesRefused: Record<string, number>;
  framesRefused: Record<string, number>;
}

export interface MetricsSource {
  hub: Hub;
  /** The embedded broker's stats; absent with an external broker. */
  brokerStats?: () => BrokerStatsSource;
}

const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536];

export class HubMetrics {
  readonly registry = new Registry();
  readonly observer: HubObserver;
  private source: MetricsSource | undefined;
  /** hub.stats() taken once at the start of a scrape, shared by every gauge of that scrape. */
  private scrapeStats: HubStats | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const verifySeconds = new Histogram({
      name: 'farthing_verify_batch_seconds',
      help: 'Time to verify one batch of voucher signatures',
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    const verifySize = new Histogram({
      name: 'farthing_verify_batch_size',
      help: 'Signatures per verification batch',
      buckets: SIZE_BUCKETS,
      registers,
    });
    const commitSeconds = new Histogram({
      name: 'farthing_group_commit_seconds',
      help: 'Time to write one group commit of vouchers durably',
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    const commitSize = new Histogram({
      name: 'farthing_group_commit_size',
      help: 'Vouchers (one per channel) per group commit',
      buckets: SIZE_BUCKETS,
      registers,
    });
    const settleSeconds = new Histogram({
      name: 'farthing_settlement_seconds',
      help: 'Duration of a settlement run that moved money',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const settleSize = new Histogram({
      name: 'farthing_settlement_channels',
      help: 'Channels settled per settlement run',
      buckets: [1, 10, 100, 1000, 10_000, 100_000, 1_000_000],
      registers,
    });
    const receiptLatency = new Histogram({
      name: 'farthing_receipt_latency_seconds',
      help: "From a voucher's arrival to its acknowledgement being handed to the broker",
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.observer = {
      verifyBatch(size, seconds) {
        verifySize.observe(size);
        verifySeconds.observe(seconds);
      },
      groupCommit(size, seconds) {
        commitSize.observe(size);
        commitSeconds.observe(seconds);
      },
      settlement(channels, seconds) {
        settleSize.observe(channels);
        settleSeconds.observe(seconds);
      },
      receiptLatency(seconds) {
        receiptLatency.observe(seconds);
      },
    };
    this.defineCounters();
    this.defineGauges();
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Binds the hub (and the embedded broker's stats) that the scrape-time metrics read. */
  attach(source: MetricsSource): void {
    if (this.source !== undefined) throw new RangeError('metrics are already attached to a hub');
    this.source = source;
    if (source.brokerStats !== undefined) this.defineBrokerMetrics(source.brokerStats);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    // One scrape reads many gauges: one read of the stats, so that they agree with each other.
    this.scrapeStats = this.source?.hub.stats();
    try {
      return await this.registry.metrics();
    } finally {
      this.scrapeStats = undefined;
    }
  }

  private stats(): HubStats | undefined {
    return this.scrapeStats ?? this.source?.hub.stats();
  }

  private defineCounters(): void {
    const registers = [this.registry];
    const counters = (): HubCounters | undefined => this.source?.hub.counters;
    const plain: [name: string, help: string, read: (c: HubCounters) => number | bigint][] = [
      ['farthing_vouchers_received_total', 'Vouchers received', (c) => c.vouchersReceived],
      [
        'farthing_vouchers_accepted_total',
        'Vouchers verified and accepted',
        (c) => c.vouchersAccepted,
      ],
      [
        'farthing_vouchers_duplicate_total',
        'Vouchers equal to the newest one (ignored)',
        (c) => c.vouchersDuplicate,
      ],
      [
        'farthing_vouchers_stale_total',
        'Vouchers older than the newest one (ignored)',
        (c) => c.vouchersStale,
      ],
      [
        'farthing_vouchers_coalesced_total',
        'Vouchers superseded in the same batch before their signature check',
        (c) => c.vouchersCoalesced,
      ],
      ['farthing_receipts_signed_total', 'Hub-signed Receipts sent', (c) => c.receiptsSigned],
      ['farthing_acks_sent_total', 'Plain acknowledgements sent', (c) => c.acksSent],
      ['farthing_channel_opens_total', 'Channels opened', (c) => c.opensAccepted],
      ['farthing_channel_top_ups_total', 'Channel top-ups accepted', (c) => c.topUpsAccepted],
      [
        'farthing_channel_closes_total',
        'Channels closed (cooperative, operator or expiry)',
        (c) => c.channelsClosed,
      ],
      ['farthing_group_commits_total', 'Group commits written', (c) => c.groupCommits],
      [
        'farthing_group_commit_vouchers_total',
        'Vouchers written by group commits',
        (c) => c.groupCommitVouchers,
      ],
      [
        'farthing_group_commit_failures_total',
        'Group commits that failed (retried)',
        (c) => c.groupCommitFailures,
      ],
      ['farthing_settlement_batches_total', 'Settlement commits', (c) => c.settlementBatches],
      [
        'farthing_settlement_channels_total',
        'Channel settlements (one per channel per run)',
        (c) => c.settlementChannels,
      ],
      [
        'farthing_settled_base_units_total',
        'Base units moved from escrow to payees and fees (float64: see precision note)',
        (c) => c.settledBaseUnits,
      ],
      ['farthing_payouts_total', 'Payout transfers recorded', (c) => c.payouts],
    ];
    for (const [name, help, read] of plain) {
      new Counter({
        name,
        help,
        registers,
        collect() {
          const c = counters();
          this.reset();
          this.inc(c === undefined ? 0 : Number(read(c)));
        },
      });
    }
    new Counter({
      name: 'farthing_refused_total',
      help: 'Requests refused with a catalogue status (vouchers, opens, top-ups, closes, receipt requests), by status name',
      labelNames: ['status'],
      registers,
      collect() {
        this.reset();
        for (const [code, count] of counters()?.refusedByStatus ?? [])
          this.inc({ status: statusName(code) ?? String(code) }, count);
      },
    });
    new Counter({
      name: 'farthing_dropped_total',
      help: 'Input dropped without an answer, by reason',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of counters()?.droppedByReason ?? [])
          this.inc({ reason }, count);
      },
    });
  }

  private defineGauges(): void {
    const registers = [this.registry];
    const gauges: [name: string, help: string, read: (s: HubStats) => number | bigint][] = [
      ['farthing_open_channels', 'Open channels in memory', (s) => s.openChannels],
      [
        'farthing_escrow_outstanding_base_units',
        'Escrow held by open channels: capacity minus settled',
        (s) => s.escrowOutstandingBaseUnits,
      ],
      [
        'farthing_unsettled_base_units',
        'Durable voucher value not yet settled',
        (s) => s.unsettledBaseUnits,
      ],
      [
        'farthing_accepted_open_base_units',
        'Accepted voucher value in open channels',
        (s) => s.acceptedOpenBaseUnits,
      ],
      [
        'farthing_pending_verifications',
        'Vouchers waiting for a signature check',
        (s) => s.pendingVerifications,
      ],
      [
        'farthing_staged_vouchers',
        'Verified vouchers waiting for their group commit',
        (s) => s.stagedVouchers,
      ],
      ['farthing_uptime_seconds', 'Seconds since the hub started', (s) => s.uptimeS],
    ];
    const stats = (): HubStats | undefined => this.stats();
    for (const [name, help, read] of gauges) {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = stats();
          this.set(s === undefined ? 0 : Number(read(s)));
        },
      });
    }
    const source = (): MetricsSource | undefined => this.source;
    new Gauge({
      name: 'farthing_broker_connected',
      help: '1 while the hub is connected to its MQTT broker',
      registers,
      collect() {
        this.set(source()?.hub.brokerConnected === true ? 1 : 0);
      },
    });
    new Gauge({
      name: 'farthing_hub_running',
      help: '1 while the hub is running',
      registers,
      collect() {
        this.set(source()?.hub.running === true ? 1 : 0);
      },
    });
  }

  private defineBrokerMetrics(read: () => BrokerStatsSource): void {
    const registers = [this.registry];
    new Counter({
      name: 'farthing_broker_connects_accepted_total',
      help: 'Embedded broker: CONNECTs accepted',
      registers,
      collect() {
        this.reset();
        this.inc(read().connectsAccepted);
      },
    });
    const byReason: [string, string, (s: BrokerStatsSource) => Record<string, number>][] = [
      [
        'farthing_broker_connects_refused_total',
        'Embedded broker: CONNECTs refused, by reason',
        (s) => s.connectsRefused,
      ],
      [
        'farthing_broker_publishes_refused_total',
        'Embedded broker: PUBLISHes refused, by reason',
        (s) => s.publishesRefused,
      ],
      [
        'farthing_broker_subscribes_refused_total',
        'Embedded broker: subscriptions refused, by reason',
        (s) => s.subscribesRefused,
      ],
      [
        'farthing_broker_frames_refused_total',
        'Embedded broker: connections cut by the frame guard, by reason',
        (s) => s.framesRefused,
      ],
    ];
    for (const [name, help, pick] of byReason) {
      new Counter({
        name,
        help,
        labelNames: ['reason'],
        registers,
        collect() {
          this.reset();
          for (const [reason, count] of Object.entries(pick(read()))) this.inc({ reason }, count);
        },
      });
    }
  }
}
