import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FarthingError } from '../errors.js';
import { compiledWorkerUrl } from '../worker-url.js';
import { packVerifyBatch, type VerifyRequest, type VerifyResponse } from './verify-batch.js';
import type { SignatureVerifier, VerifyItem } from './ports.js';

export interface VerifyPoolOptions {
  /** Worker threads; default one per core. */
  threads?: number;
  /** Below this many items a batch goes to one worker whole; above, it is split. */
  splitAbove?: number;
}

interface WorkerSlot {
  worker: Worker;
  outstanding: number;
}

interface Waiting {
  resolve: (results: Uint8Array) => void;
  reject: (error: Error) => void;
  slot: WorkerSlot;
  count: number;
}

/**
 * Signature checks on every core: the hub hands batches to worker threads as packed,
 * transferred buffers; each batch is split across the workers when large enough, or given
 * whole to the least busy one. The hub bounds how much waits here (maxPendingVerifications),
 * so a flood answers HUB_BUSY instead of growing memory.
 */
export class VerifyPool implements SignatureVerifier {
  private readonly slots: WorkerSlot[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private closed = false;
  private readonly splitAbove: number;

  constructor(options: VerifyPoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError('threads must be a positive integer');
    // Small: at half load the hub gets bursts of ~20 vouchers; one worker checking a whole
    // burst made the last one wait ~2 ms more, and p99 receipt latency at 50% load went from
    // 24–38 ms to 13–20 ms when bursts above 8 were split (docs/benchmark-history.md).
    this.splitAbove = options.splitAbove ?? 8;
    for (let i = 0; i < threads; i++) this.slots.push(this.spawn());
  }

  get threads(): number {
    return this.slots.length;
  }

  private spawn(): WorkerSlot {
    const worker = new Worker(compiledWorkerUrl(import.meta.url, 'verify-worker.js'));
    const slot: WorkerSlot = { worker, outstanding: 0 };
    worker.on('message', (response: VerifyResponse) => {
      const waiting = this.waiting.get(response.id);
      if (waiting === undefined) return;
      this.waiting.delete(response.id);
      waiting.slot.outstanding -= waiting.count;
      waiting.resolve(response.results);
    });
    worker.on('error', (error) => this.failSlot(slot, error));
    worker.on('exit', (code) => {
      if (!this.closed) this.failSlot(slot, new Error(`verify worker exited with code ${code}`));
    });
    worker.unref();
    return slot;
  }

  /** A worker died: fail what it held and replace it, so one bad batch cannot stop the hub. */
  private failSlot(slot: WorkerSlot, error: Error): void {
    for (const [id, waiting] of this.waiting) {
      if (waiting.slot !== slot) continue;
      this.waiting.delete(id);
      waiting.reject(
        new FarthingError('HUB_STOPPED', 'a verification worker failed', { cause: error }),
      );
    }
    const index = this.slots.indexOf(slot);
    if (index >= 0 && !this.closed) {
      void slot.worker.terminate();
      this.slots[index] = this.spawn();
    }
  }

  async verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]> {
    if (this.closed) throw new FarthingError('HUB_STOPPED', 'the verify pool is closed');
    if (items.length === 0) return [];
    const parts = items.length > this.splitAbove ? this.slots.length : 1;
    const size = Math.ceil(items.length / parts);
    const chunks: Promise<Uint8Array>[] = [];
    for (let start = 0; start < items.length; start += size) {
      chunks.push(this.send(items.slice(start, start + size)));
    }
    const results: boolean[] = [];
    for (const chunk of await Promise.all(chunks)) for (const r of chunk) results.push(r === 1);
    return results;
  }

  private send(items: readonly VerifyItem[]): Promise<Uint8Array> {
    let slot = this.slots[0]!;
    for (const candidate of this.slots)
      if (candidate.outstanding < slot.outstanding) slot = candidate;
    const id = this.nextId++;
    const request: VerifyRequest = { id, count: items.length, buffer: packVerifyBatch(items) };
    return new Promise<Uint8Array>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, slot, count: items.length });
      slot.outstanding += items.length;
      slot.worker.postMessage(request, [request.buffer]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [id, waiting] of this.waiting) {
      this.waiting.delete(id);
      waiting.reject(new FarthingError('HUB_STOPPED', 'the verify pool closed'));
    }
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}
