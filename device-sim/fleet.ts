import type { CryptoPath } from '../src/crypto/keys.js';
import type { Price } from '../src/device/index.js';
import { FarthingError, isFarthingError } from '../src/errors.js';
import { ID_PATTERN } from '../src/protocol/index.js';
import type { BrokerAuth } from './connect.js';
import { FleetStats } from './fleet-stats.js';
import {
  isMisbehaviourMode,
  MISBEHAVIOUR_MODES,
  startMisbehaviour,
  type MisbehaviourMode,
  type MisbehaviourOutcome,
  type MisbehaviourRun,
} from './misbehaviour.js';
import type { FleetProgress } from './progress.js';
import { addChannel, checkCloseReceipt, ChannelTotals } from './reconcile.js';
import { deriveSeed, makeRng } from './rng.js';
import {
  DEFAULT_PRICES,
  isScenarioName,
  makeScenario,
  SCENARIO_NAMES,
  type ScenarioName,
} from './scenarios.js';
import { describe, SimDevice } from './sim-device.js';
import { round2, summarize, type LatencySummary } from './stats.js';
import { mapPool, sleep, withTimeout } from './timing.js';

/**
 * A fleet of simulated devices against a running hub: the engine behind `farthing sim`,
 * `farthing demo`, the integration tests and the benchmarks. Every device is a real Device
 * with its own MQTT connection; nothing here reaches into the hub. The run:
 *
 *   1. connect and open one channel per device (at most `connectConcurrency` at a time);
 *   2. stream for `durationS`: each device pays its scenario's usage `ratePerDevice` times a
 *      second, topping its channel up before it fills; misbehaving devices run alongside;
 *   3. drain: wait (bounded) until the hub has acknowledged every device's newest voucher;
 *   4. reconcile: a hub-signed Receipt per channel must state exactly the device's acked
 *      amount and its newest voucher's amount;
 *   5. with `closeAtEnd`, close every channel and check each CloseReceipt.
 */
export interface FleetOptions {
  brokerUrl: string;
  /** The hub's public key (keyFromId of the id `farthing hub` prints). */
  hubKey: Uint8Array;
  /** Honest devices. */
  devices: number;
  /** Vouchers per second per device (an idle EV charger sends none). */
  ratePerDevice: number;
  durationS: number;
  /** Price per usage unit; default per scenario (DEFAULT_PRICES). */
  price?: Price;
  /** Initial capacity of each channel; default 10^9 base units. */
  capacityBaseUnits?: bigint;
  /** A payee id, or several that the devices are spread over. Default payee-1..payee-3. */
  payeeId?: string | readonly string[];
  asset?: string;
  /** One scenario, several spread round-robin over the devices, or 'mixed' (all three). */
  scenario?: ScenarioName | 'mixed' | readonly ScenarioName[];
  misbehave?: Iterable<MisbehaviourMode>;
  closeAtEnd?: boolean;
  /** Signing path of the simulated devices: 'node' (default: this is a load generator) or 'noble'. */
  cryptoPath?: CryptoPath;
  onProgress?: (progress: FleetProgress) => void;
  progressIntervalMs?: number;
  /** Devices connecting and opening at the same time. Default 16. */
  connectConcurrency?: number;
  brokerAuth?: BrokerAuth;
  /** Seed of the usage patterns. Default 1. */
  seed?: number;
  /** Channel lifetime. Default 3600 s. */
  lifetimeS?: number;
  /** Longest wait for outstanding acknowledgements after streaming stops. Default 10 000 ms. */
  drainTimeoutMs?: number;
  /** Longest wait for any one answer from the hub (open, receipt, close). Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Stops streaming early (e.g. on SIGINT); the run still drains and reconciles. */
  signal?: AbortSignal;
  /** Clock, for tests. */
  nowMs?: () => number;
}

export interface FleetTotals {
  /** Sum of the newest voucher amount of every honest channel. */
  sentBaseUnits: bigint;
  /** Sum of what the hub acknowledged on them. */
  ackedBaseUnits: bigint;
  /** Sum of the amounts in the final hub-signed Receipts. */
  receiptedBaseUnits: bigint;
  /** Final capacity of the honest channels (initial escrow plus top-ups). */
  capacityBaseUnits: bigint;
  /** Hub-signed CloseReceipts over every channel the run closed (misbehaving ones too). */
  closedChannels: number;
  closedAmountBaseUnits: bigint;
  closedPayeeBaseUnits: bigint;
  closedFeeBaseUnits: bigint;
  closedRefundBaseUnits: bigint;
}

export interface FleetSummary {
  /** Honest devices asked for, and those that connected. */
  devices: number;
  devicesConnected: number;
  /** Extra devices used by misbehaviour modes. */
  misbehavingDevices: number;
  scenarios: Record<string, number>;
  ratePerDevice: number;
  durationS: number;
  /** Every channel opened, misbehaving devices' included. */
  channelsOpened: number;
  channelsClosed: number;
  topUps: number;
  vouchersSent: number;
  /** Sent vouchers covered by a hub acknowledgement (Ack, Receipt or CloseReceipt). */
  vouchersAcked: number;
  /** Final refusals seen by honest devices, by status name (should be empty). */
  refusedByStatus: Record<string, number>;
  /** Retryable answers the SDK re-sent past (HUB_BUSY, RATE_LIMITED, HUB_FAILURE). */
  retriedByStatus: Record<string, number>;
  ticksIdle: number;
  ticksDeferred: number;
  invalidFromHub: number;
  misbehaviour: MisbehaviourOutcome[];
  /** Acknowledged vouchers per second of streaming (first send to last acknowledgement). */
  throughputPerS: number;
  activeS: number;
  /** Voucher handed to the broker → the hub's acknowledgement of that seq or a later one. */
  latencyMs: LatencySummary;
  totals: FleetTotals;
  /** Every channel agrees with the hub's signed statements, and nothing was left unacked. */
  reconciled: boolean;
  mismatches: string[];
  mismatchCount: number;
  errors: string[];
  errorCount: number;
  elapsedS: number;
}

const DEFAULT_PAYEES = ['payee-1', 'payee-2', 'payee-3'] as const;

interface Resolved {
  scenarios: readonly ScenarioName[];
  payees: readonly string[];
  misbehave: MisbehaviourMode[];
}

function resolve(options: FleetOptions): Resolved {
  const { devices, ratePerDevice, durationS } = options;
  if (typeof options.brokerUrl !== 'string' || options.brokerUrl === '')
    throw new TypeError('brokerUrl is required');
  if (!(options.hubKey instanceof Uint8Array) || options.hubKey.length !== 32)
    throw new TypeError('hubKey must be a 32-byte public key');
  if (!Number.isInteger(devices) || devices < 0 || devices > 1_000_000)
    throw new RangeError('devices must be an integer 0..1 000 000');
  if (!(ratePerDevice > 0) || ratePerDevice > 1000)
    throw new RangeError('ratePerDevice must be in (0, 1000] vouchers per second');
  if (!(durationS > 0) || durationS > 7 * 24 * 3600)
    throw new RangeError('durationS must be positive (at most a week)');
  const { price } = options;
  if (
    price !== undefined &&
    (typeof price.baseUnits !== 'bigint' ||
      typeof price.perUnits !== 'bigint' ||
      price.baseUnits < 0n ||
      price.perUnits <= 0n)
  )
    throw new RangeError('price is { baseUnits ≥ 0n, perUnits > 0n } (bigints)');
  if (options.capacityBaseUnits !== undefined && options.capacityBaseUnits <= 0n)
    throw new RangeError('capacityBaseUnits must be positive');
  const scenario = options.scenario ?? 'smart-meter';
  const scenarios: readonly ScenarioName[] =
    scenario === 'mixed' ? SCENARIO_NAMES : typeof scenario === 'string' ? [scenario] : scenario;
  if (scenarios.length === 0 || !scenarios.every((s) => isScenarioName(s)))
    throw new RangeError(`scenario must be one of ${SCENARIO_NAMES.join(', ')} or mixed`);
  const payeeOption = options.payeeId ?? DEFAULT_PAYEES;
  const payees = typeof payeeOption === 'string' ? [payeeOption] : payeeOption;
  if (payees.length === 0 || !payees.every((p) => ID_PATTERN.test(p)))
    throw new RangeError('payee ids are 1..64 characters of [A-Za-z0-9_-]');
  const misbehave = [...new Set(options.misbehave ?? [])];
  for (const mode of misbehave)
    if (!isMisbehaviourMode(mode))
      throw new RangeError(
        `unknown misbehaviour ${String(mode)} (${MISBEHAVIOUR_MODES.join(', ')})`,
      );
  return { scenarios, payees, misbehave };
}

export async function runFleet(options: FleetOptions): Promise<FleetSummary> {
  const { scenarios, payees, misbehave } = resolve(options);
  const nowMs = options.nowMs ?? Date.now;
  const monoMs = (): number => performance.now();
  const seed = options.seed ?? 1;
  const startedMs = nowMs();
  const stats = new FleetStats(seed);
  const asset = options.asset ?? 'USD';
  const capacityBaseUnits = options.capacityBaseUnits ?? 1_000_000_000n;
  const cryptoPath = options.cryptoPath ?? 'node';
  const auth = options.brokerAuth ?? 'proof';
  const lifetimeS = options.lifetimeS ?? 3600;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const intervalMs = 1000 / options.ratePerDevice;
  const scenarioCount: Record<string, number> = {};

  const sims = Array.from({ length: options.devices }, (_, index) => {
    const name = scenarios[index % scenarios.length]!;
    scenarioCount[name] = (scenarioCount[name] ?? 0) + 1;
    return new SimDevice({
      index,
      brokerUrl: options.brokerUrl,
      hubKey: options.hubKey,
      auth,
      cryptoPath,
      scenario: makeScenario(name, makeRng(deriveSeed(seed, index))),
      price: options.price ?? DEFAULT_PRICES[name],
      payeeId: payees[index % payees.length]!,
      asset,
      capacityBaseUnits,
      lifetimeS,
      lookaheadTicks: Math.max(4, Math.ceil(options.ratePerDevice * 2)),
      resendMs: 500,
      requestTimeoutMs,
      stats,
      nowMs,
      monoMs,
    });
  });

  let phase: FleetProgress['phase'] = 'connecting';
  let lastReport = { atMs: startedMs, acked: 0 };
  const report = (): void => {
    if (options.onProgress === undefined) return;
    const now = nowMs();
    const recent = stats.takeRecent();
    const seconds = Math.max(0.001, (now - lastReport.atMs) / 1000);
    options.onProgress({
      phase,
      elapsedS: round2((now - startedMs) / 1000),
      devices: options.devices,
      devicesConnected: stats.devicesConnected,
      channelsOpen: stats.channelsOpen,
      vouchersSent: stats.vouchersSent,
      vouchersAcked: stats.vouchersAcked,
      refused: stats.refused.total,
      ratePerS: (stats.vouchersAcked - lastReport.acked) / seconds,
      p99Ms: summarize(recent).p99,
    });
    lastReport = { atMs: now, acked: stats.vouchersAcked };
  };
  const progressTimer = setInterval(report, options.progressIntervalMs ?? 500);
  const setPhase = (next: FleetProgress['phase']): void => {
    phase = next;
    report();
  };

  const mismatches: string[] = [];
  let mismatchCount = 0;
  const mismatch = (text: string): void => {
    mismatchCount++;
    if (mismatches.length < 20) mismatches.push(text);
  };
  const totals = new ChannelTotals();
  const runs: MisbehaviourRun[] = [];
  let misbehavingChannels = 0;

  try {
    // 1. Connect and open. A connection failure ends the run (the broker is the problem).
    const concurrency = Math.max(1, options.connectConcurrency ?? 16);
    const openErrors: unknown[] = [];
    await mapPool(sims, concurrency, async (sim) => {
      await sim.connect();
      try {
        await sim.open();
      } catch (error) {
        openErrors.push(error);
        stats.error(`${sim.label}: open failed: ${describe(error)}`);
      }
    });
    if (options.devices > 0 && stats.channelsOpened === 0 && openErrors.length > 0) {
      const first = openErrors[0];
      throw isFarthingError(first)
        ? first
        : new FarthingError('REQUEST_REFUSED', `no channel opened: ${describe(first)}`);
    }

    // 2. Stream, with the misbehaving devices alongside.
    setPhase('streaming');
    const offsetRng = makeRng(deriveSeed(seed, 0x5eed));
    for (const sim of sims) sim.start(intervalMs, Math.floor(offsetRng() * intervalMs));
    const streamStartMs = monoMs();
    const ctx = {
      brokerUrl: options.brokerUrl,
      hubKey: options.hubKey,
      auth,
      cryptoPath,
      payeeId: payees[0]!,
      asset,
      capacityBaseUnits,
      price: options.price ?? DEFAULT_PRICES['smart-meter'],
      lifetimeS,
      answerTimeoutMs: requestTimeoutMs,
      onChannelOpened: () => {
        misbehavingChannels++;
        stats.channelsOpened++;
      },
    };
    for (const mode of misbehave) runs.push(startMisbehaviour(mode, ctx));
    await stopAfter(options.durationS * 1000, options.signal);
    for (const sim of sims) sim.stop();
    const streamEndMs = monoMs();

    // 3. Drain.
    setPhase('draining');
    const drainDeadline = nowMs() + (options.drainTimeoutMs ?? 10_000);
    const drained = await Promise.all(sims.map((sim) => sim.drain(drainDeadline)));
    drained.forEach((ok, i) => {
      if (!ok) mismatch(`${sims[i]!.label}: newest voucher not acknowledged in time`);
    });
    const outcomes = await Promise.all(
      runs.map(
        async (run) =>
          (await withTimeout(run.outcome, requestTimeoutMs * 4)) ?? {
            mode: run.mode,
            devices: 0,
            expected: '(see mode)',
            observed: 'did not finish in time',
            ok: false,
          },
      ),
    );
    const activeMs = Math.max(
      1,
      Math.max(stats.lastAckMs ?? streamEndMs, streamEndMs) - (stats.firstSendMs ?? streamStartMs),
    );

    // Misbehaving devices never top up: their channels hold the opening capacity.
    const misbehaviourCapacity: ReadonlySet<bigint> = new Set([capacityBaseUnits]);
    // 4. Signed receipts against what the devices hold.
    setPhase('reconciling');
    await mapPool(sims, concurrency * 2, (sim) => sim.reconcileReceipt(totals, mismatch));

    // 5. Close.
    if (options.closeAtEnd === true) {
      setPhase('closing');
      await mapPool(sims, concurrency * 2, (sim) => sim.close(totals, mismatch));
      for (const run of runs) {
        for (const { channel, label } of run.channels()) {
          try {
            const receipt = await channel.close();
            checkCloseReceipt(label, channel, receipt, totals, mismatch, misbehaviourCapacity);
            stats.channelsClosed++;
          } catch (error) {
            mismatch(`${label}: close failed: ${describe(error)}`);
          }
        }
      }
    } else {
      // Channels a misbehaviour closed itself still count as closed.
      for (const run of runs)
        for (const { channel, label } of run.channels())
          if (channel.closeReceipt !== undefined) {
            checkCloseReceipt(
              label,
              channel,
              channel.closeReceipt,
              totals,
              mismatch,
              misbehaviourCapacity,
            );
            stats.channelsClosed++;
          }
    }
    for (const sim of sims) if (sim.channel !== undefined) addChannel(sim.channel, totals);
    const unacked = sims.reduce((sum, sim) => sum + sim.outstanding, 0);
    if (unacked > 0) mismatch(`${unacked} sent vouchers were never acknowledged`);

    setPhase('done');
    const refusedByStatus = stats.refused.toRecord();
    return {
      devices: options.devices,
      devicesConnected: stats.devicesConnected,
      misbehavingDevices: outcomes.reduce((sum, o) => sum + o.devices, 0),
      scenarios: scenarioCount,
      ratePerDevice: options.ratePerDevice,
      durationS: options.durationS,
      channelsOpened: stats.channelsOpened,
      channelsClosed: stats.channelsClosed,
      topUps: stats.topUps,
      vouchersSent: stats.vouchersSent,
      vouchersAcked: stats.vouchersAcked,
      refusedByStatus,
      retriedByStatus: stats.retried.toRecord(),
      ticksIdle: stats.ticksIdle,
      ticksDeferred: stats.ticksDeferred,
      invalidFromHub: stats.invalidFromHub,
      misbehaviour: outcomes,
      throughputPerS: round2(stats.vouchersAcked / (activeMs / 1000)),
      activeS: round2(activeMs / 1000),
      latencyMs: stats.latency.summary(),
      totals: {
        sentBaseUnits: totals.sentBaseUnits,
        ackedBaseUnits: totals.ackedBaseUnits,
        receiptedBaseUnits: totals.receiptedBaseUnits,
        capacityBaseUnits: totals.capacityBaseUnits,
        closedChannels: totals.closes,
        closedAmountBaseUnits: totals.closedAmountBaseUnits,
        closedPayeeBaseUnits: totals.closedPayeeBaseUnits,
        closedFeeBaseUnits: totals.closedFeeBaseUnits,
        closedRefundBaseUnits: totals.closedRefundBaseUnits,
      },
      reconciled:
        mismatchCount === 0 &&
        stats.channelsOpened - misbehavingChannels === stats.devicesConnected &&
        stats.invalidFromHub === 0,
      mismatches,
      mismatchCount,
      errors: stats.errors.items,
      errorCount: stats.errors.total,
      elapsedS: round2((nowMs() - startedMs) / 1000),
    };
  } finally {
    clearInterval(progressTimer);
    for (const sim of sims) sim.stop();
    await Promise.all([...sims.map((sim) => sim.shutdown()), ...runs.map((run) => run.shutdown())]);
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
async function stopAfter(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return sleep(ms);
  if (signal.aborted) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal!.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/**
 * Whether the honest devices saw no refusal and no error (a payment or top-up that failed, a
 * message from the hub that did not verify), and every misbehaviour ended as expected.
 */
export function fleetPassed(summary: FleetSummary): boolean {
  return (
    summary.reconciled &&
    summary.errorCount === 0 &&
    Object.keys(summary.refusedByStatus).length === 0 &&
    summary.misbehaviour.every((m) => m.ok)
  );
}
