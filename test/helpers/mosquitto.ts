import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/**
 * A private Mosquitto for one test file: its own temp directory, config, password file and
 * ACL, on a free loopback port. Throws (never skips) when Mosquitto is not installed.
 */

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';
export const MOSQUITTO_PASSWD_BIN = '/usr/bin/mosquitto_passwd';

export interface MosquittoOptions {
  /** Config text; `listener` lines are replaced by one on the chosen loopback port. */
  config: string;
  /** username → password, written with mosquitto_passwd -b; referenced as `password_file`. */
  users?: Readonly<Record<string, string>>;
  /** ACL text, written to a file and referenced as `acl_file`. */
  acl?: string;
}

export interface RunningMosquitto {
  host: string;
  port: number;
  url: string;
  pid: number;
  dir: string;
  /** Everything Mosquitto logged so far. */
  log(): string;
  stop(): Promise<void>;
}

function findBinary(candidates: string[], name: string): string {
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  const which = spawnSync('which', [name], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status === 0 && found !== '') return found;
  throw new Error(
    `${name} is not installed (looked for ${candidates.join(', ')} and on PATH): ` +
      'install the mosquitto package; these tests do not skip without it',
  );
}

/** Replaces a config key's lines (or appends it); keys listed as `null` are removed. */
export function setConfigKeys(
  config: string,
  keys: Readonly<Record<string, string | null>>,
): string {
  let lines = config.split('\n');
  for (const [key, value] of Object.entries(keys)) {
    const matches = (line: string): boolean => line.trim().split(/\s+/)[0] === key;
    const index = lines.findIndex(matches);
    lines = lines.filter((line, i) => !matches(line) || i === index);
    const replacement = value === null ? [] : [`${key} ${value}`];
    if (index >= 0) lines.splice(index, 1, ...replacement);
    else lines.push(...replacement);
  }
  return lines.join('\n');
}

export async function startMosquitto(options: MosquittoOptions): Promise<RunningMosquitto> {
  const bin = findBinary([MOSQUITTO_BIN, '/usr/local/sbin/mosquitto'], 'mosquitto');
  const dir = await mkdtemp(join(tmpdir(), 'farthing-mosquitto-'));
  const host = '127.0.0.1';
  const port = await freePort(host);
  const keys: Record<string, string | null> = {
    listener: `${port} ${host}`,
    // As root, Mosquitto would switch to user `mosquitto`, who cannot read this temp dir.
    user: userInfo().username,
    log_dest: 'stderr',
    log_type: 'all',
    pid_file: null,
    persistence: 'false',
  };
  if (options.users !== undefined) {
    const passwd = findBinary([MOSQUITTO_PASSWD_BIN], 'mosquitto_passwd');
    const file = join(dir, 'passwd');
    await writeFile(file, '', { mode: 0o600 });
    for (const [user, password] of Object.entries(options.users)) {
      const result = spawnSync(passwd, ['-b', file, user, password], { encoding: 'utf8' });
      if (result.status !== 0)
        throw new Error(`mosquitto_passwd failed for ${user}: ${result.stderr}${result.stdout}`);
    }
    keys.password_file = file;
  }
  if (options.acl !== undefined) {
    const file = join(dir, 'acl');
    await writeFile(file, options.acl, { mode: 0o600 });
    keys.acl_file = file;
  }
  const configFile = join(dir, 'mosquitto.conf');
  await writeFile(configFile, setConfigKeys(options.config, keys));

  const child: ChildProcess = spawn(bin, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));

  const stop = async (): Promise<void> => {
    if (running && child.pid !== undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 5000;
  while (!(await canConnect(host, port))) {
    if (!running || Date.now() > deadline) {
      await stop();
      throw new Error(`mosquitto did not start on ${host}:${port}:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    host,
    port,
    url: `mqtt://${host}:${port}`,
    pid: child.pid!,
    dir,
    log: () => log,
    stop,
  };
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
