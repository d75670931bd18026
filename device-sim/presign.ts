import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { signerFor, type KeyPair } from '../src/crypto/keys.js';
import { encodeMessage, MessageType } from '../src/protocol/index.js';
import { compiledWorkerUrl } from '../src/worker-url.js';

/** One channel's vouchers to sign: seq 1..count, each for seq base units in all. */
export interface PresignJob extends KeyPair {
  channelId: Uint8Array;
  count: number;
}

/**
 * A channel's pre-signed vouchers back to back in one buffer, voucher `seq` at
 * [ends[seq - 1], ends[seq]): a quarter of a million small arrays would make the generator's
 * own garbage collection pauses part of the measured latency.
 */
export interface PresignedVouchers {
  voucherBytes: Uint8Array<ArrayBuffer>;
  voucherEnds: Uint32Array<ArrayBuffer>;
}

export function presignChannel(job: PresignJob): PresignedVouchers {
  const sign = signerFor(job, 'node');
  const vouchers: Uint8Array[] = [];
  for (let seq = 1; seq <= job.count; seq++) {
    vouchers.push(
      encodeMessage(
        { type: MessageType.Voucher, channelId: job.channelId, seq, amountBaseUnits: BigInt(seq) },
        sign,
      ),
    );
  }
  const voucherEnds = new Uint32Array(vouchers.length + 1);
  vouchers.forEach((voucher, i) => (voucherEnds[i + 1] = voucherEnds[i]! + voucher.length));
  const voucherBytes = new Uint8Array(voucherEnds[vouchers.length]!);
  vouchers.forEach((voucher, i) => voucherBytes.set(voucher, voucherEnds[i]));
  return { voucherBytes, voucherEnds };
}

/**
 * Signs every job on one worker thread per core, results in the jobs' order. Signing is what
 * a load generator spends its set-up on (a full bench signs hundreds of thousands of vouchers),
 * and no timed phase runs meanwhile, so every core may take a share.
 */
export async function presignAll(
  jobs: readonly PresignJob[],
  threads = availableParallelism(),
): Promise<PresignedVouchers[]> {
  if (jobs.length === 0) return [];
  // The load's jobs all sign the same count, so equal runs of consecutive jobs are equal work;
  // joined in order, the threads' results are the jobs' results in order.
  const perThread = Math.ceil(jobs.length / Math.min(threads, jobs.length));
  const shares: PresignJob[][] = [];
  for (let start = 0; start < jobs.length; start += perThread)
    shares.push(jobs.slice(start, start + perThread));
  return (await Promise.all(shares.map(signOnWorker))).flat();
}

function signOnWorker(jobs: PresignJob[]): Promise<PresignedVouchers[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(compiledWorkerUrl(import.meta.url, 'presign-worker.js'), {
      workerData: jobs,
    });
    worker.once('message', (signed: PresignedVouchers[]) => {
      resolve(signed);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`presign worker exited with code ${code}`)));
  });
}
