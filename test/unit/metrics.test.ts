/**
 * HubMetrics against a hub on the in-memory broker and ledger: the exposition is strict
 * Prometheus text, scrape-time counters equal hub.counters, histograms are fed by the
 * HubObserver hook, and each HubMetrics has its own registry.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { HubMetrics } from '../../src/hub/metrics.js';
import { Status } from '../../src/protocol/status.js';
import type { Hub } from '../../src/hub/hub.js';
import { makeDevice, startTestHub } from '../helpers/fixtures.js';
import { parsePrometheusText, sampleValue, type Family } from '../helpers/prom-text.js';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function hubWithMetrics(): Promise<{
  hub: Hub;
  metrics: HubMetrics;
  broker: Awaited<ReturnType<typeof startTestHub>>['broker'];
}> {
  const metrics = new HubMetrics({ defaultMetrics: false });
  const { hub, broker } = await startTestHub(
    { autoFundBaseUnits: 10n ** 9n, settleIntervalMs: 600_000 },
    { observer: metrics.observer },
  );
  metrics.attach({ hub });
  stops.push(() => hub.stop());
  return { hub, metrics, broker };
}

const scrape = async (metrics: HubMetrics): Promise<Map<string, Family>> =>
  parsePrometheusText(await metrics.text());

describe('HubMetrics', () => {
  it('exposes strict Prometheus text whose counters equal the hub counters', async () => {
    const { hub, metrics, broker } = await hubWithMetrics();
    const devices = await Promise.all([0, 1, 2].map(() => makeDevice(broker, hub.hubKey)));
    for (const device of devices) {
      stops.push(() => device.shutdown());
      const channel = await device.open({
        payeeId: 'payee-m',
        asset: 'USD',
        capacityBaseUnits: 10_000n,
        lifetimeS: 600,
        price: { baseUnits: 1n, perUnits: 1n },
      });
      for (let i = 0; i < 5; i++) {
        await channel.payBaseUnits(3n);
        await channel.whenAcked();
      }
    }
    await hub.settleNow();

    const families = await scrape(metrics);
    expect(families.get('farthing_vouchers_accepted_total')?.type).toBe('counter');
    expect(sampleValue(families, 'farthing_vouchers_accepted_total')).toBe(15);
    expect(sampleValue(families, 'farthing_vouchers_received_total')).toBe(
      hub.counters.vouchersReceived,
    );
    expect(sampleValue(families, 'farthing_channel_opens_total')).toBe(3);
    expect(sampleValue(families, 'farthing_open_channels')).toBe(3);
    expect(sampleValue(families, 'farthing_escrow_outstanding_base_units')).toBe(30_000 - 45);
    expect(sampleValue(families, 'farthing_unsettled_base_units')).toBe(0);
    expect(sampleValue(families, 'farthing_settled_base_units_total')).toBe(45);
    expect(sampleValue(families, 'farthing_settlement_channels_total')).toBe(3);
    expect(sampleValue(families, 'farthing_group_commits_total')).toBe(hub.counters.groupCommits);
    expect(sampleValue(families, 'farthing_acks_sent_total')).toBe(hub.counters.acksSent);
    expect(sampleValue(families, 'farthing_broker_connected')).toBe(1);
    expect(sampleValue(families, 'farthing_hub_running')).toBe(1);
    // Histograms from the observer hook.
    expect(families.get('farthing_receipt_latency_seconds')?.type).toBe('histogram');
    expect(sampleValue(families, 'farthing_receipt_latency_seconds_count')).toBeGreaterThanOrEqual(
      15,
    );
    expect(sampleValue(families, 'farthing_group_commit_size_sum')).toBe(
      hub.counters.groupCommitVouchers,
    );
    expect(sampleValue(families, 'farthing_verify_batch_size_sum')).toBeGreaterThanOrEqual(15);
    expect(sampleValue(families, 'farthing_settlement_channels_count')).toBe(1);
    expect(sampleValue(families, 'farthing_settlement_channels_sum')).toBe(3);
    // Names: farthing_ prefix, counters end in _total, no default metrics when turned off.
    for (const family of families.values()) {
      expect(family.name).toMatch(/^farthing_[a-z0-9_]+$/);
      expect(family.help?.length).toBeGreaterThan(0);
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/);
    }
  });

  it('counts refusals by status name and drops by reason', async () => {
    const { hub, metrics } = await hubWithMetrics();
    hub.counters.refused(Status.SIGNATURE_INVALID);
    hub.counters.refused(Status.SIGNATURE_INVALID);
    hub.counters.dropped('topic');
    const families = await scrape(metrics);
    const refused = families.get('farthing_refused_total')!;
    expect(refused.samples).toHaveLength(1);
    expect(refused.samples[0]!.labels).toEqual({ status: 'SIGNATURE_INVALID' });
    expect(refused.samples[0]!.value).toBe(2);
    expect(sampleValue(families, 'farthing_dropped_total', { reason: 'topic' })).toBe(1);
  });

  it('reports embedded broker refusals when given the stats', async () => {
    const metrics = new HubMetrics({ defaultMetrics: false });
    const { hub } = await startTestHub({}, { observer: metrics.observer });
    stops.push(() => hub.stop());
    metrics.attach({
      hub,
      brokerStats: () => ({
        connectsAccepted: 4,
        connectsRefused: { 'bad-proof': 2 },
        publishesRefused: { 'topic-forbidden': 1 },
        subscribesRefused: {},
        framesRefused: { oversize: 3 },
      }),
    });
    expect(() => metrics.attach({ hub })).toThrow(RangeError);
    const families = await scrape(metrics);
    expect(sampleValue(families, 'farthing_broker_connects_accepted_total')).toBe(4);
    expect(
      sampleValue(families, 'farthing_broker_connects_refused_total', { reason: 'bad-proof' }),
    ).toBe(2);
    expect(
      sampleValue(families, 'farthing_broker_publishes_refused_total', {
        reason: 'topic-forbidden',
      }),
    ).toBe(1);
    expect(
      sampleValue(families, 'farthing_broker_frames_refused_total', { reason: 'oversize' }),
    ).toBe(3);
  });

  it('keeps a registry per instance and adds the default process metrics', async () => {
    const one = new HubMetrics();
    const two = new HubMetrics();
    one.observer.receiptLatency(0.003);
    const a = await scrape(one);
    const b = await scrape(two);
    expect(sampleValue(a, 'farthing_receipt_latency_seconds_count')).toBe(1);
    expect(sampleValue(b, 'farthing_receipt_latency_seconds_count')).toBe(0);
    expect(a.has('process_cpu_user_seconds_total')).toBe(true);
    expect(a.has('nodejs_heap_size_used_bytes')).toBe(true);
    // Without a hub, scrape-time metrics read zero rather than failing.
    expect(sampleValue(a, 'farthing_open_channels')).toBe(0);
    expect(one.contentType).toMatch(/^text\/plain/);
  });

  it('exports amounts above 2^53 rounded to float64 (the documented precision caveat)', async () => {
    const { hub, metrics } = await hubWithMetrics();
    hub.counters.settledBaseUnits = 2n ** 60n + 1n;
    const families = await scrape(metrics);
    expect(sampleValue(families, 'farthing_settled_base_units_total')).toBe(2 ** 60);
  });
});

describe('config/grafana/farthing-dashboard.json', () => {
  it('queries only metrics the hub exposes', async () => {
    const text = readFileSync(
      new URL('../../config/grafana/farthing-dashboard.json', import.meta.url),
      'utf8',
    );
    const dashboard = JSON.parse(text) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(20);
    const metrics = new HubMetrics();
    const { hub } = await startTestHub({}, { observer: metrics.observer });
    stops.push(() => hub.stop());
    metrics.attach({
      hub,
      brokerStats: () => ({
        connectsAccepted: 0,
        connectsRefused: {},
        publishesRefused: {},
        subscribesRefused: {},
        framesRefused: {},
      }),
    });
    const families = await scrape(metrics);
    const names = new Set<string>();
    for (const family of families.values()) {
      names.add(family.name);
      if (family.type === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(family.name + suffix);
    }
    for (const expr of exprs) {
      for (const [name] of expr.matchAll(/\b(?:farthing|process|nodejs)_[a-z0-9_]+/g))
        expect(names.has(name), `${name} in ${expr}`).toBe(true);
    }
  });
});

describe('the strict exposition parser', () => {
  it('refuses malformed text', () => {
    expect(() => parsePrometheusText('x 1\n')).toThrow(/before its TYPE/);
    expect(() => parsePrometheusText('# TYPE x counter\nx -1\n')).toThrow(/negative/);
    expect(() => parsePrometheusText('# TYPE x gauge\nx{a="1} 1\n')).toThrow();
    expect(() => parsePrometheusText('# TYPE x gauge\nx one\n')).toThrow(/value/);
    expect(() => parsePrometheusText('# TYPE x gauge\nx 1\nx 2\n')).toThrow(/duplicate/);
    expect(() => parsePrometheusText('# TYPE x gauge\nx 1')).toThrow(/newline/);
    expect(() =>
      parsePrometheusText(
        '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      ),
    ).toThrow(/cumulative/);
    expect(
      parsePrometheusText('# HELP x a gauge\n# TYPE x gauge\nx{a="q\\"uote"} 1.5e3\n').get('x')
        ?.samples[0],
    ).toEqual({ name: 'x', labels: { a: 'q"uote' }, value: 1500 });
  });
});
