import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from './bytes.js';

export const CHANNEL_ID_BYTES = 16;
export const NONCE_BYTES = 16;
export const KEY_BYTES = 32;

/**
 * channelId = first 16 bytes of SHA-256(hubKey ‖ deviceKey ‖ nonce): a voucher names its hub,
 * its device and this one opening, so it cannot be replayed anywhere else.
 */
export function channelIdOf(
  hubKey: Uint8Array,
  deviceKey: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  if (hubKey.length !== KEY_BYTES || deviceKey.length !== KEY_BYTES)
    throw new RangeError('keys are 32 bytes');
  if (nonce.length !== NONCE_BYTES) throw new RangeError('nonce is 16 bytes');
  return sha256(concatBytes(hubKey, deviceKey, nonce)).slice(0, CHANNEL_ID_BYTES);
}
