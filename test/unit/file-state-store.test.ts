/**
 * FileStateStore replaces its file atomically, and a save that resolved has reached the disk:
 * the temporary file is synced, renamed over the old one, and then the directory is synced,
 * without which a power cut could bring back the older file (an older seq).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';

const events: string[] = [];
/** The errno a directory's fsync fails with, when set (some filesystems refuse it). */
const directorySync: { failWith?: string } = {};
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    open: async (...args: Parameters<typeof fs.open>) => {
      const handle = await fs.open(...args);
      const path = String(args[0]);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        events.push(`sync ${path}`);
        if (directorySync.failWith !== undefined && !path.endsWith('.tmp'))
          throw Object.assign(new Error(`fsync: ${directorySync.failWith}`), {
            code: directorySync.failWith,
          });
        return sync();
      };
      return handle;
    },
    rename: async (from: string, to: string) => {
      events.push(`rename ${from} -> ${to}`);
      return fs.rename(from, to);
    },
  };
});

const { FileStateStore } = await import('../../src/device/file-state-store.js');

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

it('syncs the temporary file, renames it over the state, then syncs the directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'farthing-state-'));
  dirs.push(dir);
  const path = join(dir, 'device.json');
  const state = { version: 1 as const, channels: [] };
  await new FileStateStore(path).save(state);
  expect(events).toEqual([`sync ${path}.tmp`, `rename ${path}.tmp -> ${path}`, `sync ${dir}`]);
  expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(state);
  expect(await new FileStateStore(path).load()).toEqual(state);
});

it('takes a filesystem that cannot fsync a directory as it is, but not a failing disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'farthing-state-'));
  dirs.push(dir);
  const store = new FileStateStore(join(dir, 'device.json'));
  const state = { version: 1 as const, channels: [] };
  try {
    directorySync.failWith = 'EINVAL';
    await store.save(state);
    directorySync.failWith = 'EIO';
    await expect(store.save(state)).rejects.toThrow(/cannot write/);
  } finally {
    delete directorySync.failWith;
  }
});
