/**
 * Per-second rates from counter deltas over a sliding window: a sampler reads the counters
 * every second and keeps the last `windowSamples` + 1 readings; a rate is the difference
 * between the newest and the oldest reading over the time between them.
 */
export class RateWindow<Name extends string> {
  private readonly samples: { atMs: number; values: Record<Name, number> }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => Record<Name, number>,
    private readonly windowSamples = 5,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(windowSamples) || windowSamples < 1)
      throw new RangeError('windowSamples must be a positive integer');
  }

  /** Samples now and then every `intervalMs` until stop(). */
  start(intervalMs = 1000): void {
    this.sample();
    this.timer ??= setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  sample(): void {
    this.samples.push({ atMs: this.nowMs(), values: this.read() });
    if (this.samples.length > this.windowSamples + 1) this.samples.shift();
  }

  /** Rates per second over the window; zero until two samples exist. */
  rates(): Record<Name, number> {
    const newest = this.samples[this.samples.length - 1];
    const oldest = this.samples[0];
    const out = {} as Record<Name, number>;
    if (newest === undefined || oldest === undefined) return out;
    const seconds = (newest.atMs - oldest.atMs) / 1000;
    for (const name of Object.keys(newest.values) as Name[]) {
      const delta = newest.values[name] - (oldest.values[name] ?? 0);
      out[name] = seconds > 0 ? Math.max(0, delta) / seconds : 0;
    }
    return out;
  }
}
