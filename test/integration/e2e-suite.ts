import { Status } from '../../src/protocol/status.js';
/**
 * The end-to-end suite shared by e2e-embedded.test.ts (the hub's embedded aedes broker) and
 * e2e-mosquitto.test.ts (an external Mosquitto): a real hub process (LevelDB ledger, real
 * broker, real TCP MQTT clients) and real Devices, asserting the money to the base unit.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it as vitestIt } from 'vitest';
import { connectDeviceLink } from '../../device-sim/connect.js';
import { runFleet } from '../../device-sim/fleet.js';
import { MISBEHAVIOUR_MODES } from '../../device-sim/misbehaviour.js';
import { RETRYABLE_STATUSES } from '../../device-sim/sim-device.js';
import { startHubProcess, type ExternalBroker, type RunningHub } from '../../src/cli/run-hub.js';
import { cumulativeFee } from '../../src/channel/fees.js';
import { generateKeyPair, signerFor, type KeyPair } from '../../src/crypto/keys.js';
import { Device } from '../../src/device/device.js';
import {
  accountKind,
  channelAccount,
  deviceAccount,
  HUB_FEES,
  isExternal,
  payeeAccount,
} from '../../src/ledger/accounts.js';
import type { Ledger } from '../../src/ledger/types.js';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType, type Rejection } from '../../src/protocol/messages.js';
import { upTopic } from '../../src/protocol/topics.js';
import type { BrokerLink } from '../../src/transport/link.js';

export const AUTO_FUND = 10n ** 12n;
const FEE_BPS = 250;

export interface E2eTarget {
  /** Where the hub's broker is: undefined for the embedded one on a free loopback port. */
  broker: ExternalBroker | undefined;
  /** What the foreign-topic misbehaviour must observe on this broker. */
  foreignTopic: 'broker-refuses' | 'hub-answers';
}

async function sumsAndNegatives(ledger: Ledger): Promise<{ sum: bigint; negative: string[] }> {
  let sum = 0n;
  const negative: string[] = [];
  for (const b of await ledger.balances({ asset: 'USD' })) {
    sum += b.balanceBaseUnits;
    if (!isExternal(b.account) && b.balanceBaseUnits < 0n) negative.push(b.account);
  }
  return { sum, negative };
}

async function channelEscrowTotal(ledger: Ledger): Promise<bigint> {
  let total = 0n;
  for (const b of await ledger.balances({ accountPrefix: 'channel/', asset: 'USD' }))
    total += b.balanceBaseUnits;
  return total;
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function defineE2eSuite(name: string, target: () => Promise<E2eTarget>): void {
  describe(name, () => {
    let dir: string;
    let running: RunningHub;
    let foreignTopic: E2eTarget['foreignTopic'];
    const cleanups: (() => Promise<void>)[] = [];

    // A setup failure (e.g. no Mosquitto) fails every test by name instead of leaving them
    // reported as skipped.
    let setupError: unknown;
    const it = (title: string, body: () => Promise<void>): void =>
      vitestIt(title, async () => {
        if (setupError !== undefined) throw setupError;
        await body();
      });

    beforeAll(async () => {
      try {
        const t = await target();
        foreignTopic = t.foreignTopic;
        dir = await mkdtemp(join(tmpdir(), 'farthing-e2e-'));
        running = await startHubProcess({
          dataDir: dir,
          listen: { host: '127.0.0.1', port: 0 },
          ...(t.broker === undefined ? {} : { broker: t.broker }),
          settings: {
            autoFundBaseUnits: AUTO_FUND,
            feeBasisPoints: FEE_BPS,
            settleIntervalMs: 100,
            expiryCheckIntervalMs: 1000,
          },
          logger: pino({ level: 'silent' }),
        });
      } catch (error) {
        setupError = error;
      }
    });

    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      await running?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    async function newDevice(): Promise<{
      device: Device;
      link: BrokerLink;
      pair: KeyPair;
      rejections: Rejection[];
    }> {
      const pair = generateKeyPair();
      const link = await connectDeviceLink({
        brokerUrl: running.brokerUrl,
        hubKey: running.hubKey,
        keyPair: pair,
      });
      const device = await Device.create({
        keyPair: pair,
        hubKey: running.hubKey,
        link,
        resendMs: 300,
        timeoutMs: 8000,
      });
      cleanups.push(() => device.shutdown());
      return { device, link, pair, rejections: [] };
    }

    it('open → stream → top up → close: receipts equal the ledger to the base unit', async () => {
      const { ledger } = running;
      const { device, rejections } = await newDevice();
      const payee = `e2e-${randomBytes(4).toString('hex')}`;
      const feesBefore = await ledger.balance(HUB_FEES, 'USD');
      const channel = await device.open({
        payeeId: payee,
        asset: 'USD',
        capacityBaseUnits: 100_000n,
        lifetimeS: 600,
        // 7 base units per 3 units of usage: fractions carry over exactly.
        price: { baseUnits: 7n, perUnits: 3n },
      });
      channel.on('rejection', (r) => {
        // RATE_LIMITED (one signed receipt per channel per second) is a "later": the SDK re-asks.
        if (!RETRYABLE_STATUSES.has(r.status)) rejections.push(r);
      });
      const deviceAcct = deviceAccount(device.deviceId);
      const channelAcct = channelAccount(channel.channelIdHex);
      expect(await ledger.balance(deviceAcct, 'USD')).toBe(AUTO_FUND - 100_000n);
      expect(await ledger.balance(channelAcct, 'USD')).toBe(100_000n);

      for (let i = 0; i < 40; i++) await channel.pay(100);
      expect(channel.amountBaseUnits).toBe((4000n * 7n) / 3n);
      await channel.whenAcked();
      // Let a settlement run mid-stream, so the close settles only the remainder.
      await waitUntil(() => running.hub.counters.settlementChannels > 0, 'a settlement');
      expect(await ledger.balance(payeeAccount(payee), 'USD')).toBeGreaterThan(0n);

      const topUp = await channel.topUp(200_000n);
      expect(topUp.capacityBaseUnits).toBe(200_000n);
      expect(await ledger.balance(deviceAcct, 'USD')).toBe(AUTO_FUND - 200_000n);

      // Past the first capacity: only possible after the top-up.
      for (let i = 0; i < 60; i++) await channel.pay(1000);
      const owed = (64_000n * 7n) / 3n;
      expect(channel.amountBaseUnits).toBe(owed);
      expect(owed).toBeGreaterThan(100_000n);
      const acked = await channel.whenAcked();
      expect(acked.amountBaseUnits).toBe(owed);
      const receipt = await channel.requestReceipt();
      expect(receipt.amountBaseUnits).toBe(owed);
      expect(receipt.seq).toBe(channel.seq);
      expect(receipt.capacityBaseUnits).toBe(200_000n);

      const close = await channel.close();
      const fee = cumulativeFee(owed, FEE_BPS);
      expect(close.amountBaseUnits).toBe(owed);
      expect(close.feeBaseUnits).toBe(fee);
      expect(close.payeeBaseUnits).toBe(owed - fee);
      expect(close.refundBaseUnits).toBe(200_000n - owed);

      expect(await ledger.balance(payeeAccount(payee), 'USD')).toBe(close.payeeBaseUnits);
      expect((await ledger.balance(HUB_FEES, 'USD')) - feesBefore).toBe(close.feeBaseUnits);
      expect(await ledger.balance(channelAcct, 'USD')).toBe(0n);
      expect(await ledger.balance(deviceAcct, 'USD')).toBe(AUTO_FUND - owed);
      const { sum, negative } = await sumsAndNegatives(ledger);
      expect(sum).toBe(0n);
      expect(negative).toEqual([]);
      expect(rejections).toEqual([]);
    });

    it('QoS 1 redelivery, duplicates and reordering change nothing but hub counters', async () => {
      const { hub, ledger } = running;
      const { device, link, pair, rejections } = await newDevice();
      const payee = `e2e-${randomBytes(4).toString('hex')}`;
      const channel = await device.open({
        payeeId: payee,
        asset: 'USD',
        capacityBaseUnits: 50_000n,
        lifetimeS: 600,
        price: { baseUnits: 1n, perUnits: 1n },
      });
      channel.on('rejection', (r) => {
        // RATE_LIMITED (one signed receipt per channel per second) is a "later": the SDK re-asks.
        if (!RETRYABLE_STATUSES.has(r.status)) rejections.push(r);
      });
      for (let i = 0; i < 5; i++) await channel.payBaseUnits(1000n);
      await channel.whenAcked(5);
      // Ed25519 is deterministic: these are byte for byte the vouchers the SDK sent.
      const sign = signerFor(pair);
      const voucher = (seq: number): Uint8Array =>
        encodeMessage(
          {
            type: MessageType.Voucher,
            channelId: channel.channelId,
            seq,
            amountBaseUnits: BigInt(seq) * 1000n,
          },
          sign,
        );
      const up = upTopic(running.hubId, device.deviceId);
      await hub.settleNow();
      const balancesBefore = await ledger.balances();
      const c = hub.counters;
      const before = {
        received: c.vouchersReceived,
        accepted: c.vouchersAccepted,
        harmless: c.vouchersDuplicate + c.vouchersStale + c.vouchersCoalesced,
        refused: totalRefused(c.refusedByStatus),
      };

      // Redelivered and out of order: everything at or below the newest seq.
      const replays = [5, 5, 3, 1, 4, 5, 2];
      for (const seq of replays) await link.publish(up, voucher(seq), 1);
      await waitUntil(
        () => c.vouchersReceived - before.received === replays.length,
        'the replays to reach the hub',
      );
      await waitUntil(
        () =>
          c.vouchersDuplicate + c.vouchersStale + c.vouchersCoalesced - before.harmless ===
          replays.length,
        'the replays to be judged',
      );
      expect(c.vouchersAccepted).toBe(before.accepted);
      await hub.settleNow();
      expect(await ledger.balances()).toEqual(balancesBefore);
      const receipt = await channel.requestReceipt();
      expect({ seq: receipt.seq, amount: receipt.amountBaseUnits }).toEqual({
        seq: 5,
        amount: 5000n,
      });

      // Newer vouchers arriving newest first, each twice: the newest wins, the rest are stale.
      const newer = [8, 6, 7, 8, 6, 7];
      for (const seq of newer) await link.publish(up, voucher(seq), 1);
      const slot = hub.table.slotOf(channel.channelId)!;
      await waitUntil(() => hub.table.durableSeq[slot] === 8, 'seq 8 to be durable');
      await waitUntil(
        () => c.vouchersReceived - before.received === replays.length + newer.length,
        'the newer vouchers to reach the hub',
      );
      // Every voucher is judged accepted or harmless (none refused). Signature checks run on
      // several workers at once, so 6 or 7 may be applied just before 8 finishes verifying:
      // then they are accepted too, superseded a moment later. Only counters can differ.
      await waitUntil(
        () =>
          c.vouchersAccepted +
            c.vouchersDuplicate +
            c.vouchersStale +
            c.vouchersCoalesced -
            before.accepted -
            before.harmless ===
          replays.length + newer.length,
        'the newer vouchers to be judged',
      );
      expect(c.vouchersAccepted - before.accepted).toBeGreaterThanOrEqual(1);
      expect(c.vouchersAccepted - before.accepted).toBeLessThanOrEqual(3);
      expect(totalRefused(c.refusedByStatus)).toBe(before.refused);
      expect(hub.table.durableAmount[slot]).toBe(8000n);

      const close = await channel.close();
      expect(close.seq).toBe(8);
      expect(close.amountBaseUnits).toBe(8000n);
      expect(close.refundBaseUnits).toBe(42_000n);
      expect(await ledger.balance(payeeAccount(payee), 'USD')).toBe(close.payeeBaseUnits);
      expect(await ledger.balance(channelAccount(channel.channelIdHex), 'USD')).toBe(0n);
      expect(await ledger.balance(deviceAccount(device.deviceId), 'USD')).toBe(AUTO_FUND - 8000n);
      expect(rejections).toEqual([]);
      expect((await sumsAndNegatives(ledger)).sum).toBe(0n);
    });

    it('each misbehaviour gets its exact answer while honest devices stream unrefused', async () => {
      const { hub, ledger } = running;
      const refusedBefore = hub.counters.refusedByName();
      const summary = await runFleet({
        brokerUrl: running.brokerUrl,
        hubKey: running.hubKey,
        devices: 2,
        ratePerDevice: 10,
        durationS: 3,
        scenario: 'smart-meter',
        misbehave: MISBEHAVIOUR_MODES,
        closeAtEnd: true,
      });
      const observed = Object.fromEntries(summary.misbehaviour.map((m) => [m.mode, m.observed]));
      expect(observed['forged-signature']).toBe('SIGNATURE_INVALID');
      expect(observed.overspend).toBe('AMOUNT_EXCEEDS_CAPACITY');
      expect(observed['after-close']).toBe('CHANNEL_CLOSED');
      expect(observed.replay).toMatch(
        /^stale voucher ignored \(acked amount unchanged at \d+\); OpenRequest after close: CHANNEL_CLOSED$/,
      );
      if (foreignTopic === 'broker-refuses') {
        expect(observed['foreign-topic']).toBe(
          'broker refused the publish: connection dropped, nothing reached the hub',
        );
        expect(running.embedded!.stats().publishesRefused['topic-forbidden']).toBeGreaterThan(0);
      } else {
        expect(observed['foreign-topic']).toMatch(/^CHANNEL_NOT_OWNED on the victim's down topic/);
      }
      expect(summary.misbehaviour.every((m) => m.ok)).toBe(true);
      // The honest devices streamed throughout and saw no refusal.
      expect(summary.refusedByStatus).toEqual({});
      expect(summary.vouchersSent).toBeGreaterThan(20);
      expect(summary.vouchersAcked).toBe(summary.vouchersSent);
      expect(summary.reconciled).toBe(true);
      // The hub counted each refusal it sent.
      const refused = hub.counters.refusedByName();
      const delta = (status: string): number =>
        (refused[status] ?? 0) - (refusedBefore[status] ?? 0);
      expect(delta('SIGNATURE_INVALID')).toBeGreaterThanOrEqual(1);
      expect(delta('AMOUNT_EXCEEDS_CAPACITY')).toBeGreaterThanOrEqual(1);
      expect(delta('CHANNEL_CLOSED')).toBeGreaterThanOrEqual(2);
      if (foreignTopic === 'hub-answers')
        expect(delta('CHANNEL_NOT_OWNED')).toBeGreaterThanOrEqual(1);
      else expect(delta('CHANNEL_NOT_OWNED')).toBe(0);
      // Every channel of the run closed: no escrow left, nothing created or lost.
      expect(summary.channelsClosed).toBe(summary.channelsOpened);
      expect(hub.table.size).toBe(0);
      await hub.settleNow();
      expect(await channelEscrowTotal(ledger)).toBe(0n);
      const { sum, negative } = await sumsAndNegatives(ledger);
      expect(sum).toBe(0n);
      expect(negative).toEqual([]);
      for (const b of await ledger.balances()) expect(accountKind(b.account)).toBeDefined();
    });
  });
}

/** Refusals other than RATE_LIMITED (the receipt requests' own pacing, retried by the SDK). */
function totalRefused(byStatus: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [status, count] of byStatus) if (status !== Status.RATE_LIMITED) total += count;
  return total;
}
