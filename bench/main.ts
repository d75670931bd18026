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
import { run as runLedger } from './ledger-bench.js';

export interface BenchModule {
  name: string;
  description: string;
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
    description: 'raw LevelDB batched writes beside LevelLedger settlement commits, same run',
    run: runLedger,
  },
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
  const selected = benches.filter((bench) => only === undefined || only.has(bench.name));
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

  if (json) {
    console.log(JSON.stringify({ machine, quick, startedAt, seconds, results }));
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
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
