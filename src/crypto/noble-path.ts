import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { GROUP_ORDER, passesStrictPrechecks } from './strict-rules.js';

// noble's synchronous API needs a SHA-512; @noble/hashes is pure JS, so this runs anywhere.
ed.hashes.sha512 = sha512;

function littleEndianToBigint(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}

/**
 * Device-side verification with @noble/ed25519. noble's own `verify` (even with
 * `zip215: false`) checks the cofactored equation [8][S]B = [8]R + [8][k]A, which accepts
 * signatures libsodium and OpenSSL refuse (speccheck cases 4 and 5). So after the shared byte
 * prechecks this checks the cofactorless equation [S]B = R + [k]A with noble's point arithmetic.
 */
export function verifyNoble(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (!passesStrictPrechecks(signature, publicKey)) return false;
  let A: ed.Point;
  let R: ed.Point;
  try {
    A = ed.Point.fromBytes(publicKey, false);
    R = ed.Point.fromBytes(signature.subarray(0, 32), false);
  } catch {
    return false; // y is not on the curve
  }
  const s = littleEndianToBigint(signature.subarray(32));
  const k =
    littleEndianToBigint(sha512(concat(signature.subarray(0, 32), publicKey, message))) %
    GROUP_ORDER;
  const sB = s === 0n ? ed.Point.ZERO : ed.Point.BASE.multiply(s, false);
  const kA = k === 0n ? ed.Point.ZERO : A.multiply(k, false);
  return sB.equals(R.add(kA));
}

export function signNoble(message: Uint8Array, secretSeed: Uint8Array): Uint8Array {
  return ed.sign(message, secretSeed);
}

export function publicKeyNoble(secretSeed: Uint8Array): Uint8Array {
  return ed.getPublicKey(secretSeed);
}

export function randomSeed(): Uint8Array {
  return ed.utils.randomSecretKey();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
