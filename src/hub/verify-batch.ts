import type { VerifyItem } from './ports.js';

/**
 * The packed form a batch of signature checks travels in between threads: one ArrayBuffer,
 * transferred rather than copied, holding per item the 32-byte key, the 64-byte signature, a
 * 2-byte big-endian length and the signed bytes.
 */
export interface VerifyRequest {
  id: number;
  count: number;
  buffer: ArrayBuffer;
}

export interface VerifyResponse {
  id: number;
  /** 1 for a valid signature, 0 otherwise, in request order. */
  results: Uint8Array;
}

const ITEM_HEAD_BYTES = 32 + 64 + 2;

export function packVerifyBatch(items: readonly VerifyItem[]): ArrayBuffer {
  let size = 0;
  for (const item of items) {
    if (item.message.length > 0xffff) throw new RangeError('signed message too long to pack');
    size += ITEM_HEAD_BYTES + item.message.length;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const item of items) {
    bytes.set(item.publicKey, offset);
    bytes.set(item.signature, offset + 32);
    bytes[offset + 96] = item.message.length >> 8;
    bytes[offset + 97] = item.message.length & 0xff;
    bytes.set(item.message, offset + ITEM_HEAD_BYTES);
    offset += ITEM_HEAD_BYTES + item.message.length;
  }
  return bytes.buffer;
}

export function readVerifyBatch(bytes: Uint8Array, count: number): VerifyItem[] {
  const items: VerifyItem[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const length = (bytes[offset + 96]! << 8) | bytes[offset + 97]!;
    items.push({
      publicKey: bytes.subarray(offset, offset + 32),
      signature: bytes.subarray(offset + 32, offset + 96),
      message: bytes.subarray(offset + ITEM_HEAD_BYTES, offset + ITEM_HEAD_BYTES + length),
    });
    offset += ITEM_HEAD_BYTES + length;
  }
  return items;
}
