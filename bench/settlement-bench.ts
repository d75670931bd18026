import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Level } from 'level';
import { generateKeyPair } from '../src/crypto/keys.js';
import { Hub } from '../src/hub/hub.js';
import { channelAccount, deviceAccount, externalAccount } from '../src/ledger/accounts.js';
import { LevelLedger } from '../src/ledger/level-ledger.js';
import { TransferCode, type TransferInput } from '../src/ledger/types.js';
import { toHex } from '../src/protocol/bytes.js';
import { median, ratioFigures } from './figures.js';

/**
 * Settlement through the real hub code (Settlement over LevelLedger: transfers built from the
 * channel table, one atomic synced commit per batch) beside the raw LevelDB batched write rate
 * of ~100-byte records measured in the same run, alternating rounds so that load on this shared
 * machine hits both alike. The ratio is the median of each round's own ratio (a raw phase and
 * the settlement right after it), and a full collection runs before every timed phase, so
 * that one phase's set-up garbage is not collected on the next one's clock.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const idleBroker = {
  connected: true,
  subscribe: async () => undefined,
  publish: async () => undefined,
  onMessage: () => undefined,
};

async function rawRecordsPerS(path: string, records: number): Promise<number> {
  const db = new Level<string, Uint8Array>(path, { valueEncoding: 'view' });
  await db.open();
  const value = randomBytes(100);
  collectGarbage();
  const started = performance.now();
  for (let written = 0; written < records; written += 1000) {
    const batch = db.batch();
    for (let i = 0; i < 1000; i++) batch.put(`r/${written + i}`.padEnd(24, '.'), value);
    await batch.write({ sync: true });
  }
  const perS = records / ((performance.now() - started) / 1000);
  await db.close();
  return perS;
}

async function settlementRound(path: string, channels: number, batch: number): Promise<number> {
  const ledger = new LevelLedger({ path });
  await ledger.open();
  const hub = new Hub({
    keyPair: generateKeyPair(),
    ledger,
    broker: idleBroker,
    // Payee notices on, as a hub runs: a run signs and sends up to 256 of them.
    settings: { settleMaxChannelsPerBatch: batch, feeBasisPoints: 150 },
    initialChannelSlots: channels,
  });
  // Set-up (not timed): fund and escrow every channel, as opens would have.
  const deviceId = 'bench-device';
  const setup: TransferInput[] = [
    {
      id: toHex(randomBytes(16)),
      debitAccount: externalAccount('bank'),
      creditAccount: deviceAccount(deviceId),
      asset: 'USD',
      amountBaseUnits: BigInt(channels) * 1_000_000n,
      code: TransferCode.Deposit,
      reference: 'bench',
    },
  ];
  const ids: Uint8Array[] = [];
  for (let i = 0; i < channels; i++) {
    const channelId = randomBytes(16);
    ids.push(channelId);
    setup.push({
      id: toHex(randomBytes(16)),
      debitAccount: deviceAccount(deviceId),
      creditAccount: channelAccount(toHex(channelId)),
      asset: 'USD',
      amountBaseUnits: 1_000_000n,
      code: TransferCode.Escrow,
      reference: toHex(channelId),
    });
  }
  for (let i = 0; i < setup.length; i += 20_000)
    await ledger.commit({ transfers: setup.slice(i, i + 20_000) });
  const deviceKey = randomBytes(32);
  for (let i = 0; i < channels; i++) {
    const slot = hub.table.insert(
      {
        channelId: ids[i]!,
        deviceKey,
        payeeId: `payee-${i % 50}`,
        asset: 'USD',
        capacityBaseUnits: 1_000_000n,
        expiresAtUnixS: 2_000_000_000,
        seq: 0,
        amountBaseUnits: 0n,
        status: 'open',
        closeReason: undefined,
      },
      150,
      0n,
      0,
      0n,
    );
    // A durable voucher ahead of the settled mark: what settlement moves.
    hub.table.markDurable(slot, 7, 12_345n);
  }
  collectGarbage();
  const started = performance.now();
  const run = await hub.settleNow();
  const seconds = (performance.now() - started) / 1000;
  if (run.channels !== channels) throw new Error(`settled ${run.channels} of ${channels}`);
  await ledger.close();
  return channels / seconds;
}

export async function run(opts: { quick: boolean }): Promise<Record<string, number | string>> {
  const rounds = opts.quick ? 3 : 5;
  const channels = opts.quick ? 20_000 : 50_000;
  const dir = await mkdtemp(join(tmpdir(), 'farthing-bench-settle-'));
  try {
    // Untimed warm-up: the first round would otherwise also measure the JIT compiling both.
    await rawRecordsPerS(join(dir, 'raw-warm'), 10_000);
    await settlementRound(join(dir, 'settle-warm'), 5_000, 1_000);
    const raw: number[] = [];
    const settled: number[] = [];
    for (let round = 0; round < rounds; round++) {
      raw.push(await rawRecordsPerS(join(dir, `raw-${round}`), opts.quick ? 20_000 : 100_000));
      settled.push(await settlementRound(join(dir, `settle-${round}`), channels, 10_000));
    }
    const ratios = settled.map((perS, round) => perS / raw[round]!);
    return {
      rawLevelRecordsPerS: Math.round(median(raw)),
      settledChannelsPerS: Math.round(median(settled)),
      ...ratioFigures('settlementVsRawRatio', ratios),
      settlementChannels: channels,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
