import { Worker } from 'node:worker_threads';

/**
 * The limit the hub is measured against: how many strict node:crypto verifications this machine
 * does per second on one core and on all cores at once, with nothing else to do.
 */
export async function rawVerifyRate(threads: number, seconds: number): Promise<number> {
  const workers = Array.from(
    { length: threads },
    () =>
      new Worker(new URL('./raw-verify-worker.js', import.meta.url), { workerData: { seconds } }),
  );
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  const counts = await Promise.all(
    workers.map(
      (w) =>
        new Promise<number>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
          w.postMessage('go');
        }),
    ),
  );
  await Promise.all(workers.map((w) => w.terminate()));
  return counts.reduce((a, b) => a + b, 0) / seconds;
}
