/** One thread's share of the load generator's signing (presign.ts), handed back by transfer. */
import { parentPort, workerData } from 'node:worker_threads';
import { presignChannel, type PresignJob } from './presign.js';

const signed = (workerData as PresignJob[]).map(presignChannel);
parentPort!.postMessage(
  signed,
  signed.flatMap((s) => [s.voucherBytes.buffer, s.voucherEnds.buffer]),
);
