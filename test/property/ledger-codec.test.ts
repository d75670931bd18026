import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBlock, openBlock } from '../../src/ledger/level-codec.js';
import { TransferCode, type TransferInput } from '../../src/ledger/index.js';

const idChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-'.split('');
const hexChars = '0123456789abcdef'.split('');
const id = fc.string({ unit: fc.constantFrom(...idChars), minLength: 1, maxLength: 64 });
const hex32 = fc.string({ unit: fc.constantFrom(...hexChars), minLength: 32, maxLength: 32 });
const account = fc.oneof(
  id.map((s) => `device/${s}`),
  id.map((s) => `payee/${s}`),
  id.map((s) => `external/${s}`),
  hex32.map((s) => `channel/${s}`),
  fc.constant('hub/fees'),
);
const transfer: fc.Arbitrary<TransferInput> = fc.record({
  id: hex32,
  debitAccount: account,
  creditAccount: account,
  asset: fc.string({
    unit: fc.constantFrom(...'ABCXYZ0129'.split('')),
    minLength: 1,
    maxLength: 12,
  }),
  amountBaseUnits: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
  code: fc.constantFrom(...Object.values(TransferCode)),
  reference: fc.string({ unit: 'grapheme', maxLength: 64 }).filter((s) => s.length <= 64),
});

describe('level codec (property)', () => {
  it('decodes every entry of a block to what was encoded', () => {
    fc.assert(
      fc.property(
        fc.array(transfer, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.nat(),
        (transfers, timestampMs, first) => {
          const block = openBlock(encodeBlock(transfers, timestampMs));
          expect(block.count).toBe(transfers.length);
          transfers.forEach((t, i) => {
            expect(block.entry(i, first + i)).toEqual({ ...t, sequence: first + i, timestampMs });
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
