import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNodeForJson, startNodeChild } from '../../bench/child-process.js';
import { GENERATOR_NODE_FLAGS } from '../../bench/generator-bench.js';

// The built entry (npm test builds first): the source's own URL would point at a .ts file.
const generatorEntry = fileURLToPath(
  new URL('../../dist/bench/generator-main.js', import.meta.url),
);

describe('benches in a process of their own', () => {
  it('returns the JSON the child printed, run under the flags given', async () => {
    const printed = await runNodeForJson<{ flags: string[]; sum: number }>([
      ...GENERATOR_NODE_FLAGS,
      '-e',
      'console.log(JSON.stringify({ flags: process.execArgv, sum: 2 + 3 }))',
    ]);
    expect(printed.sum).toBe(5);
    expect(printed.flags).toEqual(expect.arrayContaining(GENERATOR_NODE_FLAGS));
  });

  it("rejects with the child's own words when it fails", async () => {
    await expect(
      runNodeForJson(['-e', 'console.error("no broker here"); process.exit(3)']),
    ).rejects.toThrow(/no broker here/);
  });

  it('stops a child that does not get ready in time, rather than leave it running', async () => {
    const failure: unknown = await startNodeChild(
      ['-e', 'console.log(`pid ${process.pid}`); setInterval(() => undefined, 1000)'],
      /never printed/,
      500,
    ).catch((error: unknown) => error);
    expect(String(failure)).toMatch(/did not get ready/);
    const pid = Number(/pid (\d+)/.exec(String(failure))![1]);
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(false);
  });

  it('the generator entry refuses a bench it does not run, naming those it does', async () => {
    await expect(runNodeForJson([generatorEntry, 'settlement'])).rejects.toThrow(
      /unknown generator bench "settlement"; known: endToEnd, cpu/,
    );
  });
});
