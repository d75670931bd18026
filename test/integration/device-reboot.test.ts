import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { FileStateStore } from '../../src/device/file-state-store.js';
import { InlineVerifier } from '../../src/hub/inline-verifier.js';
import { Status } from '../../src/protocol/status.js';
import type { Hub } from '../../src/hub/hub.js';
import { fund, makeDevice, startTestHub, waitFor } from '../helpers/fixtures.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('a rebooted device resumes its channel: no seq reused, no usage forgotten', async () => {
  const { hub, broker, ledger, hubKeyPair } = await startTestHub();
  cleanups.push(() => (hub as Hub).stop());
  const dir = await mkdtemp(join(tmpdir(), 'farthing-device-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const statePath = join(dir, 'device.json');
  const keyPair = generateKeyPair();
  await fund(ledger, keyPair.publicKey, 1_000_000n);

  // 3 base units per 2 usage units: every odd unit of usage leaves half a base unit owed.
  const before = await makeDevice(broker, hubKeyPair.publicKey, {
    keyPair,
    store: new FileStateStore(statePath),
  });
  const opened = await before.open({
    payeeId: 'grid',
    asset: 'USD',
    capacityBaseUnits: 10_000n,
    lifetimeS: 3600,
    price: { baseUnits: 3n, perUnits: 2n },
  });
  // Usage 1..7 owes 1, 3, 4, 6, 7, 9, 10: seven vouchers; the last half unit stays owed.
  for (let i = 0; i < 7; i++) await opened.pay(1);
  await opened.whenAcked();
  expect({ seq: opened.seq, amount: opened.amountBaseUnits, usage: opened.usageUnits }).toEqual({
    seq: 7,
    amount: 10n,
    usage: 7n,
  });
  await before.shutdown(); // power cut: nothing but the state file survives

  const persisted = JSON.parse(await readFile(statePath, 'utf8')) as {
    channels: { seq: number; usageUnits: string }[];
  };
  expect(persisted.channels[0]).toMatchObject({ seq: 7, usageUnits: '7' });

  const after = await makeDevice(broker, hubKeyPair.publicKey, {
    keyPair,
    store: new FileStateStore(statePath),
  });
  const resumed = after.channels.get(opened.channelIdHex)!;
  expect(resumed).toBeDefined();
  expect({ seq: resumed.seq, amount: resumed.amountBaseUnits, usage: resumed.usageUnits }).toEqual({
    seq: 7,
    amount: 10n,
    usage: 7n,
  });
  // The half unit owed before the reboot completes with the next unit of usage.
  const next = await resumed.pay(1); // usage 8 → owed 12
  expect(next).toEqual({ seq: 8, amountBaseUnits: 12n });
  await resumed.whenAcked(8);
  const close = await resumed.close();
  expect(close).toMatchObject({ seq: 8, amountBaseUnits: 12n, refundBaseUnits: 9_988n });
  // The hub never saw a seq twice with different amounts.
  expect(hub.counters.refusedByStatus.size).toBe(0);
  await after.shutdown();
});

it('a flood of vouchers waiting for signature checks is answered HUB_BUSY, then retried', async () => {
  // A verifier that can hold batches back, so the queue in front of it fills up.
  const inner = new InlineVerifier();
  let holding = false;
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  const verifier = {
    verifyBatch: async (items: Parameters<InlineVerifier['verifyBatch']>[0]) => {
      if (holding) await gate;
      return inner.verifyBatch(items);
    },
    close: () => inner.close(),
  };
  const { hub, broker, ledger, hubKeyPair } = await startTestHub(
    { maxPendingVerifications: 4 },
    { verifier },
  );
  cleanups.push(() => (hub as Hub).stop());
  const devices = await Promise.all(
    Array.from({ length: 3 }, () => makeDevice(broker, hubKeyPair.publicKey)),
  );
  for (const d of devices) await fund(ledger, d.publicKey, 1_000_000n);
  const channels = await Promise.all(
    devices.map((d) =>
      d.open({
        payeeId: 'p',
        asset: 'USD',
        capacityBaseUnits: 100_000n,
        lifetimeS: 3600,
        price: { baseUnits: 1n, perUnits: 1n },
      }),
    ),
  );

  holding = true;
  gate = new Promise<void>((resolve) => (release = resolve));
  for (let i = 0; i < 5; i++) for (const channel of channels) await channel.pay(10);
  await waitFor(
    () => (hub.counters.refusedByStatus.get(Status.HUB_BUSY) ?? 0) >= 5,
    5000,
    'HUB_BUSY answers',
  );
  // Bounded: never more waiting than the limit, whatever arrives.
  expect(hub.pendingVerifications).toBeLessThanOrEqual(4);

  holding = false;
  release();
  // Devices re-send their newest voucher after HUB_BUSY; every channel ends fully acknowledged.
  for (const channel of channels) {
    await channel.whenAcked(5);
    expect(channel.ackedAmountBaseUnits).toBe(50n);
  }
  for (const d of devices) await d.shutdown();
});
