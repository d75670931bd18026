/**
 * Benchmark runner: `npm run bench [-- --quick] [-- --json] [-- --only codec,ledger]`.
 *
 * Every bench module exports `run({ quick })` returning named figures; add a module to
 * `benches` below to have it run and printed. The machine is printed with the figures, since a
 * number without its machine means little. --quick keeps the whole run under a minute; --json
 * prints one JSON object (machine, options, results per bench) and nothing else on stdout.
 */
import Table from 'cli-table3';
import { availableParallelism, cpus, platform, arch, totalmem } from 'node:os';
import { run as runCodec } from './codec-bench.js';
import { inGeneratorProcess } from './generator-bench.js';
import { run as runLedger } from './ledger-bench.js';
import { memoryFigures } from './memory-bench.js';
import { run as runSettlement } from './settlement-bench.js';

export interface BenchModule {
  name: string;
  description: string;
  /** Runs unless --only names others; the ledger detail bench only runs when asked for. */
  byDefault?: boolean;
  run(opts: { quick: boolean }): Promise<Record<string, number | string>>;
}

export const benches: BenchModule[] = [
  {
    name: 'codec',
    description: 'voucher encode/decode and Ed25519 sign/verify, one thread',
    run: runCodec,
  },
  {
    name: 'ledger',
    description:
      'raw LevelDB batched writes beside LevelLedger commits of several shapes, same run',
    run: runLedger,
    byDefault: false,
  },
  {
    name: 'settlement',
    description: 'hub settlement (channels/s) beside the raw LevelDB batched record rate, same run',
    run: runSettlement,
  },
  {
    name: 'memory',
    description: 'hub memory per open channel, each size in a fresh process',
    run: () => memoryFigures([100_000, 1_000_000]),
  },
  {
    name: 'endToEnd',
    description:
      'signed vouchers receipted per second through a hub process, beside raw verify and a naive hub',
    run: inGeneratorProcess('endToEnd'),
  },
  {
    name: 'cpu',
    description:
      'CPU µs per acknowledged voucher at saturation and at half its rate: hub threads, Mosquitto, load generator',
    run: inGeneratorProcess('cpu'),
    byDefault: false,
  },
];

/** The figures the throughput issue names, with their targets, lifted to the top of --json. */
const headline: {
  key: string;
  from: string;
  as?: string;
  target?: (v: number) => boolean;
  goal?: string;
}[] = [
  { key: 'rawVerifyOneCorePerS', from: 'endToEnd' },
  { key: 'rawVerifyAllCoresPerS', from: 'endToEnd' },
  { key: 'endToEndPerS', from: 'endToEnd' },
  { key: 'endToEndEmbeddedPerS', from: 'endToEnd' },
  { key: 'ratioVsRawVerify', from: 'endToEnd', target: (v) => v >= 0.7, goal: '≥ 0.70' },
  { key: 'ratioVsNaive', from: 'endToEnd', target: (v) => v >= 10, goal: '≥ 10' },
  { key: 'p99ReceiptMsAt50', from: 'endToEnd', target: (v) => v <= 25, goal: '≤ 25 ms' },
  { key: 'p99ReceiptMsAt90', from: 'endToEnd' },
  {
    key: 'heapBytesPerChannelAt1M',
    from: 'memory',
    as: 'heapBytesPerChannel',
    target: (v) => v <= 300,
    goal: '≤ 300 B',
  },
  { key: 'settledChannelsPerS', from: 'settlement' },
  { key: 'rawLevelRecordsPerS', from: 'settlement' },
  { key: 'settlementVsRawRatio', from: 'settlement', target: (v) => v >= 0.3, goal: '≥ 0.30' },
];

export function machineInfo(): Record<string, string | number> {
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    platform: `${platform()} ${arch()}`,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
  };
}

function formatValue(value: number | string): string {
  if (typeof value === 'string') return value;
  return Number.isInteger(value) ? value.toLocaleString('en-US') : String(value);
}

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const json = argv.includes('--json');
  const onlyIndex = argv.indexOf('--only');
  const only = onlyIndex >= 0 ? new Set((argv[onlyIndex + 1] ?? '').split(',')) : undefined;
  const selected = benches.filter((bench) =>
    only === undefined ? bench.byDefault !== false : only.has(bench.name),
  );
  if (selected.length === 0) {
    console.error(`no bench selected; known: ${benches.map((b) => b.name).join(', ')}`);
    return 2;
  }

  const machine = machineInfo();
  const startedAt = new Date().toISOString();
  const results: Record<string, Record<string, number | string>> = {};
  const seconds: Record<string, number> = {};
  for (const bench of selected) {
    if (!json) console.error(`running ${bench.name}${quick ? ' (quick)' : ''}…`);
    const started = performance.now();
    results[bench.name] = await bench.run({ quick });
    seconds[bench.name] = Number(((performance.now() - started) / 1000).toFixed(1));
  }

  const figures: Record<string, number | string> = {};
  const targets: [string, string, string, string][] = [];
  for (const h of headline) {
    const value = results[h.from]?.[h.key];
    if (value === undefined) continue;
    figures[h.as ?? h.key] = value;
    if (h.target !== undefined && typeof value === 'number') {
      targets.push([
        h.as ?? h.key,
        formatValue(value),
        h.goal!,
        h.target(value) ? 'met' : 'MISSED',
      ]);
    }
  }
  if (json) {
    console.log(JSON.stringify({ machine, quick, startedAt, seconds, ...figures, results }));
    return 0;
  }
  // No colours: the output usually ends up in a log or an issue, not a terminal.
  const style = { head: [], border: [] };
  const machineTable = new Table({ head: ['machine', ''], style });
  for (const [key, value] of Object.entries(machine)) machineTable.push([key, formatValue(value)]);
  console.log(machineTable.toString());
  for (const bench of selected) {
    const table = new Table({
      head: [`${bench.name} (${seconds[bench.name]} s${quick ? ', quick' : ''})`, ''],
      colAligns: ['left', 'right'],
      style,
    });
    for (const [key, value] of Object.entries(results[bench.name]!)) {
      table.push([key, formatValue(value)]);
    }
    console.log(`${bench.description}\n${table.toString()}`);
  }
  if (targets.length > 0) {
    const table = new Table({ head: ['target', 'measured', 'goal', ''], style });
    for (const row of targets) table.push(row);
    console.log(`targets (same run)\n${table.toString()}`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
