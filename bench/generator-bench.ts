import { fileURLToPath } from 'node:url';
import { runNodeForJson } from './child-process.js';

/**
 * The load generator shares the machine's two cores with the hub and the broker, so its own
 * garbage collection is part of every figure it drives. mqtt.js allocates several KB per voucher
 * in it (publishing, reading acknowledgements). With V8's default 16 MiB semi-space it scavenged
 * every 0.2–0.25 s under load, pausing it 3 ms at p50 (V8 scavenges on helper threads too); given a
 * larger young generation, every 0.4–0.7 s (`--trace-gc`). In 19 alternated pairs of endToEnd
 * runs (docs/benchmark-history.md), the hub's own share of vouchers over 20 ms at 50% was lower
 * in 14, and p99 at 50% missed 25 ms in 5 runs instead of 9: a modest gain, and the ratio did not
 * move.
 */
export const GENERATOR_NODE_FLAGS = ['--max-semi-space-size=64'];

const entry = fileURLToPath(new URL('./generator-main.js', import.meta.url));

/**
 * Runs a bench that drives the load generator (endToEnd, cpu) in a process of its own with
 * GENERATOR_NODE_FLAGS. The other benches time the hub's own code in the runner's process and
 * keep Node's defaults, as a hub process runs.
 */
export function inGeneratorProcess(
  name: 'endToEnd' | 'cpu',
): (opts: { quick: boolean }) => Promise<Record<string, number | string>> {
  return ({ quick }) =>
    runNodeForJson([...GENERATOR_NODE_FLAGS, entry, name, ...(quick ? ['--quick'] : [])]);
}
