/**
 * The ledger contract: every backend (memory, LevelDB, later PostgreSQL) runs this suite.
 * It registers vitest tests; a backend's test file calls ledgerContract(name, makeLedger).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { isFarthingError, type ErrorCodeName } from '../../src/errors.js';
import {
  HUB_FEES,
  TransferCode,
  channelAccount,
  deviceAccount,
  externalAccount,
  isExternal,
  payeeAccount,
  transferIdFrom,
  type AccountId,
  type CommitResult,
  type Ledger,
  type Transfer,
  type TransferInput,
} from '../../src/ledger/index.js';

export type MakeLedger = () => Promise<{ ledger: Ledger; cleanup: () => Promise<void> }>;

const BANK = externalAccount('bank');
const CARD = externalAccount('card');
const DEV_A = deviceAccount('dev-a');
const DEV_B = deviceAccount('dev_B');
const CHANNEL = channelAccount('00112233445566778899aabbccddeeff');
const PAYEE = payeeAccount('payee-1');

let idCounter = 0;
/** A fresh transfer id per call (unique across the whole test file). */
function freshId(): string {
  return transferIdFrom('contract', idCounter++);
}

function transfer(
  debitAccount: AccountId,
  creditAccount: AccountId,
  amountBaseUnits: bigint,
  overrides: Partial<TransferInput> = {},
): TransferInput {
  return {
    id: freshId(),
    debitAccount,
    creditAccount,
    asset: 'USD',
    amountBaseUnits,
    code: TransferCode.Deposit,
    reference: 'test',
    ...overrides,
  };
}

async function expectCode(promise: Promise<unknown>, code: ErrorCodeName): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).toBeDefined();
  if (!isFarthingError(caught, code)) {
    throw new Error(`expected FarthingError ${code}, got ${String(caught)}`, { cause: caught });
  }
  return caught;
}

async function allTransfers(ledger: Ledger, account?: AccountId): Promise<Transfer[]> {
  const out: Transfer[] = [];
  let after: number | undefined = 0;
  while (after !== undefined) {
    const page = await ledger.transfers({ after, limit: 7, ...(account ? { account } : {}) });
    out.push(...page.items);
    after = page.next;
  }
  return out;
}

async function allRecords(ledger: Ledger, prefix: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const [key, value] of ledger.records(prefix)) {
    out.push([key, Buffer.from(value).toString('utf8')]);
  }
  return out;
}

/** Everything observable, to compare before and after a refused commit. */
async function snapshot(ledger: Ledger, recordPrefix = ''): Promise<unknown> {
  return {
    balances: await ledger.balances(),
    transfers: await allTransfers(ledger),
    records: await allRecords(ledger, recordPrefix),
  };
}

async function expectZeroSum(ledger: Ledger): Promise<void> {
  const sums = new Map<string, bigint>();
  for (const b of await ledger.balances()) {
    sums.set(b.asset, (sums.get(b.asset) ?? 0n) + b.balanceBaseUnits);
    if (!isExternal(b.account)) expect(b.balanceBaseUnits).toBeGreaterThanOrEqual(0n);
  }
  for (const [asset, sum] of sums) expect(sum, `sum of ${asset}`).toBe(0n);
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

export function ledgerContract(name: string, makeLedger: MakeLedger): void {
  describe(`Ledger contract: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      while (cleanups.length > 0) await cleanups.pop()!();
    });

    async function open(): Promise<Ledger> {
      const { ledger, cleanup } = await makeLedger();
      cleanups.push(cleanup);
      await ledger.open();
      return ledger;
    }

    async function funded(amount = 1000n): Promise<Ledger> {
      const ledger = await open();
      await ledger.commit({ transfers: [transfer(BANK, DEV_A, amount)] });
      return ledger;
    }

    describe('deposits and balances', () => {
      it('credits a deposit from an external account, which goes negative', async () => {
        const ledger = await open();
        expect(await ledger.balance(DEV_A, 'USD')).toBe(0n);
        const result = await ledger.commit({ transfers: [transfer(BANK, DEV_A, 250n)] });
        expect(result).toEqual<CommitResult>({ applied: 1, alreadyApplied: 0 });
        expect(await ledger.balance(DEV_A, 'USD')).toBe(250n);
        expect(await ledger.balance(BANK, 'USD')).toBe(-250n);
        expect(await ledger.balance(DEV_A, 'EUR')).toBe(0n);
        await expectZeroSum(ledger);
      });

      it('lists every touched account/asset pair, filtered by prefix and asset', async () => {
        const ledger = await open();
        await ledger.commit({
          transfers: [
            transfer(BANK, DEV_A, 100n),
            transfer(BANK, DEV_B, 50n, { asset: 'EUR' }),
            transfer(DEV_A, CHANNEL, 100n, { code: TransferCode.Escrow }),
          ],
        });
        const all = await ledger.balances();
        expect(all).toEqual([
          { account: CHANNEL, asset: 'USD', balanceBaseUnits: 100n },
          { account: DEV_A, asset: 'USD', balanceBaseUnits: 0n },
          { account: DEV_B, asset: 'EUR', balanceBaseUnits: 50n },
          { account: BANK, asset: 'EUR', balanceBaseUnits: -50n },
          { account: BANK, asset: 'USD', balanceBaseUnits: -100n },
        ]);
        expect(await ledger.balances({ accountPrefix: 'device/' })).toEqual([
          { account: DEV_A, asset: 'USD', balanceBaseUnits: 0n },
          { account: DEV_B, asset: 'EUR', balanceBaseUnits: 50n },
        ]);
        expect(await ledger.balances({ asset: 'EUR' })).toHaveLength(2);
        expect(await ledger.balances({ accountPrefix: 'payee/' })).toEqual([]);
        await expectZeroSum(ledger);
      });

      it('moves money along device → channel → payee and hub fees, sum zero throughout', async () => {
        const ledger = await funded(1000n);
        await ledger.commit({
          transfers: [transfer(DEV_A, CHANNEL, 600n, { code: TransferCode.Escrow })],
        });
        await expectZeroSum(ledger);
        await ledger.commit({
          transfers: [
            transfer(CHANNEL, PAYEE, 99n, { code: TransferCode.SettlePayee }),
            transfer(CHANNEL, HUB_FEES, 1n, { code: TransferCode.SettleFee }),
          ],
        });
        await expectZeroSum(ledger);
        await ledger.commit({
          transfers: [
            transfer(CHANNEL, DEV_A, 500n, { code: TransferCode.Refund }),
            transfer(PAYEE, CARD, 99n, { code: TransferCode.Payout }),
          ],
        });
        await expectZeroSum(ledger);
        expect(await ledger.balance(DEV_A, 'USD')).toBe(900n);
        expect(await ledger.balance(CHANNEL, 'USD')).toBe(0n);
        expect(await ledger.balance(PAYEE, 'USD')).toBe(0n);
        expect(await ledger.balance(HUB_FEES, 'USD')).toBe(1n);
        expect(await ledger.balance(CARD, 'USD')).toBe(99n);
      });

      it('lets external accounts go negative, also towards each other', async () => {
        const ledger = await open();
        await ledger.commit({ transfers: [transfer(BANK, CARD, 10n)] });
        await ledger.commit({ transfers: [transfer(CARD, BANK, 25n)] });
        expect(await ledger.balance(CARD, 'USD')).toBe(-15n);
        expect(await ledger.balance(BANK, 'USD')).toBe(15n);
      });

      it('accepts the largest amount, 2^64 - 1, and sums beyond it', async () => {
        const ledger = await open();
        const max = (1n << 64n) - 1n;
        await ledger.commit({
          transfers: [transfer(BANK, DEV_A, max), transfer(BANK, DEV_A, max)],
        });
        expect(await ledger.balance(DEV_A, 'USD')).toBe(2n * max);
        expect(await ledger.balance(BANK, 'USD')).toBe(-2n * max);
        await expectZeroSum(ledger);
      });

      it('applies an empty commit as a no-op', async () => {
        const ledger = await open();
        expect(await ledger.commit({ transfers: [] })).toEqual({ applied: 0, alreadyApplied: 0 });
        expect(await ledger.balances()).toEqual([]);
      });
    });

    describe('idempotency', () => {
      it('skips a transfer whose id and fields were already applied', async () => {
        const ledger = await open();
        const deposit = transfer(BANK, DEV_A, 100n);
        await ledger.commit({ transfers: [deposit] });
        const before = await snapshot(ledger);
        const again = await ledger.commit({ transfers: [{ ...deposit }] });
        expect(again).toEqual({ applied: 0, alreadyApplied: 1 });
        expect(await snapshot(ledger)).toEqual(before);
        expect(await ledger.balance(DEV_A, 'USD')).toBe(100n);
      });

      it('applies the new transfers of a retried batch and skips the old ones', async () => {
        const ledger = await open();
        const first = transfer(BANK, DEV_A, 100n);
        await ledger.commit({ transfers: [first] });
        const second = transfer(BANK, DEV_A, 5n);
        const result = await ledger.commit({ transfers: [first, second] });
        expect(result).toEqual({ applied: 1, alreadyApplied: 1 });
        expect(await ledger.balance(DEV_A, 'USD')).toBe(105n);
      });

      const changes: [string, Partial<TransferInput>][] = [
        ['amount', { amountBaseUnits: 101n }],
        ['debit account', { debitAccount: CARD }],
        ['credit account', { creditAccount: DEV_B }],
        ['asset', { asset: 'EUR' }],
        ['code', { code: TransferCode.Withdrawal }],
        ['reference', { reference: 'other' }],
      ];
      for (const [field, change] of changes) {
        it(`refuses the same id with another ${field}, changing nothing`, async () => {
          const ledger = await open();
          const deposit = transfer(BANK, DEV_A, 100n);
          await ledger.commit({ transfers: [deposit], records: [{ key: 'k', value: bytes('1') }] });
          const before = await snapshot(ledger);
          await expectCode(
            ledger.commit({
              transfers: [transfer(BANK, DEV_B, 1n), { ...deposit, ...change }],
              records: [{ key: 'k', value: bytes('2') }],
            }),
            'LEDGER_ID_CONFLICT',
          );
          expect(await snapshot(ledger)).toEqual(before);
        });
      }

      it('counts the same id twice in one batch with equal fields once', async () => {
        const ledger = await open();
        const deposit = transfer(BANK, DEV_A, 100n);
        const result = await ledger.commit({ transfers: [deposit, { ...deposit }] });
        expect(result).toEqual({ applied: 1, alreadyApplied: 1 });
        expect(await ledger.balance(DEV_A, 'USD')).toBe(100n);
        expect(await allTransfers(ledger)).toHaveLength(1);
      });

      it('refuses the same id twice in one batch with different fields', async () => {
        const ledger = await open();
        const deposit = transfer(BANK, DEV_A, 100n);
        await expectCode(
          ledger.commit({ transfers: [deposit, { ...deposit, amountBaseUnits: 7n }] }),
          'LEDGER_ID_CONFLICT',
        );
        expect(await ledger.balances()).toEqual([]);
      });
    });

    describe('atomic batches', () => {
      it('changes nothing when the third transfer overdraws', async () => {
        const ledger = await funded(100n);
        await ledger.commit({ transfers: [], records: [{ key: 'r/1', value: bytes('old') }] });
        const before = await snapshot(ledger);
        const error = await expectCode(
          ledger.commit({
            transfers: [
              transfer(DEV_A, CHANNEL, 60n),
              transfer(BANK, DEV_B, 5n),
              transfer(DEV_A, PAYEE, 41n),
            ],
            records: [
              { key: 'r/1', value: bytes('new') },
              { key: 'r/2', value: bytes('new') },
            ],
          }),
          'LEDGER_INSUFFICIENT_BALANCE',
        );
        expect(error.message).toContain(DEV_A);
        expect(await snapshot(ledger)).toEqual(before);
      });

      it('changes nothing when the third transfer is invalid', async () => {
        const ledger = await funded(100n);
        const before = await snapshot(ledger);
        await expectCode(
          ledger.commit({
            transfers: [
              transfer(DEV_A, CHANNEL, 60n),
              transfer(BANK, DEV_B, 5n),
              transfer(DEV_A, PAYEE, 0n),
            ],
            records: [{ key: 'r/2', value: bytes('new') }],
          }),
          'LEDGER_INVALID_TRANSFER',
        );
        expect(await snapshot(ledger)).toEqual(before);
      });

      it('refuses a batch that overdraws part-way even if it ends positive', async () => {
        const ledger = await funded(10n);
        const before = await snapshot(ledger);
        const error = await expectCode(
          ledger.commit({
            transfers: [transfer(DEV_A, CHANNEL, 15n), transfer(BANK, DEV_A, 10n)],
          }),
          'LEDGER_INSUFFICIENT_BALANCE',
        );
        expect(error.message).toContain(DEV_A);
        expect(await snapshot(ledger)).toEqual(before);
        // The same two in the other order are fine.
        await ledger.commit({
          transfers: [transfer(BANK, DEV_A, 10n), transfer(DEV_A, CHANNEL, 15n)],
        });
        expect(await ledger.balance(DEV_A, 'USD')).toBe(5n);
      });

      it('never overdraws a non-external account, to the base unit', async () => {
        const ledger = await funded(10n);
        for (const account of [DEV_A, CHANNEL, PAYEE, HUB_FEES]) {
          const balance = await ledger.balance(account, 'USD');
          const error = await expectCode(
            ledger.commit({ transfers: [transfer(account, CARD, balance + 1n)] }),
            'LEDGER_INSUFFICIENT_BALANCE',
          );
          expect(error.message).toContain(account);
        }
        await ledger.commit({ transfers: [transfer(DEV_A, CHANNEL, 10n)] });
        expect(await ledger.balance(DEV_A, 'USD')).toBe(0n);
        await expectCode(
          ledger.commit({ transfers: [transfer(DEV_A, CHANNEL, 1n)] }),
          'LEDGER_INSUFFICIENT_BALANCE',
        );
        await expectCode(
          ledger.commit({ transfers: [transfer(DEV_B, CHANNEL, 1n)] }),
          'LEDGER_INSUFFICIENT_BALANCE',
        );
        await expectZeroSum(ledger);
      });

      it('keeps balances of different assets apart', async () => {
        const ledger = await funded(10n);
        await expectCode(
          ledger.commit({ transfers: [transfer(DEV_A, CHANNEL, 1n, { asset: 'EUR' })] }),
          'LEDGER_INSUFFICIENT_BALANCE',
        );
      });
    });

    describe('records', () => {
      it('writes records with transfers, reads, iterates in key order and deletes', async () => {
        const ledger = await open();
        await ledger.commit({
          transfers: [transfer(BANK, DEV_A, 5n)],
          records: [
            { key: 'ch/b', value: bytes('B') },
            { key: 'ch/a', value: bytes('A') },
            { key: 'ch', value: bytes('bare') },
            { key: 'chx/1', value: bytes('X') },
            { key: 'cg/1', value: bytes('G') },
          ],
        });
        expect(await ledger.balance(DEV_A, 'USD')).toBe(5n);
        expect(Buffer.from((await ledger.record('ch/a'))!).toString()).toBe('A');
        expect(await ledger.record('ch/zz')).toBeUndefined();
        expect(await allRecords(ledger, 'ch/')).toEqual([
          ['ch/a', 'A'],
          ['ch/b', 'B'],
        ]);
        expect(await allRecords(ledger, 'ch')).toEqual([
          ['ch', 'bare'],
          ['ch/a', 'A'],
          ['ch/b', 'B'],
          ['chx/1', 'X'],
        ]);
        expect((await allRecords(ledger, '')).map(([key]) => key)).toEqual([
          'cg/1',
          'ch',
          'ch/a',
          'ch/b',
          'chx/1',
        ]);
        await ledger.commit({
          transfers: [],
          records: [
            { key: 'ch/a', value: null },
            { key: 'ch/b', value: bytes('B2') },
            { key: 'never', value: null },
          ],
        });
        expect(await ledger.record('ch/a')).toBeUndefined();
        expect(await allRecords(ledger, 'ch/')).toEqual([['ch/b', 'B2']]);
      });

      it('orders keys by their UTF-8 bytes and keeps non-ASCII keys intact', async () => {
        const ledger = await open();
        const keys = ['k/\u{1F600}', 'k/\uFFFD', 'k/é', 'k/z', 'k/A'];
        await ledger.commit({
          transfers: [],
          records: keys.map((key) => ({ key, value: bytes(key) })),
        });
        const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect((await allRecords(ledger, 'k/')).map(([key]) => key)).toEqual(sorted);
        expect(await allRecords(ledger, 'k/é')).toEqual([['k/é', 'k/é']]);
      });

      it('applies the last write when one commit writes a key twice', async () => {
        const ledger = await open();
        await ledger.commit({
          transfers: [],
          records: [
            { key: 'x', value: bytes('1') },
            { key: 'x', value: bytes('2') },
            { key: 'y', value: bytes('1') },
            { key: 'y', value: null },
          ],
        });
        expect(await allRecords(ledger, '')).toEqual([['x', '2']]);
      });

      it('copies record values in and out', async () => {
        const ledger = await open();
        const value = bytes('abc');
        const pending = ledger.commit({ transfers: [], records: [{ key: 'v', value }] });
        value[0] = 0x7a;
        await pending;
        const read = (await ledger.record('v'))!;
        expect(Buffer.from(read).toString()).toBe('abc');
        read[0] = 0x79;
        expect(Buffer.from((await ledger.record('v'))!).toString()).toBe('abc');
        for await (const [, iterated] of ledger.records('v')) iterated[1] = 0x78;
        expect(Buffer.from((await ledger.record('v'))!).toString()).toBe('abc');
      });

      it('refuses a record key or prefix with a lone UTF-16 half as misuse', async () => {
        const ledger = await open();
        await ledger.commit({ transfers: [], records: [{ key: 'x\uFFFD', value: bytes('1') }] });
        await expect(ledger.record('x\uD800')).rejects.toThrow(TypeError);
        await expect(allRecords(ledger, '\uD83D')).rejects.toThrow(TypeError);
        expect(await allRecords(ledger, 'x')).toEqual([['x\uFFFD', '1']]);
      });

      it('stores an empty record value', async () => {
        const ledger = await open();
        await ledger.commit({
          transfers: [],
          records: [{ key: 'empty', value: new Uint8Array() }],
        });
        expect(await ledger.record('empty')).toEqual(new Uint8Array());
      });

      it('refuses malformed records as misuse, changing nothing', async () => {
        const ledger = await open();
        for (const records of [
          [{ key: '', value: bytes('x') }],
          [{ key: 'a'.repeat(513), value: bytes('x') }],
          [{ key: 'k', value: 'text' as unknown as Uint8Array }],
        ]) {
          await expect(
            ledger.commit({ transfers: [transfer(BANK, DEV_A, 1n)], records }),
          ).rejects.toThrow(TypeError);
        }
        expect(await ledger.balances()).toEqual([]);
      });
    });

    describe('history', () => {
      async function history(): Promise<Ledger> {
        const ledger = await open();
        // 23 transfers: DEV_A is in every third; sequences 1..23.
        const transfers: TransferInput[] = [];
        for (let i = 0; i < 23; i++) {
          transfers.push(transfer(BANK, i % 3 === 0 ? DEV_A : DEV_B, BigInt(i + 1)));
        }
        await ledger.commit({ transfers: transfers.slice(0, 10) });
        await ledger.commit({ transfers: transfers.slice(10, 11) });
        await ledger.commit({ transfers: transfers.slice(11) });
        return ledger;
      }

      it('pages in sequence order with a cursor; the last page has no next', async () => {
        const ledger = await history();
        const first = await ledger.transfers({ limit: 10 });
        expect(first.items.map((t) => t.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(first.next).toBe(10);
        const second = await ledger.transfers({ after: first.next!, limit: 10 });
        expect(second.items.map((t) => t.sequence)).toEqual([
          11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
        ]);
        expect(second.next).toBe(20);
        const third = await ledger.transfers({ after: second.next!, limit: 10 });
        expect(third.items.map((t) => t.sequence)).toEqual([21, 22, 23]);
        expect(third.next).toBeUndefined();
        const exact = await ledger.transfers({ after: 13, limit: 10 });
        expect(exact.items).toHaveLength(10);
        expect(exact.next).toBeUndefined();
        expect(await ledger.transfers({ after: 23, limit: 5 })).toEqual({
          items: [],
          next: undefined,
        });
        expect(await ledger.transfers({ after: 99, limit: 5 })).toEqual({
          items: [],
          next: undefined,
        });
        // Stable: the same query answers the same.
        expect(await ledger.transfers({ after: 4, limit: 9 })).toEqual(
          await ledger.transfers({ after: 4, limit: 9 }),
        );
        const all = await allTransfers(ledger);
        expect(all.map((t) => t.amountBaseUnits)).toEqual(
          Array.from({ length: 23 }, (_, i) => BigInt(i + 1)),
        );
      });

      it('filters by account, debit or credit side, with the same paging', async () => {
        const ledger = await history();
        await ledger.commit({ transfers: [transfer(DEV_A, CHANNEL, 3n)] }); // sequence 24
        const mine = await allTransfers(ledger, DEV_A);
        expect(mine.map((t) => t.sequence)).toEqual([1, 4, 7, 10, 13, 16, 19, 22, 24]);
        const page1 = await ledger.transfers({ account: DEV_A, limit: 4 });
        expect(page1.items.map((t) => t.sequence)).toEqual([1, 4, 7, 10]);
        expect(page1.next).toBe(10);
        const page2 = await ledger.transfers({ account: DEV_A, after: 10, limit: 4 });
        expect(page2.items.map((t) => t.sequence)).toEqual([13, 16, 19, 22]);
        expect(page2.next).toBe(22);
        const page3 = await ledger.transfers({ account: DEV_A, after: 22, limit: 4 });
        expect(page3.items.map((t) => t.sequence)).toEqual([24]);
        expect(page3.next).toBeUndefined();
        const fromMiddle = await ledger.transfers({ account: DEV_A, after: 5, limit: 2 });
        expect(fromMiddle.items.map((t) => t.sequence)).toEqual([7, 10]);
        const exact = await ledger.transfers({ account: DEV_A, after: 16, limit: 3 });
        expect(exact.items.map((t) => t.sequence)).toEqual([19, 22, 24]);
        expect(exact.next).toBeUndefined();
        expect((await allTransfers(ledger, CHANNEL)).map((t) => t.sequence)).toEqual([24]);
        expect(await ledger.transfers({ account: PAYEE, limit: 10 })).toEqual({
          items: [],
          next: undefined,
        });
        // A prefix of another account's name is another account.
        expect(await ledger.transfers({ account: deviceAccount('dev'), limit: 10 })).toEqual({
          items: [],
          next: undefined,
        });
        expect((await allTransfers(ledger, BANK)).length).toBe(23);
      });

      it('refuses a limit outside 1..1000 and a bad cursor', async () => {
        const ledger = await open();
        for (const query of [
          { limit: 0 },
          { limit: 1001 },
          { limit: 1.5 },
          { limit: 5, after: -1 },
          { limit: 5, after: 0.5 },
        ]) {
          await expect(ledger.transfers(query)).rejects.toThrow(RangeError);
        }
        await expect(ledger.transfers({ limit: 5, account: 'nobody' })).rejects.toThrow(TypeError);
      });

      it('assigns sequences from 1 in commit order, and a timestamp per commit', async () => {
        const ledger = await open();
        const startedMs = Date.now();
        await ledger.commit({ transfers: [transfer(BANK, DEV_A, 1n), transfer(BANK, DEV_A, 2n)] });
        await ledger.commit({ transfers: [transfer(BANK, DEV_A, 3n)] });
        const all = await allTransfers(ledger);
        expect(all.map((t) => t.sequence)).toEqual([1, 2, 3]);
        for (const t of all) {
          expect(t.timestampMs).toBeGreaterThanOrEqual(startedMs - 1);
          expect(t.timestampMs).toBeLessThanOrEqual(Date.now() + 1);
        }
        expect(all[0]!.timestampMs).toBe(all[1]!.timestampMs);
      });

      it('serializes commits in call order', async () => {
        const ledger = await open();
        const deposit = transfer(BANK, DEV_A, 10n);
        const spend = transfer(DEV_A, CHANNEL, 10n);
        const results = await Promise.all([
          ledger.commit({ transfers: [deposit] }),
          ledger.commit({ transfers: [spend] }),
          ledger.commit({ transfers: [transfer(BANK, DEV_B, 1n)] }),
        ]);
        expect(results.map((r) => r.applied)).toEqual([1, 1, 1]);
        expect((await allTransfers(ledger)).map((t) => t.id)).toEqual([
          deposit.id,
          spend.id,
          expect.any(String),
        ]);
      });

      it('keeps going after a refused commit', async () => {
        const ledger = await open();
        const results = await Promise.allSettled([
          ledger.commit({ transfers: [transfer(DEV_A, CHANNEL, 1n)] }),
          ledger.commit({ transfers: [transfer(BANK, DEV_A, 1n)] }),
        ]);
        expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
        expect((await allTransfers(ledger)).map((t) => t.sequence)).toEqual([1]);
      });
    });

    describe('transfer lookup', () => {
      it('returns an applied transfer by id with its sequence, a copy each time', async () => {
        const ledger = await funded(10n);
        const escrow = transfer(DEV_A, CHANNEL, 7n, {
          code: TransferCode.Escrow,
          reference: 'chännel ✓ 👍',
        });
        await ledger.commit({ transfers: [escrow] });
        const found = await ledger.transfer(escrow.id);
        expect(found).toEqual({ ...escrow, sequence: 2, timestampMs: expect.any(Number) });
        found!.amountBaseUnits = 1n;
        expect((await ledger.transfer(escrow.id))!.amountBaseUnits).toBe(7n);
        expect(await ledger.transfer(transferIdFrom('never applied'))).toBeUndefined();
        expect(await ledger.transfer('not an id')).toBeUndefined();
      });

      it('stores what was passed at call time, not later mutations', async () => {
        const ledger = await open();
        const deposit = transfer(BANK, DEV_A, 10n);
        const request = { transfers: [deposit] };
        const pending = ledger.commit(request);
        deposit.amountBaseUnits = 999n;
        request.transfers.push(transfer(BANK, DEV_A, 1n));
        await pending;
        expect(await ledger.balance(DEV_A, 'USD')).toBe(10n);
        expect((await ledger.transfer(deposit.id))!.amountBaseUnits).toBe(10n);
      });
    });

    describe('invalid input', () => {
      const cases: [string, Partial<TransferInput> | Record<string, unknown>][] = [
        ['an upper-case id', { id: 'A'.repeat(32) }],
        ['a short id', { id: 'ab' }],
        ['a long id', { id: '0'.repeat(33) }],
        ['a non-string id', { id: 5 }],
        ['the same account on both sides', { creditAccount: BANK }],
        ['a zero amount', { amountBaseUnits: 0n }],
        ['a negative amount', { amountBaseUnits: -5n }],
        ['an amount of 2^64', { amountBaseUnits: 1n << 64n }],
        ['a number amount', { amountBaseUnits: 5 }],
        ['a lower-case asset', { asset: 'usd' }],
        ['an empty asset', { asset: '' }],
        ['a 13-character asset', { asset: 'ABCDEFGHIJKLM' }],
        ['an unknown code', { code: 99 }],
        ['code 0', { code: 0 }],
        ['a 65-character reference', { reference: 'r'.repeat(65) }],
        ['a non-string reference', { reference: undefined }],
        ['an unknown account kind', { creditAccount: 'wallet/x' }],
        ['an empty device id', { creditAccount: 'device/' }],
        ['a 65-character device id', { creditAccount: `device/${'d'.repeat(65)}` }],
        ['a device id with a slash', { creditAccount: 'device/a/b' }],
        ['a device id with a space', { creditAccount: 'device/a b' }],
        ['a short channel id', { creditAccount: 'channel/abcd' }],
        ['an upper-case channel id', { creditAccount: `channel/${'AB'.repeat(16)}` }],
        ['another hub account', { creditAccount: 'hub/other' }],
        ['an external account without rail', { debitAccount: 'external/' }],
      ];
      for (const [what, change] of cases) {
        it(`refuses ${what} with LEDGER_INVALID_TRANSFER`, async () => {
          const ledger = await open();
          await expectCode(
            ledger.commit({
              transfers: [{ ...transfer(BANK, DEV_A, 10n), ...change } as TransferInput],
            }),
            'LEDGER_INVALID_TRANSFER',
          );
          expect(await ledger.balances()).toEqual([]);
          expect(await allTransfers(ledger)).toEqual([]);
        });
      }

      it('accepts the boundaries: 64-character ids, 12-character assets, 64-char references', async () => {
        const ledger = await open();
        const longest = deviceAccount('x'.repeat(64));
        await ledger.commit({
          transfers: [
            transfer(externalAccount('R'.repeat(64)), longest, 1n, {
              asset: 'ABCDEFGHIJ12',
              reference: 'é'.repeat(64),
              code: TransferCode.Withdrawal,
            }),
          ],
        });
        expect(await ledger.balance(longest, 'ABCDEFGHIJ12')).toBe(1n);
        const [stored] = await allTransfers(ledger);
        expect(stored!.reference).toBe('é'.repeat(64));
      });
    });

    describe('lifecycle', () => {
      it('fails every call with LEDGER_CLOSED after close', async () => {
        const ledger = await funded(10n);
        await ledger.close();
        await ledger.close(); // idempotent
        await expectCode(
          ledger.commit({ transfers: [transfer(BANK, DEV_A, 1n)] }),
          'LEDGER_CLOSED',
        );
        await expectCode(ledger.balance(DEV_A, 'USD'), 'LEDGER_CLOSED');
        await expectCode(ledger.balances(), 'LEDGER_CLOSED');
        await expectCode(ledger.transfer(freshId()), 'LEDGER_CLOSED');
        await expectCode(ledger.transfers({ limit: 1 }), 'LEDGER_CLOSED');
        await expectCode(ledger.record('x'), 'LEDGER_CLOSED');
        await expectCode(allRecords(ledger, ''), 'LEDGER_CLOSED');
        await expectCode(ledger.open(), 'LEDGER_CLOSED');
      });

      it('finishes commits already queued when closed', async () => {
        const ledger = await open();
        const pending = ledger.commit({ transfers: [transfer(BANK, DEV_A, 1n)] });
        const closing = ledger.close();
        expect(await pending).toEqual({ applied: 1, alreadyApplied: 0 });
        await closing;
      });

      it('refuses calls before open() with LEDGER_UNAVAILABLE', async () => {
        const { ledger, cleanup } = await makeLedger();
        cleanups.push(cleanup);
        await expectCode(ledger.balance(DEV_A, 'USD'), 'LEDGER_UNAVAILABLE');
        await expectCode(ledger.commit({ transfers: [] }), 'LEDGER_UNAVAILABLE');
        await expectCode(ledger.transfers({ limit: 1 }), 'LEDGER_UNAVAILABLE');
        await ledger.open();
        expect(await ledger.balance(DEV_A, 'USD')).toBe(0n);
      });

      it('opens idempotently', async () => {
        const ledger = await open();
        await ledger.open();
        await ledger.commit({ transfers: [transfer(BANK, DEV_A, 1n)] });
        await Promise.all([ledger.open(), ledger.open()]);
        expect(await ledger.balance(DEV_A, 'USD')).toBe(1n);
      });
    });

    describe('property: random operation sequences keep the invariants', () => {
      it('sum zero, no negative non-external, balances = model of reported transfers', async () => {
        const seen = new Map<string, number>();
        await fc.assert(
          fc.asyncProperty(operationsArbitrary(), async (operations) => {
            const { ledger, cleanup } = await makeLedger();
            try {
              await ledger.open();
              const model = new ReferenceModel();
              for (const request of resolveSteps(operations)) {
                const expected = model.predict(request);
                let outcome: CommitResult | ErrorCodeName;
                try {
                  outcome = await ledger.commit({ transfers: request });
                } catch (error) {
                  if (!isFarthingError(error)) throw error;
                  outcome = error.code;
                }
                expect(outcome).toEqual(expected);
                await checkInvariants(ledger, model);
                const kinds =
                  typeof outcome === 'string'
                    ? [outcome]
                    : [
                        outcome.applied > 0 ? 'applied' : '',
                        outcome.alreadyApplied > 0 ? 'retry' : '',
                      ];
                for (const kind of kinds) seen.set(kind, (seen.get(kind) ?? 0) + 1);
              }
            } finally {
              await ledger.close();
              await cleanup();
            }
          }),
          { numRuns: 60 },
        );
        // The generator must exercise every outcome, or the property proves little.
        for (const kind of [
          'applied',
          'retry',
          'LEDGER_ID_CONFLICT',
          'LEDGER_INSUFFICIENT_BALANCE',
        ]) {
          expect(seen.get(kind) ?? 0, kind).toBeGreaterThanOrEqual(5);
        }
      });
    });
  });
}

// ---- property test support ----

const PROPERTY_ACCOUNTS: AccountId[] = [
  BANK,
  CARD,
  DEV_A,
  DEV_B,
  CHANNEL,
  channelAccount('ffeeddccbbaa99887766554433221100'),
  PAYEE,
  HUB_FEES,
];
const PROPERTY_ASSETS = ['USD', 'EUR'];
/** A small id pool, so that ids repeat: with the same fields (a retry) or not (a conflict). */
const PROPERTY_IDS = Array.from({ length: 40 }, (_, i) => transferIdFrom('property', i));

function transferArbitrary(): fc.Arbitrary<TransferInput> {
  return fc
    .record({
      id: fc.constantFrom(...PROPERTY_IDS),
      debit: fc.nat({ max: PROPERTY_ACCOUNTS.length - 1 }),
      creditOffset: fc.integer({ min: 1, max: PROPERTY_ACCOUNTS.length - 1 }),
      asset: fc.constantFrom(...PROPERTY_ASSETS),
      amount: fc.oneof(
        { weight: 12, arbitrary: fc.bigInt({ min: 1n, max: 40n }) },
        { weight: 1, arbitrary: fc.constant((1n << 64n) - 1n) },
      ),
      code: fc.constantFrom(...Object.values(TransferCode)),
      reference: fc.constantFrom('', 'a', 'b'),
    })
    .map(({ id, debit, creditOffset, asset, amount, code, reference }) => ({
      id,
      debitAccount: PROPERTY_ACCOUNTS[debit]!,
      creditAccount: PROPERTY_ACCOUNTS[(debit + creditOffset) % PROPERTY_ACCOUNTS.length]!,
      asset,
      amountBaseUnits: amount,
      code,
      reference,
    }));
}

type Step =
  | { kind: 'batch'; transfers: TransferInput[] }
  /** Resubmits an earlier batch (a retry), possibly with more transfers after it. */
  | { kind: 'replay'; pick: number; extra: TransferInput[] };

/** Deposits from outside (so that money exists to move), random batches of 1..5, retries. */
function operationsArbitrary(): fc.Arbitrary<Step[]> {
  const deposit = fc
    .record({
      id: fc.constantFrom(...PROPERTY_IDS),
      to: fc.constantFrom(DEV_A, DEV_B, CHANNEL, PAYEE),
      asset: fc.constantFrom(...PROPERTY_ASSETS),
      amount: fc.bigInt({ min: 1n, max: 200n }),
    })
    .map(({ id, to, asset, amount }): TransferInput => ({
      id,
      debitAccount: BANK,
      creditAccount: to,
      asset,
      amountBaseUnits: amount,
      code: TransferCode.Deposit,
      reference: '',
    }));
  const transfers = fc.array(
    fc.oneof({ weight: 2, arbitrary: deposit }, { weight: 3, arbitrary: transferArbitrary() }),
    {
      minLength: 1,
      maxLength: 4,
    },
  );
  const step = fc.oneof(
    { weight: 3, arbitrary: transfers.map((t): Step => ({ kind: 'batch', transfers: t })) },
    {
      weight: 2,
      arbitrary: fc
        .record({ pick: fc.nat(), extra: fc.array(transferArbitrary(), { maxLength: 2 }) })
        .map(({ pick, extra }): Step => ({ kind: 'replay', pick, extra })),
    },
  );
  return fc.array(step, { minLength: 5, maxLength: 30 });
}

/** The batches to submit, in order, with replays resolved against earlier submissions. */
function resolveSteps(steps: readonly Step[]): TransferInput[][] {
  const submitted: TransferInput[][] = [];
  for (const step of steps) {
    if (step.kind === 'batch' || submitted.length === 0) {
      submitted.push(step.kind === 'batch' ? step.transfers : step.extra);
    } else {
      const earlier = submitted[step.pick % submitted.length]!;
      submitted.push([...earlier.map((t) => ({ ...t })), ...step.extra]);
    }
  }
  return submitted.filter((batch) => batch.length > 0);
}

/**
 * An independent model of the contract, written without the ledger's code: predicts each
 * commit's result and tracks balances.
 */
class ReferenceModel {
  readonly applied = new Map<string, TransferInput>();
  readonly balances = new Map<string, bigint>();

  predict(batch: readonly TransferInput[]): CommitResult | ErrorCodeName {
    const applied = new Map(this.applied);
    const balances = new Map(this.balances);
    let fresh = 0;
    let skipped = 0;
    for (const t of batch) {
      const earlier = applied.get(t.id);
      if (earlier !== undefined) {
        if (!sameFields(earlier, t)) {
          return 'LEDGER_ID_CONFLICT';
        }
        skipped++;
        continue;
      }
      const debitKey = `${t.debitAccount} ${t.asset}`;
      const creditKey = `${t.creditAccount} ${t.asset}`;
      const debitBalance = (balances.get(debitKey) ?? 0n) - t.amountBaseUnits;
      if (debitBalance < 0n && !t.debitAccount.startsWith('external/')) {
        return 'LEDGER_INSUFFICIENT_BALANCE';
      }
      balances.set(debitKey, debitBalance);
      balances.set(creditKey, (balances.get(creditKey) ?? 0n) + t.amountBaseUnits);
      applied.set(t.id, { ...t });
      fresh++;
    }
    for (const [k, v] of applied) this.applied.set(k, v);
    for (const [k, v] of balances) this.balances.set(k, v);
    return { applied: fresh, alreadyApplied: skipped };
  }
}

function sameFields(a: TransferInput, b: TransferInput): boolean {
  return (
    a.id === b.id &&
    a.debitAccount === b.debitAccount &&
    a.creditAccount === b.creditAccount &&
    a.asset === b.asset &&
    a.amountBaseUnits === b.amountBaseUnits &&
    a.code === b.code &&
    a.reference === b.reference
  );
}

async function checkInvariants(ledger: Ledger, model: ReferenceModel): Promise<void> {
  const balances = await ledger.balances();
  const sums = new Map<string, bigint>();
  const reported = new Map<string, bigint>();
  for (const b of balances) {
    sums.set(b.asset, (sums.get(b.asset) ?? 0n) + b.balanceBaseUnits);
    if (!isExternal(b.account)) expect(b.balanceBaseUnits >= 0n, b.account).toBe(true);
    reported.set(`${b.account} ${b.asset}`, b.balanceBaseUnits);
    expect(await ledger.balance(b.account, b.asset)).toBe(b.balanceBaseUnits);
  }
  for (const [asset, sum] of sums) expect(sum, `sum of ${asset}`).toBe(0n);

  // Balances recomputed from the transfers the ledger reports as applied.
  const transfers = await allTransfers(ledger);
  const fromTransfers = new Map<string, bigint>();
  transfers.forEach((t, i) => {
    expect(t.sequence).toBe(i + 1);
    const debitKey = `${t.debitAccount} ${t.asset}`;
    const creditKey = `${t.creditAccount} ${t.asset}`;
    fromTransfers.set(debitKey, (fromTransfers.get(debitKey) ?? 0n) - t.amountBaseUnits);
    fromTransfers.set(creditKey, (fromTransfers.get(creditKey) ?? 0n) + t.amountBaseUnits);
  });
  expect(reported).toEqual(fromTransfers);
  expect(reported).toEqual(model.balances);
  expect(new Set(transfers.map((t) => t.id))).toEqual(new Set(model.applied.keys()));
}
