import { makeConnectProof } from '../../src/device/connect-proof.js';
import type { KeyPair } from '../../src/crypto/keys.js';
import { keyId } from '../../src/protocol/topics.js';

/** Raw MQTT 3.1.1 framing, for what a hostile or broken client sends and a link never would. */

export function mqttString(value: string | Uint8Array): Buffer {
  const bytes = Buffer.from(value);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** A device's CONNECT with a fresh connect proof for `hubKey`, clean session. */
export function connectPacket(pair: KeyPair, hubKey: Uint8Array, keepaliveS = 60): Buffer {
  const id = keyId(pair.publicKey);
  const body = Buffer.concat([
    mqttString('MQTT'),
    // level 4, username + password + clean session, keepalive
    Buffer.from([4, 0xc2, keepaliveS >> 8, keepaliveS & 0xff]),
    mqttString(id),
    mqttString(id),
    mqttString(makeConnectProof(pair, hubKey, Math.floor(Date.now() / 1000))),
  ]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

export function subscribePacket(topic: string, qos: 0 | 1, packetId = 1): Buffer {
  const body = Buffer.concat([
    Buffer.from([packetId >> 8, packetId & 0xff]),
    mqttString(topic),
    Buffer.from([qos]),
  ]);
  return Buffer.concat([Buffer.from([0x82]), varint(body.length), body]);
}

export function publishHeader(topic: string, payloadBytes: number): Buffer {
  const t = mqttString(topic);
  return Buffer.concat([Buffer.from([0x30]), varint(t.length + payloadBytes), t]);
}
