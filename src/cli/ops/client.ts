import { readAdminToken } from '../data-dir.js';

/**
 * The operator CLI's side of the admin API: where the hub is, which token to send, and how an
 * answer maps to an exit status.
 *
 *   0 ok · 1 the hub refused the request (400/404/409/…, or failed: 500) · 2 usage error ·
 *   3 the hub cannot be reached, is not running (503), or refused the token (401)
 */
export const ExitCode = { Ok: 0, Refused: 1, Usage: 2, Unreachable: 3 } as const;
export type ExitCodeNumber = (typeof ExitCode)[keyof typeof ExitCode];

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8180';
const REQUEST_TIMEOUT_MS = 60_000;

/** A failed command: what to print on stderr and the exit status. */
export class OpsFailure extends Error {
  constructor(
    readonly exitCode: ExitCodeNumber,
    message: string,
  ) {
    super(message);
    this.name = 'OpsFailure';
  }
}

export interface ConnectionFlags {
  admin?: string;
  token?: string;
  data?: string;
}

export interface Connection {
  baseUrl: string;
  token: string;
}

/**
 * The admin address: --admin, else FARTHING_ADMIN_URL, else http://127.0.0.1:8180.
 * The token: --token, else FARTHING_ADMIN_TOKEN, else <--data DIR>/admin.token.
 */
export async function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Connection> {
  const address = flags.admin ?? env.FARTHING_ADMIN_URL ?? DEFAULT_ADMIN_URL;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new OpsFailure(
      ExitCode.Usage,
      `--admin "${address}" is not a URL like ${DEFAULT_ADMIN_URL}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new OpsFailure(ExitCode.Usage, `--admin must be an http:// or https:// URL`);
  let token = flags.token ?? env.FARTHING_ADMIN_TOKEN;
  if (token === undefined && flags.data !== undefined) {
    try {
      token = await readAdminToken(flags.data);
    } catch (error) {
      throw new OpsFailure(ExitCode.Usage, (error as Error).message);
    }
  }
  if (token === undefined || token === '') {
    throw new OpsFailure(
      ExitCode.Usage,
      'no admin token: pass --data DIR (reads DIR/admin.token), --token TOKEN or set FARTHING_ADMIN_TOKEN',
    );
  }
  return { baseUrl: url.origin + url.pathname.replace(/\/+$/, ''), token };
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown };
}

/** Calls the admin API; resolves with the JSON answer or throws an OpsFailure. */
export async function callAdmin<T>(
  connection: Connection,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const url = `${connection.baseUrl}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${connection.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const inner = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const cause =
      typeof inner?.code === 'string'
        ? inner.code
        : typeof inner?.message === 'string'
          ? inner.message
          : (error as Error).message;
    throw new OpsFailure(
      ExitCode.Unreachable,
      `ADMIN_UNREACHABLE: cannot reach the hub's admin API at ${connection.baseUrl} (${cause}); is the hub running with --admin there?`,
    );
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new OpsFailure(
      ExitCode.Unreachable,
      `ADMIN_UNREACHABLE: ${connection.baseUrl} did not answer like a Farthing admin API (HTTP ${response.status})`,
    );
  }
  if (response.ok) return parsed as T;
  const error = (parsed as ErrorBody).error;
  const code = typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`;
  const message = typeof error?.message === 'string' ? error.message : response.statusText;
  const exitCode =
    response.status === 401 || response.status === 503 ? ExitCode.Unreachable : ExitCode.Refused;
  throw new OpsFailure(exitCode, `${code}: ${message}`);
}
