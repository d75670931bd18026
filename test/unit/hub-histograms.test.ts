/**
 * The bench's reading of the hub's histograms: the lookups name series the hub really renders
 * (its bucket bounds include the bench's tail bounds), the counts above a bound are right, and
 * a missing series is an error rather than a NaN figure.
 */
import { describe, expect, it } from 'vitest';
import { histogramTail, seriesReader, tailBetween } from '../../bench/hub-histograms.js';
import { HubMetrics } from '../../src/hub/metrics.js';

describe('hub histogram tails (bench)', () => {
  it("counts the hub's observations above a bucket bound, and between two scrapes", async () => {
    const metrics = new HubMetrics({ defaultMetrics: false });
    const { observer } = metrics;
    for (const ms of [1, 4, 9, 12, 30]) observer.verifyBatch(8, ms / 1000);
    for (const ms of [2, 11]) observer.groupCommit(40, ms / 1000);
    for (const ms of [5, 19, 21, 250]) observer.receiptLatency(ms / 1000);
    const before = seriesReader(await metrics.text());
    expect(histogramTail(before, 'farthing_verify_batch_seconds', 0.01)).toEqual({
      count: 5,
      over: 2,
    });
    expect(histogramTail(before, 'farthing_group_commit_seconds', 0.01)).toEqual({
      count: 2,
      over: 1,
    });
    const receiptsBefore = histogramTail(before, 'farthing_receipt_latency_seconds', 0.02);
    expect(receiptsBefore).toEqual({ count: 4, over: 2 });

    for (const ms of [3, 40, 60]) observer.receiptLatency(ms / 1000);
    const after = seriesReader(await metrics.text());
    const receiptsAfter = histogramTail(after, 'farthing_receipt_latency_seconds', 0.02);
    expect(tailBetween(receiptsBefore, receiptsAfter)).toEqual({ count: 3, over: 2 });
  });

  it('refuses a series the scrape does not have', async () => {
    const value = seriesReader(await new HubMetrics({ defaultMetrics: false }).text());
    // 0.015 is not one of the hub's bucket bounds.
    expect(() => histogramTail(value, 'farthing_receipt_latency_seconds', 0.015)).toThrow(
      /no series farthing_receipt_latency_seconds_bucket\{le="0.015"\}/,
    );
    expect(() => value('farthing_no_such_metric')).toThrow(/no series farthing_no_such_metric/);
  });
});
