/**
 * Ledger benchmark: how fast LevelLedger settles channels, against how fast LevelDB itself
 * writes small records through `level`. Target: settledChannelsPerS ≥ 0.3 × rawLevelRecordsPerS.
 *
 * raw: batches of 1000 puts of 100-byte values under 18-byte keys, sync:true, in both of
 * level's batch forms: the array form `db.batch(ops)` and the chained form
 * `db.batch().put(...).write()`, which is several times cheaper per key in classic-level.
 * rawLevelRecordsPerS is the faster of the two, so settlementVsRawRatio compares against the
 * best LevelDB does here; settlementVsRawArrayBatchRatio compares against the array form.
 * A sync:false chained rate is measured for reference.
 *
 * ledger: channels escrowed beforehand (not timed), then settlement-shaped commits of
 * 1000 channels each, sync:true: per channel channel → payee (SettlePayee), channel → hub/fees
 * (SettleFee) and a 100-byte channel record. Also records-only commits of 1000 × 100 bytes (the
 * shape of the hub's voucher group commit), comparable with the raw rate.
 *
 * The measurements run interleaved, a few batches of each per round, so that a busy machine
 * slows all of them alike and the ratios stay meaningful.
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

const RAW_BATCH = 1000;
const RAW_VALUE_BYTES = 100;
const CHANNELS_PER_COMMIT = 1000;
const PAYEES = 16;

/** Something measured in steps; each step reports how many items it wrote. */
interface Measure {
  step(): Promise<number>;
  close(): Promise<void>;
}

interface Tally {
  items: number;
  elapsedMs: number;
  stepsMs: number[];
}

async function rawMeasure(dir: string, form: 'array' | 'chained', sync: boolean): Promise<Measure> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  const value = randomBytes(RAW_VALUE_BYTES);
  let n = 0;
  const key = (): string => `r/${(n++).toString(16).padStart(16, '0')}`;
  return {
    async step() {
      if (form === 'array') {
        const ops = [];
        for (let i = 0; i < RAW_BATCH; i++) ops.push({ type: 'put' as const, key: key(), value });
        await db.batch(ops, { sync });
      } else {
        const batch = db.batch();
        for (let i = 0; i < RAW_BATCH; i++) batch.put(key(), value);
        await batch.write({ sync });
      }
      return RAW_BATCH;
    },
    close: () => db.close(),
  };
}

async function settlementMeasure(dir: string, commits: number): Promise<Measure> {
  const ledger = new LevelLedger({ path: dir, sync: true });
  await ledger.open();
  const asset = 'USD';
  const channels = CHANNELS_PER_COMMIT * commits;
  const payees = Array.from({ length: PAYEES }, (_, i) => payeeAccount(`payee-${i}`));
  const channelIds = Array.from({ length: channels }, () => randomBytes(16).toString('hex'));
  const device = deviceAccount('bench-device');
  const escrowBaseUnits = 1_000_000n;

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
    const transfers: TransferInput[] = channelIds.slice(c, c + 5000).map((hex) => ({
      id: transferIdFrom(hex, 'escrow'),
      debitAccount: device,
      creditAccount: channelAccount(hex),
      asset,
      amountBaseUnits: escrowBaseUnits,
      code: TransferCode.Escrow,
      reference: hex,
    }));
    await ledger.commit({ transfers });
  }

  const record = randomBytes(100);
  let next = 0;
  return {
    async step() {
      if (next + CHANNELS_PER_COMMIT > channels) throw new Error('bench: out of channels');
      // Built inside the step: the caller's cost of shaping a settlement counts too.
      const transfers: TransferInput[] = [];
      const records: RecordWrite[] = [];
      for (let j = 0; j < CHANNELS_PER_COMMIT; j++) {
        const index = next++;
        const hex = channelIds[index]!;
        const channel = channelAccount(hex);
        const seq = 1000 + index;
        transfers.push(
          {
            id: transferIdFrom(hex, seq, 'payee'),
            debitAccount: channel,
            creditAccount: payees[index % PAYEES]!,
            asset,
            amountBaseUnits: 9_900n,
            code: TransferCode.SettlePayee,
            reference: hex,
          },
          {
            id: transferIdFrom(hex, seq, 'fee'),
            debitAccount: channel,
            creditAccount: HUB_FEES,
            asset,
            amountBaseUnits: 100n,
            code: TransferCode.SettleFee,
            reference: hex,
          },
        );
        records.push({ key: `ch/${hex}`, value: record });
      }
      const result = await ledger.commit({ transfers, records });
      if (result.applied !== transfers.length) throw new Error('bench: settlement not applied');
      return CHANNELS_PER_COMMIT;
    },
    close: () => ledger.close(),
  };
}

async function recordsOnlyMeasure(dir: string): Promise<Measure> {
  const ledger = new LevelLedger({ path: dir, sync: true });
  await ledger.open();
  const value = randomBytes(RAW_VALUE_BYTES);
  let n = 0;
  return {
    async step() {
      const records: RecordWrite[] = [];
      for (let i = 0; i < RAW_BATCH; i++) {
        records.push({ key: `v/${(n++).toString(16).padStart(16, '0')}`, value });
      }
      await ledger.commit({ transfers: [], records });
      return RAW_BATCH;
    },
    close: () => ledger.close(),
  };
}

async function measureSteps(measure: Measure, steps: number, tally: Tally): Promise<void> {
  for (let i = 0; i < steps; i++) {
    const started = performance.now();
    tally.items += await measure.step();
    const elapsedMs = performance.now() - started;
    tally.elapsedMs += elapsedMs;
    tally.stepsMs.push(elapsedMs);
  }
}

const perSecond = (tally: Tally): number => tally.items / (tally.elapsedMs / 1000);
const newTally = (): Tally => ({ items: 0, elapsedMs: 0, stepsMs: [] });

export async function run(opts: { quick: boolean }): Promise<Record<string, number | string>> {
  const root = await mkdtemp(join(tmpdir(), 'farthing-ledger-bench-'));
  const measures: Measure[] = [];
  try {
    const rounds = opts.quick ? 5 : 20;
    const rawSteps = opts.quick ? 5 : 10;
    const settleSteps = opts.quick ? 2 : 3;

    const rawArray = await rawMeasure(join(root, 'raw-array'), 'array', true);
    measures.push(rawArray);
    const rawChained = await rawMeasure(join(root, 'raw-chained'), 'chained', true);
    measures.push(rawChained);
    const settle = await settlementMeasure(join(root, 'ledger'), rounds * settleSteps);
    measures.push(settle);
    const recordsOnly = await recordsOnlyMeasure(join(root, 'records'));
    measures.push(recordsOnly);

    const array = newTally();
    const chained = newTally();
    const settled = newTally();
    const recordCommits = newTally();
    for (let round = 0; round < rounds; round++) {
      await measureSteps(rawArray, rawSteps, array);
      await measureSteps(rawChained, rawSteps, chained);
      await measureSteps(settle, settleSteps, settled);
      await measureSteps(recordsOnly, rawSteps, recordCommits);
    }
    const noSync = newTally();
    const rawNoSync = await rawMeasure(join(root, 'raw-nosync'), 'chained', false);
    measures.push(rawNoSync);
    await measureSteps(rawNoSync, rounds * rawSteps, noSync);

    const raw = Math.max(perSecond(array), perSecond(chained));
    const settledPerS = perSecond(settled);
    const commitMs = [...settled.stepsMs].sort((a, b) => a - b);
    const round = (x: number): number => Math.round(x);
    const ratio = (x: number): number => Number(x.toFixed(3));
    return {
      rawLevelRecordsPerS: round(raw),
      rawLevelArrayBatchRecordsPerS: round(perSecond(array)),
      rawLevelChainedBatchRecordsPerS: round(perSecond(chained)),
      rawLevelNoSyncRecordsPerS: round(perSecond(noSync)),
      ledgerRecordsOnlyCommitRecordsPerS: round(perSecond(recordCommits)),
      settledChannelsPerS: round(settledPerS),
      settlementChannelsPerCommit: CHANNELS_PER_COMMIT,
      settlementCommitP50Ms: Number(commitMs[Math.floor(commitMs.length / 2)]!.toFixed(2)),
      settlementCommitMaxMs: Number(commitMs.at(-1)!.toFixed(2)),
      settlementVsRawRatio: ratio(settledPerS / raw),
      settlementVsRawArrayBatchRatio: ratio(settledPerS / perSecond(array)),
      settlementVsRawTarget: 0.3,
    };
  } finally {
    for (const measure of measures) await measure.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}
