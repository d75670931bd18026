import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PresignedLoad } from '../device-sim/presigned-load.js';
import { keyFromId } from '../src/protocol/topics.js';
import { FULL_LOAD, startHub } from './e2e-bench.js';
import { startMosquitto } from './mosquitto-process.js';
import { freeHubCeilingRatio, hubAloneEstimatePerS, type CpuMicrosPerVoucher } from './figures.js';
import { activityBetween, processActivity, type ProcessActivity } from './process-activity.js';
import { cpuSecondsBetween, threadCpuSeconds } from './thread-cpu.js';

/**
 * Where the CPU goes per acknowledged voucher: the hub (its main thread, its verify workers,
 * its other threads), Mosquitto and the load generator, read per thread from /proc with the
 * endToEnd bench's load, first over a closed loop (saturation), then at half its rate (where
 * the latency target is set). Everything shares the machine's cores, so these add up to what
 * one voucher costs the machine; the end-to-end ratio cannot beat (signature cost ÷ that sum),
 * and how busy the cores still are at half the rate bounds how calm the latency can be.
 * Beside the CPU, each process's read/write calls and context switches per voucher: on a
 * virtual machine where a system call is dear, these explain the CPU.
 */
export async function run(opts: { quick: boolean }): Promise<Record<string, number>> {
  const seconds = opts.quick ? 2 : 6;
  const mosquitto = await startMosquitto();
  const dir = await mkdtemp(join(tmpdir(), 'farthing-bench-cpu-'));
  try {
    const hub = await startHub(dir, ['--broker', mosquitto.url]);
    try {
      // Budget per channel at up to 20 000/s: warm-up and closed loop, then half of that
      // for the open loop's warm-up and measured phase.
      const load = await PresignedLoad.prepare({
        brokerUrl: mosquitto.url,
        hubKey: keyFromId(hub.hubId)!,
        ...FULL_LOAD,
        vouchersPerChannel: Math.ceil(
          (20_000 * (seconds + 1) * 1.5) / (FULL_LOAD.devices * FULL_LOAD.channelsPerDevice),
        ),
      });
      try {
        const pids = {
          hub: hub.child.pid!,
          mosquitto: mosquitto.child.pid!,
          generator: process.pid,
        };
        await load.closedLoop(1); // warm-up
        // Each phase's CPU window also covers its drain (the vouchers still in flight when it
        // ends), so those vouchers and that time count too.
        const saturated = await measure(pids, async () => {
          const started = performance.now();
          const loop = await load.closedLoop(seconds);
          return {
            vouchers: loop.vouchersAckedWithDrain,
            seconds: (performance.now() - started) / 1000,
            perS: loop.perS,
          };
        });
        const halfPerS = saturated.perS / 2;
        await load.openLoop(halfPerS, 1); // the hub settles at this rate after saturation
        const half = await measure(pids, async () => {
          const started = performance.now();
          const loop = await load.openLoop(halfPerS, seconds);
          if (loop.acked < loop.sent * 0.99)
            throw new Error(`only ${loop.acked} of ${loop.sent} vouchers were acknowledged`);
          return { vouchers: loop.sent, seconds: (performance.now() - started) / 1000 };
        });
        return {
          closedLoopPerS: Math.round(saturated.perS),
          ...saturated.figures,
          freeHubCeilingRatio: freeHubCeilingRatio(saturated.split),
          hubAloneEstimatePerS: hubAloneEstimatePerS(saturated.split, availableParallelism()),
          ...Object.fromEntries(Object.entries(half.figures).map(([k, v]) => [`${k}At50`, v])),
        };
      } finally {
        await load.close();
      }
    } finally {
      await hub.stop();
    }
  } finally {
    await mosquitto.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

interface Pids {
  hub: number;
  mosquitto: number;
  generator: number;
}

const PROCESSES: readonly (keyof Pids)[] = ['hub', 'mosquitto', 'generator'];

/** One /proc reading of each process, in the same order every time. */
async function readEach<R>(
  pids: Pids,
  reader: (pid: number) => Promise<R>,
): Promise<Record<keyof Pids, R>> {
  const readings = {} as Record<keyof Pids, R>;
  for (const who of PROCESSES) readings[who] = await reader(pids[who]);
  return readings;
}

/** CPU, I/O calls and context switches per voucher of each process over one load phase. */
async function measure<T extends { vouchers: number; seconds: number }>(
  pids: Pids,
  phase: () => Promise<T>,
): Promise<T & { figures: Record<string, number>; split: CpuMicrosPerVoucher }> {
  const activityBefore = await readEach(pids, processActivity);
  const before = await readEach(pids, threadCpuSeconds);
  const result = await phase();
  const after = await readEach(pids, threadCpuSeconds);
  const activityAfter = await readEach(pids, processActivity);
  const micros = (cpuSeconds: number): number =>
    Math.round((cpuSeconds * 1e7) / result.vouchers) / 10;
  const sum = (used: Map<number, number>): number =>
    [...used.values()].reduce((total, s) => total + s, 0);
  const perVoucher = (who: string, used: ProcessActivity): Record<string, number> => {
    const per = (count: number): number => Math.round((count * 100) / result.vouchers) / 100;
    return {
      [`${who}IoCallsPerVoucher`]: per(used.readCalls + used.writeCalls),
      [`${who}ContextSwitchesPerVoucher`]: per(used.contextSwitches),
    };
  };
  const hubUsed = cpuSecondsBetween(before.hub, after.hub);
  const hubMain = hubUsed.get(pids.hub) ?? 0;
  // The verify workers are the hub's busiest threads after the main one (one per core).
  const others = [...hubUsed].filter(([tid]) => tid !== pids.hub).map(([, s]) => s);
  others.sort((a, b) => b - a);
  const workers = others.slice(0, availableParallelism()).reduce((t, s) => t + s, 0);
  const hubAll = sum(hubUsed);
  const mosquittoAll = sum(cpuSecondsBetween(before.mosquitto, after.mosquitto));
  const generatorAll = sum(cpuSecondsBetween(before.generator, after.generator));
  const machineAll = hubAll + mosquittoAll + generatorAll;
  const split: CpuMicrosPerVoucher = {
    hubAll: micros(hubAll),
    hubVerifyWorkers: micros(workers),
    mosquitto: micros(mosquittoAll),
    generator: micros(generatorAll),
  };
  return {
    ...result,
    split,
    figures: {
      hubMicrosPerVoucher: split.hubAll,
      hubVerifyWorkersMicros: split.hubVerifyWorkers,
      hubMainThreadMicros: micros(hubMain),
      hubOtherThreadsMicros: micros(hubAll - workers - hubMain),
      mosquittoMicrosPerVoucher: split.mosquitto,
      generatorMicrosPerVoucher: split.generator,
      machineMicrosPerVoucher: micros(machineAll),
      // Share of all the cores' time these three processes used over the phase.
      coresBusyShare:
        Math.round((machineAll / (result.seconds * availableParallelism())) * 100) / 100,
      ...Object.assign(
        {},
        ...PROCESSES.map((who) =>
          perVoucher(who, activityBetween(activityBefore[who], activityAfter[who])),
        ),
      ),
    },
  };
}
