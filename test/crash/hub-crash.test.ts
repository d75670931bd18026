import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRng } from '../../device-sim/rng.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { connectDevice } from '../../src/device/connect.js';
import type { Device } from '../../src/device/device.js';
import type { DeviceChannel } from '../../src/device/device-channel.js';
import { channelKey, decodeChannelRecord } from '../../src/hub/records.js';
import { channelAccount, HUB_FEES, isExternal, payeeAccount } from '../../src/ledger/accounts.js';
import { LevelLedger } from '../../src/ledger/level-ledger.js';
import { TransferCode, type Transfer } from '../../src/ledger/types.js';
import { keyFromId } from '../../src/protocol/topics.js';
import { startHubChild, type HubChild } from '../helpers/hub-process.js';
import { freePort } from '../helpers/ports.js';

/**
 * The hub runs as a child process on LevelDB while devices stream; it is SIGKILLed at seeded
 * random moments — from outside at random times, and from inside (FARTHING_CRASH_POINTS)
 * just before or just after group commits, settlements, opens, top-ups and closes — and
 * restarted each time. Afterwards every channel is closed and the ledger must show that no
 * acknowledged voucher was lost and nothing was settled twice.
 *
 * FARTHING_CRASH_KILLS sets the number of kills (default 50; the long mode runs 1000).
 */
const KILLS = Number(process.env.FARTHING_CRASH_KILLS ?? '50');
const SEED = Number(process.env.FARTHING_CRASH_SEED ?? '20261127');
const DEVICES = 8;
const CAPACITY = 5_000_000n;
const price = { baseUnits: 1_000n, perUnits: 1n };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describe(`hub crash recovery (${KILLS} SIGKILLs, seed ${SEED})`, () => {
  it(
    'loses no acknowledged voucher and settles nothing twice',
    async () => {
      const random = makeRng(SEED);
      const dataDir = await mkdtemp(join(tmpdir(), 'farthing-crash-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const port = await freePort();
      const hubArgs = [
        '--data',
        dataDir,
        '--listen',
        `127.0.0.1:${port}`,
        '--auto-fund',
        '1000000000',
        '--settle-interval-ms',
        '40',
        '--group-commit-ms',
        '2',
        '--fee-bps',
        '137',
        '--log-level',
        'warn',
      ];
      let hub: HubChild | undefined;
      cleanups.push(async () => {
        if (hub !== undefined && hub.child.exitCode === null) hub.child.kill('SIGKILL');
      });
      // Odd cycles: no injected faults. Group commits come every 2 ms and settlements every
      // 40 ms, so where both may fail the group commit nearly always fails first: every fourth
      // cycle leaves group commits alone, so that kills inside settlement commits happen too.
      const crashEnv = (cycle: number): NodeJS.ProcessEnv =>
        cycle % 2 === 1
          ? {}
          : {
              FARTHING_CRASH_POINTS:
                cycle % 4 === 0
                  ? 'settlement:0.25,open:0.2,topup:0.2,close:0.3'
                  : 'group-commit:0.05,settlement:0.08,open:0.2,topup:0.2,close:0.3',
              FARTHING_CRASH_SEED: String(SEED + cycle),
            };

      hub = await startHubChild(hubArgs);
      const hubKey = keyFromId(hub.hubId)!;

      // The fleet: devices that stream, top up and now and then replace their channel.
      const devices: Device[] = [];
      const channels: DeviceChannel[] = [];
      const highestAcked = new Map<string, bigint>();
      const watch = (channel: DeviceChannel): void => {
        channels.push(channel);
        const note = (amount: bigint): void => {
          if (amount > (highestAcked.get(channel.channelIdHex) ?? 0n))
            highestAcked.set(channel.channelIdHex, amount);
        };
        channel.on('ack', (ack) => note(ack.amountBaseUnits));
        channel.on('receipt', (receipt) => note(receipt.amountBaseUnits));
      };
      for (let i = 0; i < DEVICES; i++) {
        const device = await connectDevice({
          url: `mqtt://127.0.0.1:${port}`,
          keyPair: generateKeyPair(),
          hubKey,
          cryptoPath: 'node',
          resendMs: 150,
          timeoutMs: 120_000,
          reconnectPeriodMs: 50,
        });
        devices.push(device);
        cleanups.push(() => device.shutdown());
      }
      const current = new Map<Device, DeviceChannel>();
      const openFor = async (device: Device): Promise<void> => {
        const channel = await device.open({
          payeeId: `payee-${devices.indexOf(device) % 3}`,
          asset: 'USD',
          capacityBaseUnits: CAPACITY,
          lifetimeS: 3600,
          price,
        });
        watch(channel);
        current.set(device, channel);
      };
      await Promise.all(devices.map(openFor));

      let streaming = true;
      const busy = new Set<Device>();
      const streamer = (async () => {
        while (streaming) {
          for (const device of devices) {
            if (busy.has(device)) continue;
            const channel = current.get(device)!;
            const step = random();
            if (step < 0.002) {
              // Replace the channel: close cooperatively and open a new one (both cross crashes).
              busy.add(device);
              void channel
                .close()
                .then(() => openFor(device))
                .catch(() => undefined) // the device was shut down mid-request
                .finally(() => busy.delete(device));
            } else if (channel.amountBaseUnits + 5_000n > channel.capacityBaseUnits) {
              busy.add(device);
              void channel
                .topUp(channel.capacityBaseUnits + CAPACITY)
                .finally(() => busy.delete(device));
            } else {
              await channel.pay(1 + Math.floor(random() * 3));
            }
          }
          await sleep(10);
        }
      })();

      // Kill and restart.
      let selfKills = 0;
      const injectedKills = new Map<string, number>();
      for (let cycle = 1; cycle <= KILLS; cycle++) {
        const runMs = 150 + Math.floor(random() * 450);
        const ended = await Promise.race([
          hub.exited.then(() => 'self' as const),
          sleep(runMs).then(() => 'timer' as const),
        ]);
        if (ended === 'timer') hub.child.kill('SIGKILL');
        else selfKills++;
        const exit = await hub.exited;
        expect(exit.signal).toBe('SIGKILL');
        for (const match of hub
          .stderr()
          .matchAll(/fault injection: SIGKILL (before|after) (\S+) commit/g)) {
          injectedKills.set(match[2]!, (injectedKills.get(match[2]!) ?? 0) + 1);
        }
        hub = await startHubChild(hubArgs, crashEnv(cycle));
      }
      // One last clean run: no more faults.
      hub.child.kill('SIGKILL');
      await hub.exited;
      hub = await startHubChild(hubArgs);

      streaming = false;
      await streamer;
      while (busy.size > 0) await sleep(20);
      // Everything each device signed is acknowledged once the hub is stable again.
      for (const channel of channels) {
        if (channel.status === 'open') await channel.whenAcked(channel.seq);
      }
      const closeReceipts = await Promise.all(
        channels.filter((c) => c.status === 'open').map((c) => c.close()),
      );
      expect(closeReceipts.length).toBe(DEVICES);

      hub.child.kill('SIGTERM');
      expect(await hub.exited).toEqual({ code: 0, signal: null });
      for (const device of devices) await device.shutdown();

      // The books.
      const ledger = new LevelLedger({ path: join(dataDir, 'ledger') });
      await ledger.open();
      cleanups.push(() => ledger.close());
      const allTransfers: Transfer[] = [];
      for (let after: number | undefined = 0; after !== undefined;) {
        const page = await ledger.transfers({ after, limit: 1000 });
        allTransfers.push(...page.items);
        after = page.next;
      }
      expect(new Set(allTransfers.map((t) => t.id)).size).toBe(allTransfers.length);

      let feesOwed = 0n;
      const payeesOwed = new Map<string, bigint>();
      for (const channel of channels) {
        const value = await ledger.record(channelKey(channel.channelIdHex));
        expect(value, `record of ${channel.channelIdHex}`).toBeDefined();
        const record = decodeChannelRecord(value!);
        expect(record.status).toBe('closed');
        // No acknowledged voucher lost, and the device's newest voucher is what settled.
        expect(record.finalAmountBaseUnits).toBeGreaterThanOrEqual(
          highestAcked.get(channel.channelIdHex) ?? 0n,
        );
        expect(
          record.finalAmountBaseUnits,
          `channel ${channel.channelIdHex}: closed (reason ${record.closeReason}) at seq ${record.finalSeq}, ` +
            `device newest seq ${channel.seq}, acked ${channel.ackedSeq}, CloseReceipt seq ${channel.closeReceipt?.seq}`,
        ).toBe(channel.amountBaseUnits);
        expect(record.payeeBaseUnits + record.feeBaseUnits).toBe(record.finalAmountBaseUnits);
        expect(record.finalAmountBaseUnits + record.refundBaseUnits).toBe(record.capacityBaseUnits);
        const account = channelAccount(channel.channelIdHex);
        const touching = allTransfers.filter(
          (t) => t.debitAccount === account || t.creditAccount === account,
        );
        const sum = (code: number): bigint =>
          touching
            .filter((t) => t.code === code)
            .reduce((total, t) => total + t.amountBaseUnits, 0n);
        expect(sum(TransferCode.Escrow) + sum(TransferCode.TopUpEscrow)).toBe(
          record.capacityBaseUnits,
        );
        // The escrow moves whole to the payee, however many settlements it took.
        expect(sum(TransferCode.SettlePayee)).toBe(record.finalAmountBaseUnits);
        feesOwed += record.feeBaseUnits;
        const payee = payeeAccount(record.payeeId);
        payeesOwed.set(payee, (payeesOwed.get(payee) ?? 0n) + record.payeeBaseUnits);
        expect(sum(TransferCode.Refund)).toBe(record.refundBaseUnits);
        expect(await ledger.balance(account, 'USD')).toBe(0n);
      }
      // Fees leave payees in per-batch sums: together they are every channel's cumulative fee.
      expect(await ledger.balance(HUB_FEES, 'USD')).toBe(feesOwed);
      for (const [payee, owed] of payeesOwed) expect(await ledger.balance(payee, 'USD')).toBe(owed);
      const balances = await ledger.balances();
      expect(balances.reduce((total, b) => total + b.balanceBaseUnits, 0n)).toBe(0n);
      for (const b of balances)
        if (!isExternal(b.account)) expect(b.balanceBaseUnits).toBeGreaterThanOrEqual(0n);

      console.log(
        `crash test: ${KILLS} kills (${selfKills} from inside: ${JSON.stringify(Object.fromEntries(injectedKills))}), ` +
          `${channels.length} channels, ${allTransfers.length} transfers`,
      );
      // Kills landed inside the windows that matter, not only between them.
      expect(injectedKills.get('group-commit') ?? 0).toBeGreaterThan(0);
      expect(injectedKills.get('settlement') ?? 0).toBeGreaterThan(0);
    },
    Math.max(240_000, KILLS * 6_000),
  );
});
