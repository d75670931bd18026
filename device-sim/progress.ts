import { createLogUpdate } from 'log-update';

/** What a fleet reports while it runs (FleetOptions.onProgress). */
export interface FleetProgress {
  phase: 'connecting' | 'streaming' | 'draining' | 'reconciling' | 'closing' | 'done';
  elapsedS: number;
  devices: number;
  devicesConnected: number;
  channelsOpen: number;
  vouchersSent: number;
  vouchersAcked: number;
  refused: number;
  /** Acknowledged vouchers per second since the previous report. */
  ratePerS: number;
  /** p99 acknowledgement latency of the vouchers acknowledged since the previous report. */
  p99Ms: number;
}

export interface ProgressReporter {
  update(progress: FleetProgress): void;
  /** Leaves the last line in place (TTY) and stops. */
  done(): void;
}

export function formatProgress(p: FleetProgress): string {
  return [
    `${p.phase.padEnd(11)} ${p.elapsedS.toFixed(1).padStart(5)}s`,
    `devices ${p.devicesConnected}/${p.devices}`,
    `channels ${p.channelsOpen}`,
    `sent ${p.vouchersSent}`,
    `acked ${p.vouchersAcked}`,
    `refused ${p.refused}`,
    `${p.ratePerS.toFixed(0)}/s`,
    `p99 ${p.p99Ms.toFixed(1)} ms`,
  ].join('  ');
}

/**
 * The live progress line, always on stderr (stdout is for results, e.g. --json): on a TTY one
 * line redrawn in place with log-update; otherwise a plain line every `plainEveryMs`.
 */
export function createProgressReporter(
  options: { stream?: NodeJS.WriteStream; plainEveryMs?: number } = {},
): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  // A pseudo-terminal without a size (columns 0) would make log-update wrap to nothing.
  if (stream.isTTY === true && (stream.columns ?? 0) > 0) {
    const line = createLogUpdate(stream);
    return {
      update: (p) => line(formatProgress(p)),
      done: () => line.done(),
    };
  }
  const everyMs = options.plainEveryMs ?? 3000;
  let lastMs = 0;
  let lastPhase = '';
  return {
    update(p) {
      const now = Date.now();
      if (now - lastMs < everyMs && p.phase === lastPhase) return;
      lastMs = now;
      lastPhase = p.phase;
      stream.write(`${formatProgress(p)}\n`);
    },
    done() {},
  };
}
