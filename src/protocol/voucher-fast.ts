import { writeCborHead } from './cbor.js';
import { sigStructure } from './cose.js';
import { Limits } from './limits.js';
import { MessageType, type Voucher } from './messages.js';

/**
 * The hub's fast path for the one message it receives thousands of times a second. A voucher
 * has exactly one valid encoding shape:
 *
 *   84                      COSE_Sign1 array of 4
 *   43 a1 01 27             protected header h'A10127' ({1: -8}, EdDSA)
 *   a0                      empty unprotected map
 *   58 LL | 40+LL           payload byte string (LL = 20..37 bytes)
 *     84 04 50 <16 bytes>   [4, channelId,
 *     <uint seq>            seq (shortest form, ≤ 2^32 − 1),
 *     <uint amount>         amount (shortest form, ≤ 2^64 − 1)]
 *   58 40 <64 bytes>        signature
 *
 * This reads that shape directly. It returns undefined for anything else, and the caller then
 * runs the general strict decoder, which refuses with the exact status. A test checks that for
 * every input this path accepts, the general decoder accepts it too and agrees on every field.
 */
export interface FastVoucher {
  voucher: Voucher;
  toBeSigned: Uint8Array;
  signature: Uint8Array;
}

const HEAD = [0x84, 0x43, 0xa1, 0x01, 0x27, 0xa0] as const;

export function decodeVoucherFast(bytes: Uint8Array): FastVoucher | undefined {
  if (bytes.length > Limits.maxVoucherBytes || bytes.length < 6 + 1 + 20 + 66) return undefined;
  for (let i = 0; i < HEAD.length; i++) if (bytes[i] !== HEAD[i]) return undefined;
  let offset = 6;
  const lengthHead = bytes[offset++]!;
  let payloadLength: number;
  if (lengthHead === 0x58) {
    payloadLength = bytes[offset++]!;
    if (payloadLength < 24) return undefined;
  } else if (lengthHead >= 0x40 && lengthHead < 0x58) {
    payloadLength = lengthHead - 0x40;
  } else {
    return undefined;
  }
  const payloadStart = offset;
  const payloadEnd = payloadStart + payloadLength;
  if (payloadEnd + 66 !== bytes.length) return undefined;
  if (bytes[offset] !== 0x84 || bytes[offset + 1] !== 0x04 || bytes[offset + 2] !== 0x50)
    return undefined;
  // Views, not copies: the received bytes are never reused, and the hub keeps them anyway.
  const channelId = bytes.subarray(offset + 3, offset + 19);
  offset += 19;
  const seq = readUint(bytes, offset, payloadEnd);
  if (seq === undefined || seq.value > BigInt(Limits.maxSeq)) return undefined;
  offset = seq.next;
  const amount = readUint(bytes, offset, payloadEnd);
  if (amount === undefined || amount.next !== payloadEnd) return undefined;
  if (bytes[payloadEnd] !== 0x58 || bytes[payloadEnd + 1] !== 0x40) return undefined;
  return {
    voucher: {
      type: MessageType.Voucher,
      channelId,
      seq: Number(seq.value),
      amountBaseUnits: amount.value,
    },
    toBeSigned: sigStructure(bytes.subarray(payloadStart, payloadEnd)),
    signature: bytes.subarray(payloadEnd + 2, payloadEnd + 66),
  };
}

/** A major-type-0 integer in shortest form, or undefined. */
function readUint(
  bytes: Uint8Array,
  offset: number,
  end: number,
): { value: bigint; next: number } | undefined {
  if (offset >= end) return undefined;
  const head = bytes[offset]!;
  if (head < 24) return { value: BigInt(head), next: offset + 1 };
  const width = head === 0x18 ? 1 : head === 0x19 ? 2 : head === 0x1a ? 4 : head === 0x1b ? 8 : 0;
  if (width === 0 || offset + 1 + width > end) return undefined;
  let value = 0n;
  if (width <= 4) {
    let n = 0;
    for (let i = 1; i <= width; i++) n = n * 256 + bytes[offset + i]!;
    value = BigInt(n);
  } else {
    for (let i = 1; i <= width; i++) value = (value << 8n) | BigInt(bytes[offset + i]!);
  }
  const minimum = width === 1 ? 24n : width === 2 ? 0x100n : width === 4 ? 0x10000n : 0x100000000n;
  if (value < minimum) return undefined;
  return { value, next: offset + 1 + width };
}

/**
 * Encodes a plain Ack, [5, channelId, seq, amount], without the general encoder: the hub sends
 * one per acknowledged voucher. Byte-identical to encodeMessage (a test checks it).
 */
export function encodeAckFast(
  channelId: Uint8Array,
  seq: number,
  amountBaseUnits: bigint,
): Uint8Array {
  if (channelId.length !== 16) throw new RangeError('channelId is 16 bytes');
  if (!Number.isInteger(seq) || seq < 0 || seq > Limits.maxSeq)
    throw new RangeError('seq out of range');
  if (amountBaseUnits < 0n || amountBaseUnits > Limits.maxAmount)
    throw new RangeError('amount out of range');
  const out = new Uint8Array(3 + 16 + 9 + 9);
  out[0] = 0x84;
  out[1] = MessageType.Ack;
  out[2] = 0x50;
  out.set(channelId, 3);
  let offset = writeCborHead(out, 19, 0, seq);
  offset = writeCborHead(out, offset, 0, amountBaseUnits);
  return out.subarray(0, offset);
}
