import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeVoucherRecord, encodeVoucherRecord } from '../../src/hub/records.js';
import { encodeCbor } from '../../src/protocol/cbor.js';

// Boundaries of each CBOR head width, where a hand-written encoder goes wrong first.
const edges = [0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1].map(BigInt);
const amounts = fc.oneof(
  fc.constantFrom(...edges, 2n ** 32n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
const seqs = fc.oneof(
  fc.constantFrom(...edges.map(Number)),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
);
const voucherBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(23, 24, 255, 256).map((n) => new Uint8Array(n).fill(7)),
);

describe('the voucher record encoder (group commit writes one per voucher)', () => {
  it('writes exactly what the general CBOR encoder writes, and decodes back', () => {
    fc.assert(
      fc.property(seqs, amounts, voucherBytes, (seq, amountBaseUnits, bytes) => {
        const record = { seq, amountBaseUnits, voucherBytes: bytes };
        const fast = encodeVoucherRecord(record);
        expect(Buffer.from(fast).toString('hex')).toBe(
          Buffer.from(encodeCbor([1, seq, amountBaseUnits, bytes])).toString('hex'),
        );
        const back = decodeVoucherRecord(fast);
        expect(back.seq).toBe(seq);
        expect(back.amountBaseUnits).toBe(amountBaseUnits);
        expect(Buffer.from(back.voucherBytes).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
