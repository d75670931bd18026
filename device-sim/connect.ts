import { connectDeviceLink as connectSdkDeviceLink, type BrokerAuth } from '../src/device/index.js';
import type { KeyPair } from '../src/device/index.js';
import type { BrokerLink } from '../src/transport/index.js';

export type { BrokerAuth };

export interface DeviceLinkOptions {
  brokerUrl: string;
  hubKey: Uint8Array;
  keyPair: KeyPair;
  auth?: BrokerAuth;
  reconnectPeriodMs?: number;
  connectTimeoutMs?: number;
}

/** The SDK's device link with the simulator's defaults (quicker reconnects). */
export function connectDeviceLink(options: DeviceLinkOptions): Promise<BrokerLink> {
  const { brokerUrl, ...rest } = options;
  return connectSdkDeviceLink({
    reconnectPeriodMs: 500,
    connectTimeoutMs: 10_000,
    ...rest,
    url: brokerUrl,
  });
}
