import { parentPort, workerData } from 'node:worker_threads';
import { generateKeyPair, signerFor } from '../src/crypto/keys.js';
import { KeyObjectCache, verifyNode } from '../src/crypto/node-path.js';

/** Verifies pre-signed vouchers in a loop for a fixed time and reports how many it checked. */
const { seconds } = workerData as { seconds: number };
const pair = generateKeyPair();
const sign = signerFor(pair, 'node');
const messages = Array.from({ length: 256 }, (_, i) =>
  new TextEncoder().encode(`voucher-sized message ${i} `.padEnd(60, '.')),
);
const signatures = messages.map((m) => sign(m));
const keys = new KeyObjectCache();
// Warm up (JIT, OpenSSL, the key cache) before saying ready, so a short run measures the steady rate.
const warmUntil = performance.now() + 300;
for (let i = 0; performance.now() < warmUntil; i++) {
  verifyNode(signatures[i & 255]!, messages[i & 255]!, pair.publicKey, keys);
}
parentPort!.once('message', () => {
  let count = 0;
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 64; i++, count++) {
      const j = count & 255;
      if (!verifyNode(signatures[j]!, messages[j]!, pair.publicKey, keys))
        throw new Error('bad signature');
    }
  }
  parentPort!.postMessage(count);
});
parentPort!.postMessage('ready');
