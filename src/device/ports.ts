/** The device's connection to a broker (src/transport/mqtt-link.ts provides one). */
export interface DeviceLink {
  subscribe(filter: string, qos: 0 | 1): Promise<void>;
  publish(topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void>;
  onMessage(handler: (topic: string, payload: Uint8Array) => void): void;
  onStatus(handler: (status: 'connected' | 'reconnecting' | 'offline' | 'closed') => void): void;
  readonly connected: boolean;
  close(): Promise<void>;
}
