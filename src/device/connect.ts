import type { KeyPair } from '../crypto/keys.js';
import { keyId } from '../protocol/topics.js';
import type { BrokerLink } from '../transport/link.js';
import { connectMqttLink } from '../transport/mqtt-link.js';
import { makeConnectProof } from './connect-proof.js';
import { Device, type DeviceOptions } from './device.js';

/**
 * How a device logs in to the broker; the client id is always the device id.
 *   'proof'  (default) username = device id, password = a fresh ConnectProof for every
 *            connection attempt: what the embedded broker requires (an open broker ignores it).
 *   'none'   no username or password.
 *   { username, password } or a function of the device id: credentials provisioned at an
 *            external broker (a Mosquitto password file, say).
 */
export type BrokerAuth =
  | 'proof'
  | 'none'
  | { username: string; password: string }
  | ((deviceId: string) => { username: string; password: string });

export interface DeviceLinkOptions {
  /** Broker URL, e.g. mqtt://127.0.0.1:1883. */
  url: string;
  keyPair: KeyPair;
  hubKey: Uint8Array;
  auth?: BrokerAuth;
  reconnectPeriodMs?: number;
  connectTimeoutMs?: number;
  keepaliveS?: number;
  nowMs?: () => number;
}

/** One MQTT connection for one device, whose reconnects prove the key afresh. */
export function connectDeviceLink(options: DeviceLinkOptions): Promise<BrokerLink> {
  const { keyPair, hubKey, auth = 'proof' } = options;
  const deviceId = keyId(keyPair.publicKey);
  const common = {
    url: options.url,
    clientId: deviceId,
    ...(options.reconnectPeriodMs === undefined
      ? {}
      : { reconnectPeriodMs: options.reconnectPeriodMs }),
    ...(options.connectTimeoutMs === undefined
      ? {}
      : { connectTimeoutMs: options.connectTimeoutMs }),
    ...(options.keepaliveS === undefined ? {} : { keepaliveS: options.keepaliveS }),
  };
  if (auth === 'none') return connectMqttLink(common);
  if (auth === 'proof') {
    const nowS = (): number => Math.floor((options.nowMs ?? Date.now)() / 1000);
    return connectMqttLink({
      ...common,
      username: deviceId,
      password: () => makeConnectProof(keyPair, hubKey, nowS()),
    });
  }
  return connectMqttLink({ ...common, ...(typeof auth === 'function' ? auth(deviceId) : auth) });
}

export interface ConnectDeviceOptions
  extends Omit<DeviceOptions, 'link'>, Omit<DeviceLinkOptions, 'keyPair' | 'hubKey' | 'nowMs'> {}

/** Connects a device to a broker and returns it ready to open channels. */
export async function connectDevice(options: ConnectDeviceOptions): Promise<Device> {
  const link = await connectDeviceLink(options);
  try {
    return await Device.create({ ...options, link });
  } catch (error) {
    await link.close();
    throw error;
  }
}
