import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { FarthingError, isFarthingError, type ErrorCodeName } from '../../src/errors.js';
import {
  LevelLedger,
  TransferCode,
  channelAccount,
  deviceAccount,
  externalAccount,
  transferIdFrom,
  type Ledger,
  type TransferInput,
} from '../../src/ledger/index.js';
import { accountKey, encodeAccountValue } from '../../src/ledger/level-codec.js';
import { ledgerContract } from './ledger-contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'farthing-ledger-'));
}

ledgerContract('LevelLedger', async () => {
  const dir = await tempDir();
  const ledger = new LevelLedger({ path: join(dir, 'db') });
  return {
    ledger,
    cleanup: async () => {
      await ledger.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const BANK = externalAccount('bank');
const DEVICE = deviceAccount('d1');
const CHANNEL = channelAccount('0123456789abcdef0123456789abcdef');

function deposit(n: number, amount: bigint, to = DEVICE): TransferInput {
  return {
    id: transferIdFrom('level', n),
    debitAccount: BANK,
    creditAccount: to,
    asset: 'USD',
    amountBaseUnits: amount,
    code: TransferCode.Deposit,
    reference: `dep ${n}`,
  };
}

async function expectCode(promise: Promise<unknown>, code: ErrorCodeName): Promise<FarthingError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isFarthingError(error, code)) {
    throw new Error(`expected ${code}, got ${String(error)}`, { cause: error });
  }
  return error;
}

async function everything(ledger: Ledger): Promise<unknown> {
  const records: [string, Uint8Array][] = [];
  for await (const entry of ledger.records('')) records.push(entry);
  const transfers = [];
  let after: number | undefined = 0;
  while (after !== undefined) {
    const page = await ledger.transfers({ after, limit: 1000 });
    transfers.push(...page.items);
    after = page.next;
  }
  return { balances: await ledger.balances(), transfers, records };
}

/** Drops index writes once told to, as a crash right after each commit would. */
class LosingIndexLedger extends LevelLedger {
  loseIndexWrites = false;
  protected override async writeBatch(
    ...args: Parameters<LevelLedger['writeBatch']>
  ): Promise<void> {
    const [batch, options] = args;
    if (this.loseIndexWrites && options.index === true) return batch.close();
    return super.writeBatch(...args);
  }
}

/** Fails the Nth write and every later one, as a full or broken disk would. */
class FailingLedger extends LevelLedger {
  failWrites = false;
  /** Only the writes of derived entries (after each commit, and at close). */
  failIndexWrites = false;
  protected override async writeBatch(
    ...args: Parameters<LevelLedger['writeBatch']>
  ): Promise<void> {
    if (this.failWrites || (this.failIndexWrites && args[1].index === true)) {
      throw new Error('EIO: simulated disk failure');
    }
    return super.writeBatch(...args);
  }
}

describe('LevelLedger specifics', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function dir(): Promise<string> {
    const path = await tempDir();
    cleanups.push(() => rm(path, { recursive: true, force: true }));
    return path;
  }

  function track<T extends Ledger>(ledger: T): T {
    cleanups.push(() => ledger.close());
    return ledger;
  }

  it('keeps everything across close and reopen; the sequence continues', async () => {
    const path = await dir();
    const first = track(new LevelLedger({ path }));
    await first.open();
    await first.commit({
      transfers: [deposit(1, 100n), deposit(2, 5n)],
      records: [{ key: 'ch/1', value: Uint8Array.of(1, 2, 3) }],
    });
    await first.commit({
      transfers: [
        {
          id: transferIdFrom('escrow', 1),
          debitAccount: DEVICE,
          creditAccount: CHANNEL,
          asset: 'USD',
          amountBaseUnits: 60n,
          code: TransferCode.Escrow,
          reference: 'ch 1',
        },
      ],
    });
    const before = await everything(first);
    await first.close();

    const second = track(new LevelLedger({ path }));
    await second.open();
    expect(await everything(second)).toEqual(before);
    expect(await second.balance(DEVICE, 'USD')).toBe(45n);
    expect(await second.balance(CHANNEL, 'USD')).toBe(60n);
    expect(Array.from((await second.record('ch/1'))!)).toEqual([1, 2, 3]);
    // Ids applied before the reopen are still known.
    expect(await second.commit({ transfers: [deposit(1, 100n)] })).toEqual({
      applied: 0,
      alreadyApplied: 1,
    });
    await expectCode(second.commit({ transfers: [deposit(2, 6n)] }), 'LEDGER_ID_CONFLICT');
    await second.commit({ transfers: [deposit(3, 1n)] });
    const page = await second.transfers({ after: 3, limit: 10 });
    expect(page.items.map((t) => [t.sequence, t.id])).toEqual([[4, deposit(3, 1n).id]]);
    const history = await second.transfers({ account: DEVICE, limit: 10 });
    expect(history.items.map((t) => t.sequence)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a second ledger on a directory that is open (LEDGER_UNAVAILABLE)', async () => {
    const path = await dir();
    const first = track(new LevelLedger({ path }));
    await first.open();
    const second = track(new LevelLedger({ path }));
    const error = await expectCode(second.open(), 'LEDGER_UNAVAILABLE');
    expect(error.cause).toBeDefined();
    // The first one is unaffected.
    await first.commit({ transfers: [deposit(1, 1n)] });
    expect(await first.balance(DEVICE, 'USD')).toBe(1n);
  });

  it('refuses a path that is a file, and a LevelDB that is not a ledger', async () => {
    const root = await dir();
    const file = join(root, 'file');
    await writeFile(file, 'x');
    await expectCode(track(new LevelLedger({ path: file })).open(), 'LEDGER_UNAVAILABLE');

    const other = join(root, 'other');
    const db = new Level<string, string>(other);
    await db.put('hello', 'world');
    await db.close();
    await expectCode(track(new LevelLedger({ path: other })).open(), 'LEDGER_UNAVAILABLE');
  });

  it('refuses to open a ledger whose balances do not sum to zero (INVARIANT_BROKEN)', async () => {
    const path = await dir();
    const ledger = new LevelLedger({ path });
    await ledger.open();
    await ledger.commit({ transfers: [deposit(1, 10n)] });
    await ledger.close();
    // The device's account entry (level-codec.ts) rewritten with 11 instead of 10.
    const db = new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.put(
      accountKey(DEVICE),
      encodeAccountValue({
        asOf: 1,
        balances: [{ asset: 'USD', balanceBaseUnits: 11n }],
        tail: [1],
      }),
    );
    await db.close();
    await expectCode(track(new LevelLedger({ path })).open(), 'INVARIANT_BROKEN');
  });

  it('an account may hold any number of assets: 300 survive checkpoints, close and reopen', async () => {
    const path = await dir();
    const ledger = new LevelLedger({ path, checkpointTransfers: 0 });
    await ledger.open();
    const assets = Array.from({ length: 300 }, (_, i) => `A${i}`);
    await ledger.commit({
      transfers: assets.map((asset, i) => ({ ...deposit(1000 + i, BigInt(i + 1)), asset })),
    });
    // The device's entry is due at once (checkpoint every 0 transfers): written with 301 assets.
    await ledger.commit({ transfers: [deposit(1, 7n)] });
    await ledger.close();
    const reopened = track(new LevelLedger({ path }));
    await reopened.open();
    expect(await reopened.balance(DEVICE, 'A299')).toBe(300n);
    expect(await reopened.balance(DEVICE, 'USD')).toBe(7n);
    expect((await reopened.balances()).filter((b) => b.account === DEVICE)).toHaveLength(301);
  });

  it('leaves memory unchanged when a write fails, and refuses later commits', async () => {
    const path = await dir();
    const ledger = track(new FailingLedger({ path }));
    await ledger.open();
    await ledger.commit({ transfers: [deposit(1, 10n)], records: [{ key: 'k', value: null }] });
    const before = await everything(ledger);

    ledger.failWrites = true;
    const error = await expectCode(
      ledger.commit({
        transfers: [deposit(2, 5n)],
        records: [{ key: 'k', value: Uint8Array.of(1) }],
      }),
      'LEDGER_UNAVAILABLE',
    );
    expect(String((error.cause as Error).message)).toContain('EIO');
    expect(await everything(ledger)).toEqual(before);
    expect(await ledger.balance(DEVICE, 'USD')).toBe(10n);

    // Whether the disk holds the batch is unknown until a reopen: no more commits.
    ledger.failWrites = false;
    await expectCode(ledger.commit({ transfers: [deposit(3, 1n)] }), 'LEDGER_UNAVAILABLE');
    await ledger.close();

    const reopened = track(new LevelLedger({ path }));
    await reopened.open();
    expect(await everything(reopened)).toEqual(before);
    await reopened.commit({ transfers: [deposit(3, 1n)] });
    expect(await reopened.balance(DEVICE, 'USD')).toBe(11n);
  });

  // [checkpointTransfers, the round from which index writes are lost (12: only at close)]
  const crashes: [number, number][] = [
    [1_000_000, 3],
    [50, 3],
    [0, 3],
    [50, 12],
    [1_000_000, 12],
  ];
  it.each(crashes)(
    'rebuilds what a crash lost from the blocks (checkpoint every %i, lost from round %i)',
    async (checkpointTransfers, lostFrom) => {
      const path = await dir();
      const DEVICE_B = deviceAccount('d2');
      const channels = Array.from({ length: 30 }, (_, i) => channelAccount(transferIdFrom('c', i)));
      // Channel i settles in rounds where (round + i) % 3 > 0, so accounts change (and their
      // entries get written) at different times.
      const transfersOf = (round: number): TransferInput[] =>
        channels.flatMap((channel, i) =>
          (round + i) % 3 === 0
            ? []
            : [
                {
                  id: transferIdFrom('settle', round, i, 'payee'),
                  debitAccount: channel,
                  creditAccount: i % 2 === 0 ? DEVICE : DEVICE_B,
                  asset: 'USD',
                  amountBaseUnits: 3n,
                  code: TransferCode.SettlePayee,
                  reference: channel.slice('channel/'.length),
                },
                {
                  id: transferIdFrom('settle', round, i, 'fee'),
                  debitAccount: channel,
                  creditAccount: 'hub/fees',
                  asset: i === 7 ? 'EUR' : 'USD',
                  amountBaseUnits: 1n,
                  code: TransferCode.SettleFee,
                  reference: `round ${round}`,
                },
              ],
        );
      const fund = (asset: string): TransferInput[] =>
        channels.map((channel, i) => ({
          id: transferIdFrom('fund', asset, i),
          debitAccount: BANK,
          creditAccount: channel,
          asset,
          amountBaseUnits: 1000n,
          code: TransferCode.Escrow,
          reference: '',
        }));

      // The reference: never crashes.
      const model = track(
        new LevelLedger({ path: join(path, 'model'), sync: false, checkpointTransfers: 25 }),
      );
      // The same commits, but from round `lostFrom` on, its index writes are lost as in a crash.
      const crashed = track(
        new LosingIndexLedger({ path: join(path, 'crashed'), sync: false, checkpointTransfers }),
      );
      for (const ledger of [model, crashed]) {
        await ledger.open();
        await ledger.commit({ transfers: [...fund('USD'), ...fund('EUR')] });
        for (let round = 0; round < 12; round++) {
          if (round === lostFrom) crashed.loseIndexWrites = true;
          await ledger.commit({
            transfers: transfersOf(round),
            records: [{ key: `round/${round}`, value: Uint8Array.of(round) }],
          });
        }
      }
      crashed.loseIndexWrites = true;
      await crashed.close();
      const reopened = track(new LevelLedger({ path: join(path, 'crashed') }));
      await reopened.open();

      // The two ledgers committed at different times; everything else must be equal.
      const untimed = async (ledger: Ledger): Promise<unknown> =>
        JSON.parse(
          JSON.stringify(await everything(ledger), (key, value: unknown) =>
            key === 'timestampMs' ? undefined : typeof value === 'bigint' ? `${value}n` : value,
          ),
        );
      expect(await untimed(reopened)).toEqual(await untimed(model));
      for (const account of [DEVICE, DEVICE_B, 'hub/fees', channels[7]!, BANK]) {
        const history = async (ledger: Ledger): Promise<number[]> => {
          const sequences: number[] = [];
          let after: number | undefined = 0;
          while (after !== undefined) {
            const page = await ledger.transfers({ account, after, limit: 13 });
            sequences.push(...page.items.map((t) => t.sequence));
            after = page.next;
          }
          return sequences;
        };
        expect(await history(reopened), account).toEqual(await history(model));
      }
      const last = transfersOf(11).at(-1)!;
      expect(await reopened.transfer(last.id)).toEqual({
        ...(await model.transfer(last.id)),
        timestampMs: expect.any(Number),
      });
      // Ids of replayed blocks are known again: a retry is a no-op, a change a conflict.
      expect(await reopened.commit({ transfers: transfersOf(11) })).toEqual({
        applied: 0,
        alreadyApplied: transfersOf(11).length,
      });
      await expectCode(
        reopened.commit({ transfers: [{ ...last, amountBaseUnits: 2n }] }),
        'LEDGER_ID_CONFLICT',
      );
      // And it goes on from where the blocks end.
      await reopened.commit({ transfers: transfersOf(12) });
      await model.commit({ transfers: transfersOf(12) });
      expect(await untimed(reopened)).toEqual(await untimed(model));
    },
  );

  it('keeps an account history across many commits, tail and history entries alike', async () => {
    const path = await dir();
    const ledger = track(new LevelLedger({ path, sync: false }));
    await ledger.open();
    const expected: number[] = [];
    let sequence = 0;
    for (let c = 0; c < 45; c++) {
      // 1, 2 or 20 deposits to DEVICE per commit, and one elsewhere.
      const count = c % 7 === 3 ? 20 : 1 + (c % 2);
      const transfers: TransferInput[] = [];
      for (let i = 0; i < count; i++) {
        transfers.push(deposit(1000 * c + i, 1n));
        expected.push(++sequence);
      }
      transfers.push(deposit(1000 * c + 999, 1n, CHANNEL));
      sequence++;
      await ledger.commit({ transfers });
    }
    const pages = async (target: Ledger, limit: number): Promise<number[]> => {
      const seen: number[] = [];
      let after: number | undefined = 0;
      while (after !== undefined) {
        const page = await target.transfers({ account: DEVICE, after, limit });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((t) => t.sequence));
        after = page.next;
      }
      return seen;
    };
    for (const limit of [1, 7, 16, 1000]) expect(await pages(ledger, limit)).toEqual(expected);
    const middle = await ledger.transfers({ account: DEVICE, after: expected[40]!, limit: 3 });
    expect(middle.items.map((t) => t.sequence)).toEqual(expected.slice(41, 44));
    await ledger.close();
    const reopened = track(new LevelLedger({ path }));
    await reopened.open();
    expect(await pages(reopened, 9)).toEqual(expected);
    expect(await reopened.balance(DEVICE, 'USD')).toBe(BigInt(expected.length));
  });

  it('fails later commits and index reads, not the durable commit, when an index write fails', async () => {
    const path = await dir();
    const ledger = track(new FailingLedger({ path }));
    await ledger.open();
    await ledger.commit({ transfers: [deposit(1, 10n)] });
    ledger.failIndexWrites = true;
    // The commit itself is durable when it resolves; its index entries fail after.
    expect(await ledger.commit({ transfers: [deposit(2, 5n)] })).toEqual({
      applied: 1,
      alreadyApplied: 0,
    });
    await ledger.whenIndexed();
    await expectCode(ledger.commit({ transfers: [deposit(3, 1n)] }), 'LEDGER_UNAVAILABLE');
    await expectCode(ledger.transfer(deposit(2, 5n).id), 'LEDGER_UNAVAILABLE');
    await expectCode(ledger.transfers({ account: DEVICE, limit: 5 }), 'LEDGER_UNAVAILABLE');
    expect(await ledger.balance(DEVICE, 'USD')).toBe(15n);
    await ledger.close();

    const reopened = track(new LevelLedger({ path }));
    await reopened.open();
    expect(await reopened.balance(DEVICE, 'USD')).toBe(15n);
    expect((await reopened.transfer(deposit(2, 5n).id))?.sequence).toBe(2);
    const history = await reopened.transfers({ account: DEVICE, limit: 5 });
    expect(history.items.map((t) => t.sequence)).toEqual([1, 2]);
  });

  it('handles a settlement-sized commit and pages across it', async () => {
    const path = await dir();
    const ledger = track(new LevelLedger({ path, sync: false }));
    await ledger.open();
    const channels = Array.from({ length: 1500 }, (_, i) =>
      channelAccount(transferIdFrom('channel', i)),
    );
    await ledger.commit({ transfers: [deposit(0, 1_000_000n)] });
    await ledger.commit({
      transfers: channels.map((channel, i) => ({
        id: transferIdFrom('escrow', i),
        debitAccount: DEVICE,
        creditAccount: channel,
        asset: 'USD',
        amountBaseUnits: 100n,
        code: TransferCode.Escrow,
        reference: channel.slice(8),
      })),
      records: channels.map((channel) => ({ key: channel, value: Uint8Array.of(1) })),
    });
    expect(await ledger.balance(DEVICE, 'USD')).toBe(1_000_000n - 150_000n);
    const page = await ledger.transfers({ after: 700, limit: 1000 });
    expect(page.items).toHaveLength(801);
    expect(page.items[0]!.sequence).toBe(701);
    expect(page.items.at(-1)!.creditAccount).toBe(channels.at(-1));
    expect(page.next).toBeUndefined();
    const device = await ledger.transfers({ account: DEVICE, after: 1000, limit: 1000 });
    expect(device.items.map((t) => t.sequence)).toEqual(
      Array.from({ length: 501 }, (_, i) => 1001 + i),
    );
    const one = await ledger.transfers({ account: channels[1234]!, limit: 10 });
    expect(one.items.map((t) => t.sequence)).toEqual([1236]);
    let records = 0;
    for await (const [key] of ledger.records('channel/')) {
      expect(channels).toContain(key);
      records++;
    }
    expect(records).toBe(1500);
  });
});
