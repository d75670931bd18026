import { Command, InvalidArgumentError, Option } from 'commander';
import { parsePositiveInt } from '../parse.js';
import {
  DEFAULT_ADMIN_URL,
  OpsFailure,
  resolveConnection,
  type Connection,
  type ConnectionFlags,
} from './client.js';
import { json } from './format.js';

/** What every operator command shares: the connection flags, --json, exit statuses, paging. */

export interface CommonFlags extends ConnectionFlags {
  json: boolean;
}

export const HELP_FOOTER = `
Connection:
  --admin URL   the hub's admin API (else $FARTHING_ADMIN_URL, else ${DEFAULT_ADMIN_URL})
  --token TOKEN the admin token (else $FARTHING_ADMIN_TOKEN, else --data DIR/admin.token)
  --data DIR    the hub's data directory, to read DIR/admin.token

Amounts are whole base units of the asset, printed as decimal strings in --json.

Exit status:
  0  ok
  1  the hub refused the request (unknown channel, already closed, malformed input: the
     error code and message are printed on stderr)
  2  usage error (bad option or argument, no token given)
  3  the hub cannot be reached, is not running, or refused the token`;

export function withCommon(command: Command): Command {
  return command
    .option('--admin <url>', `admin API URL (default: $FARTHING_ADMIN_URL or ${DEFAULT_ADMIN_URL})`)
    .option(
      '--token <token>',
      'admin token (default: $FARTHING_ADMIN_TOKEN or --data DIR/admin.token)',
    )
    .option('--data <dir>', "the hub's data directory, to read its admin.token")
    .option('--json', 'print JSON instead of a table', false)
    .addHelpText('after', HELP_FOOTER)
    .showHelpAfterError();
}

/** Runs a command body with a resolved connection; prints failures and sets the exit status. */
export function run<F extends CommonFlags>(
  body: (connection: Connection, flags: F, out: (text: string) => void) => Promise<void>,
): (flags: F) => Promise<void> {
  return async (flags) => {
    try {
      const connection = await resolveConnection(flags);
      await body(connection, flags, (text) => process.stdout.write(text));
    } catch (error) {
      if (!(error instanceof OpsFailure)) throw error;
      process.stderr.write(`farthing: ${error.message}\n`);
      process.exitCode = error.exitCode;
    }
  };
}

export const limitOption = (max: number): Option =>
  new Option('--limit <n>', `items per page, 1..${max}`).argParser((text) => {
    const n = parsePositiveInt(text);
    if (n > max) throw new InvalidArgumentError(`at most ${max}`);
    return n;
  });

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined) q.set(key, String(value));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

export function nextHint(next: string | null, command: string): string {
  return next === null ? '' : `more: ${command} --after ${next}\n`;
}

/** A page as --json prints it: the items as a JSON array on stdout, the next cursor on stderr. */
export function outJsonPage(
  out: (text: string) => void,
  items: unknown[],
  next: string | null,
): void {
  out(json(items));
  if (next !== null) process.stderr.write(`next: ${next}\n`);
}
