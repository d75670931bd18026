/**
 * Operational failures: things that went wrong around the protocol (disk, broker, database,
 * configuration), as opposed to refused input, which is a Status result. Codes are stable:
 * scripts and operators match on them. docs/ERRORS.md documents every code and
 * test/unit/catalogue-docs.test.ts keeps the two in step.
 */
export const ErrorCode = {
  CONFIG_INVALID: 'configuration is invalid',
  DATA_DIR_UNUSABLE: 'the data directory cannot be created, read or locked',
  KEY_FILE_INVALID: 'a key file is missing, unreadable or not a valid key',
  BROKER_UNREACHABLE: 'the MQTT broker cannot be reached or refused the connection',
  BROKER_PORT_IN_USE: 'the embedded broker cannot listen: the address is already in use',
  LEDGER_UNAVAILABLE: 'the ledger storage cannot be opened, read or written',
  LEDGER_CLOSED: 'the ledger was used after it was closed',
  LEDGER_ID_CONFLICT: 'a transfer id was reused with different fields',
  LEDGER_INSUFFICIENT_BALANCE: 'a transfer would make a non-external account negative',
  LEDGER_INVALID_TRANSFER: 'a transfer is malformed (amount, accounts, asset or id)',
  INVARIANT_BROKEN:
    'a money invariant does not hold; the hub stops rather than settle wrong numbers',
  HUB_STOPPED: 'the hub is stopping or stopped and takes no more work',
  ADMIN_UNAUTHORIZED: 'the admin token is missing or wrong',
  ADMIN_NOT_FOUND: 'the requested admin resource does not exist',
  ADMIN_CONFLICT: 'the admin request conflicts with the current state',
  ADMIN_BAD_REQUEST: 'the admin request is malformed',
  ADMIN_UNREACHABLE: 'the admin API cannot be reached',
  ADMIN_UNAVAILABLE: 'the hub is not running and cannot take the admin request now',
  ADMIN_INTERNAL: 'the hub failed while handling an admin request',
  ADMIN_PORT_IN_USE: 'the admin API cannot listen: the address is already in use',
  DEVICE_NOT_CONNECTED: 'the device has no broker connection',
  DEVICE_STATE_INVALID: "the device's persisted state is unreadable or inconsistent",
  REQUEST_REFUSED: 'the hub refused a device request (see status)',
  REQUEST_TIMEOUT: 'no answer arrived in time',
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;

export class FarthingError extends Error {
  readonly code: ErrorCodeName;

  constructor(code: ErrorCodeName, message?: string, options?: { cause?: unknown }) {
    super(message ?? ErrorCode[code], options);
    this.name = 'FarthingError';
    this.code = code;
  }
}

export function isFarthingError(error: unknown, code?: ErrorCodeName): error is FarthingError {
  return error instanceof FarthingError && (code === undefined || error.code === code);
}

/** A caught value as an Error, for callbacks and events that carry one. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
