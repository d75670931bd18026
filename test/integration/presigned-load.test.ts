import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresignedLoad } from '../../device-sim/presigned-load.js';
import { startHubProcess, type RunningHub } from '../../src/cli/run-hub.js';
import { channelAccount } from '../../src/ledger/accounts.js';

let dir: string;
let running: RunningHub;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'farthing-presigned-'));
  running = await startHubProcess({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    settings: { autoFundBaseUnits: 10n ** 12n },
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await running?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the benchmark load generator', () => {
  it('opens real channels, streams its pre-signed vouchers and sees each one acknowledged', async () => {
    const load = await PresignedLoad.prepare({
      brokerUrl: running.brokerUrl,
      hubKey: running.hubKey,
      devices: 2,
      channelsPerDevice: 3,
      vouchersPerChannel: 400,
    });
    try {
      const closed = await load.closedLoop(0.5);
      expect(closed.vouchersAcked).toBeGreaterThan(0);
      // The drain counts the vouchers still in flight when the window closed: one per channel.
      expect(closed.vouchersAckedWithDrain).toBeGreaterThan(closed.vouchersAcked);
      expect(closed.vouchersAckedWithDrain).toBeLessThanOrEqual(closed.vouchersAcked + 6);
      // One voucher in flight per channel: nothing to coalesce, every ack was verified.
      expect(running.hub.counters.vouchersCoalesced).toBe(0);
      // The ramp's vouchers are sent but not timed: the figures cover only the measured second.
      let measuredStarts = 0;
      const open = await load.openLoop(100, 1, {
        rampS: 0.5,
        onMeasuredStart: () => measuredStarts++,
      });
      expect(open.sent).toBeGreaterThanOrEqual(140);
      expect(open.acked).toBeGreaterThanOrEqual(90);
      expect(open.acked).toBeLessThanOrEqual(110);
      expect(open.latency.p99).toBeGreaterThan(0);
      expect(measuredStarts).toBe(1);
      expect(open.tail.overMs).toBe(20);
      expect(open.tail.over).toBeLessThanOrEqual(open.acked);
      // Every acknowledgement takes some time: counted over 0 ms, all of them are the tail.
      const everyAck = await load.openLoop(100, 0.3, { tailOverMs: 0 });
      expect(everyAck.acked).toBeGreaterThan(0);
      expect(everyAck.tail.over).toBe(everyAck.acked);
      for (const channel of load.channels) {
        // What the hub made durable is exactly what the generator saw acknowledged.
        const slot = running.hub.table.slotOf(Buffer.from(channel.channelIdHex, 'hex'))!;
        expect(running.hub.table.durableSeq[slot]).toBe(channel.ackedSeq);
        expect(channel.ackedSeq).toBe(channel.nextSeq - 1);
        // Escrowed at open (capacity = vouchers + 1); what settlement moved has left it.
        const escrow = await running.hub.ledger.balance(
          channelAccount(channel.channelIdHex),
          'USD',
        );
        expect(escrow + running.hub.table.settledAmount[slot]!).toBe(401n);
      }
    } finally {
      await load.close();
    }
  });
});
