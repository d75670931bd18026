/**
 * GET /metrics on a real hub while a small fleet streams: the exposition parses as strict
 * Prometheus text, and the counters equal what the fleet sent (N devices × M vouchers
 * accepted; one forged voucher refused as SIGNATURE_INVALID).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  startAdminHub,
  publishForgedVoucher,
  waitUntil,
  type AdminHub,
} from '../helpers/admin-hub.js';
import { parsePrometheusText, sampleValue } from '../helpers/prom-text.js';
import { Status } from '../../src/protocol/status.js';

const DEVICES = 4;
const VOUCHERS = 15;
const CAPACITY = 100_000n;

let hub: AdminHub;

beforeAll(async () => {
  hub = await startAdminHub({ settleIntervalMs: 600_000 });
});

afterAll(async () => {
  await hub?.stop();
});

it('exposes the fleet in Prometheus text: accepted, refused by status, histograms', async () => {
  const fleet = await Promise.all(Array.from({ length: DEVICES }, () => hub.newDevice()));
  const channels = await Promise.all(
    fleet.map((d, i) =>
      d.device.open({
        payeeId: `payee-${i % 2}`,
        asset: 'USD',
        capacityBaseUnits: CAPACITY,
        lifetimeS: 600,
        price: { baseUnits: 1n, perUnits: 1n },
      }),
    ),
  );
  // Each voucher waits for its acknowledgement, so none is coalesced: accepted is exact.
  await Promise.all(
    channels.map(async (channel) => {
      for (let i = 0; i < VOUCHERS; i++) {
        await channel.payBaseUnits(2n);
        await channel.whenAcked();
      }
    }),
  );
  const forger = fleet[0]!;
  const target = channels[0]!;
  await publishForgedVoucher(
    hub.running,
    forger,
    target.channelIdHex,
    target.seq + 1,
    target.amountBaseUnits + 1n,
  );
  await waitUntil(
    () => hub.running.hub.counters.refusedByStatus.get(Status.SIGNATURE_INVALID) === 1,
    'the forged voucher to be refused',
  );

  const unauthorized = await fetch(`${hub.url}/metrics`);
  expect(unauthorized.status).toBe(401);
  const response = await fetch(`${hub.url}/metrics`, {
    headers: { authorization: `Bearer ${hub.token}` },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusText(await response.text());

  expect(sampleValue(families, 'farthing_vouchers_accepted_total')).toBe(DEVICES * VOUCHERS);
  expect(sampleValue(families, 'farthing_vouchers_received_total')).toBe(DEVICES * VOUCHERS + 1);
  expect(sampleValue(families, 'farthing_refused_total', { status: 'SIGNATURE_INVALID' })).toBe(1);
  expect(sampleValue(families, 'farthing_channel_opens_total')).toBe(DEVICES);
  expect(sampleValue(families, 'farthing_open_channels')).toBe(DEVICES);
  expect(sampleValue(families, 'farthing_escrow_outstanding_base_units')).toBe(
    Number(CAPACITY) * DEVICES,
  );
  expect(sampleValue(families, 'farthing_unsettled_base_units')).toBe(DEVICES * VOUCHERS * 2);
  expect(sampleValue(families, 'farthing_pending_verifications')).toBe(0);
  expect(sampleValue(families, 'farthing_broker_connected')).toBe(1);
  expect(sampleValue(families, 'farthing_broker_connects_accepted_total')).toBeGreaterThanOrEqual(
    DEVICES,
  );
  expect(sampleValue(families, 'farthing_receipt_latency_seconds_count')).toBeGreaterThanOrEqual(
    DEVICES * VOUCHERS,
  );
  expect(sampleValue(families, 'farthing_group_commit_seconds_count')).toBe(
    sampleValue(families, 'farthing_group_commits_total'),
  );
  expect(sampleValue(families, 'farthing_verify_batch_size_sum')).toBe(DEVICES * VOUCHERS + 1);
  expect(families.get('process_cpu_seconds_total')?.type).toBe('counter');
  expect(families.has('nodejs_eventloop_lag_seconds')).toBe(true);

  // A settlement shows up in its counters and histograms.
  const settled = await hub.api('POST', '/api/settle');
  expect(settled.body.moved).toBe(String(DEVICES * VOUCHERS * 2));
  const after = parsePrometheusText(
    await (
      await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${hub.token}` } })
    ).text(),
  );
  expect(sampleValue(after, 'farthing_settled_base_units_total')).toBe(DEVICES * VOUCHERS * 2);
  expect(sampleValue(after, 'farthing_settlement_channels_total')).toBe(DEVICES);
  expect(sampleValue(after, 'farthing_settlement_batches_total')).toBe(1);
  expect(sampleValue(after, 'farthing_settlement_seconds_count')).toBe(1);
  expect(sampleValue(after, 'farthing_unsettled_base_units')).toBe(0);
});
