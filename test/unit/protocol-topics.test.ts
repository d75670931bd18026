import { describe, expect, it } from 'vitest';
import {
  TOPIC_ROOT,
  channelIdOf,
  downTopic,
  fromBase64url,
  fromHex,
  keyFromId,
  keyId,
  parseTopic,
  payeeTopic,
  toBase64url,
  toHex,
  upTopic,
  upWildcard,
} from '../../src/protocol/index.js';
import { device, hub, nonce } from './protocol-samples.js';

const hubId = keyId(hub.publicKey);
const deviceId = keyId(device.publicKey);

describe('topics', () => {
  it('build the documented shapes', () => {
    expect(upTopic(hubId, deviceId)).toBe(`farthing/v1/${hubId}/up/${deviceId}`);
    expect(downTopic(hubId, deviceId)).toBe(`farthing/v1/${hubId}/down/${deviceId}`);
    expect(payeeTopic(hubId, 'payee-7')).toBe(`farthing/v1/${hubId}/payee/payee-7`);
    expect(upWildcard(hubId)).toBe(`farthing/v1/${hubId}/up/+`);
    expect(TOPIC_ROOT).toBe('farthing/v1');
  });

  it('parse back what they build', () => {
    expect(parseTopic(upTopic(hubId, deviceId))).toEqual({ hubId, kind: 'up', id: deviceId });
    expect(parseTopic(downTopic(hubId, deviceId))).toEqual({ hubId, kind: 'down', id: deviceId });
    expect(parseTopic(payeeTopic(hubId, 'payee_7-x'))).toEqual({
      hubId,
      kind: 'payee',
      id: 'payee_7-x',
    });
  });

  it.each([
    ['the up wildcard', `farthing/v1/${hubId}/up/+`],
    ['a multi-level wildcard', `farthing/v1/${hubId}/#`],
    ['a wildcard hub', `farthing/v1/+/up/${deviceId}`],
    ['a trailing multi-level wildcard', `farthing/v1/${hubId}/up/${deviceId}/#`],
    ['an extra level', `farthing/v1/${hubId}/up/${deviceId}/x`],
    ['a trailing slash', `farthing/v1/${hubId}/up/${deviceId}/`],
    ['a missing level', `farthing/v1/${hubId}/up`],
    ['a leading slash', `/farthing/v1/${hubId}/up/${deviceId}`],
    ['another version', `farthing/v2/${hubId}/up/${deviceId}`],
    ['another root', `farthingx/v1/${hubId}/up/${deviceId}`],
    ['an unknown kind', `farthing/v1/${hubId}/sideways/${deviceId}`],
    ['an upper-case kind', `farthing/v1/${hubId}/UP/${deviceId}`],
    ['an empty id', `farthing/v1/${hubId}/up/`],
    ['an empty hub id', `farthing/v1//up/${deviceId}`],
    ['a standard-base64 id with +', `farthing/v1/${hubId}/up/ab+c`],
    ['a padded id', `farthing/v1/${hubId}/up/abc=`],
    ['an id with a dot', `farthing/v1/${hubId}/up/a.b`],
    ['an id with a space', `farthing/v1/${hubId}/up/a b`],
    ['a non-ASCII id', `farthing/v1/${hubId}/up/ä`],
    ['a 65-character id', `farthing/v1/${hubId}/up/${'a'.repeat(65)}`],
    ['the empty string', ''],
  ])('refuse %s', (_, topic) => {
    expect(parseTopic(topic)).toBeUndefined();
  });

  it('accept a 64-character id', () => {
    expect(parseTopic(`farthing/v1/${hubId}/up/${'a'.repeat(64)}`)?.id).toHaveLength(64);
  });
});

describe('key ids', () => {
  it('a key id is 43 base64url characters and maps back to the key', () => {
    expect(deviceId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(keyFromId(deviceId)).toEqual(device.publicKey);
  });

  it('keyFromId refuses other lengths and non-canonical spellings', () => {
    expect(keyFromId(keyId(new Uint8Array(31)))).toBeUndefined();
    expect(keyFromId(keyId(new Uint8Array(33)))).toBeUndefined();
    expect(keyFromId(`${deviceId}=`)).toBeUndefined();
    // 43 characters carry 258 bits for 256: the last character's two low bits are unused, so
    // setting one would be a second spelling of the same key and must be refused.
    const last = deviceId.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const other = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(keyFromId(deviceId.slice(0, -1) + other)).toBeUndefined();
  });
});

describe('base64url', () => {
  it('round-trips every length from 0 to 40 and matches Buffer’s base64url', () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + length * 11) & 255);
      const text = toBase64url(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64url'));
      expect(fromBase64url(text)).toEqual(bytes);
    }
  });

  it('decodes the RFC 4648 vectors (unpadded)', () => {
    const cases: Array<[string, string]> = [
      ['', ''],
      ['f', 'Zg'],
      ['fo', 'Zm8'],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg'],
      ['fooba', 'Zm9vYmE'],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of cases) {
      expect(toBase64url(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(fromBase64url(encoded))).toBe(plain);
    }
    expect(toBase64url(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
  });

  it.each([
    ['non-zero trailing bits (2 chars)', 'Zh'],
    ['non-zero trailing bits (3 chars)', 'Zm9'],
    ['padding', 'Zg=='],
    ['single padding', 'Zm8='],
    ['a length of 4n + 1', 'Zm9vY'],
    ['standard-alphabet +', 'a+bc'],
    ['standard-alphabet /', 'a/bc'],
    ['whitespace', 'Zm9v Yg'],
    ['a newline', 'Zm9v\nYg'],
    ['a non-ASCII character', 'Zm9vä'],
  ])('fromBase64url refuses %s', (_, text) => {
    expect(fromBase64url(text)).toBeUndefined();
  });
});

describe('channelIdOf', () => {
  const otherKey = new Uint8Array(32).fill(9);

  it('is deterministic and 16 bytes', () => {
    const a = channelIdOf(hub.publicKey, device.publicKey, nonce);
    const b = channelIdOf(
      Uint8Array.from(hub.publicKey),
      Uint8Array.from(device.publicKey),
      Uint8Array.from(nonce),
    );
    expect(a).toHaveLength(16);
    expect(toHex(a)).toBe(toHex(b));
  });

  it('is the first 16 bytes of SHA-256(hubKey ‖ deviceKey ‖ nonce)', async () => {
    const { createHash } = await import('node:crypto');
    const digest = createHash('sha256')
      .update(hub.publicKey)
      .update(device.publicKey)
      .update(nonce)
      .digest();
    expect(toHex(channelIdOf(hub.publicKey, device.publicKey, nonce))).toBe(
      toHex(digest.subarray(0, 16)),
    );
  });

  it('changes when the hub key, the device key or the nonce changes, or keys swap', () => {
    const base = toHex(channelIdOf(hub.publicKey, device.publicKey, nonce));
    const flippedNonce = Uint8Array.from(nonce);
    flippedNonce[15]! ^= 1;
    const variants = [
      channelIdOf(otherKey, device.publicKey, nonce),
      channelIdOf(hub.publicKey, otherKey, nonce),
      channelIdOf(hub.publicKey, device.publicKey, flippedNonce),
      channelIdOf(device.publicKey, hub.publicKey, nonce),
    ].map(toHex);
    for (const variant of variants) expect(variant).not.toBe(base);
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('refuses wrong lengths with a RangeError', () => {
    expect(() => channelIdOf(new Uint8Array(31), device.publicKey, nonce)).toThrow(RangeError);
    expect(() => channelIdOf(hub.publicKey, new Uint8Array(33), nonce)).toThrow(RangeError);
    expect(() => channelIdOf(hub.publicKey, device.publicKey, new Uint8Array(15))).toThrow(
      RangeError,
    );
  });

  it('hex helpers round-trip and refuse odd or non-hex text', () => {
    expect(toHex(fromHex('00ff10Ab'))).toBe('00ff10ab');
    expect(() => fromHex('abc')).toThrow(TypeError);
    expect(() => fromHex('zz')).toThrow(TypeError);
  });
});
