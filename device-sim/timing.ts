export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The promise's value, or undefined once `ms` have passed (the promise is not cancelled). */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * If `lastMs` falls in the current wall-clock second, waits until just after it ends (the hub
 * signs at most one receipt per channel per second).
 */
export async function untilSecondAfter(lastMs: number, nowMs: () => number): Promise<void> {
  const now = nowMs();
  if (Math.floor(lastMs / 1000) !== Math.floor(now / 1000)) return;
  await sleep(1000 - (now % 1000) + 20);
}

/**
 * Runs `fn` over `items` with at most `concurrency` at a time; results in input order. After a
 * failure no item is started, and the failure is thrown only once every started item is done,
 * so the caller's cleanup sees everything that was started (a device connecting after the
 * caller gave up would otherwise keep the process alive).
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}
