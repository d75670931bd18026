import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KeyObjectCache,
  generateKeyPair,
  isPublicKeyAcceptable,
  keyPairFromPem,
  keyPairFromSeed,
  keyPairToPem,
  loadKeyFile,
  loadOrCreateKeyFile,
  saveKeyFile,
  signerFor,
  verifyNode,
} from '../../src/crypto/index.js';
import { isFarthingError } from '../../src/errors.js';

describe('key pairs', () => {
  it('generateKeyPair gives distinct, acceptable keys whose two signers agree', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.secretSeed).toHaveLength(32);
    expect(a.publicKey).not.toEqual(b.publicKey);
    expect(isPublicKeyAcceptable(a.publicKey)).toBe(true);
    const message = new TextEncoder().encode('same signature on both paths');
    expect(signerFor(a, 'node')(message)).toEqual(signerFor(a, 'noble')(message));
    expect(signerFor(a)(message)).toEqual(signerFor(a, 'noble')(message));
  });

  it('keyPairFromSeed refuses a seed that is not 32 bytes and copies the one it keeps', () => {
    expect(() => keyPairFromSeed(new Uint8Array(31))).toThrow(RangeError);
    const seed = new Uint8Array(32).fill(1);
    const pair = keyPairFromSeed(seed);
    seed.fill(2);
    expect(pair.secretSeed).toEqual(new Uint8Array(32).fill(1));
  });

  it('PKCS#8 PEM round-trips; a non-Ed25519 PEM is refused', () => {
    const pair = keyPairFromSeed(new Uint8Array(32).fill(3));
    const pem = keyPairToPem(pair);
    expect(pem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(keyPairFromPem(pem)).toEqual(pair);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expect(() => keyPairFromPem(ec.export({ type: 'pkcs8', format: 'pem' }).toString())).toThrow(
      TypeError,
    );
  });
});

describe('key files', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'farthing-keys-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves with mode 0600, loads back, and never overwrites', async () => {
    const path = join(dir, 'nested', 'hub.key');
    const pair = keyPairFromSeed(new Uint8Array(32).fill(4));
    await saveKeyFile(path, pair);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await loadKeyFile(path)).toEqual(pair);
    const error = await saveKeyFile(path, generateKeyPair()).catch((e: unknown) => e);
    expect(isFarthingError(error, 'KEY_FILE_INVALID')).toBe(true);
    expect(await loadKeyFile(path)).toEqual(pair);
  });

  it('loading a missing or garbage file is KEY_FILE_INVALID', async () => {
    const missing = await loadKeyFile(join(dir, 'missing.key')).catch((e: unknown) => e);
    expect(isFarthingError(missing, 'KEY_FILE_INVALID')).toBe(true);
    const garbage = join(dir, 'garbage.key');
    await writeFile(garbage, 'not a key');
    const bad = await loadKeyFile(garbage).catch((e: unknown) => e);
    expect(isFarthingError(bad, 'KEY_FILE_INVALID')).toBe(true);
  });

  it('loadOrCreateKeyFile creates once, then loads the same key; garbage is not replaced', async () => {
    const path = join(dir, 'device.key');
    const first = await loadOrCreateKeyFile(path);
    expect(first.created).toBe(true);
    const second = await loadOrCreateKeyFile(path);
    expect(second).toEqual({ pair: first.pair, created: false });
    const garbage = join(dir, 'garbage2.key');
    await writeFile(garbage, 'not a key');
    const error = await loadOrCreateKeyFile(garbage).catch((e: unknown) => e);
    expect(isFarthingError(error, 'KEY_FILE_INVALID')).toBe(true);
    expect(await readFile(garbage, 'utf8')).toBe('not a key');
  });
});

describe('KeyObjectCache', () => {
  const keys = Array.from({ length: 4 }, (_, i) =>
    keyPairFromSeed(new Uint8Array(32).fill(10 + i)),
  );

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new KeyObjectCache(0)).toThrow(RangeError);
    expect(() => new KeyObjectCache(1.5)).toThrow(RangeError);
  });

  it('is bounded and evicts the least recently used key', () => {
    const cache = new KeyObjectCache(2);
    const [k0, k1, k2] = keys.map((pair) => pair.publicKey) as [Uint8Array, Uint8Array, Uint8Array];
    const a = cache.get(k0);
    const b = cache.get(k1);
    expect(cache.get(k0)).toBe(a); // a hit; k0 is now the most recently used
    cache.get(k2); // full: evicts k1, the least recently used
    expect(cache.size).toBe(2);
    expect(cache.get(k0)).toBe(a);
    expect(cache.get(k1)).not.toBe(b); // parsed again (and this evicts k2)
    expect(cache.get(k0)).toBe(a);
    expect(cache.size).toBe(2);
  });

  it('keys equal by bytes share an entry; verifyNode works through a small cache', () => {
    const cache = new KeyObjectCache(1);
    const key = keys[3]!;
    expect(cache.get(Uint8Array.from(key.publicKey))).toBe(cache.get(key.publicKey));
    const message = Uint8Array.of(1, 2, 3);
    const signature = signerFor(key, 'node')(message);
    for (const pair of keys) {
      expect(verifyNode(signature, message, pair.publicKey, cache)).toBe(pair === key);
    }
    expect(cache.size).toBe(1);
  });
});
