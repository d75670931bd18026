import { createPrivateKey } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FarthingError } from '../errors.js';
import { privateKeyObject, signNode } from './node-path.js';
import { publicKeyNoble, randomSeed, signNoble } from './noble-path.js';

/** An Ed25519 key: the 32-byte RFC 8032 seed and its 32-byte public key. */
export interface KeyPair {
  publicKey: Uint8Array;
  secretSeed: Uint8Array;
}

export type CryptoPath = 'noble' | 'node';

export function generateKeyPair(): KeyPair {
  const secretSeed = randomSeed();
  return { secretSeed, publicKey: publicKeyNoble(secretSeed) };
}

export function keyPairFromSeed(secretSeed: Uint8Array): KeyPair {
  if (secretSeed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
  return { secretSeed: Uint8Array.from(secretSeed), publicKey: publicKeyNoble(secretSeed) };
}

/**
 * A signing function for a key. The noble path is pure JS (what a device runtime has); the node
 * path uses OpenSSL and is what the hub and the load generator use. Both give identical
 * signatures: Ed25519 signing is deterministic.
 */
export function signerFor(
  pair: KeyPair,
  path: CryptoPath = 'noble',
): (message: Uint8Array) => Uint8Array {
  if (path === 'node') {
    const key = privateKeyObject(pair.secretSeed);
    return (message) => signNode(message, key);
  }
  const seed = Uint8Array.from(pair.secretSeed);
  return (message) => signNoble(message, seed);
}

/** PKCS#8 PEM, so `openssl pkey -in hub.key -text` can read it. */
export function keyPairToPem(pair: KeyPair): string {
  return privateKeyObject(pair.secretSeed).export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function keyPairFromPem(pem: string): KeyPair {
  const jwk = createPrivateKey(pem).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string')
    throw new TypeError('not an Ed25519 private key');
  return keyPairFromSeed(new Uint8Array(Buffer.from(jwk.d, 'base64url')));
}

export async function saveKeyFile(path: string, pair: KeyPair): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    // 'wx': never overwrite an existing key; losing a hub key orphans every channel.
    await writeFile(path, keyPairToPem(pair), { mode: 0o600, flag: 'wx' });
  } catch (cause) {
    throw new FarthingError('KEY_FILE_INVALID', `cannot write key file ${path}`, { cause });
  }
}

export async function loadKeyFile(path: string): Promise<KeyPair> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (cause) {
    throw new FarthingError('KEY_FILE_INVALID', `cannot read key file ${path}`, { cause });
  }
  try {
    return keyPairFromPem(pem);
  } catch (cause) {
    throw new FarthingError('KEY_FILE_INVALID', `${path} is not an Ed25519 PKCS#8 PEM key`, {
      cause,
    });
  }
}

/** Loads the key at `path`, creating it on first use. */
export async function loadOrCreateKeyFile(
  path: string,
): Promise<{ pair: KeyPair; created: boolean }> {
  try {
    return { pair: await loadKeyFile(path), created: false };
  } catch (error) {
    const cause = (error as FarthingError).cause as NodeJS.ErrnoException | undefined;
    if (cause?.code !== 'ENOENT') throw error;
  }
  const pair = generateKeyPair();
  await saveKeyFile(path, pair);
  return { pair, created: true };
}
