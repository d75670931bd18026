import { connect as tcpConnect, Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateKeyPair, type KeyPair } from '../../src/crypto/index.js';
import { makeConnectProof } from '../../src/device/connect-proof.js';
import { isFarthingError } from '../../src/errors.js';
import { ConnectAuthenticator } from '../../src/hub/connect-auth.js';
import { downTopic, keyId, payeeTopic, upTopic, upWildcard } from '../../src/protocol/index.js';
import {
  startEmbeddedBroker,
  type AuthDecision,
  type EmbeddedBroker,
} from '../../src/transport/embedded-broker.js';
import { FixedHeaderScanner } from '../../src/transport/frame-guard.js';
import { payeeUsername, type BrokerLink } from '../../src/transport/link.js';
import { connectMqttLink } from '../../src/transport/mqtt-link.js';
import {
  connectOutcome,
  eventWithin,
  expectRefused,
  Inbox,
  sleep,
  waitFor,
} from '../helpers/mqtt-wait.js';
import { connectPacket, publishHeader, varint } from '../helpers/mqtt-raw.js';
import { freePort } from '../helpers/ports.js';

const HOST = '127.0.0.1';
const hubPair = generateKeyPair();
const hubId = keyId(hubPair.publicKey);
const otherHubId = keyId(generateKeyPair().publicKey);
const A = generateKeyPair();
const B = generateKeyPair();
const idA = keyId(A.publicKey);
const idB = keyId(B.publicKey);
const PAYEE = 'payee-1';
const PAYEE_SECRET = 'payee secret';
const HUB_SECRET = 'hub secret';
const nowS = (): number => Math.floor(Date.now() / 1000);
const realSetNoDelay = Socket.prototype.setNoDelay;

let auth: ConnectAuthenticator;
let broker: EmbeddedBroker;
const hubInbox = new Inbox();
const toClose: Array<{ close(): Promise<void> } | MqttClient> = [];

function authenticateWith(authenticator: ConnectAuthenticator) {
  return (credentials: Parameters<ConnectAuthenticator['check']>[0]): AuthDecision => {
    const result = authenticator.check(credentials);
    return result.ok ? result.principal : result;
  };
}

async function deviceLink(pair: KeyPair, url = broker.url): Promise<BrokerLink> {
  const id = keyId(pair.publicKey);
  const link = await connectMqttLink({
    url,
    clientId: id,
    username: id,
    password: () => makeConnectProof(pair, hubPair.publicKey, nowS()),
    reconnectPeriodMs: 100,
    connectTimeoutMs: 3000,
  });
  toClose.push(link);
  return link;
}

/** A raw mqtt.js client (for wills, retain, QoS 2: what a link never sends) as a device. */
function rawDevice(pair: KeyPair, extra: Partial<IClientOptions> = {}): MqttClient {
  const id = keyId(pair.publicKey);
  const client = mqtt.connect(broker.url, {
    clientId: id,
    username: id,
    password: Buffer.from(makeConnectProof(pair, hubPair.publicKey, nowS())),
    reconnectPeriod: 0,
    connectTimeout: 3000,
    ...extra,
  });
  client.on('error', () => {});
  toClose.push(client);
  return client;
}

function closed(client: MqttClient): Promise<void> {
  return eventWithin(client, 'close', 'the broker to disconnect the client');
}

beforeAll(async () => {
  auth = new ConnectAuthenticator({
    hubKey: hubPair.publicKey,
    payeeSecrets: { [PAYEE]: PAYEE_SECRET },
    hubSecret: HUB_SECRET,
  });
  broker = await startEmbeddedBroker({
    host: HOST,
    port: await freePort(),
    hubId,
    authenticate: authenticateWith(auth),
  });
  broker.hubLink.onMessage(hubInbox.push);
  await broker.hubLink.subscribe(upWildcard(hubId), 1);
});

afterAll(async () => {
  for (const item of toClose.reverse()) {
    if ('endAsync' in item) await item.endAsync(true);
    else await item.close();
  }
  await broker?.close();
});

describe('embedded broker: the honest path', () => {
  it('carries device → hub at QoS 1 and hub → device', async () => {
    const link = await deviceLink(A);
    const inbox = new Inbox();
    link.onMessage(inbox.push);
    await link.subscribe(downTopic(hubId, idA), 1);
    await link.publish(upTopic(hubId, idA), new TextEncoder().encode('voucher-1'), 1);
    await waitFor(() => hubInbox.has(upTopic(hubId, idA), 'voucher-1'), 'voucher at the hub');
    await broker.hubLink.publish(downTopic(hubId, idA), new TextEncoder().encode('receipt-1'), 1);
    await waitFor(() => inbox.has(downTopic(hubId, idA), 'receipt-1'), 'receipt at the device');
    expect(link.connected).toBe(true);
    await link.close();
    expect(link.connected).toBe(false);
  });

  it('delivers every hub message to a device, QoS 1 and QoS 0 sent back to back', async () => {
    // aedes drops a message as a duplicate when one published after it reached the same client
    // first, and its QoS 1 path takes a few more ticks than QoS 0: a signed Receipt sent with
    // the Acks of the same commit used to vanish.
    const link = await deviceLink(A);
    const inbox = new Inbox();
    link.onMessage(inbox.push);
    const topic = downTopic(hubId, idA);
    await link.subscribe(topic, 1);
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      const text = `${i % 4 === 0 ? 'receipt' : 'ack'}-${i}`;
      sent.push(text);
      void broker.hubLink.publish(topic, new TextEncoder().encode(text), i % 4 === 0 ? 1 : 0);
    }
    await waitFor(() => sent.every((text) => inbox.has(topic, text)), 'all 20 at the device');
    await link.close();
  });

  it('hands payloads over as plain Uint8Array on both links', async () => {
    const link = await deviceLink(B);
    const seen: Uint8Array[] = [];
    link.onMessage((_topic, payload) => seen.push(payload));
    await link.subscribe(downTopic(hubId, idB), 1);
    let atHub: Uint8Array | undefined;
    broker.hubLink.onMessage((topic, payload) => {
      if (topic === upTopic(hubId, idB)) atHub = payload;
    });
    await link.publish(upTopic(hubId, idB), Uint8Array.of(1, 2, 3), 1);
    await broker.hubLink.publish(downTopic(hubId, idB), Uint8Array.of(4, 5), 0);
    await waitFor(() => atHub !== undefined && seen.length === 1, 'both payloads');
    expect(atHub).toBeInstanceOf(Uint8Array);
    expect([...atHub!]).toEqual([1, 2, 3]);
    expect([...seen[0]!]).toEqual([4, 5]);
    await link.close();
  });
});

describe('embedded broker: authentication', () => {
  it('refuses a device without a password, with a garbage one or a proof for another hub', async () => {
    const before = broker.stats().connectsRefused;
    await expectRefused(connectMqttLink({ url: broker.url, clientId: idA, username: idA }));
    await expectRefused(
      connectMqttLink({ url: broker.url, clientId: idA, username: idA, password: 'hunter2' }),
    );
    const foreign = makeConnectProof(A, generateKeyPair().publicKey, nowS());
    await expectRefused(
      connectMqttLink({ url: broker.url, clientId: idA, username: idA, password: foreign }),
    );
    const after = broker.stats().connectsRefused;
    expect((after['no-password'] ?? 0) - (before['no-password'] ?? 0)).toBe(1);
    expect((after['proof-malformed'] ?? 0) - (before['proof-malformed'] ?? 0)).toBe(1);
    expect((after['wrong-hub'] ?? 0) - (before['wrong-hub'] ?? 0)).toBe(1);
  });

  it('refuses a replayed proof and a device claiming another device id', async () => {
    const proof = makeConnectProof(A, hubPair.publicKey, nowS());
    const first = await connectMqttLink({
      url: broker.url,
      clientId: idA,
      username: idA,
      password: proof,
    });
    await first.close();
    await expectRefused(
      connectMqttLink({ url: broker.url, clientId: idA, username: idA, password: proof }),
    );
    const fresh = makeConnectProof(A, hubPair.publicKey, nowS());
    await expectRefused(
      connectMqttLink({ url: broker.url, clientId: idB, username: idB, password: fresh }),
    );
    const refused = broker.stats().connectsRefused;
    expect(refused['replayed']).toBeGreaterThanOrEqual(1);
    expect(refused['username-mismatch']).toBeGreaterThanOrEqual(1);
  });

  it('the refusal reaches the client as a CONNACK error (bad user name or password)', async () => {
    const client = mqtt.connect(broker.url, {
      clientId: idA,
      username: idA,
      password: Buffer.from('nope'),
      reconnectPeriod: 0,
    });
    client.on('error', () => {});
    toClose.push(client);
    expect(await connectOutcome(client)).toBe(4);
  });
});

describe('embedded broker: subscriptions', () => {
  it('refuses every filter but the device’s own down topic, and keeps the device connected', async () => {
    const link = await deviceLink(A);
    const forbidden = [
      downTopic(hubId, idB),
      upTopic(hubId, idA),
      upTopic(hubId, idB),
      upWildcard(hubId),
      `farthing/v1/${hubId}/down/+`,
      '#',
      '+/+/+/+/+',
      '$SYS/#',
      'farthing/#',
      downTopic(otherHubId, idA),
      payeeTopic(hubId, PAYEE),
      'some/other/topic',
    ];
    const before = broker.stats().subscribesRefused['topic-forbidden'] ?? 0;
    for (const filter of forbidden) await expectRefused(link.subscribe(filter, 1));
    expect(broker.stats().subscribesRefused['topic-forbidden']! - before).toBe(forbidden.length);
    // Still connected, and the own topic works.
    expect(link.connected).toBe(true);
    const inbox = new Inbox();
    link.onMessage(inbox.push);
    await link.subscribe(downTopic(hubId, idA), 1);
    await broker.hubLink.publish(downTopic(hubId, idB), new TextEncoder().encode('for-B'), 1);
    await broker.hubLink.publish(downTopic(hubId, idA), new TextEncoder().encode('for-A'), 1);
    await inbox.settleAfter(downTopic(hubId, idA), 'for-A');
    expect(inbox.texts()).toEqual(['for-A']);
    await link.close();
  });
});

describe('embedded broker: publishes', () => {
  async function forbiddenPublish(
    topic: string,
    options: { qos: 0 | 1 | 2; retain?: boolean },
  ): Promise<void> {
    const client = rawDevice(A);
    expect(await connectOutcome(client)).toBe('connected');
    const wasClosed = closed(client);
    let acked = false;
    client.publish(topic, 'forged', { qos: options.qos, retain: options.retain ?? false }, (e) => {
      if (!e) acked = true;
    });
    await wasClosed; // aedes drops the packet and closes the connection, without PUBACK
    // (QoS 0 has no acknowledgement: mqtt.js calls back once the packet is written.)
    if (options.qos > 0) expect(acked).toBe(false);
    await client.endAsync(true);
  }

  it('drops a device’s publish to any topic but its own up topic, and disconnects it', async () => {
    const watcherB = await deviceLink(B);
    const inboxB = new Inbox();
    watcherB.onMessage(inboxB.push);
    await watcherB.subscribe(downTopic(hubId, idB), 1);
    const before = broker.stats().publishesRefused['topic-forbidden'] ?? 0;
    const forbidden = [
      upTopic(hubId, idB),
      downTopic(hubId, idB),
      downTopic(hubId, idA),
      payeeTopic(hubId, PAYEE),
      upTopic(otherHubId, idA),
      '$SYS/broker/fake',
      'some/other/topic',
    ];
    for (const topic of forbidden) await forbiddenPublish(topic, { qos: 1 });
    await forbiddenPublish(upTopic(hubId, idB), { qos: 0 });
    expect(broker.stats().publishesRefused['topic-forbidden']! - before).toBe(forbidden.length + 1);
    // Control messages on the allowed paths, then nothing forged may have arrived.
    await watcherB.publish(upTopic(hubId, idB), new TextEncoder().encode('control-up-B'), 1);
    await broker.hubLink.publish(downTopic(hubId, idB), new TextEncoder().encode('control-B'), 1);
    await hubInbox.settleAfter(upTopic(hubId, idB), 'control-up-B');
    await inboxB.settleAfter(downTopic(hubId, idB), 'control-B', 0);
    expect(hubInbox.texts()).not.toContain('forged');
    expect(inboxB.texts()).toEqual(['control-B']);
    await watcherB.close();
  });

  it('refuses a retained publish and a QoS 2 publish, even on the own up topic', async () => {
    const before = broker.stats().publishesRefused;
    await forbiddenPublish(upTopic(hubId, idA), { qos: 1, retain: true });
    await forbiddenPublish(upTopic(hubId, idA), { qos: 0, retain: true });
    await forbiddenPublish(upTopic(hubId, idA), { qos: 2 });
    const after = broker.stats().publishesRefused;
    expect(after['retained']! - (before['retained'] ?? 0)).toBe(2);
    expect(after['qos-unsupported']! - (before['qos-unsupported'] ?? 0)).toBe(1);
    const link = await deviceLink(A);
    await link.publish(upTopic(hubId, idA), new TextEncoder().encode('control-A'), 1);
    await hubInbox.settleAfter(upTopic(hubId, idA), 'control-A');
    expect(hubInbox.texts()).not.toContain('forged');
    await link.close();
  });
});

describe('embedded broker: sessions', () => {
  it('refuses a persistent session to a device or a payee; the hub may keep one', async () => {
    const device = rawDevice(A, { clean: false });
    expect(await connectOutcome(device)).toBe(5);
    const payee = mqtt.connect(broker.url, {
      clientId: payeeUsername(PAYEE),
      username: payeeUsername(PAYEE),
      password: PAYEE_SECRET,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: 3000,
    });
    payee.on('error', () => {});
    toClose.push(payee);
    expect(await connectOutcome(payee)).toBe(5);
    expect(broker.stats().connectsRefused['persistent-session']).toBe(2);
    const hubTcp = await connectMqttLink({
      url: broker.url,
      clientId: 'hub',
      username: 'hub',
      password: HUB_SECRET,
      clean: false,
    });
    expect(hubTcp.connected).toBe(true);
    await hubTcp.close();
  });
});

describe('embedded broker: wills', () => {
  it('refuses a CONNECT whose will is on another device’s topic or retained', async () => {
    const onB = rawDevice(A, {
      will: { topic: upTopic(hubId, idB), payload: 'w', qos: 1, retain: false },
    });
    expect(await connectOutcome(onB)).toBe(5);
    const retained = rawDevice(A, {
      will: { topic: upTopic(hubId, idA), payload: 'w', qos: 1, retain: true },
    });
    expect(await connectOutcome(retained)).toBe(5);
    const down = rawDevice(A, {
      will: { topic: downTopic(hubId, idA), payload: 'w', qos: 0, retain: false },
    });
    expect(await connectOutcome(down)).toBe(5);
    const refused = broker.stats().connectsRefused;
    expect(refused['will-forbidden']).toBe(2);
    expect(refused['will-retained']).toBe(1);
  });

  it('accepts a will on the own up topic and delivers it when the device drops', async () => {
    const client = rawDevice(A, {
      will: { topic: upTopic(hubId, idA), payload: 'last-will-A', qos: 1, retain: false },
    });
    expect(await connectOutcome(client)).toBe('connected');
    client.stream.destroy(); // no DISCONNECT: the broker publishes the will
    await waitFor(() => hubInbox.has(upTopic(hubId, idA), 'last-will-A'), 'the will at the hub');
    await client.endAsync(true);
  });
});

describe('embedded broker: payees and the hub principal', () => {
  it('a payee reads only its own topic and publishes nothing', async () => {
    const username = payeeUsername(PAYEE);
    const link = await connectMqttLink({
      url: broker.url,
      clientId: username,
      username,
      password: PAYEE_SECRET,
    });
    toClose.push(link);
    const inbox = new Inbox();
    link.onMessage(inbox.push);
    for (const filter of [payeeTopic(hubId, 'payee-2'), downTopic(hubId, idA), '#', '$SYS/#'])
      await expectRefused(link.subscribe(filter, 1));
    await link.subscribe(payeeTopic(hubId, PAYEE), 1);
    await broker.hubLink.publish(payeeTopic(hubId, 'payee-2'), new TextEncoder().encode('p2'), 1);
    await broker.hubLink.publish(payeeTopic(hubId, PAYEE), new TextEncoder().encode('p1'), 1);
    await inbox.settleAfter(payeeTopic(hubId, PAYEE), 'p1');
    expect(inbox.texts()).toEqual(['p1']);

    const before = broker.stats().publishesRefused['topic-forbidden']!;
    const raw = mqtt.connect(broker.url, {
      clientId: username,
      username,
      password: PAYEE_SECRET,
      reconnectPeriod: 0,
    });
    raw.on('error', () => {});
    toClose.push(raw);
    expect(await connectOutcome(raw)).toBe('connected');
    const wasClosed = closed(raw);
    raw.publish(payeeTopic(hubId, PAYEE), 'forged', { qos: 1 });
    await wasClosed;
    expect(broker.stats().publishesRefused['topic-forbidden']! - before).toBe(1);
    await link.close();
  });

  it('a payee may not have a will, and a wrong payee secret is refused', async () => {
    const username = payeeUsername(PAYEE);
    const withWill = mqtt.connect(broker.url, {
      clientId: username,
      username,
      password: PAYEE_SECRET,
      reconnectPeriod: 0,
      will: { topic: payeeTopic(hubId, PAYEE), payload: 'w', qos: 0, retain: false },
    });
    withWill.on('error', () => {});
    toClose.push(withWill);
    expect(await connectOutcome(withWill)).toBe(5);
    await expectRefused(
      connectMqttLink({ url: broker.url, clientId: username, username, password: 'wrong' }),
    );
  });

  it('the hub principal over TCP reads up/+ and writes down and payee topics only', async () => {
    const hubTcp = await connectMqttLink({
      url: broker.url,
      clientId: 'hub',
      username: 'hub',
      password: HUB_SECRET,
    });
    toClose.push(hubTcp);
    const inbox = new Inbox();
    hubTcp.onMessage(inbox.push);
    for (const filter of [`farthing/v1/${hubId}/down/+`, '#', upWildcard(otherHubId), '$SYS/#'])
      await expectRefused(hubTcp.subscribe(filter, 1));
    await hubTcp.subscribe(upWildcard(hubId), 1);
    const device = await deviceLink(A);
    const deviceInbox = new Inbox();
    device.onMessage(deviceInbox.push);
    await device.subscribe(downTopic(hubId, idA), 1);
    await device.publish(upTopic(hubId, idA), new TextEncoder().encode('to-tcp-hub'), 1);
    await waitFor(() => inbox.has(upTopic(hubId, idA), 'to-tcp-hub'), 'up message at the TCP hub');
    await hubTcp.publish(downTopic(hubId, idA), new TextEncoder().encode('from-tcp-hub'), 1);
    await waitFor(
      () => deviceInbox.has(downTopic(hubId, idA), 'from-tcp-hub'),
      'down message at the device',
    );
    await device.close();
    await hubTcp.close();
  });

  it('the in-process hub link is confined to the hub principal’s topics', async () => {
    await expect(broker.hubLink.subscribe('#', 0)).rejects.toThrow(RangeError);
    await expect(broker.hubLink.publish(upTopic(hubId, idA), new Uint8Array(1), 0)).rejects.toThrow(
      RangeError,
    );
  });
});

/** Connects, waits for CONNACK 0, sends a PUBLISH header announcing `body` and the body. */
function oversizeAttempt(pair: KeyPair, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tcpConnect(broker.port, HOST);
    let connacked = false;
    socket.on('error', () => {}); // EPIPE / ECONNRESET once the broker drops us
    socket.on('data', (chunk: Buffer) => {
      if (!connacked && chunk[0] === 0x20 && chunk[3] === 0) {
        connacked = true;
        socket.write(publishHeader(upTopic(hubId, keyId(pair.publicKey)), body.length));
        socket.write(body);
      }
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the broker did not cut the connection off'));
    }, 3000);
    socket.on('close', () => {
      clearTimeout(timer);
      if (connacked) resolve();
      else reject(new Error('closed before CONNACK'));
    });
    socket.write(connectPacket(pair, hubPair.publicKey));
  });
}

function exposedGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('frame guard: fixed-header scanner', () => {
  const packets = [
    Buffer.concat([Buffer.from([0xc0, 0x00])]), // PINGREQ
    Buffer.concat([publishHeader('t/1', 200), Buffer.alloc(200)]), // 2-byte length
    Buffer.concat([publishHeader('t/2', 3), Buffer.alloc(3)]),
    Buffer.concat([Buffer.from([0x30]), varint(4093), Buffer.alloc(4093)]), // exactly 4096
  ];
  const stream = Buffer.concat(packets);

  it('accepts packets up to the limit however the stream is chunked', () => {
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const scanner = new FixedHeaderScanner(4096);
      for (let i = 0; i < stream.length; i += size)
        expect(scanner.scan(stream.subarray(i, i + size))).toBeUndefined();
    }
  });

  it('flags a packet one byte over the limit from its header alone, at any split', () => {
    const header = Buffer.concat([Buffer.from([0x30]), varint(4094)]); // 4097 bytes announced
    for (const size of [1, 2, 5]) {
      const scanner = new FixedHeaderScanner(4096);
      const input = Buffer.concat([stream, header]);
      let verdict: string | undefined;
      for (let i = 0; i < input.length && verdict === undefined; i += size)
        verdict = scanner.scan(input.subarray(i, i + size));
      expect(verdict).toBe('oversize');
    }
  });

  it('flags a remaining length longer than four bytes', () => {
    const scanner = new FixedHeaderScanner(1 << 30);
    expect(scanner.scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(
      'malformed-length',
    );
  });
});

describe('embedded broker: packet size', () => {
  it('passes a packet of exactly maxPacketBytes and drops one byte more', async () => {
    // PUBLISH QoS 1 on an up topic: 1 type byte + 2 length bytes + 2 + topic + 2 id + payload.
    const topic = upTopic(hubId, idA);
    const overhead = 1 + 2 + 2 + topic.length + 2;
    const fits = 'f'.repeat(4096 - overhead);
    // At QoS 0 there is no packet id: two bytes more payload for the same packet size.
    const tooBig = 'x'.repeat(4096 - (overhead - 2) + 1);
    const link = await deviceLink(A);
    await link.publish(topic, new TextEncoder().encode(fits), 1);
    await waitFor(() => hubInbox.has(topic, fits), 'the 4096-byte packet at the hub');

    const before = broker.stats().framesRefused['oversize'] ?? 0;
    const statuses: string[] = [];
    link.onStatus((s) => statuses.push(s));
    void link.publish(topic, new TextEncoder().encode(tooBig), 0).catch(() => {});
    await waitFor(() => statuses.includes('offline'), 'the oversize sender to be disconnected');
    expect(broker.stats().framesRefused['oversize']! - before).toBe(1);
    await waitFor(() => link.connected, 'the link to reconnect');
    await link.publish(topic, new TextEncoder().encode('after-oversize'), 1);
    await hubInbox.settleAfter(topic, 'after-oversize');
    expect(hubInbox.texts()).not.toContain(tooBig);
    await link.close();
  });

  it('200 attempts to send 1 MB packets: all cut off, none delivered, memory flat', async () => {
    const gc = exposedGc();
    const body = Buffer.alloc(1024 * 1024, 0x61);
    const lanes = Array.from({ length: 10 }, () => generateKeyPair());
    const before = broker.stats().framesRefused['oversize'] ?? 0;
    const received = hubInbox.messages.length;
    // Warm up once so lazily allocated pools do not count as growth.
    await oversizeAttempt(lanes[0]!, body);
    gc();
    const baseline = process.memoryUsage();
    let peakArrayBuffers = baseline.arrayBuffers;
    const sampler = setInterval(() => {
      peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
    }, 2);
    const perLane = 20;
    await Promise.all(
      lanes.map(async (pair) => {
        for (let i = 0; i < perLane; i++) await oversizeAttempt(pair, body);
      }),
    );
    clearInterval(sampler);
    await sleep(50);
    gc();
    const after = process.memoryUsage();
    const MB = 1024 * 1024;
    expect(broker.stats().framesRefused['oversize']! - before).toBe(1 + lanes.length * perLane);
    expect(hubInbox.messages.length).toBe(received);
    expect((after.heapUsed - baseline.heapUsed) / MB).toBeLessThan(4);
    expect((after.arrayBuffers - baseline.arrayBuffers) / MB).toBeLessThan(4);
    // Ten 1 MB packets were in flight at any time; the broker never held them.
    expect((peakArrayBuffers - baseline.arrayBuffers) / MB).toBeLessThan(6);
  });
});

describe('embedded broker: listening and reconnecting', () => {
  it('refuses to start on a port in use, saying how to proceed', async () => {
    const attempt = startEmbeddedBroker({
      host: HOST,
      port: broker.port,
      hubId,
      authenticate: () => undefined,
    });
    await expect(attempt).rejects.toSatisfy(
      (error) =>
        isFarthingError(error, 'BROKER_PORT_IN_USE') &&
        /in use/.test(error.message) &&
        error.message.includes(`--broker mqtt://${HOST}:${broker.port}`) &&
        error.message.includes('--listen HOST:PORT'),
    );
  });

  it('a device link reconnects with a fresh proof and resubscribes after a broker restart', async () => {
    const port = await freePort();
    // One authenticator across both broker lives: a reused proof would be refused as replayed.
    const shared = new ConnectAuthenticator({ hubKey: hubPair.publicKey });
    const first = await startEmbeddedBroker({
      host: HOST,
      port,
      hubId,
      authenticate: authenticateWith(shared),
    });
    const link = await deviceLink(B, first.url);
    const statuses: string[] = [];
    link.onStatus((s) => statuses.push(s));
    const inbox = new Inbox();
    link.onMessage(inbox.push);
    await link.subscribe(downTopic(hubId, idB), 1);
    await first.close();
    await waitFor(() => statuses.includes('offline'), 'offline');
    const second = await startEmbeddedBroker({
      host: HOST,
      port,
      hubId,
      authenticate: authenticateWith(shared),
    });
    try {
      await waitFor(() => link.connected, 'reconnection');
      expect(statuses).toContain('reconnecting');
      expect(statuses.at(-1)).toBe('connected');
      expect(second.stats().connectsAccepted).toBe(1);
      // The resubscription reaches the new broker shortly after CONNACK.
      await waitFor(() => {
        void second.hubLink.publish(downTopic(hubId, idB), new TextEncoder().encode('again'), 0);
        return inbox.has(downTopic(hubId, idB), 'again');
      }, 'a message on the resubscribed topic');
      await link.close();
      expect(statuses.at(-1)).toBe('closed');
    } finally {
      await second.close();
    }
  });

  it('a link turns Nagle off on its first socket and on every reconnect', async () => {
    // With Nagle on, small publishes wait for the peer's delayed ACK: ~40 ms a round trip.
    const noDelaySockets = new Set<Socket>();
    const spy = vi.spyOn(Socket.prototype, 'setNoDelay').mockImplementation(function (
      this: Socket,
      enable?: boolean,
    ) {
      if (enable !== false) noDelaySockets.add(this);
      return realSetNoDelay.call(this, enable);
    });
    const port = await freePort();
    const shared = new ConnectAuthenticator({ hubKey: hubPair.publicKey });
    const start = () =>
      startEmbeddedBroker({ host: HOST, port, hubId, authenticate: authenticateWith(shared) });
    const clientSockets = (): number =>
      [...noDelaySockets].filter((s) => s.remotePort === port && s.localPort !== port).length;
    let second: EmbeddedBroker | undefined;
    try {
      const first = await start();
      const link = await deviceLink(B, first.url);
      expect(clientSockets()).toBe(1);
      const statuses: string[] = [];
      link.onStatus((s) => statuses.push(s));
      await first.close();
      await waitFor(() => statuses.includes('offline'), 'offline');
      second = await start();
      await waitFor(() => link.connected, 'reconnection');
      expect(clientSockets()).toBe(2);
      await link.close();
    } finally {
      spy.mockRestore();
      await second?.close();
    }
  });

  it('connectMqttLink rejects at once when nothing listens', async () => {
    const port = await freePort();
    const started = Date.now();
    await expectRefused(
      connectMqttLink({ url: `mqtt://${HOST}:${port}`, clientId: 'x', reconnectPeriodMs: 50 }),
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
