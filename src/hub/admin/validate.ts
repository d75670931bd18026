import { isValidAccount } from '../../ledger/accounts.js';
import { isValidAsset, MAX_AMOUNT_BASE_UNITS } from '../../ledger/validate.js';
import { badRequest } from './http.js';

/**
 * Parsers for what an admin request may carry. Each refuses malformed input with
 * ADMIN_BAD_REQUEST (HTTP 400) and a message naming the field; none coerces or guesses.
 */

const CHANNEL_ID = /^[0-9a-fA-F]{32}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const TRANSFER_ID = /^[0-9a-fA-F]{32}$/;
const PREFIX = /^[A-Za-z0-9_/-]{1,80}$/;

export const MAX_LIMIT = 1000;

/** A 16-byte channel id as 32 hex characters (either case); answered in lower case. */
export function parseChannelId(text: string, what = 'channel id'): string {
  if (!CHANNEL_ID.test(text)) throw badRequest(`${what} must be 32 hexadecimal characters`);
  return text.toLowerCase();
}

/** A device or payee id: 1..64 characters of [A-Za-z0-9_-]. */
export function parseId(text: string, what: string): string {
  if (!ID.test(text)) throw badRequest(`${what} must be 1..64 characters of [A-Za-z0-9_-]`);
  return text;
}

/** `limit`: a whole number 1..max, or the default when absent. */
export function parseLimit(text: string | null, fallback: number, max = MAX_LIMIT): number {
  if (text === null) return fallback;
  if (!/^[1-9][0-9]{0,6}$/.test(text) || Number(text) > max)
    throw badRequest(`limit must be a whole number from 1 to ${max}`);
  return Number(text);
}

/** A ledger sequence cursor (`after` on transfer listings): a whole number ≥ 0. */
export function parseSequenceCursor(text: string | null): number | undefined {
  if (text === null) return undefined;
  if (!/^(0|[1-9][0-9]{0,14})$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw badRequest('after must be a cursor returned as `next` by the previous page');
  return Number(text);
}

/** A channel listing cursor: the id of the last channel of the previous page. */
export function parseChannelCursor(text: string | null): string | undefined {
  if (text === null) return undefined;
  if (!CHANNEL_ID.test(text))
    throw badRequest('after must be a cursor returned as `next` by the previous page');
  return text.toLowerCase();
}

export function parseEnum<T extends string>(
  text: string | null,
  what: string,
  choices: readonly T[],
): T | undefined {
  if (text === null) return undefined;
  if (!(choices as readonly string[]).includes(text))
    throw badRequest(`${what} must be one of ${choices.join(', ')}`);
  return text as T;
}

export function parseAsset(text: string | null): string | undefined {
  if (text === null) return undefined;
  if (!isValidAsset(text)) throw badRequest('asset must be 1..12 characters of [A-Z0-9]');
  return text;
}

export function parseAccountPrefix(text: string | null): string | undefined {
  if (text === null || text === '') return undefined;
  if (!PREFIX.test(text)) throw badRequest('prefix must be 1..80 characters of [A-Za-z0-9_/-]');
  return text;
}

export function parseAccount(text: string): string {
  if (!isValidAccount(text)) {
    throw badRequest(
      'account must be device/<id>, payee/<id>, channel/<32 hex>, hub/fees or external/<rail>',
    );
  }
  return text;
}

/**
 * An amount in a request body: a JSON string holding a whole decimal number of base units,
 * no sign, no point, no exponent, no leading zero, below 2^64. Numbers are refused outright:
 * a JSON number above 2^53 is silently rounded by most clients.
 */
export function parseAmountField(value: unknown, what = 'amount'): bigint {
  if (typeof value !== 'string')
    throw badRequest(`${what} must be a string of decimal digits (base units), e.g. "1500"`);
  if (!DECIMAL.test(value))
    throw badRequest(`${what} must be a whole non-negative decimal number of base units`);
  const amount = BigInt(value);
  if (amount > MAX_AMOUNT_BASE_UNITS) throw badRequest(`${what} must be below 2^64`);
  return amount;
}

export function parseTransferIdField(value: unknown): string {
  if (typeof value !== 'string' || !TRANSFER_ID.test(value))
    throw badRequest('id must be 32 hexadecimal characters');
  return value.toLowerCase();
}

/** A JSON object with only the allowed fields (a misspelt field is an error, not ignored). */
export function parseObject(
  value: unknown,
  allowed: readonly string[],
  required: readonly string[],
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badRequest('the request body must be a JSON object');
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key))
      throw badRequest(`unknown field ${JSON.stringify(key)}; expected ${allowed.join(', ')}`);
  }
  for (const key of required) {
    if (object[key] === undefined) throw badRequest(`field ${key} is required`);
  }
  return object;
}
