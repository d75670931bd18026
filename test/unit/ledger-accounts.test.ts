import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  HUB_FEES,
  accountKind,
  channelAccount,
  deviceAccount,
  externalAccount,
  isExternal,
  isValidAccount,
  payeeAccount,
  transferIdFrom,
} from '../../src/ledger/index.js';

describe('account names', () => {
  it('accepts the five kinds and nothing else', () => {
    const valid = [
      'device/abc',
      'device/A-z_09',
      `device/${'x'.repeat(64)}`,
      `channel/${'0123456789abcdef'.repeat(2)}`,
      'payee/p',
      'hub/fees',
      'external/bank',
    ];
    for (const account of valid) expect(isValidAccount(account), account).toBe(true);
    const invalid = [
      '',
      'device',
      'device/',
      `device/${'x'.repeat(65)}`,
      'device/a.b',
      'device/a/b',
      'device/é',
      'Device/a',
      ' device/a',
      'device/a ',
      'device/a\n',
      `channel/${'0'.repeat(31)}`,
      `channel/${'0'.repeat(33)}`,
      `channel/${'A'.repeat(32)}`,
      `channel/${'g'.repeat(32)}`,
      'hub/fee',
      'hub/fees/x',
      'external/',
      'wallet/a',
      5,
      null,
    ];
    for (const account of invalid) expect(isValidAccount(account), String(account)).toBe(false);
  });

  it('builds names and refuses bad ids', () => {
    expect(deviceAccount('d-1')).toBe('device/d-1');
    expect(payeeAccount('p_1')).toBe('payee/p_1');
    expect(externalAccount('sepa')).toBe('external/sepa');
    expect(HUB_FEES).toBe('hub/fees');
    expect(channelAccount('AABBCCDDEEFF00112233445566778899')).toBe(
      'channel/aabbccddeeff00112233445566778899',
    );
    expect(channelAccount(Uint8Array.from({ length: 16 }, (_, i) => i))).toBe(
      'channel/000102030405060708090a0b0c0d0e0f',
    );
    expect(() => deviceAccount('')).toThrow(TypeError);
    expect(() => payeeAccount('a/b')).toThrow(TypeError);
    expect(() => externalAccount('x'.repeat(65))).toThrow(TypeError);
    expect(() => channelAccount('abcd')).toThrow(TypeError);
    expect(() => channelAccount(new Uint8Array(15))).toThrow(TypeError);
  });

  it('tells kinds and external accounts apart', () => {
    expect(accountKind('device/a')).toBe('device');
    expect(accountKind(HUB_FEES)).toBe('hub');
    expect(accountKind('external/x')).toBe('external');
    expect(accountKind('nope/x')).toBeUndefined();
    expect(isExternal('external/bank')).toBe(true);
    expect(isExternal('device/external')).toBe(false);
    expect(isExternal(HUB_FEES)).toBe(false);
  });
});

describe('transferIdFrom', () => {
  it('is 32 lower-case hex and deterministic', () => {
    const id = transferIdFrom('ab', 5, 'payee');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(transferIdFrom('ab', 5, 'payee')).toBe(id);
  });

  it('matches the documented encoding', () => {
    // domain ‖ for each part: tag u8, length u32 BE, bytes; first 16 bytes of SHA-256.
    const part = (tag: number, bytes: Buffer): Buffer => {
      const header = Buffer.alloc(5);
      header.writeUInt8(tag, 0);
      header.writeUInt32BE(bytes.length, 1);
      return Buffer.concat([header, bytes]);
    };
    const expected = createHash('sha256')
      .update('farthing/transfer-id/v1')
      .update(part(1, Buffer.from('ch')))
      .update(part(2, Buffer.from([1, 2])))
      .update(part(3, Buffer.from('-42')))
      .digest()
      .subarray(0, 16)
      .toString('hex');
    expect(transferIdFrom('ch', Uint8Array.of(1, 2), -42n)).toBe(expected);
  });

  it('is unambiguous across part boundaries and types', () => {
    const ids = [
      transferIdFrom('ab', 'c'),
      transferIdFrom('a', 'bc'),
      transferIdFrom('abc'),
      transferIdFrom('abc', ''),
      transferIdFrom(Buffer.from('abc')),
      transferIdFrom('1'),
      transferIdFrom(1),
      transferIdFrom(new Uint8Array()),
      transferIdFrom(''),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('encodes a number and a bigint of the same value alike', () => {
    expect(transferIdFrom('ch', 7)).toBe(transferIdFrom('ch', 7n));
    expect(transferIdFrom(2 ** 53 - 1)).toBe(transferIdFrom(2n ** 53n - 1n));
  });

  it('refuses no parts, unsafe numbers and other types', () => {
    expect(() => transferIdFrom()).toThrow(TypeError);
    expect(() => transferIdFrom(1.5)).toThrow(RangeError);
    expect(() => transferIdFrom(2 ** 53)).toThrow(RangeError);
    expect(() => transferIdFrom({} as unknown as string)).toThrow(TypeError);
  });
});
