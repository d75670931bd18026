import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadOrCreateKeyFile, type KeyPair } from '../crypto/keys.js';
import { FarthingError } from '../errors.js';

/**
 * A hub's data directory: created on first start, everything the hub must keep across restarts.
 *   hub.key      the hub's Ed25519 key (PKCS#8 PEM, mode 0600), generated once and kept
 *   ledger/      the LevelDB ledger and channel records
 *   admin.token  the admin API bearer token (mode 0600)
 */
export interface DataDir {
  path: string;
  keyPair: KeyPair;
  keyCreated: boolean;
  ledgerPath: string;
  adminToken: string;
}

export async function openDataDir(path: string): Promise<DataDir> {
  try {
    await mkdir(path, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new FarthingError('DATA_DIR_UNUSABLE', `cannot create data directory ${path}`, { cause });
  }
  const { pair, created } = await loadOrCreateKeyFile(join(path, 'hub.key'));
  const adminToken = await loadOrCreateToken(join(path, 'admin.token'));
  return { path, keyPair: pair, keyCreated: created, ledgerPath: join(path, 'ledger'), adminToken };
}

export async function readAdminToken(dataDir: string): Promise<string> {
  try {
    return (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
  } catch (cause) {
    throw new FarthingError('DATA_DIR_UNUSABLE', `cannot read ${join(dataDir, 'admin.token')}`, {
      cause,
    });
  }
}

async function loadOrCreateToken(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new FarthingError('DATA_DIR_UNUSABLE', `cannot read ${path}`, { cause: error });
    }
  }
  const token = randomBytes(32).toString('base64url');
  try {
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (cause) {
    throw new FarthingError('DATA_DIR_UNUSABLE', `cannot write ${path}`, { cause });
  }
  return token;
}
