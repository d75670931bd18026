import type { Ledger, RecordWrite } from '../ledger/types.js';
import { toHex } from '../protocol/bytes.js';
import { encodeVoucherRecord, voucherKey } from './records.js';
import type { HubLogger } from './ports.js';

/** One channel's newest verified voucher, waiting to be made durable. */
export interface StagedVoucher {
  channelKey: string;
  channelId: Uint8Array;
  seq: number;
  amountBaseUnits: bigint;
  voucherBytes: Uint8Array;
  /** performance.now() when the voucher arrived, for receipt latency. */
  receivedAtMs: number;
}

export interface GroupCommitOptions {
  /** Longest a verified voucher waits before its commit starts (ms). */
  intervalMs: number;
  /** Commit at once when this many channels have a staged voucher. */
  maxVouchers: number;
}

/**
 * Group commit: the newest verified voucher of every channel that moved is written in one
 * ledger commit (one synced LevelDB batch) every few milliseconds, and only after that commit
 * does the hub send receipts. A later voucher of the same channel replaces the staged one, so
 * a commit writes each channel at most once however fast the device streams.
 */
export class GroupCommitter {
  private staged = new Map<string, StagedVoucher>();
  /** The batch whose commit is under way. */
  private committing = new Map<string, StagedVoucher>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  lastCommitMs = 0;
  lastCommitSize = 0;

  constructor(
    private readonly ledger: Ledger,
    private readonly options: GroupCommitOptions,
    private readonly onDurable: (batch: StagedVoucher[], commitMs: number) => void,
    private readonly onFailure: (error: unknown, batch: StagedVoucher[]) => void,
    private readonly logger: HubLogger,
  ) {}

  get stagedCount(): number {
    return this.staged.size;
  }

  stage(voucher: StagedVoucher): void {
    if (this.stopped) return;
    this.staged.set(voucher.channelKey, voucher);
    if (this.staged.size >= this.options.maxVouchers) {
      void this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.options.intervalMs);
    }
  }

  /** Whether this channel has a voucher staged or being committed right now. */
  isPending(channelKey: string): boolean {
    return this.staged.has(channelKey) || this.committing.has(channelKey);
  }

  /** Commits everything staged so far; resolves when it (and any commit before it) is done. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.inFlight !== undefined) await this.inFlight;
    if (this.staged.size === 0) return;
    const batch = this.staged;
    this.staged = new Map();
    this.committing = batch;
    this.inFlight = this.commit([...batch.values()]).finally(() => {
      this.inFlight = undefined;
      this.committing = new Map();
    });
    await this.inFlight;
  }

  private async commit(batch: StagedVoucher[]): Promise<void> {
    const records: RecordWrite[] = batch.map((v) => ({
      key: voucherKey(toHex(v.channelId)),
      value: encodeVoucherRecord({
        seq: v.seq,
        amountBaseUnits: v.amountBaseUnits,
        voucherBytes: v.voucherBytes,
      }),
    }));
    const started = performance.now();
    try {
      await this.ledger.commit({ transfers: [], records });
    } catch (error) {
      this.logger.error(
        { err: error, vouchers: batch.length },
        'group commit failed; vouchers stay staged',
      );
      // Put them back unless a newer voucher of the same channel was staged meanwhile.
      for (const v of batch) {
        const newer = this.staged.get(v.channelKey);
        if (newer === undefined || newer.seq < v.seq) this.staged.set(v.channelKey, v);
      }
      this.onFailure(error, batch);
      if (!this.stopped && this.timer === undefined) {
        // Retry later rather than spin on a failing disk; devices re-send meanwhile.
        this.timer = setTimeout(
          () => {
            this.timer = undefined;
            void this.flush();
          },
          Math.max(50, this.options.intervalMs * 10),
        );
      }
      return;
    }
    this.lastCommitMs = performance.now() - started;
    this.lastCommitSize = batch.length;
    this.onDurable(batch, this.lastCommitMs);
  }

  /** Stops the timer; staged vouchers stay until a final flush(). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
