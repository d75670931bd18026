/**
 * Logs never carry key material or the admin token: a real hub logs (at debug level, through
 * pino into a captured stream) while devices stream and the admin API is used with the right
 * token, a wrong one and a token in a query string; then the captured text is searched for the
 * token, the hub's secret seed (hex, base64, base64url) and its PEM key file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAdminHub, waitUntil, type AdminHub } from '../helpers/admin-hub.js';

let hub: AdminHub;
let captured = '';

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      captured += chunk.toString('utf8');
      callback();
    },
  });
  hub = await startAdminHub({ settleIntervalMs: 100 }, pino({ level: 'debug' }, sink));
});

afterAll(async () => {
  await hub?.stop();
});

it('logs admin requests at debug level without the token or any key material', async () => {
  const pem = await readFile(join(hub.dir, 'hub.key'), 'utf8');
  const d = await hub.newDevice();
  const channel = await d.device.open({
    payeeId: 'payee-logs',
    asset: 'USD',
    capacityBaseUnits: 50_000n,
    lifetimeS: 600,
    price: { baseUnits: 1n, perUnits: 1n },
  });
  for (let i = 0; i < 10; i++) await channel.payBaseUnits(5n);
  await channel.whenAcked();

  const wrongToken = 'W'.repeat(43);
  expect((await hub.api('GET', '/api/status')).status).toBe(200);
  expect((await hub.api('GET', '/api/status', { token: wrongToken })).status).toBe(401);
  expect((await hub.api('GET', `/api/status?token=${hub.token}`, { token: null })).status).toBe(
    401,
  );
  expect((await hub.api('GET', '/metrics')).status).toBe(200);
  expect((await hub.api('GET', '/api/channels')).status).toBe(200);
  expect((await hub.api('GET', `/api/channels/${channel.channelIdHex}`)).status).toBe(200);
  expect(
    (await hub.api('POST', '/api/deposits', { body: { device: d.deviceId, amount: '10' } })).status,
  ).toBe(201);
  expect((await hub.api('POST', '/api/settle')).status).toBe(200);
  expect((await hub.api('POST', `/api/channels/${channel.channelIdHex}/close`)).status).toBe(200);
  expect((await hub.api('GET', '/')).status).toBe(200);
  await waitUntil(() => channel.status === 'closed', 'the close');
  await hub.stop();
  // pino may still be writing asynchronously: give the stream a turn.
  await new Promise((resolve) => setTimeout(resolve, 50));

  const lines = captured
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const requests = lines.filter((l) => l.msg === 'admin request');
  expect(requests.length).toBe(10);
  for (const r of requests) {
    expect(r.level).toBe(20); // debug
    expect(typeof r.method).toBe('string');
    expect(typeof r.path).toBe('string');
    expect(typeof r.status).toBe('number');
    expect(typeof r.ms).toBe('number');
    expect(Object.keys(r)).not.toContain('headers');
  }
  expect(requests.map((r) => `${String(r.method)} ${String(r.path)} ${String(r.status)}`)).toEqual(
    expect.arrayContaining([
      'GET /api/status 200',
      'GET /api/status 401',
      'POST /api/deposits 201',
      `POST /api/channels/${channel.channelIdHex}/close 200`,
    ]),
  );
  // The hub logged its own work too (this is not a silent run).
  expect(lines.some((l) => l.msg === 'channel closed')).toBe(true);

  const seed = hub.running.dataDir.keyPair.secretSeed;
  const forbidden = [
    hub.token,
    wrongToken,
    Buffer.from(seed).toString('hex'),
    Buffer.from(seed).toString('base64'),
    Buffer.from(seed).toString('base64url'),
    ...pem
      .split('\n')
      .filter((line) => line.length > 0 && !line.startsWith('-----'))
      .map((line) => line.trim()),
  ];
  for (const secret of forbidden) {
    expect(secret.length).toBeGreaterThan(20);
    expect(captured.includes(secret), `a secret (${secret.slice(0, 4)}…) reached the log`).toBe(
      false,
    );
  }
  expect(captured.toLowerCase()).not.toContain('authorization');
  expect(captured.toLowerCase()).not.toContain('bearer');
});
