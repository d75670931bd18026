/**
 * The admin HTTP API against a real hub (startHubProcess: LevelDB, embedded broker, admin API on
 * free loopback ports) and real devices streaming over MQTT: every endpoint, and every refusal
 * with its HTTP status and stable ADMIN_* code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import type { DeviceChannel } from '../../src/device/device-channel.js';
import { cumulativeFee } from '../../src/channel/fees.js';
import { depositTransferId, refundTransferId, settleTransferId } from '../../src/hub/ids.js';
import { fromHex } from '../../src/protocol/bytes.js';
import {
  AUTO_FUND,
  startAdminHub,
  waitUntil,
  type AdminHub,
  type TestDevice,
} from '../helpers/admin-hub.js';

const FEE_BPS = 250;
const PAYOUT_THRESHOLD = 1000n;

let hub: AdminHub;
let a: TestDevice;
let b: TestDevice;
let chA: DeviceChannel;
let chB: DeviceChannel;

const openChannel = (d: TestDevice, payeeId: string, capacity = 100_000n, lifetimeS = 600) =>
  d.device.open({
    payeeId,
    asset: 'USD',
    capacityBaseUnits: capacity,
    lifetimeS,
    price: { baseUnits: 1n, perUnits: 1n },
  });

beforeAll(async () => {
  hub = await startAdminHub({
    feeBasisPoints: FEE_BPS,
    minLifetimeS: 1,
    settleIntervalMs: 600_000,
    expiryCheckIntervalMs: 600_000,
    payoutThresholdBaseUnits: PAYOUT_THRESHOLD,
  });
  a = await hub.newDevice();
  b = await hub.newDevice();
  chA = await openChannel(a, 'payee-alpha');
  chB = await openChannel(b, 'payee-beta');
  for (let i = 0; i < 20; i++) {
    await chA.payBaseUnits(100n);
    await chB.payBaseUnits(10n);
  }
  await chA.whenAcked();
  await chB.whenAcked();
});

afterAll(async () => {
  await hub?.stop();
});

describe('health, readiness and authentication', () => {
  it('/health and /ready answer without a token', async () => {
    const health = await hub.api('GET', '/health', { token: null });
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ ok: true });
    const ready = await hub.api('GET', '/ready', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ ready: true, running: true, brokerConnected: true });
  });

  it('refuses a missing, wrong or non-bearer token with 401 ADMIN_UNAUTHORIZED', async () => {
    for (const path of ['/api/status', '/api/channels', '/api/accounts', '/metrics']) {
      const missing = await hub.api('GET', path, { token: null });
      expect(missing.status).toBe(401);
      expect(missing.body.error.code).toBe('ADMIN_UNAUTHORIZED');
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const wrong = await hub.api('GET', path, { token: `${hub.token}x` });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.code).toBe('ADMIN_UNAUTHORIZED');
    }
    const basic = await fetch(`${hub.url}/api/status`, {
      headers: { authorization: `Basic ${Buffer.from(`x:${hub.token}`).toString('base64')}` },
    });
    expect(basic.status).toBe(401);
    // A refused POST changes nothing.
    const close = await hub.api('POST', `/api/channels/${chA.channelIdHex}/close`, {
      token: 'nope',
    });
    expect(close.status).toBe(401);
    const channel = await hub.api('GET', `/api/channels/${chA.channelIdHex}`);
    expect(channel.body.channel.status).toBe('open');
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    const unknown = await hub.api('GET', '/api/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ADMIN_NOT_FOUND');
    const method = await hub.api('GET', '/api/settle');
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('POST');
    expect(method.body.error.code).toBe('ADMIN_BAD_REQUEST');
  });

  it('serves the dashboard page without a token, with a strict CSP', async () => {
    const page = await fetch(`${hub.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await page.text();
    expect(html).toContain('id="token-form"');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
  });
});

describe('GET /api/status', () => {
  it('reports channels, money, counters, rates and settings', async () => {
    // Rates come from counter samples a second apart: stream across a sample.
    for (let i = 0; i < 10; i++) {
      await chA.payBaseUnits(1n);
      await chA.whenAcked();
    }
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const { status, body } = await hub.api('GET', '/api/status');
    expect(status).toBe(200);
    expect(body.hubId).toBe(hub.running.hubId);
    expect(body.running).toBe(true);
    expect(body.brokerConnected).toBe(true);
    expect(body.openChannels).toBe(2);
    // Vouchers of one channel that queue behind each other are coalesced (the newest wins).
    expect(body.vouchers.received).toBeGreaterThanOrEqual(50);
    expect(body.vouchers.accepted).toBeGreaterThanOrEqual(10);
    expect(body.vouchers.receivedPerS).toBeGreaterThan(0);
    expect(body.vouchers.acceptedPerS).toBeGreaterThan(0);
    expect(body.vouchers.refusedPerS).toBe(0);
    expect(typeof body.escrowOutstanding).toBe('string');
    expect(BigInt(body.escrowOutstanding)).toBe(200_000n);
    expect(BigInt(body.unsettled)).toBe(2010n + 200n);
    expect(body.settings).toMatchObject({
      feeBasisPoints: FEE_BPS,
      assets: ['USD'],
      autoFund: true,
      autoFundAmount: AUTO_FUND.toString(),
      payoutThreshold: PAYOUT_THRESHOLD.toString(),
    });
    expect(body.lastGroupCommit.size).toBeGreaterThan(0);
    expect(body.pendingVerifications).toBe(0);
  });
});

describe('GET /api/channels', () => {
  it('lists channels from their durable records with live figures', async () => {
    const { status, body } = await hub.api('GET', '/api/channels');
    expect(status).toBe(200);
    expect(body.next).toBeNull();
    const item = body.items.find((c: { channelId: string }) => c.channelId === chB.channelIdHex);
    expect(item).toMatchObject({
      deviceId: b.deviceId,
      payeeId: 'payee-beta',
      asset: 'USD',
      status: 'open',
      capacity: '100000',
      seq: 20,
      amount: '200',
      acceptedSeq: 20,
      acceptedAmount: '200',
      settledAmount: '0',
      closedAt: null,
      closeReason: null,
    });
    expect(new Date(item.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(new Date(item.openedAt).getTime()).toBeLessThanOrEqual(Date.now());
    // Ids come in order.
    const ids = body.items.map((c: { channelId: string }) => c.channelId);
    expect([...ids].sort()).toEqual(ids);
  });

  it('filters by device, payee and status', async () => {
    const byDevice = await hub.api('GET', `/api/channels?device=${a.deviceId}`);
    expect(byDevice.body.items.map((c: { channelId: string }) => c.channelId)).toEqual([
      chA.channelIdHex,
    ]);
    const byPayee = await hub.api('GET', '/api/channels?payee=payee-beta&status=open');
    expect(byPayee.body.items.map((c: { channelId: string }) => c.channelId)).toEqual([
      chB.channelIdHex,
    ]);
    const none = await hub.api('GET', '/api/channels?payee=payee-nobody');
    expect(none.body.items).toEqual([]);
  });

  it('pages with limit and an opaque after cursor', async () => {
    const first = await hub.api('GET', '/api/channels?status=open&limit=1');
    expect(first.body.items).toHaveLength(1);
    expect(first.body.next).toBe(first.body.items[0].channelId);
    const second = await hub.api(
      'GET',
      `/api/channels?status=open&limit=1&after=${first.body.next}`,
    );
    expect(second.body.items).toHaveLength(1);
    expect(second.body.items[0].channelId > first.body.next).toBe(true);
    expect(second.body.next).toBeNull();
  });

  it('lists the busiest open channels with sort=accepted', async () => {
    const { body } = await hub.api('GET', '/api/channels?sort=accepted&limit=2');
    expect(body.items.map((c: { channelId: string }) => c.channelId)).toEqual([
      chA.channelIdHex,
      chB.channelIdHex,
    ]);
  });

  it('refuses bad limits, cursors and filters with 400', async () => {
    for (const q of [
      'limit=0',
      'limit=1001',
      'limit=-1',
      'limit=1.5',
      'limit=abc',
      'limit=',
      'after=xyz',
      'after=00',
      `after=${'g'.repeat(32)}`,
      'status=pending',
      'device=not%20an%20id',
      `payee=${'p'.repeat(65)}`,
      'sort=random',
      `sort=accepted&after=${'0'.repeat(32)}`,
    ]) {
      const r = await hub.api('GET', `/api/channels?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code, q).toBe('ADMIN_BAD_REQUEST');
      expect(r.body.error.message.length, q).toBeGreaterThan(0);
    }
  });
});

describe('GET /api/channels/:id', () => {
  it('shows the channel, its newest durable voucher and its transfers', async () => {
    const { status, body } = await hub.api('GET', `/api/channels/${chB.channelIdHex}`);
    expect(status).toBe(200);
    expect(body.channel.channelId).toBe(chB.channelIdHex);
    expect(body.voucher).toMatchObject({ seq: 20, amount: '200' });
    const decoded = decodeMessage(Buffer.from(body.voucher.bytes, 'hex'), 'up', 256);
    expect(decoded.ok).toBe(true);
    if (decoded.ok && decoded.message.type === MessageType.Voucher) {
      expect(decoded.message.seq).toBe(20);
      expect(decoded.message.amountBaseUnits).toBe(200n);
    } else throw new Error('not a voucher');
    expect(body.transfers.items).toEqual([
      expect.objectContaining({
        code: 'Escrow',
        amount: '100000',
        direction: 'credit',
        counterparty: `device/${b.deviceId}`,
      }),
    ]);
    // Upper-case ids are accepted.
    const upper = await hub.api('GET', `/api/channels/${chB.channelIdHex.toUpperCase()}`);
    expect(upper.status).toBe(200);
  });

  it('answers 404 for an unknown channel and 400 for a malformed id', async () => {
    const unknown = await hub.api('GET', `/api/channels/${'ab'.repeat(16)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ADMIN_NOT_FOUND');
    for (const id of ['xyz', 'ab'.repeat(15), 'ab'.repeat(17), '%zz']) {
      const bad = await hub.api('GET', `/api/channels/${id}`);
      expect(bad.status, id).toBe(400);
      expect(bad.body.error.code).toBe('ADMIN_BAD_REQUEST');
    }
  });
});

describe('settlement and payouts', () => {
  it('POST /api/settle settles every changed channel and reports the run', async () => {
    const { status, body } = await hub.api('POST', '/api/settle');
    expect(status).toBe(200);
    expect(body.channels).toBe(2);
    expect(body.moved).toBe('2210');
    expect(body.batches).toBe(1);
    expect(typeof body.durationMs).toBe('number');
    expect(body.payouts).toBe(1); // payee-alpha reached the threshold, payee-beta did not
    const again = await hub.api('POST', '/api/settle');
    expect(again.body).toMatchObject({ channels: 0, moved: '0' });

    const channel = await hub.api('GET', `/api/channels/${chA.channelIdHex}`);
    expect(channel.body.channel.settledAmount).toBe('2010');
    const codes = channel.body.transfers.items.map((t: { code: string }) => t.code);
    // The channel's escrow moves whole to the payee; the fee leaves the payee in one transfer.
    expect(codes).toEqual(['Escrow', 'SettlePayee']);
    const payee = await hub.api('GET', '/api/accounts/payee/payee-alpha/transfers');
    const payeeLegs = payee.body.items.map((t: { code: string; amount: string }) => [
      t.code,
      t.amount,
    ]);
    // 2 010 settled at 250 basis points: 50 fee, then the payout of the rest (1 960).
    expect(payeeLegs).toEqual([
      ['SettlePayee', '2010'],
      ['SettleFee', '50'],
      ['Payout', '1960'],
    ]);
    const status2 = await hub.api('GET', '/api/status');
    expect(status2.body.lastSettlement).toMatchObject({ channels: 2, moved: '2210' });
    const runs = await hub.api('GET', '/api/settlements');
    expect(runs.body.items.at(-1)).toMatchObject({ channels: 2, moved: '2210', payouts: 1 });
  });

  it('GET /api/payouts lists payout transfers with payee and amount', async () => {
    const { status, body } = await hub.api('GET', '/api/payouts');
    expect(status).toBe(200);
    expect(body.account).toBe('external/payouts');
    const fee = cumulativeFee(2010n, FEE_BPS);
    expect(body.items).toEqual([
      expect.objectContaining({
        payee: 'payee-alpha',
        asset: 'USD',
        amount: (2010n - fee).toString(),
      }),
    ]);
    expect(body.next).toBeNull();
    const paged = await hub.api('GET', `/api/payouts?after=${body.items[0].sequence}`);
    expect(paged.body.items).toEqual([]);
    expect((await hub.api('GET', '/api/payouts?limit=0')).status).toBe(400);
    expect((await hub.api('GET', '/api/payouts?after=-1')).status).toBe(400);
  });
});

describe('closing channels', () => {
  it('POST /api/channels/:id/close closes as the operator and returns the CloseReceipt', async () => {
    const { status, body } = await hub.api('POST', `/api/channels/${chB.channelIdHex}/close`);
    expect(status).toBe(200);
    const fee = cumulativeFee(200n, FEE_BPS);
    expect(body).toEqual({
      channelId: chB.channelIdHex,
      seq: 20,
      amount: '200',
      payee: (200n - fee).toString(),
      fee: fee.toString(),
      refund: (100_000n - 200n).toString(),
      reason: 'operator',
    });
    // The device got the hub-signed CloseReceipt.
    await waitUntil(() => chB.status === 'closed', 'the device to see the close');
    const shown = await hub.api('GET', `/api/channels/${chB.channelIdHex}`);
    expect(shown.body.channel).toMatchObject({
      status: 'closed',
      closeReason: 'operator',
      acceptedAmount: null,
      final: { payee: body.payee, fee: body.fee, refund: body.refund },
    });
    const closed = await hub.api('GET', '/api/channels?status=closed');
    expect(closed.body.items.map((c: { channelId: string }) => c.channelId)).toContain(
      chB.channelIdHex,
    );
  });

  it('answers 409 ADMIN_CONFLICT for an already closed channel, 404 for an unknown one', async () => {
    const again = await hub.api('POST', `/api/channels/${chB.channelIdHex}/close`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ADMIN_CONFLICT');
    expect(again.body.error.message).toMatch(/already closed \(operator close at/);
    const unknown = await hub.api('POST', `/api/channels/${'cd'.repeat(16)}/close`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ADMIN_NOT_FOUND');
    const bad = await hub.api('POST', '/api/channels/nope/close');
    expect(bad.status).toBe(400);
  });

  it('POST /api/channels/close-expired closes the channels past expiry', async () => {
    const c = await hub.newDevice();
    const short = await openChannel(c, 'payee-short', 5000n, 2);
    await short.payBaseUnits(7n);
    await short.whenAcked();
    await waitUntil(() => Date.now() / 1000 >= short.expiresAtUnixS + 0.05, 'expiry', 5000);
    const { status, body } = await hub.api('POST', '/api/channels/close-expired');
    expect(status).toBe(200);
    expect(body).toEqual({ closed: 1 });
    const shown = await hub.api('GET', `/api/channels/${short.channelIdHex}`);
    expect(shown.body.channel).toMatchObject({
      status: 'closed',
      closeReason: 'expiry',
      amount: '7',
    });
    expect((await hub.api('POST', '/api/channels/close-expired')).body).toEqual({ closed: 0 });
  });
});

describe('accounts and transfers', () => {
  it('GET /api/accounts lists balances as decimal strings and sums every asset to 0', async () => {
    const { status, body } = await hub.api('GET', '/api/accounts');
    expect(status).toBe(200);
    expect(body.sums).toEqual({ USD: '0' });
    expect(body.count).toBe(body.items.length);
    const device = body.items.find(
      (x: { account: string }) => x.account === `device/${a.deviceId}`,
    );
    expect(device).toEqual({
      account: `device/${a.deviceId}`,
      asset: 'USD',
      balance: (AUTO_FUND - 100_000n).toString(),
    });
    let sum = 0n;
    for (const item of body.items) sum += BigInt(item.balance);
    expect(sum).toBe(0n);
  });

  it('filters by prefix and asset, and pages', async () => {
    const devices = await hub.api('GET', '/api/accounts?prefix=device/&asset=USD');
    expect(
      devices.body.items.every((x: { account: string }) => x.account.startsWith('device/')),
    ).toBe(true);
    expect(devices.body.items.length).toBeGreaterThanOrEqual(2);
    const first = await hub.api('GET', '/api/accounts?limit=1');
    expect(first.body.items).toHaveLength(1);
    expect(first.body.next).not.toBeNull();
    const second = await hub.api(
      'GET',
      `/api/accounts?limit=1&after=${encodeURIComponent(first.body.next)}`,
    );
    expect(second.body.items[0].account >= first.body.items[0].account).toBe(true);
    expect(second.body.items[0]).not.toEqual(first.body.items[0]);
    for (const q of ['prefix=%20', 'asset=usd', 'limit=0', 'after=nope']) {
      const r = await hub.api('GET', `/api/accounts?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code).toBe('ADMIN_BAD_REQUEST');
    }
  });

  it('GET /api/accounts/:account/transfers takes the encoded or the path form', async () => {
    const encoded = await hub.api(
      'GET',
      `/api/accounts/${encodeURIComponent(`device/${a.deviceId}`)}/transfers`,
    );
    expect(encoded.status).toBe(200);
    const path = await hub.api('GET', `/api/accounts/device/${a.deviceId}/transfers`);
    expect(path.body).toEqual(encoded.body);
    expect(encoded.body.items.map((t: { code: string }) => t.code)).toEqual(['Deposit', 'Escrow']);
    expect(encoded.body.items[0]).toMatchObject({
      direction: 'credit',
      counterparty: 'external/faucet',
      amount: AUTO_FUND.toString(),
    });
    const paged = await hub.api('GET', `/api/accounts/device/${a.deviceId}/transfers?limit=1`);
    expect(paged.body.items).toHaveLength(1);
    const rest = await hub.api(
      'GET',
      `/api/accounts/device/${a.deviceId}/transfers?after=${paged.body.next}`,
    );
    expect(rest.body.items.map((t: { code: string }) => t.code)).toEqual(['Escrow']);
    const fees = await hub.api('GET', '/api/accounts/hub/fees/transfers');
    expect(fees.body.items.length).toBeGreaterThan(0);
  });

  it('answers 404 for an account without transfers and 400 for a malformed one', async () => {
    const unknown = await hub.api('GET', '/api/accounts/device/nobody/transfers');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ADMIN_NOT_FOUND');
    for (const path of [
      '/api/accounts/bogus%2Fx/transfers',
      '/api/accounts/device%2F/transfers',
      '/api/accounts/channel/xyz/transfers',
      `/api/accounts/device/${a.deviceId}/transfers?after=abc`,
      `/api/accounts/device/${a.deviceId}/transfers?limit=5000`,
    ]) {
      const r = await hub.api('GET', path);
      expect(r.status, path).toBe(400);
      expect(r.body.error.code).toBe('ADMIN_BAD_REQUEST');
    }
  });
});

describe('POST /api/deposits', () => {
  const deviceId = 'deposit-device-1';
  const balance = async (): Promise<bigint> =>
    hub.running.ledger.balance(`device/${deviceId}`, 'USD');

  it('credits a device from external/deposits, idempotent by id', async () => {
    const first = await hub.api('POST', '/api/deposits', {
      body: { device: deviceId, amount: '18446744073709551615', reference: 'wire 42' },
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      device: deviceId,
      account: `device/${deviceId}`,
      from: 'external/deposits',
      asset: 'USD',
      amount: '18446744073709551615',
      reference: 'wire 42',
      applied: true,
      balance: '18446744073709551615',
    });
    expect(first.body.id).toMatch(/^[0-9a-f]{32}$/);
    // The ledger's transfer id is derived from the client's, in a namespace of its own.
    expect(first.body.transferId).toBe(depositTransferId(first.body.id));
    const history = await hub.api('GET', `/api/accounts/device/${deviceId}/transfers`);
    expect(history.body.items.map((t: { id: string }) => t.id)).toEqual([first.body.transferId]);
    const retry = await hub.api('POST', '/api/deposits', {
      body: {
        device: deviceId,
        amount: '18446744073709551615',
        reference: 'wire 42',
        id: first.body.id,
      },
    });
    expect(retry.status).toBe(200);
    expect(retry.body.applied).toBe(false);
    expect(await balance()).toBe(2n ** 64n - 1n);
    const conflict = await hub.api('POST', '/api/deposits', {
      body: { device: deviceId, amount: '5', id: first.body.id },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('ADMIN_CONFLICT');
    const sums = await hub.api('GET', '/api/accounts');
    expect(sums.body.sums).toEqual({ USD: '0' });
  });

  it('refuses malformed amounts and fields with 400, changing nothing', async () => {
    const before = await balance();
    const bad: unknown[] = [
      { device: deviceId, amount: '-1' },
      { device: deviceId, amount: '1.5' },
      { device: deviceId, amount: '1e3' },
      { device: deviceId, amount: '18446744073709551616' },
      { device: deviceId, amount: '99999999999999999999999' },
      { device: deviceId, amount: 1000 },
      { device: deviceId, amount: '' },
      { device: deviceId, amount: '0' },
      { device: deviceId, amount: '01' },
      { device: deviceId, amount: ' 1' },
      { device: deviceId, amount: '0x10' },
      { device: deviceId, amount: null },
      { device: deviceId },
      { amount: '10' },
      { device: 'not a device', amount: '10' },
      { device: 42, amount: '10' },
      { device: deviceId, amount: '10', asset: 'EUR' },
      { device: deviceId, amount: '10', asset: 'usd' },
      { device: deviceId, amount: '10', id: 'xyz' },
      { device: deviceId, amount: '10', reference: 'r'.repeat(65) },
      { device: deviceId, amount: '10', reference: 'line\nbreak' },
      { device: deviceId, amount: '10', reference: 'next\u0085line' },
      { device: deviceId, amount: '10', reference: 'para\u2029graph' },
      { device: deviceId, amount: '10', reference: 'evil\u202Etxt.exe' },
      { device: deviceId, amount: '10', reference: 'lone \ud800 half' },
      { device: deviceId, amount: '10', ammount: '10' },
      [],
      'deposit',
    ];
    for (const body of bad) {
      const r = await hub.api('POST', '/api/deposits', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code, JSON.stringify(body)).toBe('ADMIN_BAD_REQUEST');
    }
    const fine = await hub.api('POST', '/api/deposits', {
      body: { device: 'printable-device', amount: '1', reference: 'Überweisung № 7 — 😀' },
    });
    expect(fine.status).toBe(201);
    const notJson = await hub.api('POST', '/api/deposits', { rawBody: '{"device":' });
    expect(notJson.status).toBe(400);
    const wrongType = await hub.api('POST', '/api/deposits', {
      rawBody: JSON.stringify({ device: deviceId, amount: '1' }),
      contentType: 'text/plain',
    });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.error.code).toBe('ADMIN_BAD_REQUEST');
    const huge = await hub.api('POST', '/api/deposits', {
      body: { device: deviceId, amount: '1', reference: 'x'.repeat(20_000) },
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('ADMIN_BAD_REQUEST');
    expect(await balance()).toBe(before);
  });

  it('a deposit id equal to an id the hub will use for its own transfers takes nothing from them', async () => {
    const d = await hub.newDevice();
    const channel = await openChannel(d, 'payee-gamma');
    for (let i = 0; i < 3; i++) await channel.payBaseUnits(100n);
    await channel.whenAcked();
    const { seq } = (await hub.api('GET', `/api/channels/${channel.channelIdHex}`)).body.channel;
    // The ids of the settlement and refund this channel has coming are public knowledge.
    for (const id of [
      settleTransferId(channel.channelIdHex, seq, 'payee'),
      refundTransferId(fromHex(channel.channelIdHex)),
    ]) {
      const r = await hub.api('POST', '/api/deposits', {
        body: { device: deviceId, amount: '1', id },
      });
      expect(r.status).toBe(201);
    }
    const settle = await hub.api('POST', '/api/settle');
    expect(settle.status).toBe(200);
    const settled = await hub.api('GET', `/api/channels/${channel.channelIdHex}`);
    expect(settled.body.channel.settledAmount).toBe('300');
    const close = await hub.api('POST', `/api/channels/${channel.channelIdHex}/close`);
    expect(close.status).toBe(200);
    expect(close.body).toMatchObject({ seq, amount: '300', refund: (100_000n - 300n).toString() });
    const sums = await hub.api('GET', '/api/accounts');
    expect(sums.body.sums).toEqual({ USD: '0' });
  });
});
