/**
 * Entry of the process that the benches driving the load generator run in (generator-bench.ts):
 * `node <GENERATOR_NODE_FLAGS> dist/bench/generator-main.js <bench> [--quick]`. Prints the
 * bench's figures as one JSON object on stdout, with the Node flags it ran under.
 */
import { run as runCpu } from './cpu-bench.js';
import { run as runEndToEnd } from './e2e-bench.js';

const runners: Record<string, (opts: { quick: boolean }) => Promise<object>> = {
  endToEnd: runEndToEnd,
  cpu: runCpu,
};

const [name = '', ...options] = process.argv.slice(2);
const runner = runners[name];
if (runner === undefined) {
  console.error(`unknown generator bench "${name}"; known: ${Object.keys(runners).join(', ')}`);
  process.exitCode = 2;
} else {
  const figures = await runner({ quick: options.includes('--quick') });
  console.log(JSON.stringify({ ...figures, generatorNodeFlags: process.execArgv.join(' ') }));
}
