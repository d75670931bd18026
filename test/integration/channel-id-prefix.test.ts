/**
 * Settlement transfer ids hold a channel id's first 11 bytes (src/hub/ids.ts). A device chooses
 * its nonces, so it could grind two channel ids that share them (about 2^44 hashes) and make the
 * two channels' settlement ids collide: every batch holding either would fail. The hub refuses
 * to open a channel whose id shares its first 11 bytes with any channel it has ever recorded.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { generateKeyPair, signerFor } from '../../src/crypto/keys.js';
import type { Hub } from '../../src/hub/hub.js';
import { channelKey } from '../../src/hub/records.js';
import { channelIdOf } from '../../src/protocol/channel-id.js';
import { toHex } from '../../src/protocol/bytes.js';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { Status } from '../../src/protocol/status.js';
import { keyId, upTopic } from '../../src/protocol/topics.js';
import { fund, startTestHub, waitFor } from '../helpers/fixtures.js';

let running: Hub | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

it('refuses CHANNEL_EXISTS for a channel id sharing its first 11 bytes with a recorded one', async () => {
  const { hub, ledger, hubKeyPair } = await startTestHub();
  running = hub;
  const device = generateKeyPair();
  await fund(ledger, device.publicKey, 1_000_000n);
  const sign = signerFor(device, 'node');
  const topic = upTopic(keyId(hubKeyPair.publicKey), keyId(device.publicKey));
  const open = (nonce: Uint8Array): void =>
    hub.handle(
      topic,
      encodeMessage(
        {
          type: MessageType.OpenRequest,
          hubKey: hubKeyPair.publicKey,
          deviceKey: device.publicKey,
          payeeId: 'acme',
          asset: 'USD',
          capacityBaseUnits: 1_000n,
          expiresAtUnixS: Math.floor(Date.now() / 1000) + 3600,
          nonce,
        },
        sign,
      ),
    );
  const refused = (status: number): number => hub.counters.refusedByStatus.get(status) ?? 0;

  // Stand-in for a ground collision: a recorded channel whose id shares the first 11 bytes.
  const nonce = randomBytes(16);
  const idHex = toHex(channelIdOf(hubKeyPair.publicKey, device.publicKey, nonce));
  const twin = idHex.slice(0, 22) + (idHex.slice(22, 24) === '00' ? '01' : '00') + idHex.slice(24);
  await ledger.commit({
    transfers: [],
    records: [{ key: channelKey(twin), value: Uint8Array.of(0) }],
  });
  open(nonce);
  await waitFor(() => refused(Status.CHANNEL_EXISTS) === 1, 5000, 'the refusal');
  expect(hub.table.size).toBe(0);
  expect(await ledger.balance(`device/${keyId(device.publicKey)}`, 'USD')).toBe(1_000_000n);

  // Any other nonce opens as usual.
  open(randomBytes(16));
  await waitFor(() => hub.table.size === 1, 5000, 'the open');
  expect(refused(Status.CHANNEL_EXISTS)).toBe(1);
});
