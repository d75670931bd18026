import { describe, expect, it } from 'vitest';
import {
  decodeBalance,
  encodeBalance,
  encodeBlock,
  openBlock,
  parseSequenceHex,
  sequenceHex,
  VarintReader,
  writeVarint,
} from '../../src/ledger/level-codec.js';
import { TransferCode, transferIdFrom, type TransferInput } from '../../src/ledger/index.js';

describe('level codec', () => {
  it('round-trips a block and decodes any one entry', () => {
    const transfers: TransferInput[] = [
      {
        id: transferIdFrom(1),
        debitAccount: 'external/bank',
        creditAccount: `device/${'d'.repeat(64)}`,
        asset: 'ABCDEFGHIJ12',
        amountBaseUnits: (1n << 64n) - 1n,
        code: TransferCode.Deposit,
        reference: '👍'.repeat(32),
      },
      {
        id: transferIdFrom(2),
        debitAccount: 'device/a',
        creditAccount: 'hub/fees',
        asset: 'USD',
        amountBaseUnits: 1n,
        code: TransferCode.Withdrawal,
        reference: '',
      },
    ];
    const block = openBlock(encodeBlock(transfers, 1_700_000_000_123));
    expect(block.count).toBe(2);
    expect(block.entry(1, 11)).toEqual({
      ...transfers[1],
      sequence: 11,
      timestampMs: 1_700_000_000_123,
    });
    expect(block.entry(0, 10)).toEqual({
      ...transfers[0],
      sequence: 10,
      timestampMs: 1_700_000_000_123,
    });
    expect(() => block.entry(2, 12)).toThrow(/corrupt/);
  });

  it('refuses corrupt blocks', () => {
    expect(() => openBlock(new Uint8Array(3))).toThrow(/corrupt/);
    expect(() => openBlock(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))).toThrow(/corrupt/);
  });

  it('round-trips balances of any sign and size', () => {
    for (const value of [0n, 1n, -1n, 255n, 256n, -(1n << 70n), (1n << 64n) * 3n]) {
      expect(decodeBalance(encodeBalance(value))).toBe(value);
    }
  });

  it('round-trips varints up to 2^53 - 1 and sequence keys in order', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
    const out = new Uint8Array(8 * values.length);
    let offset = 0;
    for (const v of values) offset = writeVarint(out, offset, v);
    const reader = new VarintReader(out.subarray(0, offset));
    expect(values.map(() => reader.read())).toEqual(values);
    expect(reader.done).toBe(true);
    expect(() => reader.read()).toThrow(/corrupt/);
    expect(sequenceHex(255)).toBe('0000000000ff');
    expect(parseSequenceHex(sequenceHex(2 ** 40 + 3))).toBe(2 ** 40 + 3);
    expect(sequenceHex(9) < sequenceHex(10)).toBe(true);
  });
});

describe('balance encoding', () => {
  it('is a sign byte and the minimal big-endian magnitude', () => {
    expect(Array.from(encodeBalance(0n))).toEqual([0, 0]);
    expect(Array.from(encodeBalance(-1n))).toEqual([1, 1]);
    expect(Array.from(encodeBalance(256n))).toEqual([0, 1, 0]);
    expect(Array.from(encodeBalance(-(1n << 64n) + 1n))).toEqual([1, ...Array(8).fill(255)]);
    expect(Array.from(encodeBalance(1n << 64n))).toEqual([0, 1, ...Array(8).fill(0)]);
    for (let shift = 0n; shift < 130n; shift += 7n) {
      for (const value of [(1n << shift) - 1n, 1n << shift, -(1n << shift)]) {
        expect(decodeBalance(encodeBalance(value))).toBe(value);
      }
    }
  });
});
