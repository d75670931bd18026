/**
 * Codec and signature benchmark, single thread: what one core does per second on the voucher
 * hot path. encode = building a voucher's COSE_Sign1 bytes (with a constant signer, so it
 * measures the codec, not the signature); decode = decodeMessage (size cap, structural check,
 * cbor-x, re-encode comparison, field checks); verify and sign on both crypto paths, over the
 * voucher's real toBeSigned bytes. Each figure: a warm-up, then a fixed-duration loop.
 */
import {
  keyPairFromSeed,
  signerFor,
  verifyNoble,
  verifyNode,
  type KeyPair,
} from '../src/crypto/index.js';
import {
  Limits,
  MessageType,
  channelIdOf,
  decodeMessage,
  encodeMessage,
  type Voucher,
} from '../src/protocol/index.js';

/** Runs `body` repeatedly for `durationMs` after a warm-up; returns calls per second. */
export function opsPerSecond(
  body: (i: number) => void,
  durationMs: number,
  warmUpMs: number,
): number {
  const timed = (ms: number): number => {
    const started = performance.now();
    const deadline = started + ms;
    let calls = 0;
    // Read the clock once per batch so the loop measures the body, not performance.now().
    let batch = 1;
    for (;;) {
      for (let i = 0; i < batch; i++) body(calls + i);
      calls += batch;
      const now = performance.now();
      if (now >= deadline) return calls / ((now - started) / 1000);
      if (batch < 1024 && now - started < ms / 100) batch *= 2;
    }
  };
  timed(warmUpMs);
  return timed(durationMs);
}

/** Keeps results observable so the JIT cannot drop the work. */
let sink = 0;

export async function run(opts: { quick: boolean }): Promise<Record<string, number | string>> {
  const durationMs = opts.quick ? 300 : 1000;
  const warmUpMs = opts.quick ? 100 : 300;
  const measure = (body: (i: number) => void) =>
    Math.round(opsPerSecond(body, durationMs, warmUpMs));

  const hub: KeyPair = keyPairFromSeed(new Uint8Array(32).fill(0x48));
  const device: KeyPair = keyPairFromSeed(new Uint8Array(32).fill(0x44));
  const channelId = channelIdOf(hub.publicKey, device.publicKey, new Uint8Array(16).fill(1));
  const voucherAt = (seq: number): Voucher => ({
    type: MessageType.Voucher,
    channelId,
    seq,
    amountBaseUnits: 1_000_000n + BigInt(seq) * 137n,
  });

  const signNode = signerFor(device, 'node');
  const signNoble = signerFor(device, 'noble');
  let toBeSigned: Uint8Array = new Uint8Array(0);
  const capture = (message: Uint8Array): Uint8Array => {
    toBeSigned = message;
    return signNode(message);
  };
  const bytes = encodeMessage(voucherAt(1_000), capture);
  const signature = bytes.subarray(bytes.length - 64);
  const constantSignature = new Uint8Array(64).fill(7);

  const largest = encodeMessage(
    { type: MessageType.Voucher, channelId, seq: Limits.maxSeq, amountBaseUnits: Limits.maxAmount },
    signNode,
  );

  // Sanity: each path does what it claims before it is timed.
  if (!verifyNode(signature, toBeSigned, device.publicKey)) throw new Error('bench: node verify');
  if (!verifyNoble(signature, toBeSigned, device.publicKey)) throw new Error('bench: noble verify');
  if (!decodeMessage(bytes, 'up').ok) throw new Error('bench: decode');

  const voucherEncodePerS = measure((i) => {
    sink ^= encodeMessage(voucherAt(i + 1), () => constantSignature).length;
  });
  const voucherDecodePerS = measure(() => {
    const decoded = decodeMessage(bytes, 'up');
    sink ^= decoded.ok ? 1 : 0;
  });
  const verifyNodePerS = measure(() => {
    sink ^= verifyNode(signature, toBeSigned, device.publicKey) ? 1 : 0;
  });
  const verifyNoblePerS = measure(() => {
    sink ^= verifyNoble(signature, toBeSigned, device.publicKey) ? 1 : 0;
  });
  const signNodePerS = measure(() => {
    sink ^= signNode(toBeSigned)[0]!;
  });
  const signNoblePerS = measure(() => {
    sink ^= signNoble(toBeSigned)[0]!;
  });
  if (sink === 0x7fffffff) console.log(''); // never true; keeps `sink` live

  return {
    voucherEncodePerS,
    voucherDecodePerS,
    verifyNodePerS,
    verifyNoblePerS,
    signNodePerS,
    signNoblePerS,
    verifyNodeOverNoble: Number((verifyNodePerS / verifyNoblePerS).toFixed(1)),
    voucherBytes: bytes.length,
    voucherMaxBytes: largest.length,
    secondsPerFigure: durationMs / 1000,
  };
}
