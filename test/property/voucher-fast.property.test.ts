import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, signerFor } from '../../src/crypto/keys.js';
import {
  decodeMessage,
  encodeMessage,
  MessageType,
  decodeVoucherFast,
  encodeAckFast,
  toHex,
} from '../../src/protocol/index.js';

const sign = signerFor(generateKeyPair(), 'node');

function voucherBytes(channelId: Uint8Array, seq: number, amount: bigint): Uint8Array {
  return encodeMessage(
    { type: MessageType.Voucher, channelId, seq, amountBaseUnits: amount },
    sign,
  );
}

/** Whatever the fast path accepts, the strict decoder accepts with the same fields and signed bytes. */
function agrees(bytes: Uint8Array): boolean {
  const fast = decodeVoucherFast(bytes);
  const slow = decodeMessage(bytes, 'up');
  if (fast === undefined) return true;
  if (!slow.ok || slow.message.type !== MessageType.Voucher) return false;
  return (
    toHex(fast.voucher.channelId) === toHex(slow.message.channelId) &&
    fast.voucher.seq === slow.message.seq &&
    fast.voucher.amountBaseUnits === slow.message.amountBaseUnits &&
    toHex(fast.toBeSigned) === toHex(slow.signed!.toBeSigned) &&
    toHex(fast.signature) === toHex(slow.signed!.signature)
  );
}

const seqs = fc.oneof(
  fc.constantFrom(0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
);
const amounts = fc.oneof(
  fc.constantFrom(
    0n,
    23n,
    24n,
    255n,
    256n,
    65_535n,
    65_536n,
    2n ** 32n - 1n,
    2n ** 32n,
    2n ** 64n - 1n,
  ),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);

describe('decodeVoucherFast', () => {
  it('reads every valid voucher exactly as the strict decoder does', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        seqs,
        amounts,
        (channelId, seq, amount) => {
          const bytes = voucherBytes(channelId, seq, amount);
          const fast = decodeVoucherFast(bytes);
          expect(fast).toBeDefined();
          expect(agrees(bytes)).toBe(true);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('never accepts what the strict decoder refuses (byte flips, truncation, extension)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        seqs,
        amounts,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.integer({ min: -3, max: 3 }),
        (channelId, seq, amount, flips, resize) => {
          const original = voucherBytes(channelId, seq, amount);
          let bytes = Uint8Array.from(original);
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          if (resize < 0) bytes = bytes.subarray(0, bytes.length + resize);
          if (resize > 0) bytes = Uint8Array.from([...bytes, ...new Uint8Array(resize)]);
          expect(agrees(bytes)).toBe(true);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('hands non-canonical forms to the strict decoder', () => {
    const channelId = new Uint8Array(16).fill(7);
    const bytes = voucherBytes(channelId, 5, 300n);
    // seq 5 written as 18 05 (not shortest): the fast path must not take it.
    const payloadAt = bytes.indexOf(0x84, 7);
    const widened = Uint8Array.from([
      ...bytes.subarray(0, payloadAt + 19),
      0x18,
      0x05,
      ...bytes.subarray(payloadAt + 20),
    ]);
    expect(decodeVoucherFast(widened)).toBeUndefined();
  });
});

describe('encodeAckFast', () => {
  it('writes exactly the bytes encodeMessage writes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        seqs,
        amounts,
        (channelId, seq, amount) => {
          const general = encodeMessage({
            type: MessageType.Ack,
            channelId,
            seq,
            amountBaseUnits: amount,
          });
          expect(toHex(encodeAckFast(channelId, seq, amount))).toBe(toHex(general));
        },
      ),
      { numRuns: 5000 },
    );
  });
});
