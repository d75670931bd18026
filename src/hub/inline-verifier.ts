import { KeyObjectCache, verifyNode } from '../crypto/node-path.js';
import type { SignatureVerifier, VerifyItem } from './ports.js';

/**
 * Verifies on the calling thread with node:crypto behind the strict prechecks. The default for
 * tests and small hubs; the worker pool (verify-pool.ts) spreads the same work over all cores.
 */
export class InlineVerifier implements SignatureVerifier {
  private readonly keys = new KeyObjectCache();

  async verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]> {
    return items.map((item) => verifyNode(item.signature, item.message, item.publicKey, this.keys));
  }

  async close(): Promise<void> {}
}
