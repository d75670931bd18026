/**
 * One client that stops reading its socket, or a burst of answers to clients that are gone,
 * must not stall the embedded broker for everyone else or crash the process hosting it.
 * (aedes' default routes 100 messages at a time, each until every receiver drains, and drains
 * the queue behind them by recursion.)
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { makeConnectProof } from '../../src/device/connect-proof.js';
import { ConnectAuthenticator } from '../../src/hub/connect-auth.js';
import { downTopic, keyId, upTopic, upWildcard } from '../../src/protocol/topics.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/transport/embedded-broker.js';
import type { BrokerLink } from '../../src/transport/link.js';
import { connectMqttLink } from '../../src/transport/mqtt-link.js';
import { connectPacket, subscribePacket } from '../helpers/mqtt-raw.js';
import { sleep, waitFor } from '../helpers/mqtt-wait.js';
import { freePort } from '../helpers/ports.js';

const hubPair = generateKeyPair();
const hubId = keyId(hubPair.publicKey);

let broker: EmbeddedBroker;
let hubGot: string[];
const toClose: (() => unknown)[] = [];
const uncaught: unknown[] = [];
const onUncaught = (error: unknown): void => void uncaught.push(error);

beforeEach(async () => {
  hubGot = [];
  uncaught.length = 0;
  process.on('uncaughtException', onUncaught);
  const auth = new ConnectAuthenticator({ hubKey: hubPair.publicKey });
  broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: await freePort(),
    hubId,
    authenticate: (credentials) => {
      const checked = auth.check(credentials);
      return checked.ok ? checked.principal : checked;
    },
  });
  broker.hubLink.onMessage((topic) => hubGot.push(topic));
  await broker.hubLink.subscribe(upWildcard(hubId), 0);
});

afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
  await broker.close();
  process.off('uncaughtException', onUncaught);
});

async function deviceLink(): Promise<{ id: string; link: BrokerLink }> {
  const pair = generateKeyPair();
  const id = keyId(pair.publicKey);
  const link = await connectMqttLink({
    url: broker.url,
    clientId: id,
    username: id,
    password: () => makeConnectProof(pair, hubPair.publicKey, Math.floor(Date.now() / 1000)),
    connectTimeoutMs: 3000,
  });
  toClose.push(() => link.close());
  return { id, link };
}

it('a device that stops reading does not hold up another device’s voucher', async () => {
  // Connects, subscribes to its own down topic, then never reads its socket again.
  const pair = generateKeyPair();
  const id = keyId(pair.publicKey);
  const socket: Socket = tcpConnect(broker.port, '127.0.0.1');
  socket.on('error', () => undefined);
  toClose.push(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(connectPacket(pair, hubPair.publicKey, 0));
  socket.write(subscribePacket(downTopic(hubId, id), 0));
  await sleep(200);
  socket.pause();
  // The hub answers it, fire and forget, as its Responder does (a device provokes answers
  // with cheap requests): far more than its socket and the kernel's buffers hold.
  const answer = new Uint8Array(400);
  for (let i = 0; i < 40_000; i++)
    broker.hubLink.publish(downTopic(hubId, id), answer, 0).catch(() => undefined);
  await sleep(500);

  const honest = await deviceLink();
  await honest.link.publish(upTopic(hubId, honest.id), new Uint8Array(100), 1);
  await waitFor(() => hubGot.includes(upTopic(hubId, honest.id)), 'the honest voucher at the hub');
  expect(uncaught).toEqual([]);
}, 30_000);

it('a burst of answers, most to devices that are gone, is delivered without overflowing the stack', async () => {
  const online = await deviceLink();
  let got = 0;
  online.link.onMessage(() => got++);
  await online.link.subscribe(downTopic(hubId, online.id), 0);
  const gone = Array.from({ length: 50 }, () => keyId(generateKeyPair().publicKey));
  for (let i = 0; i < 200; i++)
    broker.hubLink
      .publish(downTopic(hubId, online.id), new Uint8Array(50), 0)
      .catch(() => undefined);
  for (let i = 0; i < 5000; i++)
    broker.hubLink
      .publish(downTopic(hubId, gone[i % gone.length]!), new Uint8Array(50), 0)
      .catch(() => undefined);
  await waitFor(() => got === 200, 'the connected device’s 200 answers');
  await sleep(200);
  expect(uncaught).toEqual([]);
}, 30_000);
