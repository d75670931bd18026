import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { fleetPassed, runFleet, type FleetSummary } from '../../device-sim/fleet.js';
import { MISBEHAVIOUR_MODES, type MisbehaviourMode } from '../../device-sim/misbehaviour.js';
import { createProgressReporter } from '../../device-sim/progress.js';
import { formatFleetSummary, keyValueTable } from '../../device-sim/report.js';
import { toJson } from '../../device-sim/stats.js';
import { isFarthingError } from '../errors.js';
import { accountKind, externalAccount, HUB_FEES, type AccountKind } from '../ledger/accounts.js';
import type { Ledger } from '../ledger/types.js';
import { createLogger, type LogLevel } from './logger.js';
import { parsePositiveInt, parsePositiveNumber } from './parse.js';
import { startHubProcess, type RunningHub } from './run-hub.js';

/**
 * `farthing demo` (what `npm start` runs): a whole Farthing system in one process, in a temp
 * directory that is removed afterwards. A hub with its LevelDB ledger and the embedded broker
 * on a free loopback port, a fleet of simulated devices (a mix of scenarios, plus misbehaving
 * devices) streaming vouchers, then every channel closed, a final settlement and a check that
 * the ledger agrees with the hub-signed receipts to the base unit.
 */

const AUTO_FUND_BASE_UNITS = 100n * 10n ** 9n; // 100 USD at scale 9, per device
const PAYOUT_THRESHOLD_BASE_UNITS = 10n ** 8n; // 0.10 USD
const PAYOUT_RAIL = 'payouts';
const FEE_BASIS_POINTS = 150;

interface DemoFlags {
  devices: number;
  duration: number;
  rate: number;
  json: boolean;
  progress: boolean;
  misbehave: MisbehaviourMode[];
  honestOnly: boolean;
  logLevel: LogLevel;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run a hub, a fleet of simulated devices and a final reconciliation, all in one process',
    )
    .option('--devices <n>', 'honest simulated devices', parsePositiveInt, 50)
    .option('--duration <s>', 'seconds of streaming', parsePositiveNumber, 10)
    .option('--rate <r>', 'vouchers per second per device', parsePositiveNumber, 10)
    .addOption(
      new Option('--misbehave <mode...>', 'misbehaving devices to add')
        .choices([...MISBEHAVIOUR_MODES])
        .default([...MISBEHAVIOUR_MODES], 'all modes'),
    )
    .option('--honest-only', 'no misbehaving devices', false)
    .option('--json', 'print one JSON object on stdout (amounts as decimal strings)', false)
    .option('--no-progress', 'no live progress line on stderr')
    .addOption(
      new Option('--log-level <level>', 'hub log level (logs go to stderr)')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('error'),
    )
    .action(async (flags: DemoFlags) => {
      process.exitCode = await runDemo(flags);
    });
}

export interface LedgerReport {
  /** Sum of balances per account kind (device, channel, payee, hub, external). */
  balancesByKind: Record<AccountKind, bigint>;
  payees: Record<string, bigint>;
  external: Record<string, bigint>;
  feesBaseUnits: bigint;
  /** Sum over every account: zero in a double-entry ledger. */
  sumBaseUnits: bigint;
  accounts: number;
  negativeAccounts: string[];
}

export interface LedgerCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export async function ledgerReport(ledger: Ledger, asset: string): Promise<LedgerReport> {
  const balancesByKind: Record<AccountKind, bigint> = {
    device: 0n,
    channel: 0n,
    payee: 0n,
    hub: 0n,
    external: 0n,
  };
  const payees: Record<string, bigint> = {};
  const external: Record<string, bigint> = {};
  const negativeAccounts: string[] = [];
  let sumBaseUnits = 0n;
  let accounts = 0;
  let feesBaseUnits = 0n;
  for (const b of await ledger.balances({ asset })) {
    accounts++;
    sumBaseUnits += b.balanceBaseUnits;
    const kind = accountKind(b.account);
    if (kind === undefined) {
      negativeAccounts.push(`${b.account} (not a valid account name)`);
      continue;
    }
    balancesByKind[kind] += b.balanceBaseUnits;
    const id = b.account.slice(b.account.indexOf('/') + 1);
    if (kind === 'payee') payees[id] = b.balanceBaseUnits;
    if (kind === 'external') external[id] = b.balanceBaseUnits;
    if (b.account === HUB_FEES) feesBaseUnits = b.balanceBaseUnits;
    if (kind !== 'external' && b.balanceBaseUnits < 0n)
      negativeAccounts.push(`${b.account} ${b.balanceBaseUnits}`);
  }
  return {
    balancesByKind,
    payees,
    external,
    feesBaseUnits,
    sumBaseUnits,
    accounts,
    negativeAccounts,
  };
}

/** The ledger against the fleet's hub-signed CloseReceipts, after every channel closed. */
export function ledgerChecks(
  fleet: FleetSummary,
  ledger: LedgerReport,
  hub: { openChannels: number; payoutRail: string },
): LedgerCheck[] {
  const t = fleet.totals;
  const paidOut = ledger.external[hub.payoutRail] ?? 0n;
  const payeeEarned = ledger.balancesByKind.payee + paidOut;
  const funded = -(ledger.external['faucet'] ?? 0n);
  const check = (name: string, ok: boolean, detail: string): LedgerCheck => ({ name, ok, detail });
  return [
    check(
      'every channel closed',
      fleet.channelsClosed === fleet.channelsOpened && hub.openChannels === 0,
      `${fleet.channelsClosed} of ${fleet.channelsOpened} closed; ${hub.openChannels} open at the hub`,
    ),
    check(
      'channel escrow is 0',
      ledger.balancesByKind.channel === 0n,
      `channel accounts hold ${ledger.balancesByKind.channel}`,
    ),
    check(
      'sum of all balances is 0',
      ledger.sumBaseUnits === 0n,
      `sum ${ledger.sumBaseUnits} over ${ledger.accounts} accounts`,
    ),
    check(
      'no account but external/* is negative',
      ledger.negativeAccounts.length === 0,
      ledger.negativeAccounts.length === 0 ? 'none' : ledger.negativeAccounts.join(', '),
    ),
    check(
      'closed amounts = payee earnings + hub fees',
      t.closedAmountBaseUnits === payeeEarned + ledger.feesBaseUnits,
      `${t.closedAmountBaseUnits} = ${payeeEarned} (payees ${ledger.balancesByKind.payee} + paid out ${paidOut}) + ${ledger.feesBaseUnits}`,
    ),
    check(
      'payee earnings = CloseReceipts’ payee shares',
      payeeEarned === t.closedPayeeBaseUnits,
      `${payeeEarned} vs ${t.closedPayeeBaseUnits}`,
    ),
    check(
      'hub fees = CloseReceipts’ fees',
      ledger.feesBaseUnits === t.closedFeeBaseUnits,
      `${ledger.feesBaseUnits} vs ${t.closedFeeBaseUnits}`,
    ),
    check(
      'device balances = funded − closed amounts',
      ledger.balancesByKind.device === funded - t.closedAmountBaseUnits,
      `${ledger.balancesByKind.device} = ${funded} − ${t.closedAmountBaseUnits}`,
    ),
  ];
}

async function runDemo(flags: DemoFlags): Promise<number> {
  const logger = createLogger({ level: flags.logLevel, pretty: false, name: 'farthing-demo' });
  const progress = flags.progress ? createProgressReporter() : undefined;
  const abort = new AbortController();
  let dir: string | undefined;
  const onSignal = (): void => {
    if (abort.signal.aborted) {
      // Quitting at once: still leave no temp directory behind.
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    }
    process.stderr.write('\nfarthing demo: stopping early (again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  let running: RunningHub | undefined;
  try {
    dir = await mkdtemp(join(tmpdir(), 'farthing-demo-'));
    running = await startHubProcess({
      dataDir: dir,
      // Port 0: a free port picked by the kernel (1883 may belong to a real broker).
      listen: { host: '127.0.0.1', port: 0 },
      settings: {
        autoFundBaseUnits: AUTO_FUND_BASE_UNITS,
        feeBasisPoints: FEE_BASIS_POINTS,
        settleIntervalMs: 500,
        payoutThresholdBaseUnits: PAYOUT_THRESHOLD_BASE_UNITS,
        payoutRail: PAYOUT_RAIL,
      },
      logger,
    });
    if (!flags.json)
      process.stderr.write(
        `farthing demo: hub ${running.hubId} on ${running.brokerUrl} (data in ${dir})\n`,
      );
    const fleet = await runFleet({
      brokerUrl: running.brokerUrl,
      hubKey: running.hubKey,
      devices: flags.devices,
      ratePerDevice: flags.rate,
      durationS: flags.duration,
      scenario: 'mixed',
      misbehave: flags.honestOnly ? [] : flags.misbehave,
      closeAtEnd: true,
      signal: abort.signal,
      ...(progress === undefined ? {} : { onProgress: (p) => progress.update(p) }),
    });
    progress?.done();
    const { hub } = running;
    // Anything the fleet left open (it should be nothing) is closed by the operator, so the
    // ledger can still be checked; the check below reports it.
    const leftOpen = [...hub.table.slots()].map((slot) => hub.table.channelId(slot).slice());
    for (const channelId of leftOpen) await hub.closeChannel(channelId);
    const settled = await hub.settleNow();
    const ledger = await ledgerReport(hub.ledger, 'USD');
    const checks = ledgerChecks(fleet, ledger, {
      openChannels: leftOpen.length,
      payoutRail: PAYOUT_RAIL,
    });
    const reconciled = fleetPassed(fleet) && checks.every((c) => c.ok);
    const c = hub.counters;
    const report = {
      ...fleet,
      fleetReconciled: fleet.reconciled,
      hub: {
        hubId: running.hubId,
        brokerUrl: running.brokerUrl,
        feeBasisPoints: FEE_BASIS_POINTS,
        autoFundBaseUnits: AUTO_FUND_BASE_UNITS,
        payoutThresholdBaseUnits: PAYOUT_THRESHOLD_BASE_UNITS,
        vouchersReceived: c.vouchersReceived,
        vouchersAccepted: c.vouchersAccepted,
        vouchersDuplicate: c.vouchersDuplicate,
        vouchersStale: c.vouchersStale,
        vouchersCoalesced: c.vouchersCoalesced,
        receiptsSigned: c.receiptsSigned,
        acksSent: c.acksSent,
        groupCommits: c.groupCommits,
        settlementBatches: c.settlementBatches,
        settledBaseUnits: c.settledBaseUnits,
        finalSettlementChannels: settled.channels,
        payouts: c.payouts,
        channelsClosed: c.channelsClosed,
        refusedByStatus: c.refusedByName(),
        brokerRefusedPublishes: running.embedded?.stats().publishesRefused ?? {},
      },
      ledger,
      ledgerChecks: checks,
      reconciled,
    };
    if (flags.json) {
      process.stdout.write(`${toJson(report)}\n`);
    } else {
      process.stdout.write(`${formatFleetSummary(fleet)}\n`);
      process.stdout.write(`${formatLedger(report.ledger, report.hub.payouts)}\n`);
      for (const check of checks)
        process.stdout.write(`${check.ok ? 'ok ' : 'FAIL'} ${check.name}: ${check.detail}\n`);
      process.stdout.write(
        reconciled
          ? 'reconciled: the ledger matches every hub-signed receipt to the base unit\n'
          : 'NOT reconciled (see above)\n',
      );
    }
    return reconciled ? 0 : 1;
  } catch (error) {
    progress?.done();
    process.stderr.write(
      `farthing demo: ${isFarthingError(error) ? `${error.code}: ${error.message}` : String(error)}\n`,
    );
    return 2;
  } finally {
    process.off('SIGINT', onSignal);
    await running?.stop().catch((error: unknown) => {
      process.stderr.write(`farthing demo: hub stop failed: ${String(error)}\n`);
    });
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    logger.flush();
  }
}

function formatLedger(ledger: LedgerReport, payouts: number): string {
  const k = ledger.balancesByKind;
  const rows: [string, bigint | string | number][] = [
    ['devices (prepaid)', k.device],
    ['channels (escrow)', k.channel],
    ['payees', k.payee],
    ['hub fees', k.hub],
    ['external', k.external],
  ];
  for (const [payee, balance] of Object.entries(ledger.payees))
    rows.push([`  payee/${payee}`, balance]);
  for (const [rail, balance] of Object.entries(ledger.external))
    rows.push([`  ${externalAccount(rail)}`, balance]);
  rows.push(['payouts recorded', payouts]);
  rows.push(['sum of all balances', ledger.sumBaseUnits]);
  return keyValueTable('ledger (USD base units)', rows);
}
