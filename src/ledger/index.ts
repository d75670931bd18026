export * from './types.js';
export * from './accounts.js';
export {
  MAX_AMOUNT_BASE_UNITS,
  MAX_PAGE_LIMIT,
  MAX_RECORD_KEY_LENGTH,
  MAX_RECORD_VALUE_BYTES,
  MAX_RECORDS_PER_COMMIT,
  MAX_REFERENCE_LENGTH,
  MAX_TRANSFERS_PER_COMMIT,
  isValidAsset,
  validateTransfer,
} from './validate.js';
export { MemoryLedger } from './memory-ledger.js';
export { LevelLedger, type LevelLedgerOptions } from './level-ledger.js';
