/**
 * Aggregated payouts reach every payee over the threshold, however the money reached it: by a
 * settlement, by a close, or before a crash that came between a settlement and its payout. And
 * a settlement that fails (on its own, when a commit crossed the threshold) is logged and
 * retried, never an unhandled rejection that would end the hub's process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FarthingError } from '../../src/errors.js';
import type { Hub } from '../../src/hub/hub.js';
import type { HubSettings } from '../../src/hub/settings.js';
import { externalAccount, payeeAccount } from '../../src/ledger/accounts.js';
import { MemoryLedger } from '../../src/ledger/memory-ledger.js';
import { TransferCode, type CommitRequest, type Ledger } from '../../src/ledger/types.js';
import { fund, makeDevice, startTestHub } from '../helpers/fixtures.js';

const price = { baseUnits: 1000n, perUnits: 1n };
const settings: Partial<HubSettings> = {
  feeBasisPoints: 0,
  settleIntervalMs: 600_000,
  settleThresholdBaseUnits: 10n ** 15n,
  payoutThresholdBaseUnits: 5_000n,
};
let running: Hub[] = [];
afterEach(async () => {
  for (const hub of running) await hub.stop();
  running = [];
});

/** A MemoryLedger whose commits fail while `failing(request)` says so. */
function failingLedger(failing: (request: CommitRequest) => boolean): Ledger {
  const inner = new MemoryLedger();
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'commit')
        return (request: CommitRequest) =>
          failing(request)
            ? Promise.reject(new FarthingError('LEDGER_UNAVAILABLE', 'a disk hiccup'))
            : target.commit(request);
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

/** A device of this hub with a USD channel to `payeeId` whose vouchers 1–10 (10 000) are acknowledged. */
async function streamTenThousand(
  started: Awaited<ReturnType<typeof startTestHub>>,
  payeeId = 'acme',
) {
  const device = await makeDevice(started.broker, started.hubKeyPair.publicKey);
  await fund(started.ledger, device.publicKey, 1_000_000n);
  const channel = await device.open({
    payeeId,
    asset: 'USD',
    capacityBaseUnits: 100_000n,
    lifetimeS: 3600,
    price,
  });
  for (let i = 0; i < 10; i++) await channel.pay(1);
  await channel.whenAcked(10);
  return { device, channel };
}

describe('aggregated payouts', () => {
  it('pay out a payee whose balance reached the threshold through a close', async () => {
    const started = await startTestHub(settings);
    running.push(started.hub);
    const { device, channel } = await streamTenThousand(started);
    await channel.close();
    expect(await started.ledger.balance(payeeAccount('acme'), 'USD')).toBe(10_000n);
    expect((await started.hub.settleNow()).payouts).toBe(1);
    expect(await started.ledger.balance(payeeAccount('acme'), 'USD')).toBe(0n);
    expect(await started.ledger.balance(externalAccount('payouts'), 'USD')).toBe(10_000n);
    await device.shutdown();
  });

  it("one payee's failing payout holds up no other, and is retried at the next run", async () => {
    let failAcme = true;
    const ledger = failingLedger(
      (request) =>
        failAcme &&
        request.transfers.some(
          (t) => t.code === TransferCode.Payout && t.debitAccount === 'payee/acme',
        ),
    );
    const started = await startTestHub(settings, { ledger });
    running.push(started.hub);
    const acme = await streamTenThousand(started);
    const other = await streamTenThousand(started, 'zeta');
    await expect(started.hub.settleNow()).rejects.toThrow(/disk hiccup/);
    expect(await ledger.balance(payeeAccount('zeta'), 'USD')).toBe(0n); // paid out regardless
    expect(await ledger.balance(payeeAccount('acme'), 'USD')).toBe(10_000n);
    failAcme = false;
    expect((await started.hub.settleNow()).payouts).toBe(1);
    expect(await ledger.balance(payeeAccount('acme'), 'USD')).toBe(0n);
    expect(await ledger.balance(externalAccount('payouts'), 'USD')).toBe(20_000n);
    await acme.device.shutdown();
    await other.device.shutdown();
  });

  it('pay out after a crash between the settlement commit and the payout commit', async () => {
    // Every payout commit fails until the "crash": the process dies before any lands.
    let crashed = false;
    const ledger = failingLedger(
      (request) => !crashed && request.transfers.some((t) => t.code === TransferCode.Payout),
    );
    const first = await startTestHub(settings, { ledger });
    const { device } = await streamTenThousand(first);
    await expect(first.hub.settleNow()).rejects.toThrow(/disk hiccup/);
    await device.shutdown();
    await first.hub.stop().catch(() => undefined);
    crashed = true;
    expect(await ledger.balance(payeeAccount('acme'), 'USD')).toBe(10_000n);
    // The hub restarts on the same ledger: the payee is over the threshold, settled already.
    const second = await startTestHub(settings, { ledger, keyPair: first.hubKeyPair });
    running.push(second.hub);
    expect((await second.hub.settleNow()).payouts).toBe(1);
    expect(await ledger.balance(payeeAccount('acme'), 'USD')).toBe(0n);
    expect(await ledger.balance(externalAccount('payouts'), 'USD')).toBe(10_000n);
  });
});

it('a settlement started by the threshold that fails is logged and retried, not left unhandled', async () => {
  let failSettlements = 1;
  const ledger = failingLedger((request) => {
    if (failSettlements === 0) return false;
    if (!request.transfers.some((t) => t.code === TransferCode.SettlePayee)) return false;
    failSettlements--;
    return true;
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const started = await startTestHub(
      { settleThresholdBaseUnits: 1n, settleIntervalMs: 600_000 },
      { ledger },
    );
    running.push(started.hub);
    const { device } = await streamTenThousand(started);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failSettlements).toBe(0); // the threshold's settlement ran, and failed
    await device.shutdown();
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  expect(unhandled).toEqual([]);
});
