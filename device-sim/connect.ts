import { makeConnectProof, type KeyPair } from '../src/device/index.js';
import { keyId } from '../src/protocol/index.js';
import { connectMqttLink, type BrokerLink } from '../src/transport/index.js';

/**
 * How a simulated device logs in to the broker.
 *   'proof'  (default) client id = username = device id, password = a fresh ConnectProof for
 *            every connection attempt: what the embedded broker requires; an anonymous
 *            Mosquitto ignores it.
 *   'none'   client id = device id, no username or password.
 *   { username, password } or a function of the device id: fixed credentials per device
 *            (a broker with a password file); the client id is still the device id.
 */
export type BrokerAuth =
  | 'proof'
  | 'none'
  | { username: string; password: string }
  | ((deviceId: string) => { username: string; password: string });

export interface DeviceLinkOptions {
  brokerUrl: string;
  hubKey: Uint8Array;
  keyPair: KeyPair;
  auth?: BrokerAuth;
  reconnectPeriodMs?: number;
  connectTimeoutMs?: number;
}

/** One MQTT connection for one device (its own client id), with reconnects that re-prove. */
export function connectDeviceLink(options: DeviceLinkOptions): Promise<BrokerLink> {
  const deviceId = keyId(options.keyPair.publicKey);
  const auth = options.auth ?? 'proof';
  const common = {
    url: options.brokerUrl,
    clientId: deviceId,
    reconnectPeriodMs: options.reconnectPeriodMs ?? 500,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
  };
  if (auth === 'proof') {
    return connectMqttLink({
      ...common,
      username: deviceId,
      // A function: every connection attempt presents a new single-use proof.
      password: () =>
        makeConnectProof(options.keyPair, options.hubKey, Math.floor(Date.now() / 1000)),
    });
  }
  if (auth === 'none') return connectMqttLink(common);
  const credentials = typeof auth === 'function' ? auth(deviceId) : auth;
  return connectMqttLink({ ...common, ...credentials });
}
