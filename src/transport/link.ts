/**
 * The one interface the hub and the device SDK use to talk MQTT, whatever carries it: an
 * mqtt.js client over TCP (mqtt-link.ts) or the embedded broker's in-process hub link
 * (embedded-broker.ts). Types only: importing this file pulls in neither mqtt nor aedes.
 */

export type LinkStatus = 'connected' | 'reconnecting' | 'offline' | 'closed';

export interface BrokerLink {
  /** Rejects if the broker refuses the subscription (SUBACK 0x80) or the link is closed. */
  subscribe(filter: string, qos: 0 | 1): Promise<void>;
  /**
   * QoS 1 resolves on PUBACK (over TCP) or once the embedded broker has accepted the message
   * (in process). A PUBACK is not a receipt: it only says the broker has the message.
   */
  publish(topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void>;
  /** Every message on every subscription; payload is a plain Uint8Array view. */
  onMessage(handler: (topic: string, payload: Uint8Array) => void): void;
  onStatus(handler: (status: LinkStatus) => void): void;
  readonly connected: boolean;
  close(): Promise<void>;
  /** Optional: run `work` with the connection corked, so its publishes leave in one write. */
  corked?(work: () => void): void;
}

/**
 * Who is on the other end of a broker connection, as established when it connected:
 * a device (proved its Ed25519 key), a payee (per-payee secret) or a hub process (hub secret).
 */
export type Principal =
  { kind: 'device'; deviceId: string } | { kind: 'payee'; payeeId: string } | { kind: 'hub' };

/** An authentication hook's refusal: `reason` is one of a small fixed set (it keys stats). */
export interface ConnectRefusal {
  ok: false;
  reason: string;
}

/** The MQTT username (and client id) of the hub principal. */
export const HUB_USERNAME = 'hub';

/**
 * Payee usernames are `payee.<payeeId>`. The separator is outside the base64url alphabet, so
 * a payee username can never equal a device id, and it is accepted by mosquitto_passwd (which
 * refuses ':', the password file's own separator), so the same credential works on the
 * embedded broker and on Mosquitto.
 */
export const PAYEE_USERNAME_PREFIX = 'payee.';

export function payeeUsername(payeeId: string): string {
  return `${PAYEE_USERNAME_PREFIX}${payeeId}`;
}
