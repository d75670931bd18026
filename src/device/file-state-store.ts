import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FarthingError } from '../errors.js';
import { checkPersisted, type DeviceStateStore, type PersistedDevice } from './state-store.js';

/**
 * Device state in a JSON file, replaced atomically (write a temporary file, fsync, rename, fsync
 * the directory), so a power cut leaves either the old state or the new one, and the new one
 * once a save has resolved. Node only; a firmware port would use
 * its flash storage the same way.
 */
export class FileStateStore implements DeviceStateStore {
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  async load(): Promise<PersistedDevice | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new FarthingError('DEVICE_STATE_INVALID', `cannot read ${this.path}`, { cause: error });
    }
    try {
      return checkPersisted(JSON.parse(text));
    } catch (cause) {
      throw new FarthingError('DEVICE_STATE_INVALID', `${this.path} is not device state`, {
        cause,
      });
    }
  }

  save(state: PersistedDevice): Promise<void> {
    const text = JSON.stringify(state);
    // Saves are chained so an older state can never overwrite a newer one.
    this.writing = this.writing.catch(() => undefined).then(() => this.write(text));
    return this.writing;
  }

  private async write(text: string): Promise<void> {
    const temporary = `${this.path}.tmp`;
    try {
      const handle = await open(temporary, 'w', 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.path);
      await syncDirectory(dirname(this.path));
    } catch (cause) {
      throw new FarthingError('DEVICE_STATE_INVALID', `cannot write ${this.path}`, { cause });
    }
  }
}

/**
 * Makes a rename durable: until the directory entry is on disk, a power cut can bring back the
 * previous file (an older seq), though the save resolved. Windows cannot open a directory; there
 * the rename's own flush is all there is.
 */
async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems cannot fsync a directory at all; there the rename is as durable as it gets.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') throw error;
  } finally {
    await handle.close();
  }
}
