import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/index.js';
import { isFarthingError } from '../../src/errors.js';
import { downTopic, keyId, payeeTopic, upTopic, upWildcard } from '../../src/protocol/index.js';
import { payeeUsername, type BrokerLink } from '../../src/transport/link.js';
import { mosquittoAcl } from '../../src/transport/mosquitto-config.js';
import { connectMqttLink } from '../../src/transport/mqtt-link.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import {
  connectOutcome,
  eventWithin,
  expectRefused,
  Inbox,
  waitFor,
} from '../helpers/mqtt-wait.js';

/**
 * The shipped Mosquitto configuration (config/mosquitto/farthing.conf + mosquittoAcl) on a
 * private Mosquitto: the same authorization matrix as the embedded broker, checked against
 * what Mosquitto 2.0 really does. If Mosquitto is not installed, beforeAll throws: these tests
 * fail, they never skip.
 */

const hubId = keyId(generateKeyPair().publicKey);
const otherHubId = keyId(generateKeyPair().publicKey);
const idA = keyId(generateKeyPair().publicKey);
const idB = keyId(generateKeyPair().publicKey);
// Mosquitto (use_username_as_clientid) keeps one session per username: a second connection
// takes the first one over. So the long-lived links below never share a username with the
// short-lived raw clients: C is a scratch device, D an impostor, payee-3 a scratch payee.
const idC = keyId(generateKeyPair().publicKey);
const idD = keyId(generateKeyPair().publicKey);
const PAYEE = 'payee-1';
const OTHER_PAYEE = 'payee-2';
const SCRATCH_PAYEE = 'payee-3';
const secret = (): string => randomBytes(18).toString('base64url');
const passwords: Record<string, string> = {
  hub: secret(),
  [idA]: secret(),
  [idB]: secret(),
  [idC]: secret(),
  [idD]: secret(),
  [payeeUsername(PAYEE)]: secret(),
  [payeeUsername(OTHER_PAYEE)]: secret(),
  [payeeUsername(SCRATCH_PAYEE)]: secret(),
};
const text = (value: string): Uint8Array => new TextEncoder().encode(value);

let mosquitto: RunningMosquitto;
const toClose: Array<BrokerLink | MqttClient> = [];

async function link(username: string, password = passwords[username]): Promise<BrokerLink> {
  const result = await connectMqttLink({
    url: mosquitto.url,
    clientId: username,
    username,
    password,
    reconnectPeriodMs: 100,
    connectTimeoutMs: 3000,
  });
  toClose.push(result);
  return result;
}

function raw(username: string, extra: Partial<IClientOptions> = {}): MqttClient {
  const client = mqtt.connect(mosquitto.url, {
    clientId: username,
    username,
    password: passwords[username],
    reconnectPeriod: 0,
    connectTimeout: 3000,
    ...extra,
  });
  client.on('error', () => {});
  toClose.push(client);
  return client;
}

/** Links subscribed where each role legitimately listens, with their inboxes. */
let hub: BrokerLink;
let deviceA: BrokerLink;
let deviceB: BrokerLink;
let payee: BrokerLink;
const hubInbox = new Inbox();
const inboxA = new Inbox();
const inboxB = new Inbox();
const payeeInbox = new Inbox();

beforeAll(async () => {
  const configPath = fileURLToPath(
    new URL('../../config/mosquitto/farthing.conf', import.meta.url),
  );
  mosquitto = await startMosquitto({
    config: await readFile(configPath, 'utf8'),
    users: passwords,
    acl: mosquittoAcl(hubId, { payeeIds: [PAYEE, OTHER_PAYEE, SCRATCH_PAYEE] }),
  });
  hub = await link('hub');
  hub.onMessage(hubInbox.push);
  await hub.subscribe(upWildcard(hubId), 1);
  deviceA = await link(idA);
  deviceA.onMessage(inboxA.push);
  await deviceA.subscribe(downTopic(hubId, idA), 1);
  deviceB = await link(idB);
  deviceB.onMessage(inboxB.push);
  await deviceB.subscribe(downTopic(hubId, idB), 1);
  payee = await link(payeeUsername(PAYEE));
  payee.onMessage(payeeInbox.push);
  await payee.subscribe(payeeTopic(hubId, PAYEE), 1);
});

afterAll(async () => {
  for (const item of toClose.reverse()) {
    if ('endAsync' in item) await item.endAsync(true);
    else await item.close();
  }
  await mosquitto?.stop();
});

describe('mosquitto: the allowed paths', () => {
  it('device → hub, hub → device and hub → payee', async () => {
    await deviceA.publish(upTopic(hubId, idA), text('voucher-A'), 1);
    await waitFor(() => hubInbox.has(upTopic(hubId, idA), 'voucher-A'), 'voucher at the hub');
    await hub.publish(downTopic(hubId, idA), text('receipt-A'), 1);
    await waitFor(() => inboxA.has(downTopic(hubId, idA), 'receipt-A'), 'receipt at A');
    await hub.publish(payeeTopic(hubId, PAYEE), text('notice-1'), 1);
    await waitFor(() => payeeInbox.has(payeeTopic(hubId, PAYEE), 'notice-1'), 'notice');
  });
});

describe('mosquitto: authentication', () => {
  it('refuses a wrong password, an unknown user and an anonymous client', async () => {
    const wrong: unknown = await link(idA, 'wrong').catch((error: unknown) => error);
    expect(isFarthingError(wrong, 'BROKER_UNREACHABLE')).toBe(true);
    expect(((wrong as Error).cause as { code?: number }).code).toBe(5); // CONNACK 5
    await expectRefused(link(keyId(generateKeyPair().publicKey), 'anything'));
    await expectRefused(
      connectMqttLink({ url: mosquitto.url, clientId: 'anonymous', connectTimeoutMs: 3000 }),
    );
  });

  it('a client cannot take over another one’s session by claiming its client id', async () => {
    // use_username_as_clientid: D's connection becomes client "idD", A's session survives.
    const statuses: string[] = [];
    deviceA.onStatus((status) => statuses.push(status));
    const impostor = raw(idD, { clientId: idA });
    expect(await connectOutcome(impostor)).toBe('connected');
    await deviceA.publish(upTopic(hubId, idA), text('still-here-A'), 1);
    await hubInbox.settleAfter(upTopic(hubId, idA), 'still-here-A');
    expect(deviceA.connected).toBe(true);
    expect(statuses).toEqual([]);
    await impostor.endAsync();
  });
});

describe('mosquitto: reads', () => {
  it('a device subscribing anywhere else gets SUBACK but no message', async () => {
    const spy = deviceA;
    const inbox = new Inbox();
    spy.onMessage(inbox.push);
    const filters = [
      '#',
      '$SYS/#',
      'farthing/#',
      upWildcard(hubId),
      upTopic(hubId, idB),
      downTopic(hubId, idB),
      `farthing/v1/${hubId}/down/+`,
      payeeTopic(hubId, PAYEE),
      downTopic(otherHubId, idA),
    ];
    // Mosquitto 2.0 grants every SUBACK and filters each message against the read ACL.
    for (const filter of filters) await spy.subscribe(filter, 1);
    await deviceB.publish(upTopic(hubId, idB), text('B-up'), 1);
    await hub.publish(downTopic(hubId, idB), text('B-down'), 1);
    await hub.publish(payeeTopic(hubId, PAYEE), text('payee-note'), 1);
    await hub.publish(downTopic(hubId, idA), text('control-A'), 1);
    await inbox.settleAfter(downTopic(hubId, idA), 'control-A');
    expect(inbox.texts()).toEqual(['control-A']);
    // The legitimate receivers did get theirs: the traffic was real.
    expect(hubInbox.has(upTopic(hubId, idB), 'B-up')).toBe(true);
    expect(inboxB.has(downTopic(hubId, idB), 'B-down')).toBe(true);
  });

  it('a payee reads only its own topic; the hub reads only up topics', async () => {
    const otherPayee = await link(payeeUsername(OTHER_PAYEE));
    const otherInbox = new Inbox();
    otherPayee.onMessage(otherInbox.push);
    for (const filter of [payeeTopic(hubId, PAYEE), downTopic(hubId, idA), '#'])
      await otherPayee.subscribe(filter, 1);
    const hubSpy = hub;
    const hubSpyInbox = new Inbox();
    hubSpy.onMessage(hubSpyInbox.push);
    for (const filter of [`farthing/v1/${hubId}/down/+`, `farthing/v1/${hubId}/payee/+`, '#'])
      await hubSpy.subscribe(filter, 1);

    await hub.publish(payeeTopic(hubId, PAYEE), text('for-payee-1'), 1);
    await hub.publish(downTopic(hubId, idA), text('for-A'), 1);
    await otherPayee.subscribe(payeeTopic(hubId, OTHER_PAYEE), 1);
    await hub.publish(payeeTopic(hubId, OTHER_PAYEE), text('control-p2'), 1);
    await deviceA.publish(upTopic(hubId, idA), text('control-hub'), 1);
    await otherInbox.settleAfter(payeeTopic(hubId, OTHER_PAYEE), 'control-p2');
    await hubSpyInbox.settleAfter(upTopic(hubId, idA), 'control-hub', 0);
    expect(otherInbox.texts()).toEqual(['control-p2']);
    expect(hubSpyInbox.texts()).toEqual(['control-hub']);
    await otherPayee.close();
  });
});

describe('mosquitto: writes', () => {
  it('a device’s publish anywhere but its up topic is acknowledged and dropped', async () => {
    const forbidden = [
      upTopic(hubId, idB),
      downTopic(hubId, idB),
      downTopic(hubId, idA),
      payeeTopic(hubId, PAYEE),
      upTopic(otherHubId, idA),
      '$SYS/broker/fake',
      'some/other/topic',
    ];
    // Mosquitto answers PUBACK (so the promise resolves) and routes nothing.
    for (const topic of forbidden) await deviceA.publish(topic, text('forged-by-A'), 1);
    expect(deviceA.connected).toBe(true);
    await deviceB.publish(upTopic(hubId, idB), text('control-up-B'), 1);
    await hub.publish(downTopic(hubId, idB), text('control-down-B'), 1);
    await hub.publish(payeeTopic(hubId, PAYEE), text('control-payee'), 1);
    await hubInbox.settleAfter(upTopic(hubId, idB), 'control-up-B');
    await inboxB.settleAfter(downTopic(hubId, idB), 'control-down-B', 0);
    await payeeInbox.settleAfter(payeeTopic(hubId, PAYEE), 'control-payee', 0);
    for (const inbox of [hubInbox, inboxA, inboxB, payeeInbox])
      expect(inbox.texts()).not.toContain('forged-by-A');
  });

  it('a payee publishes nothing, the hub cannot write as a device', async () => {
    const username = payeeUsername(PAYEE);
    await payee.publish(payeeTopic(hubId, PAYEE), text('forged-by-payee'), 1);
    // The device patterns would open up/<username> to every user: the payee block denies it.
    await payee.publish(`farthing/v1/${hubId}/up/${username}`, text('forged-by-payee'), 1);
    await payee.publish(upTopic(hubId, idA), text('forged-by-payee'), 1);
    await payee.publish(downTopic(hubId, idA), text('forged-by-payee'), 1);
    await hub.publish(upTopic(hubId, idA), text('forged-by-hub'), 1);
    await hub.publish(`farthing/v1/${hubId}/up/hub`, text('forged-by-hub'), 1);
    await deviceA.publish(upTopic(hubId, idA), text('control-after-payee'), 1);
    await hub.publish(payeeTopic(hubId, PAYEE), text('control-payee-2'), 1);
    await hub.publish(downTopic(hubId, idA), text('control-A-2'), 1);
    await hubInbox.settleAfter(upTopic(hubId, idA), 'control-after-payee');
    await payeeInbox.settleAfter(payeeTopic(hubId, PAYEE), 'control-payee-2', 0);
    await inboxA.settleAfter(downTopic(hubId, idA), 'control-A-2', 0);
    for (const inbox of [hubInbox, inboxA, payeeInbox]) {
      expect(inbox.texts()).not.toContain('forged-by-payee');
      expect(inbox.texts()).not.toContain('forged-by-hub');
    }
  });

  it('a retained publish, even on the own up topic, disconnects the device undelivered', async () => {
    const client = raw(idC);
    expect(await connectOutcome(client)).toBe('connected');
    const closed = eventWithin(client, 'close', 'the broker to disconnect the client');
    let acked = false;
    client.publish(upTopic(hubId, idC), 'retained-C', { qos: 1, retain: true }, (error) => {
      if (!error) acked = true;
    });
    await closed;
    expect(acked).toBe(false);
    await deviceA.publish(upTopic(hubId, idA), text('control-retain'), 1);
    await hubInbox.settleAfter(upTopic(hubId, idA), 'control-retain');
    expect(hubInbox.texts()).not.toContain('retained-C');
    await client.endAsync(true);
  });

  it('a QoS 2 publish, even on the own up topic, disconnects the device undelivered', async () => {
    const client = raw(idC);
    expect(await connectOutcome(client)).toBe('connected');
    const closed = eventWithin(client, 'close', 'the broker to disconnect the client');
    client.publish(upTopic(hubId, idC), 'qos2-C', { qos: 2 }, () => undefined);
    await closed;
    await deviceA.publish(upTopic(hubId, idA), text('control-qos2'), 1);
    await hubInbox.settleAfter(upTopic(hubId, idA), 'control-qos2');
    expect(hubInbox.texts()).not.toContain('qos2-C');
    await client.endAsync(true);
  });

  it('a 4096-byte packet passes, one byte more disconnects its sender undelivered', async () => {
    const topic = upTopic(hubId, idC);
    const overhead = 1 + 2 + 2 + topic.length; // QoS 0: type, 2-byte length, topic
    const fits = 'f'.repeat(4096 - overhead);
    const tooBig = 'x'.repeat(4096 - overhead + 1);
    const client = raw(idC);
    expect(await connectOutcome(client)).toBe('connected');
    client.publish(topic, fits, { qos: 0 });
    await waitFor(() => hubInbox.has(topic, fits), 'the 4096-byte packet at the hub');
    const closed = eventWithin(client, 'close', 'the broker to disconnect the client');
    client.publish(topic, tooBig, { qos: 0 });
    await closed;
    await deviceA.publish(upTopic(hubId, idA), text('control-size'), 1);
    await hubInbox.settleAfter(upTopic(hubId, idA), 'control-size');
    expect(hubInbox.texts()).not.toContain(tooBig);
    await client.endAsync(true);
  });
});

describe('mosquitto: wills', () => {
  async function dropWithWill(
    username: string,
    will: { topic: string; payload: string; retain: boolean },
  ): Promise<'connected' | number | 'closed'> {
    const client = raw(username, { will: { ...will, qos: 1 } });
    const outcome = await connectOutcome(client);
    if (outcome === 'connected') client.stream.destroy(); // no DISCONNECT: the will is due
    await client.endAsync(true);
    return outcome;
  }

  it('a will on the own up topic is delivered when the device drops', async () => {
    const outcome = await dropWithWill(idC, {
      topic: upTopic(hubId, idC),
      payload: 'will-C',
      retain: false,
    });
    expect(outcome).toBe('connected');
    await waitFor(() => hubInbox.has(upTopic(hubId, idC), 'will-C'), 'the will at the hub');
  });

  it('a will on another device’s topic is accepted at CONNECT but never delivered', async () => {
    const outcome = await dropWithWill(idC, {
      topic: upTopic(hubId, idA),
      payload: 'will-forged',
      retain: false,
    });
    // Mosquitto 2.0.11 checks the will against the ACL when it publishes it, not at CONNECT.
    expect(outcome).toBe('connected');
    const payeeWill = await dropWithWill(payeeUsername(SCRATCH_PAYEE), {
      topic: payeeTopic(hubId, PAYEE),
      payload: 'will-forged',
      retain: false,
    });
    expect(payeeWill).toBe('connected');
    await deviceB.publish(upTopic(hubId, idB), text('control-will'), 1);
    await hubInbox.settleAfter(upTopic(hubId, idB), 'control-will');
    expect(hubInbox.texts()).not.toContain('will-forged');
    expect(payeeInbox.texts()).not.toContain('will-forged');
  });

  it('a retained will is refused at CONNECT (retain_available false)', async () => {
    const outcome = await dropWithWill(idC, {
      topic: upTopic(hubId, idC),
      payload: 'will-retained',
      retain: true,
    });
    // No CONNACK at all for MQTT 3.1.1: the connection is closed.
    expect(outcome).toBe('closed');
  });
});
