import type { KeyPair } from '../crypto/keys.js';
import { keyId } from '../protocol/topics.js';
import { connectMqttLink } from '../transport/mqtt-link.js';
import { makeConnectProof } from './connect-proof.js';
import { Device, type DeviceOptions } from './device.js';

export interface ConnectDeviceOptions extends Omit<DeviceOptions, 'link'> {
  /** Broker URL, e.g. mqtt://127.0.0.1:1883. */
  url: string;
  /**
   * 'proof' (default): prove the device key at CONNECT, as the embedded broker requires (an
   * open broker ignores it). Or a username and password provisioned at an external broker.
   */
  auth?: 'proof' | { username: string; password: string };
  reconnectPeriodMs?: number;
  keepaliveS?: number;
}

/** Connects a device to a broker and returns it ready to open channels. */
export async function connectDevice(options: ConnectDeviceOptions): Promise<Device> {
  const { url, auth = 'proof', keyPair, hubKey } = options;
  const deviceId = keyId(keyPair.publicKey);
  const nowS = (): number => Math.floor((options.nowMs ?? Date.now)() / 1000);
  const link = await connectMqttLink({
    url,
    clientId: deviceId,
    ...(auth === 'proof'
      ? { username: deviceId, password: () => makeConnectProof(keyPair as KeyPair, hubKey, nowS()) }
      : { username: auth.username, password: auth.password }),
    ...(options.reconnectPeriodMs === undefined
      ? {}
      : { reconnectPeriodMs: options.reconnectPeriodMs }),
    ...(options.keepaliveS === undefined ? {} : { keepaliveS: options.keepaliveS }),
  });
  try {
    return await Device.create({ ...options, link });
  } catch (error) {
    await link.close();
    throw error;
  }
}
