import { generateKeyPair, type KeyPair } from '../../src/crypto/keys.js';
import { Device, type DeviceOptions } from '../../src/device/device.js';
import { Hub, type HubOptions } from '../../src/hub/hub.js';
import type { HubSettings } from '../../src/hub/settings.js';
import { MemoryLedger } from '../../src/ledger/memory-ledger.js';
import type { Ledger } from '../../src/ledger/types.js';
import { deviceAccount, externalAccount } from '../../src/ledger/accounts.js';
import { TransferCode } from '../../src/ledger/types.js';
import { keyId } from '../../src/protocol/topics.js';
import { randomBytes } from 'node:crypto';
import { MemoryBroker } from './memory-broker.js';

/** A hub on an in-memory broker and ledger, with fast timers, for protocol-level tests. */
export async function startTestHub(
  settings: Partial<HubSettings> = {},
  options: Partial<HubOptions> = {},
): Promise<{ hub: Hub; broker: MemoryBroker; ledger: Ledger; hubKeyPair: KeyPair }> {
  const broker = new MemoryBroker();
  const ledger = options.ledger ?? new MemoryLedger();
  await ledger.open();
  const hubKeyPair = options.keyPair ?? generateKeyPair();
  const hub = new Hub({
    keyPair: hubKeyPair,
    ledger,
    broker: broker.link(),
    settings: {
      groupCommitIntervalMs: 1,
      settleIntervalMs: 50,
      expiryCheckIntervalMs: 50,
      ...settings,
    },
    ...options,
  });
  await hub.start();
  return { hub, broker, ledger, hubKeyPair };
}

export async function makeDevice(
  broker: MemoryBroker,
  hubKey: Uint8Array,
  options: Partial<DeviceOptions> = {},
): Promise<Device> {
  return Device.create({
    keyPair: options.keyPair ?? generateKeyPair(),
    hubKey,
    link: broker.link(),
    cryptoPath: 'node',
    resendMs: 200,
    timeoutMs: 5000,
    ...options,
  });
}

/** Credits a device's prepaid account from external/bank. */
export async function fund(
  ledger: Ledger,
  devicePublicKey: Uint8Array,
  amountBaseUnits: bigint,
  asset = 'USD',
): Promise<void> {
  await ledger.commit({
    transfers: [
      {
        id: randomBytes(16).toString('hex'),
        debitAccount: externalAccount('bank'),
        creditAccount: deviceAccount(keyId(devicePublicKey)),
        asset,
        amountBaseUnits,
        code: TransferCode.Deposit,
        reference: 'test deposit',
      },
    ],
  });
}

/** Sum of every balance per asset: zero in a double-entry ledger. */
export async function balanceSums(ledger: Ledger): Promise<Map<string, bigint>> {
  const sums = new Map<string, bigint>();
  for (const b of await ledger.balances())
    sums.set(b.asset, (sums.get(b.asset) ?? 0n) + b.balanceBaseUnits);
  return sums;
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
