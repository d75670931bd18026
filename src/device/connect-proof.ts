import { signerFor, type KeyPair } from '../crypto/keys.js';
import { encodeMessage } from '../protocol/codec.js';
import { MessageType } from '../protocol/messages.js';

/**
 * The MQTT password a device presents to the embedded broker: a ConnectProof signed with its
 * key, naming the hub, the time and a fresh 16-byte nonce (see src/hub/connect-auth.ts). The
 * MQTT client id and username are the device id, keyId(pair.publicKey). Make a new proof for
 * every connection attempt: the hub refuses a nonce it has seen and a time outside its window.
 */
export function makeConnectProof(
  pair: KeyPair,
  hubKey: Uint8Array,
  nowUnixS: number,
  nonce: Uint8Array = globalThis.crypto.getRandomValues(new Uint8Array(16)),
): Uint8Array {
  return encodeMessage(
    {
      type: MessageType.ConnectProof,
      hubKey,
      deviceKey: pair.publicKey,
      timestampUnixS: Math.floor(nowUnixS),
      nonce,
    },
    signerFor(pair),
  );
}
