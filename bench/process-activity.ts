import { readdir, readFile } from 'node:fs/promises';

/** What a process has done so far that costs kernel time: I/O calls and context switches. */
export interface ProcessActivity {
  /** read-like system calls (read, readv, recv…), all threads, from /proc/PID/io. */
  readCalls: number;
  /** write-like system calls (write, writev, send…). */
  writeCalls: number;
  /** Times a thread of the process gave up (or was pushed off) a core, summed over threads. */
  contextSwitches: number;
}

/** Reads a process's I/O calls and context switches so far (Linux /proc, same user). */
export async function processActivity(pid: number): Promise<ProcessActivity> {
  let io: string;
  try {
    io = await readFile(`/proc/${pid}/io`, 'utf8');
  } catch (cause) {
    throw new Error(`cannot read /proc/${pid}/io: process activity needs Linux`, { cause });
  }
  const field = (text: string, name: string): number =>
    Number(new RegExp(`^${name}:\\s*(\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  let contextSwitches = 0;
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const status = await readFile(`/proc/${pid}/task/${tid}/status`, 'utf8').catch(() => '');
    contextSwitches +=
      field(status, 'voluntary_ctxt_switches') + field(status, 'nonvoluntary_ctxt_switches');
  }
  return { readCalls: field(io, 'syscr'), writeCalls: field(io, 'syscw'), contextSwitches };
}

/** Activity between two readings of one process. */
export function activityBetween(before: ProcessActivity, after: ProcessActivity): ProcessActivity {
  return {
    readCalls: after.readCalls - before.readCalls,
    writeCalls: after.writeCalls - before.writeCalls,
    contextSwitches: after.contextSwitches - before.contextSwitches,
  };
}
