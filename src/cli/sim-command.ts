import { Command, InvalidArgumentError, Option } from 'commander';
import { fleetPassed, runFleet, type FleetOptions } from '../../device-sim/fleet.js';
import { MISBEHAVIOUR_MODES, type MisbehaviourMode } from '../../device-sim/misbehaviour.js';
import { createProgressReporter } from '../../device-sim/progress.js';
import { formatFleetSummary } from '../../device-sim/report.js';
import { SCENARIO_NAMES, type ScenarioName } from '../../device-sim/scenarios.js';
import { toJson } from '../../device-sim/stats.js';
import { isFarthingError } from '../errors.js';
import { keyFromId } from '../protocol/topics.js';
import { parseAmount, parsePositiveInt, parsePositiveNumber, parsePrice } from './parse.js';

interface SimFlags {
  broker: string;
  hub: Uint8Array;
  devices: number;
  rate: number;
  duration: number;
  price?: { baseUnits: bigint; perUnits: bigint };
  capacity: bigint;
  scenario: ScenarioName | 'mixed';
  misbehave?: MisbehaviourMode[];
  payee?: string[];
  asset: string;
  close: boolean;
  json: boolean;
  progress: boolean;
  seed: number;
  concurrency: number;
  auth: 'proof' | 'none';
  crypto: 'node' | 'noble';
}

export function parseHubId(text: string): Uint8Array {
  const key = keyFromId(text);
  if (key === undefined)
    throw new InvalidArgumentError(
      `"${text}" is not a hub id (the base64url key id \`farthing hub\` prints)`,
    );
  return key;
}

const AFTER_HELP = `
Prepaid balances: every simulated device opens a channel, which escrows its capacity from the
device's prepaid account. Start the hub with the development flag --auto-fund AMOUNT (each new
device is credited AMOUNT base units at its first open), or have the operator deposit funds
for the devices; otherwise opens are refused with INSUFFICIENT_FUNDS.

Scenarios: smart-meter (steady Wh per tick), ev-charger (charging sessions with idle gaps),
sensor-uplink (KB per tick with bursts), mixed (all three, spread over the devices).
Misbehaviour modes run on extra devices next to the honest ones:
  ${MISBEHAVIOUR_MODES.join(', ')}

Exit status: 0 when every channel reconciles with the hub's signed receipts, honest devices
saw no refusal and every misbehaviour got its expected answer; 1 otherwise; 2 on a usage or
connection error.

Example:
  farthing hub --data ./hub --auto-fund 100000000000 &
  farthing sim --broker mqtt://127.0.0.1:1883 --hub <HUBID> --devices 50 --rate 5 --duration 30 --close`;

export function simCommand(): Command {
  return new Command('sim')
    .description('run a fleet of simulated devices against a hub and reconcile every channel')
    .requiredOption('--broker <url>', 'MQTT broker the hub uses, e.g. mqtt://127.0.0.1:1883')
    .requiredOption('--hub <hubId>', 'the hub id printed by `farthing hub`', parseHubId)
    .option('--devices <n>', 'honest simulated devices', parsePositiveInt, 10)
    .option('--rate <r>', 'vouchers per second per device', parsePositiveNumber, 2)
    .option('--duration <s>', 'seconds of streaming', parsePositiveNumber, 10)
    .option(
      '--price <p>',
      'base units per usage unit, "150" or "3/2" (default: per scenario)',
      parsePrice,
    )
    .addOption(
      new Option('--capacity <amount>', 'initial channel capacity in base units')
        .argParser(parseAmount)
        // A bigint default needs its text: commander's help JSON-encodes defaults.
        .default(10n ** 9n, '1000000000'),
    )
    .addOption(
      new Option('--scenario <name>', 'usage pattern')
        .choices([...SCENARIO_NAMES, 'mixed'])
        .default('mixed'),
    )
    .addOption(
      new Option('--misbehave <mode...>', 'add misbehaving devices').choices([
        ...MISBEHAVIOUR_MODES,
      ]),
    )
    .option('--payee <id...>', 'payee id(s) the channels pay (default payee-1..payee-3)')
    .option('--asset <code>', 'asset of the channels', 'USD')
    .option('--close', 'close every channel at the end and check the CloseReceipts', false)
    .option('--json', 'print one JSON object on stdout (amounts as decimal strings)', false)
    .option('--no-progress', 'no live progress line on stderr')
    .option('--seed <n>', 'seed of the usage patterns', parsePositiveInt, 1)
    .option('--concurrency <n>', 'devices connecting at the same time', parsePositiveInt, 16)
    .addOption(
      new Option('--auth <kind>', 'broker login: proof (a signed ConnectProof) or none')
        .choices(['proof', 'none'])
        .default('proof'),
    )
    .addOption(
      new Option('--crypto <path>', 'device signing path')
        .choices(['node', 'noble'])
        .default('node'),
    )
    .addHelpText('after', AFTER_HELP)
    .action(async (flags: SimFlags) => {
      process.exitCode = await runSim(flags);
    });
}

async function runSim(flags: SimFlags): Promise<number> {
  const progress = flags.progress ? createProgressReporter() : undefined;
  const abort = new AbortController();
  const onSignal = (): void => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\nfarthing sim: stopping early (again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  const options: FleetOptions = {
    brokerUrl: flags.broker,
    hubKey: flags.hub,
    devices: flags.devices,
    ratePerDevice: flags.rate,
    durationS: flags.duration,
    capacityBaseUnits: flags.capacity,
    scenario: flags.scenario,
    misbehave: flags.misbehave ?? [],
    asset: flags.asset,
    closeAtEnd: flags.close,
    seed: flags.seed,
    connectConcurrency: flags.concurrency,
    brokerAuth: flags.auth,
    cryptoPath: flags.crypto,
    signal: abort.signal,
    ...(flags.price === undefined ? {} : { price: flags.price }),
    ...(flags.payee === undefined ? {} : { payeeId: flags.payee }),
    ...(progress === undefined ? {} : { onProgress: (p) => progress.update(p) }),
  };
  try {
    const summary = await runFleet(options);
    progress?.done();
    const passed = fleetPassed(summary);
    if (flags.json) process.stdout.write(`${toJson(summary)}\n`);
    else {
      process.stdout.write(`${formatFleetSummary(summary)}\n`);
      process.stdout.write(
        passed
          ? 'reconciled: every channel matches the hub’s signed receipts\n'
          : 'NOT reconciled (see above)\n',
      );
    }
    if ('INSUFFICIENT_FUNDS' in summary.refusedByStatus) process.stderr.write(FUNDS_HINT);
    return passed ? 0 : 1;
  } catch (error) {
    progress?.done();
    process.stderr.write(`farthing sim: ${describeError(error)}\n`);
    if (String(error).includes('INSUFFICIENT_FUNDS')) process.stderr.write(FUNDS_HINT);
    return 2;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

const FUNDS_HINT =
  'hint: the devices have no prepaid balance; start the hub with --auto-fund AMOUNT (development) or deposit funds\n';

function describeError(error: unknown): string {
  if (
    isFarthingError(error, 'BROKER_UNREACHABLE') &&
    /bad user ?name or password/i.test(error.message)
  )
    return `${error.code}: ${error.message} (is --hub the id of the hub this broker serves?)`;
  if (isFarthingError(error)) return `${error.code}: ${error.message}`;
  if (error instanceof RangeError || error instanceof TypeError) return `usage: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
