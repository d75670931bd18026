import { debugEnables } from './quiet-packet-debug.js';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { FarthingError } from '../errors.js';
import type { BrokerLink, LinkStatus } from './link.js';

/**
 * BrokerLink over TCP with mqtt.js (MQTT 3.1.1): the device SDK's link, and the hub's when the
 * broker is external (Mosquitto and others) or the hub runs in another process.
 *
 * The first connection either succeeds or fails once: the promise rejects with
 * BROKER_UNREACHABLE (nothing listening, credentials refused, no CONNACK in time) instead of
 * retrying forever behind the caller's back. After the first CONNACK, mqtt.js reconnects every
 * `reconnectPeriodMs` and resubscribes; `password` may be a function so that every attempt
 * presents a fresh credential (a ConnectProof is single-use).
 *
 * Publishes made while offline are queued by mqtt.js and sent on reconnect; at most
 * `maxPending` publishes may be outstanding (queued or awaiting PUBACK), beyond that publish()
 * rejects at once, so a long outage cannot grow memory without bound.
 */

export interface MqttLinkOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: Uint8Array | string | (() => Uint8Array | string);
  /** Default 30. */
  keepaliveS?: number;
  /** Delay between reconnect attempts after the first success. Default 1000. */
  reconnectPeriodMs?: number;
  /** How long to wait for CONNACK. Default 10 000. */
  connectTimeoutMs?: number;
  /** MQTT clean session. Default true. */
  clean?: boolean;
  /** Bound on outstanding publishes. Default 1024. */
  maxPending?: number;
}

export async function connectMqttLink(options: MqttLinkOptions): Promise<BrokerLink> {
  const password = options.password;
  const freshPassword = (): Buffer | string | undefined => {
    const value = typeof password === 'function' ? password() : password;
    return value === undefined || typeof value === 'string' ? value : Buffer.from(value);
  };
  const clientOptions: IClientOptions = {
    clientId: options.clientId,
    username: options.username,
    password: freshPassword(),
    protocolVersion: 4,
    keepalive: options.keepaliveS ?? 30,
    // No retry before the first success: see connectOnce below.
    reconnectPeriod: 0,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    clean: options.clean ?? true,
    resubscribe: true,
    // A QoS 0 message is worthless late; do not queue it while offline.
    queueQoSZero: false,
    // mqtt.js formats a debug line at every step of every packet; unless DEBUG asks for them,
    // a no-op saves that work (~2% of a busy hub's main thread).
    ...(debugEnables(['mqttjs:client']) ? {} : { log: () => undefined }),
  };
  const where = describe(options.url);
  let client: MqttClient;
  try {
    client = mqtt.connect(options.url, clientOptions);
  } catch (cause) {
    throw new FarthingError('CONFIG_INVALID', `invalid broker URL for ${where}`, { cause });
  }
  // mqtt.js emits 'error' for refused CONNACKs and socket errors; without a listener an
  // EventEmitter would throw. After the first connection they only precede a reconnect.
  // mqtt.js leaves Nagle's algorithm on; with small request/response messages that costs tens
  // of milliseconds per round trip (Nagle waiting on the peer's delayed ACK). Switch it off on
  // every new socket as it sends CONNECT, not on 'connect': after a reconnect mqtt.js replays
  // its unacknowledged QoS 1 publishes one PUBACK round trip at a time before emitting
  // 'connect', and with Nagle on a device's backlog of vouchers drained at 40 ms each. The
  // first socket sent its CONNECT inside mqtt.connect(), before any listener: switch it now.
  const noDelay = (): void => {
    const stream = client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined;
    stream?.setNoDelay?.(true);
  };
  noDelay();
  client.on('packetsend', (packet) => {
    if (packet.cmd === 'connect') noDelay();
  });
  let lastError: Error | undefined;
  client.on('error', (error) => {
    lastError = error;
  });
  await connectOnce(client, where);
  client.options.reconnectPeriod = options.reconnectPeriodMs ?? 1000;
  // After the first success a refused CONNECT is passing (say, a hub still starting up), so
  // keep retrying rather than going quiet for good.
  client.options.reconnectOnConnackError = true;
  client.on('reconnect', () => {
    if (typeof password === 'function') client.options.password = freshPassword();
  });
  return new MqttLink(client, options.maxPending ?? 1024, () => lastError);
}

function connectOnce(client: MqttClient, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    const fail = (reason: string, cause: unknown): void => {
      cleanup();
      client.end(true);
      reject(
        new FarthingError('BROKER_UNREACHABLE', `cannot connect to ${where}: ${reason}`, { cause }),
      );
    };
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    const onError = (error: Error): void => fail(error.message, error);
    const onClose = (): void => fail('the connection closed before CONNACK', undefined);
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

/** The broker address without any credentials a URL might carry. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'the broker (invalid URL)';
  }
}

class MqttLink implements BrokerLink {
  private readonly messageHandlers: Array<(topic: string, payload: Uint8Array) => void> = [];
  private readonly statusHandlers: Array<(status: LinkStatus) => void> = [];
  private readonly pending = new Set<(error: Error) => void>();
  private closed = false;

  constructor(
    private readonly client: MqttClient,
    private readonly maxPending: number,
    private readonly lastError: () => Error | undefined,
  ) {
    client.on('message', (topic, payload) => {
      const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
      for (const handler of this.messageHandlers) handler(topic, bytes);
    });
    client.on('connect', () => this.emitStatus('connected'));
    client.on('reconnect', () => this.emitStatus('reconnecting'));
    client.on('offline', () => this.emitStatus('offline'));
  }

  get connected(): boolean {
    return !this.closed && this.client.connected;
  }

  subscribe(filter: string, qos: 0 | 1): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.track((done) =>
      this.client.subscribe(filter, { qos }, (error) => {
        if (error) done(this.refused(`subscription to ${filter} refused`, error));
        else done();
      }),
    );
  }

  publish(topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.pending.size >= this.maxPending)
      return Promise.reject(
        new FarthingError(
          'BROKER_UNREACHABLE',
          `${this.pending.size} publishes outstanding: the broker is not keeping up or is unreachable`,
          { cause: this.lastError() },
        ),
      );
    return this.track((done) =>
      // A view, not a copy: callers hand over freshly encoded bytes and never touch them again.
      this.client.publish(
        topic,
        Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        { qos, retain: false },
        (error) => {
          if (error) done(this.refused(`publish to ${topic} failed`, error));
          else done();
        },
      ),
    );
  }

  /** Corks the socket while `work` publishes, so the packets leave in one write. */
  corked(work: () => void): void {
    const stream = this.client.stream as { cork?: () => void; uncork?: () => void } | undefined;
    if (stream?.cork === undefined || stream.uncork === undefined) return work();
    stream.cork();
    try {
      work();
    } finally {
      stream.uncork();
    }
  }

  onMessage(handler: (topic: string, payload: Uint8Array) => void): void {
    this.messageHandlers.push(handler);
  }

  onStatus(handler: (status: LinkStatus) => void): void {
    this.statusHandlers.push(handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const reject of this.pending) reject(this.closedError());
    this.pending.clear();
    // A clean DISCONNECT when possible (the broker discards the Will); otherwise drop the
    // socket rather than wait for acknowledgements that may never come.
    const graceful = this.client.connected && Object.keys(this.client.outgoing).length === 0;
    await this.client.endAsync(!graceful);
    this.emitStatus('closed');
  }

  /** Runs an mqtt.js call whose callback settles a promise that close() can also reject. */
  private track(start: (done: (error?: Error) => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        this.pending.delete(rejectPending);
        if (error) reject(error);
        else resolve();
      };
      const rejectPending = (error: Error): void => settle(error);
      this.pending.add(rejectPending);
      start(settle);
    });
  }

  private emitStatus(status: LinkStatus): void {
    for (const handler of this.statusHandlers) handler(status);
  }

  private refused(message: string, cause: Error): FarthingError {
    return new FarthingError('BROKER_UNREACHABLE', `${message}: ${cause.message}`, { cause });
  }

  private closedError(): FarthingError {
    return new FarthingError('BROKER_UNREACHABLE', 'the broker link is closed');
  }
}
