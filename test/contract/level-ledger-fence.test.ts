/**
 * A commit's block is written while its index entries are encoded. If the encoding throws,
 * the block may still land while memory cannot follow it: the ledger must refuse every later
 * commit (LEDGER_UNAVAILABLE) and skip its checkpoint at close, so that the next open replays
 * the block and nothing accepted is lost or half-counted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { isFarthingError } from '../../src/errors.js';
import { deviceAccount, externalAccount, transferIdFrom } from '../../src/ledger/accounts.js';
import { LevelLedger } from '../../src/ledger/level-ledger.js';
import { TransferCode, type TransferInput } from '../../src/ledger/types.js';

const encoding = vi.hoisted(() => ({ failNext: false }));
vi.mock('../../src/ledger/level-index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/ledger/level-index.js')>();
  return {
    ...actual,
    putWatermarks: (...args: Parameters<typeof actual.putWatermarks>) => {
      if (encoding.failNext) {
        encoding.failNext = false;
        throw new RangeError('an index entry cannot be encoded');
      }
      return actual.putWatermarks(...args);
    },
  };
});

const DEVICE = deviceAccount('d1');
const deposit = (n: number, amountBaseUnits: bigint): TransferInput => ({
  id: transferIdFrom('fence', n),
  debitAccount: externalAccount('bank'),
  creditAccount: DEVICE,
  asset: 'USD',
  amountBaseUnits,
  code: TransferCode.Deposit,
  reference: `dep ${n}`,
});

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

it('fences the ledger when encoding the index fails, and the reopen replays the block', async () => {
  dir = await mkdtemp(join(tmpdir(), 'farthing-fence-'));
  const path = join(dir, 'db');
  const ledger = new LevelLedger({ path, checkpointTransfers: 0 });
  await ledger.open();
  await ledger.commit({ transfers: [deposit(1, 10n)] });

  encoding.failNext = true;
  const failed = await ledger.commit({ transfers: [deposit(2, 5n)] }).catch((e: unknown) => e);
  expect(isFarthingError(failed, 'LEDGER_UNAVAILABLE')).toBe(true);
  const later = await ledger.commit({ transfers: [deposit(3, 1n)] }).catch((e: unknown) => e);
  expect(isFarthingError(later, 'LEDGER_UNAVAILABLE')).toBe(true);
  await ledger.close();

  const reopened = new LevelLedger({ path });
  await reopened.open();
  try {
    // The failed commit's block was durable: replayed, counted once, and a retry is a no-op.
    expect(await reopened.balance(DEVICE, 'USD')).toBe(15n);
    expect(await reopened.commit({ transfers: [deposit(2, 5n)] })).toEqual({
      applied: 0,
      alreadyApplied: 1,
    });
    await reopened.commit({ transfers: [deposit(3, 1n)] });
    expect(await reopened.balance(DEVICE, 'USD')).toBe(16n);
    const sum = (await reopened.balances()).reduce((s, b) => s + b.balanceBaseUnits, 0n);
    expect(sum).toBe(0n);
  } finally {
    await reopened.close();
  }
});
