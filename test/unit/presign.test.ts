import { describe, expect, it } from 'vitest';
import { presignAll, presignChannel, type PresignJob } from '../../device-sim/presign.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { verifyNode } from '../../src/crypto/node-path.js';
import { decodeMessage, MessageType } from '../../src/protocol/index.js';

function jobs(count: number): PresignJob[] {
  return Array.from({ length: count }, (_, i) => ({
    ...generateKeyPair(),
    channelId: Uint8Array.from({ length: 16 }, (_b, j) => i * 16 + j),
    count: 3 + i,
  }));
}

describe("the load generator's pre-signing", () => {
  it('lays out valid vouchers seq 1..count back to back, each signed by its channel key', () => {
    const job = jobs(1)[0]!;
    const { voucherBytes, voucherEnds } = presignChannel(job);
    expect(voucherEnds.length).toBe(job.count + 1);
    expect(voucherEnds[job.count]).toBe(voucherBytes.length);
    for (let seq = 1; seq <= job.count; seq++) {
      const decoded = decodeMessage(
        voucherBytes.subarray(voucherEnds[seq - 1], voucherEnds[seq]),
        'up',
      );
      if (!decoded.ok) throw new Error(decoded.reason);
      expect(decoded.message).toEqual({
        type: MessageType.Voucher,
        channelId: job.channelId,
        seq,
        amountBaseUnits: BigInt(seq),
      });
      const { signature, toBeSigned } = decoded.signed!;
      expect(verifyNode(signature, toBeSigned, job.publicKey)).toBe(true);
    }
  });

  it('signs on worker threads exactly what one thread signs, in the jobs’ order', async () => {
    // Five jobs over two threads: the shares are uneven, so a mix-up in reassembly shows.
    const all = jobs(5);
    const parallel = await presignAll(all, 2);
    expect(parallel.map((s) => Buffer.from(s.voucherBytes).toString('hex'))).toEqual(
      all.map((job) => Buffer.from(presignChannel(job).voucherBytes).toString('hex')),
    );
    expect(parallel.map((s) => [...s.voucherEnds])).toEqual(
      all.map((job) => [...presignChannel(job).voucherEnds]),
    );
    expect(await presignAll([], 2)).toEqual([]);
  });
});
