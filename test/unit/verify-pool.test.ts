import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFor } from '../../src/crypto/keys.js';
import { verifyNode } from '../../src/crypto/node-path.js';
import { VerifyPool } from '../../src/hub/verify-pool.js';
import type { VerifyItem } from '../../src/hub/ports.js';
import { packVerifyBatch, readVerifyBatch } from '../../src/hub/verify-batch.js';

const pool = new VerifyPool({ threads: 2, splitAbove: 8 });
afterAll(() => pool.close());

function items(count: number): VerifyItem[] {
  const pairs = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
  return Array.from({ length: count }, (_, i) => {
    const pair = pairs[i % pairs.length]!;
    const message = new TextEncoder().encode(`voucher ${i}`);
    const signature = signerFor(pair, 'node')(message);
    if (i % 3 === 1) signature[5]! ^= 1; // a forged one
    if (i % 7 === 3) signature[63]! |= 0xf0; // S ≥ L
    return { publicKey: pair.publicKey, signature, message };
  });
}

describe('VerifyPool', () => {
  it('packs and unpacks a batch without changing a byte', () => {
    const batch = items(5);
    const back = readVerifyBatch(new Uint8Array(packVerifyBatch(batch)), batch.length);
    expect(back.map((i) => [...i.publicKey, ...i.signature, ...i.message])).toEqual(
      batch.map((i) => [...i.publicKey, ...i.signature, ...i.message]),
    );
  });

  it('answers exactly as verifyNode does, for small and split batches', async () => {
    for (const count of [1, 5, 200]) {
      const batch = items(count);
      const expected = batch.map((i) => verifyNode(i.signature, i.message, i.publicKey));
      expect(expected.some((v) => v)).toBe(true);
      if (count > 1) expect(expected.some((v) => !v)).toBe(true);
      expect(await pool.verifyBatch(batch)).toEqual(expected);
    }
  });

  it('keeps answers in order when batches overlap', async () => {
    const batches = [items(50), items(3), items(120)];
    const answers = await Promise.all(batches.map((b) => pool.verifyBatch(b)));
    batches.forEach((batch, i) => {
      expect(answers[i]).toEqual(
        batch.map((it) => verifyNode(it.signature, it.message, it.publicKey)),
      );
    });
  });

  it('refuses work after close', async () => {
    const closing = new VerifyPool({ threads: 1 });
    await closing.close();
    await expect(closing.verifyBatch(items(1))).rejects.toMatchObject({ code: 'HUB_STOPPED' });
  });
});
