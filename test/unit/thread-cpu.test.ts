import { describe, expect, it } from 'vitest';
import { cpuSecondsBetween, threadCpuSeconds } from '../../bench/thread-cpu.js';

describe('per-thread CPU readings (the cpu bench)', () => {
  it('charges work on the main thread to the thread whose id is the process id', async () => {
    const before = await threadCpuSeconds(process.pid);
    expect(before.has(process.pid)).toBe(true);
    // Burn at least 0.3 s of CPU on this thread (a busy loop, not a wait).
    const started = process.cpuUsage();
    let spin = 0;
    for (let used = process.cpuUsage(started); used.user + used.system < 300_000; spin++)
      used = process.cpuUsage(started);
    expect(spin).toBeGreaterThan(0);
    const used = cpuSecondsBetween(before, await threadCpuSeconds(process.pid));
    // /proc counts in 10 ms ticks; nearly all of the process's 0.3 s is this thread's loop.
    expect(used.get(process.pid)!).toBeGreaterThanOrEqual(0.2);
  });

  it('counts a thread born between two readings from zero', () => {
    const used = cpuSecondsBetween(
      new Map([[1, 2]]),
      new Map([
        [1, 2.5],
        [7, 0.25],
      ]),
    );
    expect(used).toEqual(
      new Map([
        [1, 0.5],
        [7, 0.25],
      ]),
    );
  });

  it('says Linux is needed when /proc has no such process', async () => {
    await expect(threadCpuSeconds(2 ** 30)).rejects.toThrow(/per-thread CPU needs Linux/);
  });
});
