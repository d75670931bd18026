/**
 * The device's promises about its own state: a voucher leaves only once its seq is saved (so a
 * power cut can never make it sign one seq for two amounts), an unacknowledged voucher is
 * re-sent until the hub has it, waits that can no longer end well end at once, and a failed
 * save with no caller to tell is reported rather than thrown into the void.
 */
import { afterEach, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import type { Device, DeviceOptions } from '../../src/device/device.js';
import {
  MemoryStateStore,
  type DeviceStateStore,
  type PersistedDevice,
} from '../../src/device/state-store.js';
import type { Hub } from '../../src/hub/hub.js';
import { decodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { Status } from '../../src/protocol/status.js';
import { fund, makeDevice, startTestHub, waitFor } from '../helpers/fixtures.js';
import type { MemoryBroker } from '../helpers/memory-broker.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const price = { baseUnits: 1n, perUnits: 1n };
const openOn = (device: Device) =>
  device.open({
    payeeId: 'grid',
    asset: 'USD',
    capacityBaseUnits: 10_000n,
    lifetimeS: 3600,
    price,
  });

async function setUp() {
  const { hub, broker, ledger, hubKeyPair } = await startTestHub();
  cleanups.push(() => (hub as Hub).stop());
  const keyPair = generateKeyPair();
  await fund(ledger, keyPair.publicKey, 1_000_000n);
  const device = async (store: DeviceStateStore, extra: Partial<DeviceOptions> = {}) => {
    const made = await makeDevice(broker, hubKeyPair.publicKey, { keyPair, store, ...extra });
    cleanups.push(() => made.shutdown());
    return made;
  };
  return { hub, broker, device };
}

/** Every seq the device published a voucher for, with the amounts it published under it. */
function watchVouchers(broker: MemoryBroker): Map<number, Set<bigint>> {
  const published = new Map<number, Set<bigint>>();
  broker.onPublish = (topic, payload) => {
    if (!topic.includes('/up/')) return;
    const decoded = decodeMessage(payload, 'up');
    if (!decoded.ok || decoded.message.type !== MessageType.Voucher) return;
    const amounts = published.get(decoded.message.seq) ?? new Set<bigint>();
    amounts.add(decoded.message.amountBaseUnits);
    published.set(decoded.message.seq, amounts);
  };
  return published;
}

/** A store whose saves can hang (a slow flash write cut short) or fail (a worn one). */
class FlakyStore implements DeviceStateStore {
  durable: PersistedDevice | undefined;
  hang = false;
  fail = false;
  async load(): Promise<PersistedDevice | undefined> {
    return this.durable === undefined ? undefined : structuredClone(this.durable);
  }
  save(state: PersistedDevice): Promise<void> {
    if (this.fail) return Promise.reject(new Error('EIO: write failed'));
    if (this.hang) return new Promise<void>(() => undefined);
    this.durable = structuredClone(state);
    return Promise.resolve();
  }
}

it('never re-sends a voucher whose save has not completed: no seq signed for two amounts across a power cut', async () => {
  const { hub, broker, device } = await setUp();
  const published = watchVouchers(broker);
  const store = new FlakyStore();
  const link = broker.link();
  const before = await device(store, { link });
  const channel = await openOn(before);
  await channel.pay(10);
  await channel.whenAcked(1);

  store.hang = true; // the save of seq 2 never completes: the power goes first
  void channel.pay(5);
  link.bounce(); // the broker link comes back meanwhile: the device re-sends what it has
  await new Promise((resolve) => setTimeout(resolve, 100));
  await before.shutdown();

  store.hang = false;
  const after = await device(store);
  const resumed = after.channels.get(channel.channelIdHex)!;
  expect(resumed.seq).toBe(1);
  await resumed.pay(1); // seq 2 again, now for 11
  await resumed.whenAcked(2);
  expect([...published].filter(([, amounts]) => amounts.size > 1)).toEqual([]);
  expect(hub.counters.refusedByStatus.size).toBe(0);
});

it('after a reboot, re-sends an unacknowledged voucher until the hub acknowledges it', async () => {
  const { broker, device } = await setUp();
  const store = new MemoryStateStore();
  const before = await device(store);
  const channel = await openOn(before);
  broker.copies = (topic) => (topic.includes('/up/') ? 0 : 1); // saved, then lost on its way
  await channel.pay(10);
  await before.shutdown();

  let dropped = 0;
  broker.copies = (topic, payload) => {
    const decoded = topic.includes('/up/') ? decodeMessage(payload, 'up') : undefined;
    if (decoded?.ok && decoded.message.type === MessageType.Voucher && dropped === 0) {
      dropped++; // the re-send at reboot is lost too
      return 0;
    }
    return 1;
  };
  const after = await device(store);
  expect(dropped).toBe(1);
  const resumed = after.channels.get(channel.channelIdHex)!;
  expect(await resumed.whenAcked(1)).toEqual({ seq: 1, amountBaseUnits: 10n });
});

it('whenAcked on a closed channel, or past a voucher refused for good, ends at once', async () => {
  const { hub, broker, device } = await setUp();
  const made = await device(new MemoryStateStore());
  const channel = await openOn(made);
  await channel.pay(10);
  await channel.whenAcked(1);
  broker.copies = (topic) => (topic.includes('/up/') ? 0 : 1); // seq 2 never reaches the hub
  await channel.pay(5);
  await hub.closeChannel(channel.channelId); // the operator closes on seq 1
  await waitFor(() => channel.status === 'closed', 5000, 'the CloseReceipt');
  await expect(channel.whenAcked()).rejects.toMatchObject({ status: Status.CHANNEL_CLOSED });
  expect(await channel.whenAcked(1)).toEqual({ seq: 1, amountBaseUnits: 10n });
});

it('a failed save with no caller to tell is reported on the device, not thrown into the void', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  cleanups.push(async () => process.off('unhandledRejection', onUnhandled));
  const { hub, device } = await setUp();
  const store = new FlakyStore();
  const made = await device(store);
  const saveFailures: Error[] = [];
  made.on('saveFailed', (error) => saveFailures.push(error));
  const channel = await openOn(made);
  await channel.pay(10);
  await channel.whenAcked(1);
  store.fail = true;
  await hub.closeChannel(channel.channelId); // the CloseReceipt's save fails
  await waitFor(() => saveFailures.length > 0, 5000, 'the save failure');
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(channel.status).toBe('closed');
  expect(saveFailures[0]!.message).toContain('EIO');
  expect(unhandled).toEqual([]);
});

it('an open whose state cannot be saved is refused to its caller with the store error', async () => {
  const { device } = await setUp();
  const store = new FlakyStore();
  const made = await device(store);
  store.fail = true;
  await expect(openOn(made)).rejects.toThrow('EIO');
});

it('signs nothing once the channel is expired or closed, and leaves the usage unrecorded', async () => {
  const { hub, broker, device } = await setUp();
  const published = watchVouchers(broker);
  let aheadMs = 0;
  const made = await device(new MemoryStateStore(), { nowMs: () => Date.now() + aheadMs });
  const channel = await made.open({
    payeeId: 'grid',
    asset: 'USD',
    capacityBaseUnits: 10_000n,
    lifetimeS: 60,
    price,
  });
  await channel.pay(10);
  await channel.whenAcked(1);
  aheadMs = 61_000; // the device's clock passes expiresAtUnixS
  await expect(channel.pay(5)).rejects.toThrow(/expired/);
  await expect(channel.payBaseUnits(5n)).rejects.toThrow(/expired/);
  expect({ seq: channel.seq, usage: channel.usageUnits }).toEqual({ seq: 1, usage: 10n });
  aheadMs = 0;
  await hub.closeChannel(channel.channelId);
  await waitFor(() => channel.status === 'closed', 5000, 'the CloseReceipt');
  await expect(channel.pay(5)).rejects.toThrow(/closed/);
  expect({ seq: channel.seq, usage: channel.usageUnits }).toEqual({ seq: 1, usage: 10n });
  expect([...published.keys()]).toEqual([1]);
});

it('a voucher whose save failed once leaves with the next save, and the close settles it', async () => {
  const { device } = await setUp();
  const store = new FlakyStore();
  const made = await device(store, { resendMs: 50, timeoutMs: 3000 });
  const channel = await openOn(made);
  await channel.pay(10);
  await channel.whenAcked(1);
  store.fail = true; // one transient write error: voucher 2 is signed but not saved
  await expect(channel.pay(5)).rejects.toThrow('EIO');
  store.fail = false;
  // No other save comes: the close itself saves voucher 2, then sends it before its request.
  const receipt = await channel.close();
  expect({ seq: receipt.seq, amount: receipt.amountBaseUnits }).toEqual({ seq: 2, amount: 15n });
  expect(store.durable!.channels[0]!.seq).toBe(2);
});

it('whenAcked for a voucher the hub settled at its close waits for the CloseReceipt', async () => {
  const { hub, broker, device } = await setUp();
  const made = await device(new MemoryStateStore(), { resendMs: 50 });
  const channel = await openOn(made);
  await channel.pay(10);
  await channel.whenAcked(1);
  // The hub's answers are lost for a while; then everything but the CloseReceipt gets through.
  let downOpen = false;
  let closeReceiptsOpen = false;
  broker.copies = (topic, payload) => {
    if (!topic.includes('/down/')) return 1;
    if (!downOpen) return 0;
    const decoded = decodeMessage(payload, 'down');
    const isCloseReceipt = decoded.ok && decoded.message.type === MessageType.CloseReceipt;
    return isCloseReceipt && !closeReceiptsOpen ? 0 : 1;
  };
  await channel.pay(5); // voucher 2 reaches the hub and is made durable; its Ack is lost
  const slot = hub.table.slotOf(channel.channelId)!;
  await waitFor(() => hub.table.durableSeq[slot] === 2, 5000, 'voucher 2 durable');
  expect((await hub.closeChannel(channel.channelId)).ok).toBe(true); // closes on voucher 2
  downOpen = true; // a re-sent voucher 2 now draws CHANNEL_CLOSED: the device marks it closed
  await waitFor(() => channel.status === 'closed', 5000, 'the CHANNEL_CLOSED refusal');
  const acked = channel.whenAcked(2);
  closeReceiptsOpen = true;
  expect(await acked).toEqual({ seq: 2, amountBaseUnits: 15n });
});
