/**
 * What the hub needs from the outside world, as interfaces it owns. Only src/cli wires the
 * concrete pieces (an MQTT link, a ledger backend, a verifier pool) into a Hub.
 */

/** A connection to an MQTT broker (the embedded one in process, or any external broker). */
export interface BrokerPort {
  subscribe(filter: string, qos: 0 | 1): Promise<void>;
  publish(topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void>;
  onMessage(handler: (topic: string, payload: Uint8Array) => void): void;
  onStatus?(handler: (status: 'connected' | 'reconnecting' | 'offline' | 'closed') => void): void;
  readonly connected: boolean;
  /** Optional: run `work` with the socket corked, so its publishes leave in one write. */
  corked?(work: () => void): void;
}

export interface VerifyItem {
  signature: Uint8Array;
  message: Uint8Array;
  publicKey: Uint8Array;
}

/** Checks signatures under the strict rule; answers in the order asked. */
export interface SignatureVerifier {
  verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]>;
  close(): Promise<void>;
}

export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** The few log calls the hub makes; pino fits, and tests can pass a silent one. */
export interface HubLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  debug(object: object, message?: string): void;
}

export const silentLogger: HubLogger = { info() {}, warn() {}, error() {}, debug() {} };
