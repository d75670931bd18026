/**
 * Reading the hub's own Prometheus histograms out of one scrape's text, for the figures that
 * say where a tail came from. A series missing from the scrape is an error, not a NaN figure.
 */

/** One scrape, read series by exact name, labels included as the hub renders them. */
export function seriesReader(metricsText: string): (series: string) => number {
  const lines = metricsText.split('\n');
  return (series) => {
    const line = lines.find((l) => l.startsWith(`${series} `));
    if (line === undefined) throw new Error(`the hub's metrics have no series ${series}`);
    return Number(line.slice(series.length + 1));
  };
}

/** A histogram's observations so far, and how many of them fell above one of its bucket bounds. */
export interface HistogramTail {
  count: number;
  over: number;
}

export function histogramTail(
  value: (series: string) => number,
  histogram: string,
  boundSeconds: number,
): HistogramTail {
  const count = value(`${histogram}_count`);
  return { count, over: count - value(`${histogram}_bucket{le="${boundSeconds}"}`) };
}

/** What happened between two scrapes of the same histogram. */
export function tailBetween(before: HistogramTail, after: HistogramTail): HistogramTail {
  return { count: after.count - before.count, over: after.over - before.over };
}
