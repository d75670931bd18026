import { statusName } from '../protocol/status.js';

/**
 * Counters of what the hub did and refused, by reason. Metrics (Prometheus) and the admin
 * status read these; tests assert them. Plain numbers: incrementing must cost nothing.
 */
export class HubCounters {
  vouchersReceived = 0;
  vouchersAccepted = 0;
  vouchersDuplicate = 0;
  vouchersStale = 0;
  vouchersCoalesced = 0;
  receiptsSigned = 0;
  acksSent = 0;
  opensAccepted = 0;
  topUpsAccepted = 0;
  channelsClosed = 0;
  groupCommits = 0;
  groupCommitVouchers = 0;
  groupCommitFailures = 0;
  settlementBatches = 0;
  settlementChannels = 0;
  settledBaseUnits = 0n;
  payouts = 0;
  /** Refusals sent back to devices, by status number. */
  readonly refusedByStatus = new Map<number, number>();
  /** Input dropped without a reply (no device to answer, or not worth one), by reason. */
  readonly droppedByReason = new Map<string, number>();

  refused(status: number): void {
    this.refusedByStatus.set(status, (this.refusedByStatus.get(status) ?? 0) + 1);
  }

  dropped(reason: string): void {
    this.droppedByReason.set(reason, (this.droppedByReason.get(reason) ?? 0) + 1);
  }

  /** Refusals keyed by status name, for JSON output. */
  refusedByName(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [code, count] of this.refusedByStatus) out[statusName(code) ?? String(code)] = count;
    return out;
  }
}

/**
 * Timings the hub reports as they happen, for histograms (src/hub/metrics.ts). Every method is
 * optional to implement and must be cheap: it runs on the hot path.
 */
export interface HubObserver {
  verifyBatch(size: number, seconds: number): void;
  groupCommit(size: number, seconds: number): void;
  settlement(channels: number, seconds: number, movedBaseUnits: bigint): void;
  /** From a voucher's arrival to its acknowledgement being handed to the broker. */
  receiptLatency(seconds: number): void;
}

export const silentObserver: HubObserver = {
  verifyBatch() {},
  groupCommit() {},
  settlement() {},
  receiptLatency() {},
};
