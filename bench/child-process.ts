import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const cliPath = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface Child {
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts a node script and resolves once its stdout matches `ready`. */
export async function startNodeChild(
  args: string[],
  ready: RegExp,
  timeoutMs = 30_000,
): Promise<Child & { match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running behind the failure: every process the bench starts, it stops.
      child.kill('SIGKILL');
      reject(new Error(`child did not get ready: ${out}`));
    }, timeoutMs);
    const check = (): void => {
      const m = ready.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}): ${out}`));
    });
  });
  return {
    child,
    match,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}

const execFileAsync = promisify(execFile);

/**
 * Runs `node ...args` to its end and parses the one JSON value it prints on stdout. A non-zero
 * exit rejects with the child's stderr in the message.
 */
export async function runNodeForJson<T>(args: string[]): Promise<T> {
  const { stdout } = await execFileAsync(process.execPath, args, { maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as T;
}
