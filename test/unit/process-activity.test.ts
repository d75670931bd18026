import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { activityBetween, processActivity } from '../../bench/process-activity.js';

describe('process activity readings (the cpu bench)', () => {
  it('counts this process’s read and write calls and its context switches', async () => {
    const before = await processActivity(process.pid);
    const fd = openSync('/dev/null', 'r+');
    const buffer = Buffer.alloc(1);
    try {
      for (let i = 0; i < 200; i++) {
        writeSync(fd, buffer);
        readSync(fd, buffer);
      }
    } finally {
      closeSync(fd);
    }
    // Sleeping gives up the core: each wait is at least one voluntary switch.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    const used = activityBetween(before, await processActivity(process.pid));
    expect(used.writeCalls).toBeGreaterThanOrEqual(200);
    expect(used.readCalls).toBeGreaterThanOrEqual(200);
    expect(used.contextSwitches).toBeGreaterThanOrEqual(5);
  });

  it('refuses a process it cannot read, naming it', async () => {
    await expect(processActivity(2 ** 22 + 1)).rejects.toThrow(/\/proc\/4194305\/io/);
  });
});
