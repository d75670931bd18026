/**
 * Messages naming a channel the hub does not hold in memory cost a ledger read each (is it
 * closed, or unknown?). A made-up channel id costs its sender nothing, so those reads are bounded
 * across every message type, and a failed read is a retryable HUB_FAILURE, not a verdict.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { generateKeyPair, signerFor } from '../../src/crypto/keys.js';
import { MAX_UNKNOWN_LOOKUPS } from '../../src/hub/refusals.js';
import type { Hub } from '../../src/hub/hub.js';
import { MemoryLedger } from '../../src/ledger/memory-ledger.js';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType, type Message } from '../../src/protocol/messages.js';
import { Status } from '../../src/protocol/status.js';
import { keyId, upTopic } from '../../src/protocol/topics.js';
import { startTestHub, waitFor } from '../helpers/fixtures.js';

/** A ledger whose record reads take a while (a busy disk) and count how many are in flight. */
class SlowReads extends MemoryLedger {
  inFlight = 0;
  mostInFlight = 0;
  failing = false;
  override async record(key: string): Promise<Uint8Array | undefined> {
    this.inFlight++;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, 30));
      if (this.failing) throw new Error('a disk read failed');
      return await super.record(key);
    } finally {
      this.inFlight--;
    }
  }
}

let running: Hub | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function hubWithSlowReads() {
  const ledger = new SlowReads();
  const { hub, hubKeyPair } = await startTestHub({}, { ledger });
  running = hub;
  const device = generateKeyPair();
  const sign = signerFor(device, 'node');
  const topic = upTopic(keyId(hubKeyPair.publicKey), keyId(device.publicKey));
  const send = (message: Message, signed: boolean): void =>
    hub.handle(topic, encodeMessage(message, signed ? sign : undefined));
  const refused = (status: number): number => hub.counters.refusedByStatus.get(status) ?? 0;
  return { hub, ledger, send, refused };
}

it('reads for unknown channels stay bounded across vouchers, receipt requests and top-ups', async () => {
  const { ledger, send, refused } = await hubWithSlowReads();
  const each = 400;
  for (let i = 0; i < each; i++) {
    const channelId = randomBytes(16);
    send({ type: MessageType.ReceiptRequest, channelId }, false);
    send({ type: MessageType.TopUp, channelId, capacityBaseUnits: 5n }, true);
    send({ type: MessageType.Voucher, channelId, seq: 1, amountBaseUnits: 1n }, true);
  }
  const answered = (): number => refused(Status.CHANNEL_UNKNOWN) + refused(Status.HUB_BUSY);
  await waitFor(() => answered() === 3 * each, 10_000, 'every message answered');
  expect(ledger.mostInFlight).toBeLessThanOrEqual(MAX_UNKNOWN_LOOKUPS);
  expect(refused(Status.HUB_BUSY)).toBeGreaterThan(0);
  expect(refused(Status.CHANNEL_UNKNOWN)).toBeGreaterThan(0);
});

it('a failed read answers HUB_FAILURE, which a device retries, not CHANNEL_UNKNOWN', async () => {
  const { ledger, send, refused } = await hubWithSlowReads();
  ledger.failing = true;
  const channelId = randomBytes(16);
  send({ type: MessageType.ReceiptRequest, channelId }, false);
  send({ type: MessageType.TopUp, channelId, capacityBaseUnits: 5n }, true);
  send({ type: MessageType.Voucher, channelId, seq: 1, amountBaseUnits: 1n }, true);
  await waitFor(() => refused(Status.HUB_FAILURE) === 3, 5000, 'three HUB_FAILURE answers');
  expect(refused(Status.CHANNEL_UNKNOWN)).toBe(0);
});
