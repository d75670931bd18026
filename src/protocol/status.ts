/**
 * The one catalogue of refusal statuses. A refused message is a result carrying one of these
 * numbers, never an exception. Numbers are part of the wire protocol: never renumber, only add.
 * docs/PROTOCOL.md lists the same table; test/unit/catalogue-docs.test.ts keeps them in step.
 */
export const Status = {
  /** Accepted (used in acknowledgements, never in a Rejection). */
  OK: 0,

  // 1x: the message itself
  MESSAGE_TOO_LARGE: 10,
  MESSAGE_MALFORMED: 11,
  MESSAGE_INVALID: 12,
  MESSAGE_TYPE_UNKNOWN: 13,
  MESSAGE_FORM_WRONG: 14,

  // 2x: the channel and the voucher's place in it
  CHANNEL_UNKNOWN: 20,
  CHANNEL_NOT_OWNED: 21,
  CHANNEL_CLOSED: 22,
  CHANNEL_EXPIRED: 23,
  SEQ_NOT_INCREASING: 24,
  AMOUNT_DECREASED: 25,
  AMOUNT_EXCEEDS_CAPACITY: 26,
  CAPACITY_NOT_INCREASING: 27,
  VOUCHER_MISSING: 28,

  // 3x: opening a channel and funding it
  HUB_MISMATCH: 30,
  DEVICE_MISMATCH: 31,
  KEY_INVALID: 32,
  ASSET_UNSUPPORTED: 33,
  PAYEE_INVALID: 34,
  CAPACITY_INVALID: 35,
  EXPIRY_INVALID: 36,
  INSUFFICIENT_FUNDS: 37,
  CHANNEL_EXISTS: 38,

  // 4x: signatures
  SIGNATURE_INVALID: 40,

  // 5x: the hub's own condition (the request may succeed later)
  HUB_BUSY: 50,
  HUB_FAILURE: 51,
  RATE_LIMITED: 52,
} as const;

export type StatusName = keyof typeof Status;
export type StatusCode = (typeof Status)[StatusName];

const namesByCode = new Map<number, StatusName>(
  (Object.entries(Status) as [StatusName, StatusCode][]).map(([name, code]) => [code, name]),
);

/** The name of a status number, or undefined for a number the catalogue does not have. */
export function statusName(code: number): StatusName | undefined {
  return namesByCode.get(code);
}

export function isStatusCode(code: number): code is StatusCode {
  return namesByCode.has(code);
}

/** One-line meanings, shown in logs, the CLI and the protocol document. */
export const statusMeaning: Record<StatusName, string> = {
  OK: 'accepted',
  MESSAGE_TOO_LARGE: 'message is larger than the limit for its topic; nothing was parsed',
  MESSAGE_MALFORMED:
    'not strict deterministic CBOR (tag, indefinite length, non-shortest form, trailing bytes, too deep, ...)',
  MESSAGE_INVALID:
    'well-formed CBOR but not a valid message of its type (field count, type or range)',
  MESSAGE_TYPE_UNKNOWN: 'the message type number is not one this receiver knows',
  MESSAGE_FORM_WRONG:
    'signed where plain is required or plain where signed is required, or sent to the wrong topic direction',
  CHANNEL_UNKNOWN: 'no channel with this id exists at this hub',
  CHANNEL_NOT_OWNED:
    'the channel belongs to another device than the one whose topic carried the message',
  CHANNEL_CLOSED: 'the channel is closed; nothing more is accepted for it',
  CHANNEL_EXPIRED: 'the channel has reached its expiry second',
  SEQ_NOT_INCREASING: 'seq is zero, or equal to the latest accepted seq with a different amount',
  AMOUNT_DECREASED: 'seq increased but the cumulative amount went down',
  AMOUNT_EXCEEDS_CAPACITY: 'the cumulative amount is above the channel capacity',
  CAPACITY_NOT_INCREASING: 'a top-up must name a new total capacity above the current one',
  VOUCHER_MISSING:
    'the CloseRequest names a newer voucher than the hub holds: send that voucher, then the CloseRequest again',
  HUB_MISMATCH: 'the request names another hub',
  DEVICE_MISMATCH: 'the signing key is not the device whose topic carried the message',
  KEY_INVALID: 'the public key is not a canonical Ed25519 point or has small order',
  ASSET_UNSUPPORTED: 'this hub does not handle that asset',
  PAYEE_INVALID: 'the payee id is not one this hub accepts',
  CAPACITY_INVALID: "capacity is outside the hub's minimum and maximum",
  EXPIRY_INVALID: 'expiry is in the past, too soon, or too far ahead',
  INSUFFICIENT_FUNDS: "the device's prepaid balance cannot cover the escrow",
  CHANNEL_EXISTS:
    'a different channel with this id (same keys and nonce), or one sharing its first 11 bytes, exists',
  SIGNATURE_INVALID: 'the signature does not verify under the strict Ed25519 rule',
  HUB_BUSY: 'the hub is shedding load; resend later',
  HUB_FAILURE: 'the hub could not make the request durable; resend later',
  RATE_LIMITED: 'too many requests of this kind for this channel or device; resend later',
};
