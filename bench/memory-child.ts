/**
 * Run with --expose-gc: node --expose-gc dist/bench/memory-child.js <channels>
 * Fills a hub's channel table with that many open channels (as a restart would reload them)
 * and prints heap and RSS growth per channel as JSON.
 */
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '../src/crypto/keys.js';
import { Hub } from '../src/hub/hub.js';
import { MemoryLedger } from '../src/ledger/memory-ledger.js';

const channels = Number(process.argv[2] ?? '100000');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

const idleBroker = {
  connected: true,
  subscribe: async () => undefined,
  publish: async () => undefined,
  onMessage: () => undefined,
};
const hub = new Hub({ keyPair: generateKeyPair(), ledger: new MemoryLedger(), broker: idleBroker });
const payees = Array.from({ length: 100 }, (_, i) => `payee-${i}`);
// Keys and ids are generated up front in one pool so that only the table's own cost counts.
const pool = randomBytes(channels * 48);
gc();
gc();
const heapBefore = process.memoryUsage().heapUsed;
const rssBefore = process.memoryUsage().rss;
for (let i = 0; i < channels; i++) {
  hub.table.insert(
    {
      channelId: pool.subarray(i * 48, i * 48 + 16),
      deviceKey: pool.subarray(i * 48 + 16, i * 48 + 48),
      payeeId: payees[i % payees.length]!,
      asset: 'USD',
      capacityBaseUnits: 1_000_000_000n,
      expiresAtUnixS: 2_000_000_000,
      seq: 1234,
      amountBaseUnits: 56_789n,
      status: 'open',
      closeReason: undefined,
    },
    100,
    50_000n,
    1234,
    56_789n,
  );
}
gc();
gc();
const memory = process.memoryUsage();
process.stdout.write(
  `${JSON.stringify({
    channels: hub.table.size,
    heapBytesPerChannel: Math.round((memory.heapUsed - heapBefore) / channels),
    // The table's typed arrays live outside the V8 heap (RSS counts them with everything else).
    tableArrayBytesPerChannel: Math.round(hub.table.arrayBytes / channels),
    rssBytesPerChannel: Math.round((memory.rss - rssBefore) / channels),
  })}\n`,
);
