import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a shared secret, the form in which the hub keeps payee and hub passwords. */
export function secretDigest(secret: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(secret).digest());
}

/**
 * Compares a presented secret with a stored digest in constant time; digests have one length,
 * so neither the content nor the length of the secret leaks through timing.
 */
export function secretMatches(presented: string | Uint8Array, digest: Uint8Array): boolean {
  return timingSafeEqual(secretDigest(presented), digest);
}
