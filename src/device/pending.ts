import { FarthingError } from '../errors.js';

/**
 * A request waiting for the hub's answer: re-sent every `resendMs` (requests are idempotent, so
 * a duplicate is harmless) until answered or until `timeoutMs` passes.
 */
export class PendingRequest<T> {
  readonly promise: Promise<T>;
  private resolveFn!: (value: T) => void;
  private rejectFn!: (error: Error) => void;
  private readonly resendTimer: ReturnType<typeof setInterval>;
  private readonly timeoutTimer: ReturnType<typeof setTimeout>;
  done = false;

  constructor(
    what: string,
    readonly send: () => void,
    resendMs: number,
    timeoutMs: number,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    // Marks the rejection handled for callers that fire and forget; awaiting it still throws.
    this.promise.catch(() => undefined);
    this.resendTimer = setInterval(send, resendMs);
    this.timeoutTimer = setTimeout(
      () =>
        this.reject(
          new FarthingError(
            'REQUEST_TIMEOUT',
            `${what}: no answer from the hub in ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    send();
  }

  resolve(value: T): void {
    if (this.finish()) this.resolveFn(value);
  }

  reject(error: Error): void {
    if (this.finish()) this.rejectFn(error);
  }

  private finish(): boolean {
    if (this.done) return false;
    this.done = true;
    clearInterval(this.resendTimer);
    clearTimeout(this.timeoutTimer);
    return true;
  }
}
