/**
 * The baseline the benchmark compares against: what a straightforward hub would do. It
 * verifies each voucher inline with @noble/ed25519 (pure JS, on the one event-loop thread) and
 * writes each one with its own synchronous LevelDB put before acknowledging it. No batching,
 * no worker threads, no group commit. It checks no channel state at all, so it does strictly
 * less work per voucher than the real hub apart from those two choices.
 *
 * Run as a child process: node dist/bench/naive-hub.js <brokerUrl> <hubId> <dataDir>
 */
import { Level } from 'level';
import { verifyNoble } from '../src/crypto/noble-path.js';
import {
  decodeMessage,
  downTopic,
  encodeMessage,
  keyFromId,
  MessageType,
  parseTopic,
  upWildcard,
} from '../src/protocol/index.js';
import { connectMqttLink } from '../src/transport/mqtt-link.js';

const [brokerUrl, hubId, dataDir] = process.argv.slice(2) as [string, string, string];
const db = new Level<string, Uint8Array>(dataDir, { valueEncoding: 'view' });
await db.open();
const link = await connectMqttLink({
  url: brokerUrl,
  clientId: `naive-hub-${process.pid}`,
  maxPending: 1_000_000,
});
const queue: { topic: string; payload: Uint8Array }[] = [];
let draining = false;

link.onMessage((topic, payload) => {
  queue.push({ topic, payload });
  if (!draining) void drain();
});

/** One voucher at a time: verify, write with fsync, acknowledge. */
async function drain(): Promise<void> {
  draining = true;
  while (queue.length > 0) {
    const { topic, payload } = queue.shift()!;
    const parsed = parseTopic(topic);
    const deviceKey = parsed === undefined ? undefined : keyFromId(parsed.id);
    const decoded = decodeMessage(payload, 'up');
    if (deviceKey === undefined || !decoded.ok || decoded.message.type !== MessageType.Voucher)
      continue;
    const voucher = decoded.message;
    if (!verifyNoble(decoded.signed!.signature, decoded.signed!.toBeSigned, deviceKey)) continue;
    await db.put(Buffer.from(voucher.channelId).toString('hex'), payload, { sync: true });
    const ack = encodeMessage({
      type: MessageType.Ack,
      channelId: voucher.channelId,
      seq: voucher.seq,
      amountBaseUnits: voucher.amountBaseUnits,
    });
    void link.publish(downTopic(hubId, parsed!.id), ack, 1).catch(() => undefined);
  }
  draining = false;
}

await link.subscribe(upWildcard(hubId), 1);
process.stdout.write('naive hub ready\n');
process.on('SIGTERM', () => {
  void link
    .close()
    .then(() => db.close())
    .finally(() => process.exit(0));
});
