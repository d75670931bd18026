import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The channel table keeps running totals of some marks, and its arrays are public for the hot
 * path to read. The project's lint config is what stops a write from outside the table; this
 * holds the config to that, against code it has never seen.
 */
const eslint = new ESLint();

async function refusals(code: string, filePath = 'src/hub/some-handler.ts'): Promise<string[]> {
  const [result] = await eslint.lintText(`declare const table: any, slot: number;\n${code}\n`, {
    filePath,
  });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

describe('lint: the channel table marks its totals follow', () => {
  it.each([
    'table.acceptedAmount[slot] = 5n;',
    'table.acceptedSeq[slot]++;',
    'table.durableAmount[slot] += 1n;',
    'table.capacityBaseUnits[slot] = 0n;',
    'table.settledAmount.fill(0n);',
    'table.durableSeq.set([1], slot);',
    'table.unsettledBaseUnits -= 1n;',
    'table.escrowOutstandingBaseUnits = 0n;',
    'table.acceptedBaseUnits++;',
  ])('refuses a write from outside the table: %s', async (code) => {
    const found = await refusals(code);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/through ChannelTable's methods/);
  });

  it.each([
    'export const amount = table.acceptedAmount[slot]!;',
    'export const durable = table.durableSeq[slot] === 3;',
    'export const total = table.unsettledBaseUnits + 1n;',
    'table.status[slot] = 2;',
    'table.lastSignedReceiptS[slot] = 7;',
    'new BigUint64Array(4).set(table.acceptedAmount.subarray(0, 4));',
  ])('lets reads and untracked fields through: %s', async (code) => {
    expect(await refusals(code)).toEqual([]);
  });

  it('lets the table itself write its marks', async () => {
    expect(await refusals('table.acceptedAmount[slot] = 5n;', 'src/hub/channel-table.ts')).toEqual(
      [],
    );
  });
});
