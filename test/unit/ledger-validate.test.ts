import { describe, expect, it } from 'vitest';
import { isFarthingError } from '../../src/errors.js';
import { TransferCode, transferIdFrom, type TransferInput } from '../../src/ledger/index.js';
import {
  planBatch,
  validateCommit,
  validateTransfer,
  type PlanLookups,
} from '../../src/ledger/validate.js';

function t(n: number, debit: string, credit: string, amount: bigint): TransferInput {
  return {
    id: transferIdFrom('unit', n),
    debitAccount: debit,
    creditAccount: credit,
    asset: 'USD',
    amountBaseUnits: amount,
    code: TransferCode.Deposit,
    reference: '',
  };
}

function lookups(balances: Record<string, bigint>, existing: TransferInput[] = []): PlanLookups {
  return {
    balance: (account, asset) => balances[`${account} ${asset}`],
    existing: (id) => existing.find((e) => e.id === id),
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isFarthingError(error) ? error.code : String(error);
  }
  return undefined;
}

describe('validateTransfer', () => {
  it('copies only the contract fields', () => {
    const input = { ...t(1, 'external/x', 'device/a', 5n), extra: 'dropped', sequence: 9 };
    const copy = validateTransfer(input);
    expect(copy).toEqual(t(1, 'external/x', 'device/a', 5n));
    expect(copy).not.toBe(input);
  });

  it('names the index of the bad transfer', () => {
    const good = t(1, 'external/x', 'device/a', 5n);
    const bad = { ...good, amountBaseUnits: 0n };
    expect(() => validateCommit({ transfers: [good, good, bad] })).toThrow(/transfers\[2\]/);
  });

  it('refuses lone surrogates in references', () => {
    const bad = { ...t(1, 'external/x', 'device/a', 5n), reference: 'a\uD800' };
    expect(codeOf(() => validateTransfer(bad))).toBe('LEDGER_INVALID_TRANSFER');
    const ok = { ...bad, reference: '\u{1F600}' };
    expect(validateTransfer(ok).reference).toBe('\u{1F600}');
  });

  it('refuses more than the commit bounds as misuse', () => {
    const many = Array.from({ length: 100_001 }, () => t(1, 'external/x', 'device/a', 1n));
    expect(() => validateCommit({ transfers: many })).toThrow(RangeError);
    expect(() => validateCommit(null as never)).toThrow(TypeError);
  });
});

describe('planBatch', () => {
  it('computes new balances of touched pairs and leaves lookups untouched', () => {
    const plan = planBatch(
      [t(1, 'external/x', 'device/a', 5n), t(2, 'device/a', 'payee/p', 3n)],
      lookups({ 'device/a USD': 1n }),
    );
    expect(plan.fresh.map((f) => f.id)).toEqual([
      transferIdFrom('unit', 1),
      transferIdFrom('unit', 2),
    ]);
    expect(plan.alreadyApplied).toBe(0);
    expect(plan.balances).toEqual([
      { account: 'external/x', asset: 'USD', balanceBaseUnits: -5n },
      { account: 'device/a', asset: 'USD', balanceBaseUnits: 3n },
      { account: 'payee/p', asset: 'USD', balanceBaseUnits: 3n },
    ]);
  });

  it('skips applied ids with equal fields, refuses them with other fields', () => {
    const applied = t(1, 'external/x', 'device/a', 5n);
    const plan = planBatch([applied, t(2, 'external/x', 'device/a', 1n)], lookups({}, [applied]));
    expect(plan.fresh).toHaveLength(1);
    expect(plan.alreadyApplied).toBe(1);
    expect(codeOf(() => planBatch([{ ...applied, reference: 'x' }], lookups({}, [applied])))).toBe(
      'LEDGER_ID_CONFLICT',
    );
  });

  it('checks the balance after each transfer, in order', () => {
    const spend = t(1, 'device/a', 'payee/p', 5n);
    const fund = t(2, 'external/x', 'device/a', 5n);
    expect(codeOf(() => planBatch([spend, fund], lookups({})))).toBe('LEDGER_INSUFFICIENT_BALANCE');
    expect(planBatch([fund, spend], lookups({})).fresh).toHaveLength(2);
  });

  it('does not re-apply a duplicate within the batch', () => {
    const fund = t(2, 'external/x', 'device/a', 5n);
    const plan = planBatch([fund, fund, fund], lookups({}));
    expect(plan.fresh).toHaveLength(1);
    expect(plan.alreadyApplied).toBe(2);
    expect(plan.balances).toEqual([
      { account: 'external/x', asset: 'USD', balanceBaseUnits: -5n },
      { account: 'device/a', asset: 'USD', balanceBaseUnits: 5n },
    ]);
  });
});
