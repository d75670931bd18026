import { parentPort } from 'node:worker_threads';
import { KeyObjectCache, verifyNode } from '../crypto/node-path.js';
import { readVerifyBatch, type VerifyRequest, type VerifyResponse } from './verify-batch.js';

/**
 * A verification worker: receives packed batches (one transferred ArrayBuffer each), checks
 * every signature under the strict rule with node:crypto, and answers one byte per item.
 * Device keys are parsed once per worker and cached.
 */
const keys = new KeyObjectCache(65_536);

parentPort!.on('message', (request: VerifyRequest) => {
  const items = readVerifyBatch(new Uint8Array(request.buffer), request.count);
  const results = new Uint8Array(request.count);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    results[i] = verifyNode(item.signature, item.message, item.publicKey, keys) ? 1 : 0;
  }
  const response: VerifyResponse = { id: request.id, results };
  parentPort!.postMessage(response, [results.buffer]);
});
