import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { connectDevice } from '../../src/device/connect.js';
import type { Device } from '../../src/device/device.js';
import { channelKey, decodeChannelRecord } from '../../src/hub/records.js';
import {
  channelAccount,
  deviceAccount,
  HUB_FEES,
  payeeAccount,
} from '../../src/ledger/accounts.js';
import { LevelLedger } from '../../src/ledger/level-ledger.js';
import { CloseReason } from '../../src/protocol/messages.js';
import { keyFromId } from '../../src/protocol/topics.js';
import { startHubChild, type HubChild } from '../helpers/hub-process.js';
import { freePort } from '../helpers/ports.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

it('settles and refunds, on restart, a channel that expired while the hub was down', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'farthing-expiry-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const args = [
    '--data',
    dataDir,
    '--listen',
    `127.0.0.1:${port}`,
    '--auto-fund',
    '1000000',
    '--fee-bps',
    '200',
    '--min-lifetime-s',
    '1',
    '--log-level',
    'warn',
  ];
  let hub: HubChild = await startHubChild(args);
  cleanups.push(async () => {
    if (hub.child.exitCode === null) hub.child.kill('SIGKILL');
  });
  const device: Device = await connectDevice({
    url: `mqtt://127.0.0.1:${port}`,
    keyPair: generateKeyPair(),
    hubKey: keyFromId(hub.hubId)!,
    cryptoPath: 'node',
    resendMs: 100,
    reconnectPeriodMs: 50,
  });
  cleanups.push(() => device.shutdown());
  const channel = await device.open({
    payeeId: 'meter-co',
    asset: 'USD',
    capacityBaseUnits: 100_000n,
    lifetimeS: 3,
    price: { baseUnits: 700n, perUnits: 1n },
  });
  for (let i = 0; i < 20; i++) await channel.pay(1);
  await channel.whenAcked(20);
  const closed = new Promise((resolve) => channel.on('closed', resolve));

  // The hub dies, the channel's expiry passes, the hub comes back.
  hub.child.kill('SIGKILL');
  await hub.exited;
  await new Promise((resolve) =>
    setTimeout(resolve, (channel.expiresAtUnixS + 1) * 1000 - Date.now()),
  );
  hub = await startHubChild(args);

  // The device learns of the close when its re-sent voucher is refused, and fetches the receipt.
  await closed;
  expect(channel.closeReceipt).toMatchObject({
    reason: CloseReason.Expiry,
    seq: 20,
    amountBaseUnits: 14_000n,
    refundBaseUnits: 86_000n,
    feeBaseUnits: 280n,
    payeeBaseUnits: 13_720n,
  });
  hub.child.kill('SIGTERM');
  expect(await hub.exited).toEqual({ code: 0, signal: null });

  const ledger = new LevelLedger({ path: join(dataDir, 'ledger') });
  await ledger.open();
  cleanups.push(() => ledger.close());
  const record = decodeChannelRecord((await ledger.record(channelKey(channel.channelIdHex)))!);
  expect(record).toMatchObject({
    status: 'closed',
    closeReason: CloseReason.Expiry,
    finalSeq: 20,
    finalAmountBaseUnits: 14_000n,
    refundBaseUnits: 86_000n,
  });
  expect(await ledger.balance(channelAccount(channel.channelIdHex), 'USD')).toBe(0n);
  expect(await ledger.balance(deviceAccount(device.deviceId), 'USD')).toBe(1_000_000n - 14_000n);
  expect(await ledger.balance(payeeAccount('meter-co'), 'USD')).toBe(13_720n);
  expect(await ledger.balance(HUB_FEES, 'USD')).toBe(280n);
}, 30_000);
