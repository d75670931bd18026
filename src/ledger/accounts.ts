/**
 * Ledger account names and transfer ids (DESIGN §1, the comment on AccountId in types.ts).
 *
 * An account name is one of:
 *   device/<id>  channel/<32 lower-case hex>  payee/<id>  hub/fees  external/<rail>
 * where <id> and <rail> are 1..64 characters of [A-Za-z0-9_-] (the base64url alphabet, so a
 * device or payee id as it appears in an MQTT topic is also its account id).
 */
import { sha256Hasher } from '../crypto/hash.js';
import type { AccountId, TransferId } from './types.js';

export type AccountKind = 'device' | 'channel' | 'payee' | 'hub' | 'external';

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const CHANNEL_ID_PATTERN = /^[0-9a-f]{32}$/;
const ACCOUNT_PATTERN =
  /^(?:(?:device|payee|external)\/[A-Za-z0-9_-]{1,64}|channel\/[0-9a-f]{32}|hub\/fees)$/;

export const HUB_FEES: AccountId = 'hub/fees';

export function isValidAccount(account: unknown): account is AccountId {
  return typeof account === 'string' && ACCOUNT_PATTERN.test(account);
}

/** The kind of a valid account name, or undefined if the name is not valid. */
export function accountKind(account: string): AccountKind | undefined {
  if (!isValidAccount(account)) return undefined;
  return account.slice(0, account.indexOf('/')) as AccountKind;
}

/** External accounts model money entering or leaving the system: the only ones that may go negative. */
export function isExternal(account: AccountId): boolean {
  return account.startsWith('external/');
}

function checkId(what: string, id: string): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new TypeError(`${what} must be 1..64 characters of [A-Za-z0-9_-], got ${String(id)}`);
  }
  return id;
}

export function deviceAccount(deviceId: string): AccountId {
  return `device/${checkId('device id', deviceId)}`;
}

export function payeeAccount(payeeId: string): AccountId {
  return `payee/${checkId('payee id', payeeId)}`;
}

export function externalAccount(rail: string): AccountId {
  return `external/${checkId('rail', rail)}`;
}

export const CHANNEL_ACCOUNT_PREFIX = 'channel/';

/** A channel's escrow account; accepts the 16-byte channel id or its hex form (any case). */
export function channelAccount(channelId: string | Uint8Array): AccountId {
  const hex =
    channelId instanceof Uint8Array
      ? Buffer.from(channelId.buffer, channelId.byteOffset, channelId.byteLength).toString('hex')
      : typeof channelId === 'string'
        ? channelId.toLowerCase()
        : '';
  if (!CHANNEL_ID_PATTERN.test(hex)) {
    throw new TypeError('a channel id is 16 bytes (32 hexadecimal characters)');
  }
  return CHANNEL_ACCOUNT_PREFIX + hex;
}

export const TRANSFER_ID_PATTERN = /^[0-9a-f]{32}$/;

export function isValidTransferId(id: unknown): id is TransferId {
  return typeof id === 'string' && TRANSFER_ID_PATTERN.test(id);
}

// Domain separation: an id derived here can never equal a hash computed for another purpose.
const TRANSFER_ID_DOMAIN = Buffer.from('farthing/transfer-id/v1', 'utf8');
const TAG_STRING = 1;
const TAG_BYTES = 2;
const TAG_INTEGER = 3;

/**
 * A deterministic 128-bit transfer id: the first 16 bytes of SHA-256 over an unambiguous
 * encoding of the parts (each part is a type tag, a 4-byte big-endian length and its bytes),
 * as 32 lower-case hex characters. So ('ab', 'c') and ('a', 'bc') differ, and a retried
 * settlement derives the same ids from (channelId, seq, leg). A number and a bigint of the
 * same value encode alike (both as a decimal integer), so `seq` may be either; a number must
 * be a safe integer.
 */
function digestOfParts(parts: (string | Uint8Array | number | bigint)[]): Uint8Array {
  const hash = sha256Hasher();
  hash.update(TRANSFER_ID_DOMAIN);
  const header = Buffer.alloc(5);
  for (const part of parts) {
    let tag: number;
    let bytes: Uint8Array;
    if (typeof part === 'string') {
      tag = TAG_STRING;
      bytes = Buffer.from(part, 'utf8');
    } else if (part instanceof Uint8Array) {
      tag = TAG_BYTES;
      bytes = part;
    } else if (typeof part === 'bigint' || typeof part === 'number') {
      if (typeof part === 'number' && !Number.isSafeInteger(part)) {
        throw new RangeError(`transferIdFrom: a number part must be a safe integer, got ${part}`);
      }
      tag = TAG_INTEGER;
      bytes = Buffer.from(BigInt(part).toString(10), 'latin1');
    } else {
      throw new TypeError('transferIdFrom parts are strings, byte arrays, numbers or bigints');
    }
    header.writeUInt8(tag, 0);
    header.writeUInt32BE(bytes.length, 1);
    hash.update(header);
    hash.update(bytes);
  }
  return hash.digest();
}

export function transferIdFrom(...parts: (string | Uint8Array | number | bigint)[]): TransferId {
  if (parts.length === 0) throw new TypeError('transferIdFrom needs at least one part');
  return hexOf(digestOfParts(parts).subarray(0, 16));
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
