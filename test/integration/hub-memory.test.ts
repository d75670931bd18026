import { afterEach, describe, expect, it } from 'vitest';
import { startTestHub, makeDevice, fund, balanceSums, waitFor } from '../helpers/fixtures.js';
import {
  channelAccount,
  deviceAccount,
  HUB_FEES,
  payeeAccount,
} from '../../src/ledger/accounts.js';
import { keyId } from '../../src/protocol/topics.js';
import type { Hub } from '../../src/hub/hub.js';

const price = { baseUnits: 1000n, perUnits: 1n };
let running: Hub[] = [];

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
    const channel = await device.open({
      payeeId: 'acme',
      asset: 'USD',
      capacityBaseUnits: 100_000n,
      lifetimeS: 3600,
      price,
    });
    expect(await ledger.balance(deviceAccount(device.deviceId), 'USD')).toBe(900_000n);
    expect(await ledger.balance(channelAccount(channel.channelIdHex), 'USD')).toBe(100_000n);

    for (let i = 0; i < 50; i++) await channel.pay(1);
    const acked = await channel.whenAcked(50);
    expect(acked).toEqual({ seq: 50, amountBaseUnits: 50_000n });

    const receipt = await channel.topUp(200_000n);
    expect(receipt.capacityBaseUnits).toBe(200_000n);
    for (let i = 0; i < 100; i++) await channel.pay(1);
    await channel.whenAcked(150);

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
    const channel = await device.open({
      payeeId: 'acme',
      asset: 'USD',
      capacityBaseUnits: 500_000n,
      lifetimeS: 3600,
      price,
    });
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
});
