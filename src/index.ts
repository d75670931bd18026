/**
 * The farthing package. Device authors usually want `farthing/device`; protocol implementers
 * `farthing/protocol`. The hub and the ledger are here for embedding and for tools.
 */
export * as protocol from './protocol/index.js';
export * as crypto from './crypto/index.js';
export * as channel from './channel/index.js';
export * as ledger from './ledger/index.js';
export * as device from './device/index.js';
export { Hub, type HubOptions } from './hub/hub.js';
export { defaultHubSettings, type HubSettings } from './hub/settings.js';
export { FarthingError, ErrorCode, isFarthingError, type ErrorCodeName } from './errors.js';
