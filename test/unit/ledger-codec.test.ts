import { describe, expect, it } from 'vitest';
import {
  decodeAccountValue,
  decodeBalance,
  encodeAccountValue,
  encodeBalance,
  encodeBlock,
  blockKey,
  blockKeySequence,
  openBlock,
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

  it('stores a reference equal to the debit account id once (a settlement)', () => {
    const channelId = transferIdFrom('channel');
    const settle: TransferInput = {
      id: transferIdFrom(3),
      debitAccount: `channel/${channelId}`,
      creditAccount: 'hub/fees',
      asset: 'USD',
      amountBaseUnits: 5n,
      code: TransferCode.SettleFee,
      reference: channelId,
    };
    const other = { ...settle, id: transferIdFrom(4), reference: channelId.slice(1) };
    const elided = encodeBlock([settle], 1);
    // The reference's 31 bytes, and the 4 of the reference column no entry of `elided` needs.
    expect(encodeBlock([other], 1).length - elided.length).toBe(31 + 4);
    // A channel account takes 17 bytes of the dictionary (hub/fees: 1 + 8, USD: 1 + 3).
    expect(elided.length).toBe(24 + 16 + 8 + 3 * 4 + 1 + 17 + 9 + 4);
    const block = openBlock(encodeBlock([settle, other], 7));
    expect(block.entry(0, 1)).toEqual({ ...settle, sequence: 1, timestampMs: 7 });
    expect(block.entry(1, 2)).toEqual({ ...other, sequence: 2, timestampMs: 7 });
  });

  it('round-trips account values: balances by asset and the history tail', () => {
    for (const value of [
      { asOf: 0, balances: [{ asset: 'USD', balanceBaseUnits: 0n }], tail: [] },
      {
        asOf: 2 ** 40 + 7,
        balances: [
          { asset: 'USD', balanceBaseUnits: -(1n << 70n) },
          { asset: 'ABCDEFGHIJ12', balanceBaseUnits: 2n ** 53n + 1n },
        ],
        tail: [1, 2, 300, 2 ** 40],
      },
    ]) {
      expect(decodeAccountValue(encodeAccountValue(value))).toEqual(value);
    }
    expect(() => decodeAccountValue(Uint8Array.of(9, 1))).toThrow(/corrupt/);
  });

  it('reads account values of version 1, whose asset count is one byte', () => {
    const value = {
      asOf: 5,
      balances: Array.from({ length: 200 }, (_, i) => ({
        asset: `A${i}`,
        balanceBaseUnits: BigInt(i),
      })),
      tail: [5],
    };
    const current = encodeAccountValue(value);
    // version 2 | asOf 5 | count 200 as a varint (0xc8 0x01) | the rest, the same in both.
    expect([...current.subarray(0, 4)]).toEqual([2, 5, 0xc8, 0x01]);
    const versionOne = Uint8Array.of(1, 5, 200, ...current.subarray(4));
    expect(decodeAccountValue(versionOne)).toEqual(value);
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
    expect(Array.from(blockKey(255))).toEqual([0x74, 0, 0, 0, 0, 0, 255]);
    expect(blockKeySequence(blockKey(2 ** 40 + 3))).toBe(2 ** 40 + 3);
    expect(blockKeySequence(blockKey(2 ** 48 - 1))).toBe(2 ** 48 - 1);
    expect(Buffer.compare(blockKey(255), blockKey(256))).toBe(-1);
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
