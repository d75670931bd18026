/**
 * The admin server's edges: a hub that is not running (yet) answers reads but refuses money
 * moves with 503, /ready says 503; a taken admin port fails the hub's start with
 * ADMIN_PORT_IN_USE and leaves the data directory usable.
 */
import { connect, createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { expect, it } from 'vitest';
import { startHubProcess } from '../../src/cli/run-hub.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { isFarthingError } from '../../src/errors.js';
import { startAdminServer } from '../../src/hub/admin/server.js';
import { Hub } from '../../src/hub/hub.js';
import { MemoryLedger } from '../../src/ledger/memory-ledger.js';
import { apiClient } from '../helpers/admin-hub.js';
import { MemoryBroker } from '../helpers/memory-broker.js';
import { freePort } from '../helpers/ports.js';

it('answers reads but refuses money moves with 503 while the hub is not running', async () => {
  const ledger = new MemoryLedger();
  await ledger.open();
  const hub = new Hub({ keyPair: generateKeyPair(), ledger, broker: new MemoryBroker().link() });
  const token = 't'.repeat(40);
  const admin = await startAdminServer({ hub, host: '127.0.0.1', port: 0, token });
  try {
    const api = apiClient(admin.url, token);
    expect((await api('GET', '/ready', { token: null })).status).toBe(503);
    const status = await api('GET', '/api/status');
    expect(status.status).toBe(200);
    expect(status.body.running).toBe(false);
    for (const [method, path, body] of [
      ['POST', '/api/settle', undefined],
      ['POST', '/api/channels/close-expired', undefined],
      ['POST', '/api/deposits', { device: 'dev-1', amount: '5' }],
    ] as const) {
      const r = await api(method, path, body === undefined ? {} : { body });
      expect(r.status, path).toBe(503);
      expect(r.body.error.code).toBe('ADMIN_UNAVAILABLE');
    }
    expect(await ledger.balances()).toEqual([]);
    await expect(
      startAdminServer({ hub, host: '127.0.0.1', port: 0, token: 'short' }),
    ).rejects.toThrow(RangeError);
  } finally {
    await admin.close();
    await ledger.close();
  }
});

it('fails the start with ADMIN_PORT_IN_USE when the admin port is taken, and cleans up', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'farthing-admin-port-'));
  const blocker = createServer();
  const port = await freePort();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  const config = {
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    settings: {},
    logger: pino({ level: 'silent' }),
  };
  try {
    const error = await startHubProcess({ ...config, admin: { host: '127.0.0.1', port } }).catch(
      (e: unknown) => e,
    );
    expect(isFarthingError(error, 'ADMIN_PORT_IN_USE')).toBe(true);
    // The ledger, broker and hub were released: the same data directory starts again.
    const running = await startHubProcess({ ...config, admin: { host: '127.0.0.1', port: 0 } });
    expect(running.admin?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await running.stop();
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});

/** One raw HTTP/1.1 request (node:http would refuse to send some of these targets). */
function rawHttp(port: number, head: string, body = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(`${head}\r\n\r\n${body}`));
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject).on('close', () => resolve(answer));
  });
}

it('a request target that is not a path is a 400, not a route and not a logged 500', async () => {
  const ledger = new MemoryLedger();
  await ledger.open();
  const hub = new Hub({ keyPair: generateKeyPair(), ledger, broker: new MemoryBroker().link() });
  const token = 't'.repeat(40);
  const errors: unknown[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
  const admin = await startAdminServer({ hub, host: '127.0.0.1', port: 0, token, logger });
  try {
    const auth = `Authorization: Bearer ${token}`;
    for (const target of ['//[', '//%', '//evil.example/api/settle', '//api/status']) {
      const answer = await rawHttp(
        admin.port,
        `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}\r\nConnection: close`,
      );
      expect(answer, target).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer, target).toContain('ADMIN_BAD_REQUEST');
    }
    // A body cut short by a client that goes away is not the hub's failure either.
    const cut = connect(admin.port, '127.0.0.1', () => {
      cut.write(
        `POST /api/deposits HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"device":',
      );
      setTimeout(() => cut.destroy(), 50);
    });
    await new Promise((resolve) => cut.on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(errors).toEqual([]);
    expect((await apiClient(admin.url, token)('GET', '/api/status')).status).toBe(200);
  } finally {
    await admin.close();
    await ledger.close();
  }
});
