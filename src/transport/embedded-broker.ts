import './quiet-packet-debug.js';
import { createServer, type Server, type Socket } from 'node:net';
import {
  Aedes,
  type AedesPublishPacket,
  type AuthenticateError,
  type Client,
  type ConnectPacket,
  type PublishPacket,
  type Subscription,
} from 'aedes';
import { FarthingError } from '../errors.js';
import { ID_PATTERN, Limits } from '../protocol/limits.js';
import { mayPublish, mayReceive, maySubscribe, publishRefusal } from './authorization.js';
import { GuardedConnection, type FrameViolation } from './frame-guard.js';
import type { BrokerLink, ConnectRefusal, LinkStatus, Principal } from './link.js';

/**
 * The embedded MQTT broker (DESIGN §4): aedes behind four locks.
 *
 * 1. Packet size: every socket passes through a fixed-header scanner (frame-guard.ts) that
 *    destroys the connection as soon as a header announces a packet above `maxPacketBytes`,
 *    before aedes buffers a byte of it (aedes 1.x has no such option).
 * 2. Authentication: the injected `authenticate` hook names the principal (device, payee, hub)
 *    or refuses (CONNACK 4, "bad user name or password"). A Will is checked here too: it must
 *    be a publish the principal is allowed to make, not retained and QoS ≤ 1, else the CONNECT
 *    is refused (CONNACK 5, "not authorized"). aedes exposes the Will only on the CONNECT
 *    packet, so `preConnect` remembers it for `authenticate`.
 * 3. Authorization (authorization.ts): a refused SUBSCRIBE gets SUBACK 0x80 and the client
 *    stays connected; a refused PUBLISH (wrong topic, retained, QoS 2) is never routed and
 *    aedes closes the connection without a PUBACK (MQTT-3.3.5-2 allows either a positive ack
 *    or a close; Mosquitto acks and drops instead). An mqtt.js client therefore sees its
 *    connection drop and, if it reconnects, retransmits the QoS 1 packet and is dropped again.
 * 4. Forwarding: every outgoing message is re-checked against the receiver's principal.
 *
 * The hub in the same process talks to the broker through `hubLink` (aedes.subscribe and
 * aedes.publish, no TCP, no authentication), confined to the hub principal's topics.
 */

export interface ConnectCredentials {
  clientId: string;
  username: string | undefined;
  password: Uint8Array | undefined;
}

/** A principal to accept the connection as; a refusal (with its reason) or undefined to refuse. */
export type AuthDecision = Principal | ConnectRefusal | undefined;

export interface EmbeddedBrokerOptions {
  /** Loopback or interface address to listen on. */
  host: string;
  /** 0 picks a free port (see `port` on the result). */
  port: number;
  hubId: string;
  authenticate: (credentials: ConnectCredentials) => AuthDecision | Promise<AuthDecision>;
  /** Largest MQTT packet accepted, fixed header included. Default Limits.maxPacketBytes. */
  maxPacketBytes?: number;
  /** How long a TCP connection may take to send CONNECT. Default 10 s. */
  connectTimeoutMs?: number;
  /** Open TCP connections beyond this are refused by the kernel accept loop. Default 100 000. */
  maxConnections?: number;
}

export interface BrokerStats {
  /** CONNECTs accepted (CONNACK 0). */
  connectsAccepted: number;
  /** Refused CONNECTs by reason (the authenticator's reasons, will-*, authenticator-error). */
  connectsRefused: Record<string, number>;
  /** Refused PUBLISHes by reason: topic-forbidden, retained, qos-unsupported, no-principal. */
  publishesRefused: Record<string, number>;
  /** Refused subscriptions (per topic filter) by reason: topic-forbidden. */
  subscribesRefused: Record<string, number>;
  /** Connections destroyed by the frame guard: oversize, malformed-length. */
  framesRefused: Record<string, number>;
}

export interface EmbeddedBroker {
  url: string;
  host: string;
  port: number;
  hubLink: BrokerLink;
  stats(): BrokerStats;
  close(): Promise<void>;
}

/** Distinct reasons kept per counter; more are folded into 'other' so stats stay bounded. */
const MAX_REASONS = 64;

class ReasonCounter {
  private readonly counts = new Map<string, number>();

  add(reason: string): void {
    const key = this.counts.has(reason) || this.counts.size < MAX_REASONS ? reason : 'other';
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

type Will = ConnectPacket['will'];

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { host, hubId } = options;
  if (!ID_PATTERN.test(hubId)) throw new RangeError(`invalid hub id ${hubId}`);
  const maxPacketBytes = options.maxPacketBytes ?? Limits.maxPacketBytes;
  const connectsRefused = new ReasonCounter();
  const publishesRefused = new ReasonCounter();
  const subscribesRefused = new ReasonCounter();
  const framesRefused = new ReasonCounter();
  let connectsAccepted = 0;

  const principals = new WeakMap<Client, Principal>();
  const wills = new WeakMap<Client, Will>();

  const aedes = new Aedes({
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    // Farthing topics have 5 levels; a deeper topic is refused before it reaches the matcher.
    maxTopicLevels: 16,
    // aedes routes at most `concurrency` messages at once (default 100), each until every
    // receiver's socket drains: one device that stops reading would hold up every voucher, and
    // the queue behind it drains by recursion deep enough to overflow the stack. Unbounded
    // routing instead, and a receiver that does not drain within 10 s is dropped.
    concurrency: 0,
    drainTimeout: 10_000,
    preConnect(client, packet, callback) {
      wills.set(client, packet.will);
      keepEveryDelivery(client);
      callback(null, true);
    },
    authenticate(client, username, password, done) {
      const refuse = (reason: string, returnCode: 3 | 4 | 5): void => {
        connectsRefused.add(reason);
        const error = Object.assign(new Error(`connect refused: ${reason}`), { returnCode });
        done(error as AuthenticateError, false);
      };
      const credentials: ConnectCredentials = {
        clientId: client.id,
        username: username ?? undefined,
        password: password === undefined || password === null ? undefined : plainBytes(password),
      };
      let decision: Promise<AuthDecision>;
      try {
        decision = Promise.resolve(options.authenticate(credentials));
      } catch (error) {
        decision = Promise.reject(error);
      }
      decision.then(
        (result) => {
          if (result === undefined) return refuse('refused', 4);
          if (!('kind' in result)) return refuse(result.reason, 4);
          // A persistent session would keep an offline queue (of every QoS 1 message its
          // filters ever matched, refused ones included) for a client that may never return.
          // The protocol needs none (PROTOCOL §5.2); only the hub itself may keep one.
          if (result.kind !== 'hub' && !client.clean) return refuse('persistent-session', 5);
          const willRefusal = refuseWill(result, hubId, wills.get(client));
          wills.delete(client);
          if (willRefusal !== undefined) return refuse(willRefusal, 5);
          principals.set(client, result);
          connectsAccepted++;
          done(null, true);
        },
        () => refuse('authenticator-error', 3),
      );
    },
    authorizePublish(client, packet, callback) {
      const principal = client === null ? undefined : principals.get(client);
      const refusal =
        principal === undefined ? 'no-principal' : publishRefusal(principal, hubId, packet);
      if (refusal === undefined) return callback(null);
      publishesRefused.add(refusal);
      // An error makes aedes drop the packet and close the connection (no PUBACK).
      callback(new Error(`publish refused: ${refusal}`));
    },
    authorizeSubscribe(client, subscription, callback) {
      const principal = principals.get(client);
      if (principal === undefined || !maySubscribe(principal, hubId, subscription.topic)) {
        subscribesRefused.add('topic-forbidden');
        // A null subscription is a SUBACK failure (0x80) for this filter only.
        return callback(null, null);
      }
      const granted: Subscription = {
        ...subscription,
        qos: subscription.qos > 1 ? 1 : subscription.qos,
      };
      callback(null, granted);
    },
    authorizeForward(client, packet) {
      const principal = principals.get(client);
      return principal !== undefined && mayReceive(principal, hubId, packet.topic) ? packet : null;
    },
  });
  // Client and connection errors are expected (refusals, resets); aedes needs no listener for
  // them, but an 'error' from its will sweeper must not crash the process.
  (aedes as unknown as NodeJS.EventEmitter).on('error', () => {});
  await aedes.listen();

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    const connection = new GuardedConnection(socket, maxPacketBytes, (violation: FrameViolation) =>
      framesRefused.add(violation),
    );
    aedes.handle(connection);
  });
  server.maxConnections = options.maxConnections ?? 100_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (cause) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    const code = (cause as NodeJS.ErrnoException).code;
    const where = `${host}:${options.port}`;
    if (code === 'EADDRINUSE') {
      throw new FarthingError(
        'BROKER_PORT_IN_USE',
        `the embedded broker cannot listen on ${where}: the address is already in use ` +
          `(another broker or hub is running there). Use --broker mqtt://${formatHost(host)}:${options.port} ` +
          `to use the running broker, or --listen HOST:PORT to pick another port.`,
        { cause },
      );
    }
    throw new FarthingError(
      'CONFIG_INVALID',
      `the embedded broker cannot listen on ${where}: ${code ?? String(cause)}`,
      { cause },
    );
  }

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const hubLink = new InProcessHubLink(aedes, hubId);

  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://${formatHost(host)}:${port}`,
    host,
    port,
    hubLink,
    stats: () => ({
      connectsAccepted,
      connectsRefused: connectsRefused.toRecord(),
      publishesRefused: publishesRefused.toRecord(),
      subscribesRefused: subscribesRefused.toRecord(),
      framesRefused: framesRefused.toRecord(),
    }),
    close() {
      closing ??= (async () => {
        await hubLink.close();
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        // Connections that never completed CONNECT are not aedes clients yet.
        for (const socket of sockets) socket.destroy();
        await serverClosed;
      })();
      return closing;
    },
  };
}

function refuseWill(principal: Principal, hubId: string, will: Will): string | undefined {
  if (will === undefined || will === null) return undefined;
  if (will.retain === true) return 'will-retained';
  if ((will.qos ?? 0) > 1) return 'will-qos-unsupported';
  if (!mayPublish(principal, hubId, will.topic)) return 'will-forbidden';
  return undefined;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Buffers (and strings, which aedes may hold for payloads it built) as plain Uint8Array. */
function plainBytes(value: Buffer | string | Uint8Array): Uint8Array {
  if (typeof value === 'string') return new TextEncoder().encode(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** BrokerLink for the hub in the broker's own process: no TCP, no authentication. */
class InProcessHubLink implements BrokerLink {
  private readonly messageHandlers: Array<(topic: string, payload: Uint8Array) => void> = [];
  private readonly statusHandlers: Array<(status: LinkStatus) => void> = [];
  private readonly subscriptions = new Map<
    string,
    (packet: AedesPublishPacket, callback: () => void) => void
  >();
  private closed = false;
  private readonly hub: Principal = { kind: 'hub' };

  constructor(
    private readonly aedes: Aedes,
    private readonly hubId: string,
  ) {}

  get connected(): boolean {
    return !this.closed && !this.aedes.closed;
  }

  subscribe(filter: string, qos: 0 | 1): Promise<void> {
    if (!this.connected) return Promise.reject(closedError());
    if (!maySubscribe(this.hub, this.hubId, filter))
      return Promise.reject(new RangeError(`the hub may not subscribe to ${filter}`));
    if (this.subscriptions.has(filter)) return Promise.resolve();
    void qos; // in process there is nothing to acknowledge: every message is handed over.
    const deliver = (packet: AedesPublishPacket, callback: () => void): void => {
      try {
        if (!this.closed) {
          const payload = plainBytes(packet.payload);
          for (const handler of this.messageHandlers) handler(packet.topic, payload);
        }
      } catch (error) {
        // A throwing handler is a hub bug: surface it as an uncaught exception, as an
        // EventEmitter listener would, without leaving aedes' delivery queue stuck.
        queueMicrotask(() => {
          throw error;
        });
      } finally {
        callback();
      }
    };
    this.subscriptions.set(filter, deliver);
    return new Promise((resolve) => this.aedes.subscribe(filter, deliver, () => resolve()));
  }

  publish(topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void> {
    if (!this.connected) return Promise.reject(closedError());
    if (!mayPublish(this.hub, this.hubId, topic))
      return Promise.reject(new RangeError(`the hub may not publish to ${topic}`));
    const packet: PublishPacket = {
      cmd: 'publish',
      topic,
      payload: Buffer.from(payload), // a copy: delivery is asynchronous
      qos,
      retain: false,
      dup: false,
    };
    return new Promise((resolve, reject) =>
      this.aedes.publish(packet, (error) => (error ? reject(error) : resolve())),
    );
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
    if (!this.aedes.closed) {
      await Promise.all(
        [...this.subscriptions].map(
          ([filter, deliver]) =>
            new Promise<void>((resolve) =>
              this.aedes.unsubscribe(filter, deliver, () => resolve()),
            ),
        ),
      );
    }
    this.subscriptions.clear();
    for (const handler of this.statusHandlers) handler('closed');
  }
}

/**
 * aedes drops a message to a client as a duplicate when a message published after it reached
 * that client first (it keeps the highest broker counter delivered per client, for clusters
 * of brokers relaying the same packet). Its QoS 1 path takes a few more ticks than QoS 0, so
 * a signed Receipt published with the Acks of the same commit was silently lost. One broker
 * relays nothing twice: make the per-client record forget, so every delivery goes out.
 */
function keepEveryDelivery(client: Client): void {
  const neverSeen = new Proxy<Record<string, number>>({}, { get: () => 0, set: () => true });
  (client as unknown as { duplicates: Record<string, number> }).duplicates = neverSeen;
}

function closedError(): FarthingError {
  return new FarthingError('BROKER_UNREACHABLE', 'the embedded broker is closed');
}
