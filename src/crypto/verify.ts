import { verifyNode, type KeyObjectCache } from './node-path.js';
import { verifyNoble } from './noble-path.js';
import type { CryptoPath } from './keys.js';

/** One strict rule, two implementations; see strict-rules.ts. */
export function verifySignature(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  path: CryptoPath = 'noble',
  cache?: KeyObjectCache,
): boolean {
  return path === 'node'
    ? verifyNode(signature, message, publicKey, cache)
    : verifyNoble(signature, message, publicKey);
}
