import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const cliPath = resolve(repoRoot, 'dist/src/cli/main.js');

/** Newest modification time of the .ts sources below `dir`. */
function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = resolve(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Tests that run the built `farthing` binary call this first. `npm test` builds before vitest,
 * so this only rebuilds for a direct vitest run with dist missing or older than the sources.
 */
export function ensureBuilt(): void {
  const stale =
    !existsSync(cliPath) ||
    statSync(cliPath).mtimeMs <
      Math.max(
        newestSourceMs(resolve(repoRoot, 'src')),
        newestSourceMs(resolve(repoRoot, 'device-sim')),
      );
  if (!stale) return;
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (build.status !== 0 || !existsSync(cliPath))
    throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
}

export interface HubChild {
  child: ChildProcess;
  hubId: string;
  pid: number;
  /** Resolves with the exit code (null) and signal when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/**
 * Starts `farthing hub` (the built CLI) as a child process and resolves once it has printed its
 * hub id. Fails loudly if the build is missing: `npm test` builds before running vitest.
 */
export async function startHubChild(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 15_000,
): Promise<HubChild> {
  if (!existsSync(cliPath))
    throw new Error(`${cliPath} is missing: run npm run build (npm test does it)`);
  // The admin API defaults to 127.0.0.1:8180: give each test hub a free port instead, so that
  // hubs of concurrent test files (or a developer's own hub) never collide.
  const adminArgs = args.some(
    (a) => a === '--admin' || a === '--no-admin' || a.startsWith('--admin='),
  )
    ? []
    : ['--admin', '127.0.0.1:0'];
  const child = spawn(process.execPath, [cliPath, 'hub', ...args, ...adminArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  const hubId = await new Promise<string>((resolveId, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hub did not start in ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    const check = (): void => {
      const match = /^farthing hub (\S+)$/m.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolveId(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(
          `hub exited (code ${code}, signal ${signal}) before starting; stderr:\n${stderr}`,
        ),
      );
    });
  });
  return { child, hubId, pid: child.pid!, exited, stderr: () => stderr };
}
