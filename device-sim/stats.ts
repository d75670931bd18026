import { makeRng, type Rng } from './rng.js';

/**
 * Latency samples with bounded memory: every sample up to `capacity`, then a uniform
 * reservoir (Algorithm R) of that many, so percentiles of a long run stay representative
 * without keeping millions of numbers.
 */
export class LatencyReservoir {
  private readonly samples: number[] = [];
  private seen = 0;
  private maxMs = 0;
  private readonly rng: Rng;

  constructor(
    private readonly capacity = 200_000,
    seed = 1,
  ) {
    this.rng = makeRng(seed);
  }

  get count(): number {
    return this.seen;
  }

  add(ms: number): void {
    this.seen++;
    if (ms > this.maxMs) this.maxMs = ms;
    if (this.samples.length < this.capacity) {
      this.samples.push(ms);
      return;
    }
    const j = Math.floor(this.rng() * this.seen);
    if (j < this.capacity) this.samples[j] = ms;
  }

  summary(): LatencySummary {
    return summarize(this.samples, this.seen, this.maxMs);
  }
}

export interface LatencySummary {
  /** Vouchers whose acknowledgement was timed. */
  samples: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(values: number[], count = values.length, maxMs?: number): LatencySummary {
  if (values.length === 0) return { samples: count, p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number): number =>
    round2(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
  return {
    samples: count,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: round2(maxMs ?? sorted[sorted.length - 1]!),
  };
}

export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Counts by name, e.g. refusals by status name. */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(name: string, by = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + by);
  }

  get total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** A list that keeps its first `limit` entries and counts the rest. */
export class BoundedList<T> {
  readonly items: T[] = [];
  total = 0;

  constructor(private readonly limit: number) {}

  push(item: T): void {
    this.total++;
    if (this.items.length < this.limit) this.items.push(item);
  }
}

/** JSON with bigints as decimal strings (amounts never become floats). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
    indent,
  );
}
