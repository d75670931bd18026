import { afterEach, describe, expect, it } from 'vitest';
import { startTestHub, makeDevice, fund, balanceSums, waitFor } from '../helpers/fixtures.js';
import { MemoryBroker } from '../helpers/memory-broker.js';
import { Hub as HubClass } from '../../src/hub/hub.js';
import {
  channelAccount,
  deviceAccount,
  HUB_FEES,
  payeeAccount,
} from '../../src/ledger/accounts.js';
import { keyId, upTopic } from '../../src/protocol/topics.js';
import { MessageType } from '../../src/protocol/messages.js';
import { Status } from '../../src/protocol/status.js';
import { decodeMessage, encodeMessage } from '../../src/protocol/codec.js';
import { generateKeyPair, signerFor } from '../../src/crypto/keys.js';
import type { Hub } from '../../src/hub/hub.js';
import type { Device } from '../../src/device/device.js';
import type { DeviceChannel } from '../../src/device/device-channel.js';
import type { Ledger } from '../../src/ledger/types.js';
import { InlineVerifier } from '../../src/hub/inline-verifier.js';
import type { SignatureVerifier } from '../../src/hub/ports.js';
import { MemoryLedger } from '../../src/ledger/memory-ledger.js';

const price = { baseUnits: 1000n, perUnits: 1n };
let running: Hub[] = [];

/** A USD channel to payee acme at 1 000 base units per unit of usage. */
const openForAcme = (device: Device, capacityBaseUnits: bigint) =>
  device.open({ payeeId: 'acme', asset: 'USD', capacityBaseUnits, lifetimeS: 3600, price });

/**
 * A device with a USD channel whose vouchers 1–3 are acknowledged and whose voucher 4 is signed
 * but never reaches the hub while `losing()` says so.
 */
async function channelWithVoucher4Lost(
  broker: MemoryBroker,
  ledger: Ledger,
  hubKey: Uint8Array,
  losing: () => boolean = () => true,
): Promise<{ device: Device; channel: DeviceChannel }> {
  broker.copies = (topic, payload) => {
    if (!losing() || !topic.includes('/up/')) return 1;
    const decoded = decodeMessage(payload, 'up');
    return decoded.ok && decoded.message.type === MessageType.Voucher && decoded.message.seq === 4
      ? 0
      : 1;
  };
  const device = await makeDevice(broker, hubKey, { resendMs: 50 });
  await fund(ledger, device.publicKey, 1_000_000n);
  const channel = await openForAcme(device, 100_000n);
  for (let i = 0; i < 3; i++) await channel.pay(1);
  await channel.whenAcked(3);
  await channel.pay(1);
  return { device, channel };
}

/** Every channel pays one unit more, and the hub acknowledges each one's voucher `seq`. */
async function payEachOnce(channels: DeviceChannel[], seq: number): Promise<void> {
  await Promise.all(channels.map((channel) => channel.pay(1)));
  await Promise.all(channels.map((channel) => channel.whenAcked(seq)));
}

afterEach(async () => {
  for (const hub of running) await hub.stop();
  running = [];
});

describe('hub and device over an in-memory broker', () => {
  it('opens, streams, tops up and closes with the ledger matching the receipts', async () => {
    const { hub, broker, ledger, hubKeyPair } = await startTestHub({ feeBasisPoints: 250 });
    running.push(hub);
    const device = await makeDevice(broker, hubKeyPair.publicKey);
    await fund(ledger, device.publicKey, 1_000_000n);
    const channel = await openForAcme(device, 100_000n);
    expect(await ledger.balance(deviceAccount(device.deviceId), 'USD')).toBe(900_000n);
    expect(await ledger.balance(channelAccount(channel.channelIdHex), 'USD')).toBe(100_000n);

    for (let i = 0; i < 50; i++) await channel.pay(1);
    const acked = await channel.whenAcked(50);
    expect(acked).toEqual({ seq: 50, amountBaseUnits: 50_000n });

    const receipt = await channel.topUp(200_000n);
    expect(receipt.capacityBaseUnits).toBe(200_000n);
    for (let i = 0; i < 100; i++) await channel.pay(1);
    await channel.whenAcked(150);
    // The stats read running totals: the open, the vouchers, the top-up and any settlement
    // since all moved them.
    const slot = hub.table.slotOf(Buffer.from(channel.channelIdHex, 'hex'))!;
    expect(hub.stats()).toMatchObject({
      openChannels: 1,
      escrowOutstandingBaseUnits: 200_000n - hub.table.settledAmount[slot]!,
      acceptedOpenBaseUnits: 150_000n,
    });

    const close = await channel.close();
    expect(close.amountBaseUnits).toBe(150_000n);
    expect(close.feeBaseUnits).toBe(3_750n);
    expect(close.payeeBaseUnits).toBe(146_250n);
    expect(close.refundBaseUnits).toBe(50_000n);
    expect(await ledger.balance(payeeAccount('acme'), 'USD')).toBe(146_250n);
    expect(await ledger.balance(HUB_FEES, 'USD')).toBe(3_750n);
    expect(await ledger.balance(channelAccount(channel.channelIdHex), 'USD')).toBe(0n);
    expect(await ledger.balance(deviceAccount(keyId(device.publicKey)), 'USD')).toBe(
      1_000_000n - 150_000n,
    );
    expect(await balanceSums(ledger)).toEqual(new Map([['USD', 0n]]));
    expect(hub.stats()).toMatchObject({
      openChannels: 0,
      escrowOutstandingBaseUnits: 0n,
      acceptedOpenBaseUnits: 0n,
      unsettledBaseUnits: 0n,
    });
    await expect(channel.payBaseUnits(1n)).rejects.toThrow();
    await device.shutdown();
  });

  it('duplicates and reordering change nothing but counters', async () => {
    const { hub, broker, ledger, hubKeyPair } = await startTestHub();
    running.push(hub);
    broker.copies = () => 2;
    broker.delayMs = () => Math.floor(Math.random() * 5);
    const device = await makeDevice(broker, hubKeyPair.publicKey);
    await fund(ledger, device.publicKey, 1_000_000n);
    const channel = await openForAcme(device, 500_000n);
    for (let i = 0; i < 200; i++) await channel.pay(1);
    await waitFor(() => channel.ackedSeq === 200, 5000, 'ack of seq 200');
    expect(channel.ackedAmountBaseUnits).toBe(200_000n);
    await hub.settleNow();
    expect(
      hub.counters.vouchersDuplicate + hub.counters.vouchersStale + hub.counters.vouchersCoalesced,
    ).toBeGreaterThan(0);
    expect(hub.counters.refusedByStatus.size).toBe(0);
    const close = await channel.close();
    expect(close.amountBaseUnits).toBe(200_000n);
    expect(await balanceSums(ledger)).toEqual(new Map([['USD', 0n]]));
    await device.shutdown();
  });

  it('a restarted hub takes each settled mark from the escrow balance and settles only the rest', async () => {
    // Timers far away: only settleNow settles, so the first hub can be left mid-way.
    const quiet = { feeBasisPoints: 250, settleIntervalMs: 3_600_000 };
    const first = await startTestHub(quiet);
    running.push(first.hub);
    const { ledger, hubKeyPair } = first;
    const device = await makeDevice(first.broker, hubKeyPair.publicKey);
    await fund(ledger, device.publicKey, 1_000_000n);
    const channel = await openForAcme(device, 100_000n);
    for (let i = 0; i < 30; i++) await channel.pay(1);
    await channel.whenAcked(30);
    expect((await first.hub.settleNow()).channels).toBe(1);
    await channel.topUp(200_000n);
    for (let i = 0; i < 20; i++) await channel.pay(1);
    await channel.whenAcked(50);
    const payeeAfterFirst = await ledger.balance(payeeAccount('acme'), 'USD');
    expect(payeeAfterFirst).toBe(30_000n - 750n);

    // A second hub on the same ledger, as after a crash: no settled-mark records exist.
    const records: string[] = [];
    for await (const [key] of ledger.records('')) records.push(key.split('/')[0]!);
    expect(new Set(records)).toEqual(new Set(['ch', 'v']));
    const second = new HubClass({
      keyPair: hubKeyPair,
      ledger,
      broker: new MemoryBroker().link(),
      settings: quiet,
    });
    running.unshift(second);
    expect((await second.start()).reloadedChannels).toBe(1);
    const slot = second.table.slotOf(channel.channelId)!;
    expect(second.table.capacityBaseUnits[slot]).toBe(200_000n);
    expect(second.table.settledAmount[slot]).toBe(30_000n);
    expect(second.table.durableAmount[slot]).toBe(50_000n);
    expect(second.table.unsettledBaseUnits).toBe(20_000n);

    const run = await second.settleNow();
    expect(run.movedBaseUnits).toBe(20_000n);
    expect(await ledger.balance(payeeAccount('acme'), 'USD')).toBe(50_000n - 1_250n);
    expect(await ledger.balance(channelAccount(channel.channelIdHex), 'USD')).toBe(150_000n);
    expect((await second.settleNow()).channels).toBe(0);
    await second.stop();
    // The first hub's own final settlement repeats the same transfer ids: nothing moves twice.
    await first.hub.stop();
    expect(await ledger.balance(payeeAccount('acme'), 'USD')).toBe(50_000n - 1_250n);
    expect(await balanceSums(ledger)).toEqual(new Map([['USD', 0n]]));
    await device.shutdown();
  });

  it('devices send vouchers and requests at QoS 1, the newest voucher again before a close', async () => {
    const { hub, broker, ledger, hubKeyPair } = await startTestHub();
    running.push(hub);
    const sent: string[] = [];
    broker.onPublish = (topic, payload, qos) => {
      if (!topic.includes('/up/')) return;
      const decoded = decodeMessage(payload, 'up');
      const name = Object.entries(MessageType).find(
        ([, n]) => decoded.ok && n === decoded.message.type,
      );
      sent.push(`${name?.[0] ?? 'undecodable'}@${qos}`);
    };
    const device = await makeDevice(broker, hubKeyPair.publicKey);
    await fund(ledger, device.publicKey, 1_000_000n);
    const channel = await openForAcme(device, 100_000n);
    for (let i = 0; i < 3; i++) await channel.pay(1);
    await channel.whenAcked(3);
    await channel.close();
    expect(sent).toEqual([
      'OpenRequest@1',
      'Voucher@1',
      'Voucher@1',
      'Voucher@1',
      'Voucher@1',
      'CloseRequest@1',
    ]);
    await device.shutdown();
  });

  it('a close never settles short of the voucher it names: VOUCHER_MISSING until that voucher arrives', async () => {
    const { hub, broker, ledger, hubKeyPair } = await startTestHub();
    running.push(hub);
    // Lose every copy of voucher seq 4 until the hub has refused a close for want of it.
    let losing = true;
    const { device, channel } = await channelWithVoucher4Lost(
      broker,
      ledger,
      hubKeyPair.publicKey,
      () => losing,
    );
    const refusals: number[] = [];
    channel.on('rejection', (rejection) => {
      refusals.push(rejection.status);
      losing = false;
    });
    const close = await channel.close();
    expect(refusals[0]).toBe(Status.VOUCHER_MISSING);
    expect(close.seq).toBe(4);
    expect(close.amountBaseUnits).toBe(4_000n);
    expect(await ledger.balance(channelAccount(channel.channelIdHex), 'USD')).toBe(0n);
    expect(await ledger.balance(deviceAccount(device.deviceId), 'USD')).toBe(1_000_000n - 4_000n);
    await device.shutdown();
  });

  it('a close whose flush fails does not settle short of an accepted voucher: HUB_FAILURE, then the retry settles it', async () => {
    // Group commits fail from voucher 4 on, until the hub has refused a close: voucher 4 is
    // verified and accepted but stays staged, and the close's own flush fails too.
    const ledger = new MemoryLedger();
    let failing = false;
    const commit = ledger.commit.bind(ledger);
    ledger.commit = (request) =>
      failing && request.transfers.length === 0
        ? Promise.reject(new Error('a transient disk error'))
        : commit(request);
    const { hub, broker, hubKeyPair } = await startTestHub({ feeBasisPoints: 0 }, { ledger });
    running.push(hub);
    const device = await makeDevice(broker, hubKeyPair.publicKey, { resendMs: 50 });
    await fund(ledger, device.publicKey, 1_000_000n);
    const channel = await openForAcme(device, 100_000n);
    for (let i = 0; i < 3; i++) await channel.pay(1);
    await channel.whenAcked(3);
    failing = true;
    await channel.pay(1);
    const slot = hub.table.slotOf(channel.channelId)!;
    await waitFor(() => hub.table.acceptedSeq[slot] === 4, 5000, 'voucher 4 accepted');
    const refusals: number[] = [];
    channel.on('rejection', (rejection) => {
      refusals.push(rejection.status);
      failing = false;
    });
    const close = await channel.close();
    expect(refusals[0]).toBe(Status.HUB_FAILURE);
    expect(close.seq).toBe(4);
    expect(close.amountBaseUnits).toBe(4_000n);
    expect(await ledger.balance(payeeAccount('acme'), 'USD')).toBe(4_000n);
    expect(await ledger.balance(deviceAccount(device.deviceId), 'USD')).toBe(1_000_000n - 4_000n);
    await device.shutdown();
  });

  it('a failing signature check answers a top-up and a close HUB_FAILURE, and the retries succeed', async () => {
    // A verifier that fails (as when a pool worker is lost) for control messages while told to.
    let failing = false;
    const inline = new InlineVerifier();
    const verifier: SignatureVerifier = {
      verifyBatch: (items) =>
        failing && items.length === 1
          ? Promise.reject(new Error('verify worker lost'))
          : inline.verifyBatch(items),
      close: () => inline.close(),
    };
    const { hub, broker, ledger, hubKeyPair } = await startTestHub({}, { verifier });
    running.push(hub);
    const device = await makeDevice(broker, hubKeyPair.publicKey, { resendMs: 50 });
    await fund(ledger, device.publicKey, 1_000_000n);
    const channel = await openForAcme(device, 100_000n);
    await channel.pay(1);
    await channel.whenAcked(1);
    const refusals: number[] = [];
    channel.on('rejection', (rejection) => {
      refusals.push(rejection.status);
      failing = false;
    });
    failing = true;
    expect((await channel.topUp(200_000n)).capacityBaseUnits).toBe(200_000n);
    failing = true;
    expect((await channel.close()).amountBaseUnits).toBe(1_000n);
    expect(refusals).toEqual([Status.HUB_FAILURE, Status.HUB_FAILURE]);
    await device.shutdown();
  });

  it('past expiry a close does not wait for a missing voucher: none can be accepted any more', async () => {
    let aheadMs = 0;
    const { hub, broker, ledger, hubKeyPair } = await startTestHub(
      { expiryCheckIntervalMs: 3_600_000 }, // the expiry timer stays out of the way
      { clock: { nowMs: () => Date.now() + aheadMs } },
    );
    running.push(hub);
    const { device, channel } = await channelWithVoucher4Lost(broker, ledger, hubKeyPair.publicKey);
    aheadMs = 3_601_000; // the hub's clock is past the channel's expiry
    const refusals: number[] = [];
    channel.on('rejection', (rejection) => refusals.push(rejection.status));
    const close = await channel.close();
    expect(close.seq).toBe(3);
    expect(close.amountBaseUnits).toBe(3_000n);
    expect(refusals).not.toContain(Status.VOUCHER_MISSING);
    await device.shutdown();
  });

  it('a device whose newest voucher was refused for good closes on the acknowledged one', async () => {
    const { hub, broker, ledger, hubKeyPair } = await startTestHub();
    running.push(hub);
    const device = await makeDevice(broker, hubKeyPair.publicKey, { resendMs: 50 });
    await fund(ledger, device.publicKey, 1_000_000n);
    const channel = await openForAcme(device, 10_000n);
    await channel.pay(2);
    await channel.whenAcked(2 - 1);
    // The device believes in more capacity than the hub escrowed (as if a top-up was lost).
    channel.capacityBaseUnits = 20_000n;
    await channel.payBaseUnits(15_000n);
    await expect(channel.whenAcked(2)).rejects.toMatchObject({
      status: Status.AMOUNT_EXCEEDS_CAPACITY,
    });
    const close = await channel.close();
    expect(close.seq).toBe(1);
    expect(close.amountBaseUnits).toBe(2_000n);
    await device.shutdown();
  });

  it('a CloseRequest naming seq 0 closes on whatever the hub holds', async () => {
    const { hub, broker, ledger, hubKeyPair } = await startTestHub();
    running.push(hub);
    const keyPair = generateKeyPair();
    const device = await makeDevice(broker, hubKeyPair.publicKey, { keyPair });
    await fund(ledger, device.publicKey, 1_000_000n);
    const channel = await openForAcme(device, 100_000n);
    await channel.pay(5);
    await channel.whenAcked(1);
    const closed = new Promise((resolve) => channel.on('closed', resolve));
    // A device that lost its channel state knows only the channel id and its key.
    const request = encodeMessage(
      { type: MessageType.CloseRequest, channelId: channel.channelId, seq: 0 },
      signerFor(keyPair, 'node'),
    );
    await broker.link().publish(upTopic(keyId(hubKeyPair.publicKey), device.deviceId), request, 1);
    await closed;
    expect(channel.closeReceipt?.amountBaseUnits).toBe(5_000n);
    await device.shutdown();
  });

  it('a commit signs at most 4 timed receipts; the channels over the cap sign on later commits', async () => {
    // Every first acknowledgement is due a signed receipt; one slow commit gathers them all.
    const { hub, broker, ledger, hubKeyPair } = await startTestHub({ groupCommitIntervalMs: 200 });
    running.push(hub);
    // Re-sends would be answered too and spoil the count: the fixtures' 200 ms equals the commit
    // interval, so on a loaded machine every voucher went twice (40 answers for 20 vouchers).
    const device = await makeDevice(broker, hubKeyPair.publicKey, { resendMs: 10_000 });
    await fund(ledger, device.publicKey, 1_000_000n);
    const channels = [];
    for (let i = 0; i < 20; i++) channels.push(await openForAcme(device, 10_000n));
    await payEachOnce(channels, 1);
    const { receiptsSigned, acksSent, groupCommits } = hub.counters;
    expect(receiptsSigned + acksSent).toBe(20);
    expect(groupCommits).toBeLessThan(5);
    expect(receiptsSigned).toBeLessThanOrEqual(4 * groupCommits);
    // Still due, so the next commits sign them, four at a time.
    await payEachOnce(channels, 2);
    expect(hub.counters.receiptsSigned).toBeGreaterThan(receiptsSigned);
    expect(hub.counters.receiptsSigned).toBeLessThanOrEqual(4 * hub.counters.groupCommits);
    await device.shutdown();
  });

  it('a settlement sends at most 256 payee notices, and the next one tells the channels left out', async () => {
    const { hub, broker, ledger, hubKeyPair } = await startTestHub({ settleIntervalMs: 3_600_000 });
    running.push(hub);
    const noticed: string[] = [];
    broker.onPublish = (topic, payload) => {
      if (!topic.includes('/payee/')) return;
      const decoded = decodeMessage(payload, 'payee');
      if (decoded.ok && decoded.message.type === MessageType.PayeeNotice)
        noticed.push(Buffer.from(decoded.message.channelId).toString('hex'));
    };
    const device = await makeDevice(broker, hubKeyPair.publicKey);
    await fund(ledger, device.publicKey, 10_000_000n);
    const channels = [];
    for (let i = 0; i < 300; i++) channels.push(await openForAcme(device, 10_000n));
    await payEachOnce(channels, 1);
    expect((await hub.settleNow()).channels).toBe(300);
    // Notices are published before the run resolves.
    expect(noticed).toHaveLength(256);
    await payEachOnce(channels, 2);
    expect((await hub.settleNow()).channels).toBe(300);
    // Within the minute, only the 44 not yet told are due.
    expect(noticed).toHaveLength(300);
    expect(new Set(noticed)).toEqual(new Set(channels.map((channel) => channel.channelIdHex)));
    await device.shutdown();
  });
});
