import { readdir, readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux we run on). */
const TICKS_PER_S = 100;

/** CPU seconds used so far by each thread of a process, by thread id (Linux /proc). */
export async function threadCpuSeconds(pid: number): Promise<Map<number, number>> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch (cause) {
    throw new Error(`cannot read /proc/${pid}/task: per-thread CPU needs Linux`, { cause });
  }
  const seconds = new Map<number, number>();
  for (const tid of tids) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue; // the thread ended meanwhile
    // Fields after the parenthesised name: state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    seconds.set(Number(tid), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S);
  }
  return seconds;
}

/** CPU seconds each thread used between two readings (threads born meanwhile count from 0). */
export function cpuSecondsBetween(
  before: Map<number, number>,
  after: Map<number, number>,
): Map<number, number> {
  const used = new Map<number, number>();
  for (const [tid, seconds] of after) used.set(tid, seconds - (before.get(tid) ?? 0));
  return used;
}
