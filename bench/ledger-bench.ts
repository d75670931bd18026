/**
 * Ledger benchmark: how fast LevelLedger settles channels and group-commits vouchers, against
 * how fast LevelDB itself writes small records through `level`, in the same run.
 * Target (the benchmark issue): settledChannelsPerS ≥ 0.3 × rawLevelRecordsPerS.
 *
 * raw: the fastest form of batch `level` offers: chained batches (`db.batch().put()…write()`)
 * of 1000 puts of 100-byte values under 18-byte keys, sync: true.
 *
 * settlement: what the hub's settlement writes: per channel one transfer (channel → payee
 * SettlePayee, the whole amount moved; id derived by the caller, reference = the channel id),
 * per commit one fee transfer per payee (payee → hub/fees SettleFee, the sum of its channels'
 * fees), in commits of 1000 and of 10,000 channels (the hub's settleMaxChannelsPerBatch),
 * 16 payees shared by all channels, sync: true. Channels are escrowed beforehand (not timed)
 * and settled again and again with a growing seq, as the hub does. The request objects and account names are built inside the
 * timed step (the caller's share, as in the hub); the transfer ids, SHA-256 hashes the hub
 * derives, are computed beforehand. A step is several commits back to back, timed until the
 * ledger has also written their index entries (LevelLedger writes those just after each
 * commit, overlapping the next one), so no work is left outside the clock.
 *
 * group commit: records-only commits of 64, 512 and 4096 150-byte voucher records (the hub's
 * group commit: the newest voucher of each channel that moved, keys v/<channel> rewritten as
 * channels stream), with their latency (call to resolve) and throughput.
 *
 * The machine is usually shared and noisy: every round runs raw, 1k settlement, raw, 10k
 * settlement, raw, group commits, so that a busy spell slows neighbours alike. Rates are
 * medians over rounds (raw: over all its steps); settlementVsRawRatio1k/10k divide the
 * medians, and settlementVsRawRatio is the lower of the two. For reference,
 * settlementVsRawPairedRatio1k/10k are medians of (ledger rate / the raw rate measured just
 * before it), which drift in machine speed affects less, but the order of the steps more.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import {
  HUB_FEES,
  LevelLedger,
  TransferCode,
  channelAccount,
  deviceAccount,
  externalAccount,
  payeeAccount,
  transferIdFrom,
  type RecordWrite,
  type TransferInput,
} from '../src/ledger/index.js';
import { median } from './figures.js';

const RAW_BATCH = 1000;
const RAW_VALUE_BYTES = 100;
const RAW_BATCHES_PER_STEP = 20;
const PAYEES = 16;
const VOUCHER_RECORD_BYTES = 150;
const GROUP_SIZES = [64, 512, 4096] as const;
const VOUCHER_CHANNELS = 50_000;

interface Step {
  /** Runs one step; returns the items written and the time it took. */
  run(): Promise<{ items: number; elapsedMs: number }>;
  close(): Promise<void>;
}

const perSecond = ({ items, elapsedMs }: { items: number; elapsedMs: number }): number =>
  items / (elapsedMs / 1000);

async function rawStep(dir: string): Promise<Step> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  const value = randomBytes(RAW_VALUE_BYTES);
  let n = 0;
  return {
    async run() {
      const started = performance.now();
      for (let b = 0; b < RAW_BATCHES_PER_STEP; b++) {
        const batch = db.batch();
        for (let i = 0; i < RAW_BATCH; i++) {
          batch.put(`r/${(n++).toString(16).padStart(16, '0')}`, value);
        }
        await batch.write({ sync: true });
      }
      return { items: RAW_BATCHES_PER_STEP * RAW_BATCH, elapsedMs: performance.now() - started };
    },
    close: () => db.close(),
  };
}

/** Settles `2 × perCommit` channels in alternating halves, `commits` commits per step. */
async function settlementStep(dir: string, perCommit: number, commits: number): Promise<Step> {
  const ledger = new LevelLedger({ path: dir, sync: true });
  await ledger.open();
  const asset = 'USD';
  const channels = 2 * perCommit;
  const payees = Array.from({ length: PAYEES }, (_, i) => payeeAccount(`payee-${i}`));
  const hexes = Array.from({ length: channels }, () => randomBytes(16).toString('hex'));
  const device = deviceAccount('bench-device');
  const escrowBaseUnits = 10n ** 12n;

  // Set-up, not timed: fund one device and escrow every channel from it.
  await ledger.commit({
    transfers: [
      {
        id: transferIdFrom('bench-deposit'),
        debitAccount: externalAccount('bench'),
        creditAccount: device,
        asset,
        amountBaseUnits: escrowBaseUnits * BigInt(channels),
        code: TransferCode.Deposit,
        reference: 'bench',
      },
    ],
  });
  for (let c = 0; c < channels; c += 5000) {
    await ledger.commit({
      transfers: hexes.slice(c, c + 5000).map((hex) => ({
        id: transferIdFrom(hex, 'escrow'),
        debitAccount: device,
        creditAccount: channelAccount(hex),
        asset,
        amountBaseUnits: escrowBaseUnits,
        code: TransferCode.Escrow,
        reference: hex,
      })),
    });
  }

  let commit = 0;
  /** Ids of the next commit, derived ahead of the clock (the hub hashes them itself). */
  const idsFor = (n: number): string[] => {
    const seq = 1 + Math.floor(n / 2);
    const half = n % 2;
    const ids: string[] = [];
    for (let j = 0; j < perCommit; j++) {
      ids.push(transferIdFrom(hexes[half * perCommit + j]!, seq, 'payee'));
    }
    for (let p = 0; p < PAYEES; p++) ids.push(transferIdFrom('fees', n, p));
    return ids;
  };
  return {
    async run() {
      const ids = Array.from({ length: commits }, (_, k) => idsFor(commit + k));
      const started = performance.now();
      for (let k = 0; k < commits; k++, commit++) {
        const half = commit % 2;
        const transfers: TransferInput[] = [];
        const fees = new Array<bigint>(PAYEES).fill(0n);
        for (let j = 0; j < perCommit; j++) {
          const hex = hexes[half * perCommit + j]!;
          transfers.push({
            id: ids[k]![j]!,
            debitAccount: channelAccount(hex),
            creditAccount: payees[j % PAYEES]!,
            asset,
            amountBaseUnits: 10_000n,
            code: TransferCode.SettlePayee,
            reference: hex,
          });
          fees[j % PAYEES]! += 100n;
        }
        fees.forEach((fee, p) =>
          transfers.push({
            id: ids[k]![perCommit + p]!,
            debitAccount: payees[p]!,
            creditAccount: HUB_FEES,
            asset,
            amountBaseUnits: fee,
            code: TransferCode.SettleFee,
            reference: `fees of commit ${commit}`,
          }),
        );
        const result = await ledger.commit({ transfers });
        if (result.applied !== transfers.length) throw new Error('bench: settlement not applied');
      }
      await ledger.whenIndexed();
      return { items: commits * perCommit, elapsedMs: performance.now() - started };
    },
    close: () => ledger.close(),
  };
}

interface GroupTally {
  records: number;
  elapsedMs: number;
  latenciesMs: number[];
}

async function groupCommits(dir: string): Promise<{
  run(commitsPerSize: number): Promise<void>;
  tallies: Map<number, GroupTally>;
  close(): Promise<void>;
}> {
  const ledger = new LevelLedger({ path: dir, sync: true });
  await ledger.open();
  const keys = Array.from(
    { length: VOUCHER_CHANNELS },
    () => `v/${randomBytes(16).toString('hex')}`,
  );
  const value = randomBytes(VOUCHER_RECORD_BYTES);
  const tallies = new Map<number, GroupTally>(
    GROUP_SIZES.map((size) => [size, { records: 0, elapsedMs: 0, latenciesMs: [] }]),
  );
  let next = 0;
  return {
    tallies,
    async run(commitsPerSize) {
      for (let c = 0; c < commitsPerSize; c++) {
        for (const size of GROUP_SIZES) {
          const records: RecordWrite[] = [];
          for (let i = 0; i < size; i++) {
            records.push({ key: keys[next++ % VOUCHER_CHANNELS]!, value });
          }
          const started = performance.now();
          await ledger.commit({ transfers: [], records });
          const latencyMs = performance.now() - started;
          const tally = tallies.get(size)!;
          tally.records += size;
          tally.elapsedMs += latencyMs;
          tally.latenciesMs.push(latencyMs);
        }
      }
    },
    close: () => ledger.close(),
  };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function run(opts: { quick: boolean }): Promise<Record<string, number | string>> {
  const root = await mkdtemp(join(tmpdir(), 'farthing-ledger-bench-'));
  const steps: { close(): Promise<void> }[] = [];
  try {
    const rounds = opts.quick ? 5 : 15;
    const groupCommitsPerRound = opts.quick ? 4 : 10;
    const raw = await rawStep(join(root, 'raw'));
    steps.push(raw);
    const settle1k = await settlementStep(join(root, 'settle-1k'), 1000, 12);
    steps.push(settle1k);
    const settle10k = await settlementStep(join(root, 'settle-10k'), 10_000, 3);
    steps.push(settle10k);
    const group = await groupCommits(join(root, 'group'));
    steps.push(group);

    const timeRaw = async (): Promise<number> => perSecond(await raw.run());
    const timeSettle = async (step: Step): Promise<number> => perSecond(await step.run());

    // One warm-up round, not counted: JIT, caches, first LevelDB files.
    await timeRaw();
    await timeSettle(settle1k);
    await timeSettle(settle10k);
    await group.run(1);
    for (const tally of group.tallies.values()) {
      tally.records = tally.elapsedMs = 0;
      tally.latenciesMs = [];
    }

    const rawRates: number[] = [];
    const rates1k: number[] = [];
    const rates10k: number[] = [];
    const ratios1k: number[] = [];
    const ratios10k: number[] = [];
    for (let round = 0; round < rounds; round++) {
      let rawRate = await timeRaw();
      rawRates.push(rawRate);
      const rate1k = await timeSettle(settle1k);
      rates1k.push(rate1k);
      ratios1k.push(rate1k / rawRate);
      rawRate = await timeRaw();
      rawRates.push(rawRate);
      const rate10k = await timeSettle(settle10k);
      rates10k.push(rate10k);
      ratios10k.push(rate10k / rawRate);
      await timeRaw().then((rate) => rawRates.push(rate));
      await group.run(groupCommitsPerRound);
    }

    const round = (x: number): number => Math.round(x);
    const ms = (x: number): number => Number(x.toFixed(2));
    const ratio = (x: number): number => Number(x.toFixed(3));
    const rawMedian = median(rawRates);
    const ratio1k = median(rates1k) / rawMedian;
    const ratio10k = median(rates10k) / rawMedian;
    const results: Record<string, number | string> = {
      rawLevelRecordsPerS: round(rawMedian),
      settledChannelsPerS1k: round(median(rates1k)),
      settledChannelsPerS10k: round(median(rates10k)),
      settledChannelsPerS: round(Math.min(median(rates1k), median(rates10k))),
      settlementVsRawRatio1k: ratio(ratio1k),
      settlementVsRawRatio10k: ratio(ratio10k),
      settlementVsRawRatio: ratio(Math.min(ratio1k, ratio10k)),
      settlementVsRawTarget: 0.3,
      settlementVsRawPairedRatio1k: ratio(median(ratios1k)),
      settlementVsRawPairedRatio10k: ratio(median(ratios10k)),
    };
    for (const size of GROUP_SIZES) {
      const tally = group.tallies.get(size)!;
      results[`groupCommit${size}RecordsPerS`] = round(tally.records / (tally.elapsedMs / 1000));
      results[`groupCommit${size}P50Ms`] = ms(percentile(tally.latenciesMs, 50));
      results[`groupCommit${size}P99Ms`] = ms(percentile(tally.latenciesMs, 99));
    }
    const largest = group.tallies.get(GROUP_SIZES.at(-1)!)!;
    results.groupCommitRecordsPerS = round(largest.records / (largest.elapsedMs / 1000));
    results.groupCommitVsRawRatio = ratio(largest.records / (largest.elapsedMs / 1000) / rawMedian);
    results.rounds = rounds;
    return results;
  } finally {
    for (const step of steps) await step.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}
