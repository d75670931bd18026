import { Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import type { ChannelView, TransferView } from '../../hub/admin/views.js';
import { parsePositiveInt } from '../parse.js';
import {
  callAdmin,
  DEFAULT_ADMIN_URL,
  ExitCode,
  OpsFailure,
  resolveConnection,
  type Connection,
  type ConnectionFlags,
} from './client.js';
import { json, keyValues, table, time } from './format.js';

/**
 * The operator commands (`farthing status`, `channels …`, `settle`, `accounts`, `transfers`,
 * `deposit`, `payouts`): thin clients of the hub's admin HTTP API. Tables by default, --json
 * for scripts (lists print a JSON array, single things a JSON object).
 */

interface CommonFlags extends ConnectionFlags {
  json: boolean;
}

const HELP_FOOTER = `
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

function withCommon(command: Command): Command {
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

const exitOnUsageError = (error: CommanderError): never =>
  process.exit(error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage);

function applyExitOverride(command: Command): Command {
  command.exitOverride(exitOnUsageError);
  for (const sub of command.commands) applyExitOverride(sub);
  return command;
}

/** Runs a command body with a resolved connection; prints failures and sets the exit status. */
function run<F extends CommonFlags>(
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

const limitOption = (max: number): Option =>
  new Option('--limit <n>', `items per page, 1..${max}`).argParser((text) => {
    const n = parsePositiveInt(text);
    if (n > max) throw new InvalidArgumentError(`at most ${max}`);
    return n;
  });

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined) q.set(key, String(value));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

function nextHint(next: string | null, command: string): string {
  return next === null ? '' : `more: ${command} --after ${next}\n`;
}

// ---------------------------------------------------------------------------------------------

interface Status {
  hubId: string;
  running: boolean;
  uptimeS: number;
  brokerConnected: boolean;
  openChannels: number;
  escrowOutstanding: string;
  unsettled: string;
  settledSinceStart: string;
  vouchers: {
    received: number;
    accepted: number;
    refused: number;
    duplicate: number;
    stale: number;
    acceptedPerS: number;
    refusedPerS: number;
  };
  refusedByStatus: Record<string, number>;
  pendingVerifications: number;
  lastGroupCommit: { size: number; ms: number };
  lastSettlement: { at: string; channels: number; moved: string; durationMs: number } | null;
  settings: { feeBasisPoints: number; assets: string[]; autoFund: boolean };
}

function statusCommand(): Command {
  return withCommon(
    new Command('status').description("show the hub's state: channels, money, voucher rates"),
  ).action(
    run<CommonFlags>(async (connection, flags, out) => {
      const s = await callAdmin<Status>(connection, 'GET', '/api/status');
      if (flags.json) return out(json(s));
      const refused = Object.entries(s.refusedByStatus)
        .map(([name, count]) => `${name} ${count}`)
        .join(', ');
      out(
        keyValues('hub', [
          ['hub id', s.hubId],
          ['running', s.running ? 'yes' : 'no'],
          ['uptime', `${Math.floor(s.uptimeS)} s`],
          ['broker', s.brokerConnected ? 'connected' : 'DISCONNECTED'],
          ['open channels', s.openChannels],
          ['escrow outstanding', s.escrowOutstanding],
          ['unsettled', s.unsettled],
          ['settled since start', s.settledSinceStart],
          ['vouchers accepted', `${s.vouchers.accepted} (${s.vouchers.acceptedPerS}/s)`],
          ['vouchers refused', `${s.vouchers.refused} (${s.vouchers.refusedPerS}/s)`],
          ['refused by status', refused === '' ? 'none' : refused],
          ['pending verifications', s.pendingVerifications],
          ['last group commit', `${s.lastGroupCommit.size} vouchers in ${s.lastGroupCommit.ms} ms`],
          [
            'last settlement',
            s.lastSettlement === null
              ? 'none yet'
              : `${time(s.lastSettlement.at)}: ${s.lastSettlement.channels} channels, ${s.lastSettlement.moved} moved`,
          ],
          ['fee', `${s.settings.feeBasisPoints} bps`],
          ['assets', s.settings.assets.join(', ')],
          ['auto-fund', s.settings.autoFund ? 'ON (development only)' : 'off'],
        ]),
      );
    }),
  );
}

// ---------------------------------------------------------------------------------------------

interface ChannelPage {
  items: ChannelView[];
  next: string | null;
}

const channelRow = (c: ChannelView): (string | number)[] => [
  c.channelId,
  c.deviceId,
  c.payeeId,
  c.asset,
  c.status,
  c.capacity,
  c.seq,
  c.amount,
  c.acceptedAmount ?? '',
  c.settledAmount,
  time(c.expiresAt),
  c.closeReason ?? '',
];

const CHANNEL_HEAD = [
  'channel',
  'device',
  'payee',
  'asset',
  'status',
  'capacity',
  'seq',
  'amount',
  'accepted',
  'settled',
  'expires',
  'closed by',
];

interface ListFlags extends CommonFlags {
  status?: 'open' | 'closed';
  device?: string;
  payee?: string;
  limit?: number;
  after?: string;
  all: boolean;
}

function channelsCommand(): Command {
  const list = withCommon(
    new Command('list')
      .description('list channels (durable records, in channel id order), with filters')
      .addOption(
        new Option('--status <status>', 'only open or only closed channels').choices([
          'open',
          'closed',
        ]),
      )
      .option('--device <id>', 'only channels of this device id')
      .option('--payee <id>', 'only channels paying this payee')
      .addOption(limitOption(1000))
      .option('--after <cursor>', 'start after this channel id (the cursor printed as "more")')
      .option('--all', 'follow every page', false),
  ).action(
    run<ListFlags>(async (connection, flags, out) => {
      const items: ChannelView[] = [];
      let after = flags.after;
      let next: string | null;
      do {
        const page: ChannelPage = await callAdmin<ChannelPage>(
          connection,
          'GET',
          `/api/channels${query({ status: flags.status, device: flags.device, payee: flags.payee, limit: flags.limit, after })}`,
        );
        items.push(...page.items);
        next = page.next;
        after = next ?? undefined;
      } while (flags.all && next !== null);
      if (flags.json) {
        out(json(items));
        if (next !== null) process.stderr.write(`next: ${next}\n`);
        return;
      }
      out(table(CHANNEL_HEAD, items.map(channelRow)));
      out(`${items.length} channel${items.length === 1 ? '' : 's'}\n`);
      out(nextHint(next, 'farthing channels list'));
    }),
  );

  const show = withCommon(
    new Command('show')
      .description('show one channel, its newest durable voucher and its transfers')
      .argument('<channel-id>', 'the channel id (32 hex characters)'),
  ).action(async (id: string, flags: CommonFlags) =>
    run<CommonFlags>(async (connection, f, out) => {
      const detail = await callAdmin<{
        channel: ChannelView;
        voucher: { seq: number; amount: string; bytes: string } | null;
        transfers: { items: TransferView[]; next: string | null };
      }>(connection, 'GET', `/api/channels/${encodeURIComponent(id)}`);
      if (f.json) return out(json(detail));
      const c = detail.channel;
      out(
        keyValues(`channel ${c.channelId}`, [
          ['status', c.status],
          ['device', c.deviceId],
          ['payee', c.payeeId],
          ['asset', c.asset],
          ['capacity', c.capacity],
          ['fee', `${c.feeBasisPoints} bps`],
          ['durable seq', c.seq],
          ['durable amount', c.amount],
          ['accepted seq', c.acceptedSeq],
          ['accepted amount', c.acceptedAmount],
          ['settled', c.settledAmount],
          ['opened', time(c.openedAt)],
          ['expires', time(c.expiresAt)],
          ['closed', c.closedAt === null ? null : `${time(c.closedAt)} (${c.closeReason})`],
          [
            'final payee / fee / refund',
            c.final === null ? null : `${c.final.payee} / ${c.final.fee} / ${c.final.refund}`,
          ],
          [
            'voucher',
            detail.voucher === null
              ? null
              : `seq ${detail.voucher.seq}, amount ${detail.voucher.amount}`,
          ],
          ['voucher bytes', detail.voucher?.bytes ?? null],
        ]),
      );
      out(transferTable(detail.transfers.items));
      out(nextHint(detail.transfers.next, `(transfers) farthing transfers channel/${c.channelId}`));
    })(flags),
  );

  const close = withCommon(
    new Command('close')
      .description('close a channel as the operator: settle its final voucher, refund the rest')
      .argument('<channel-id>', 'the channel id (32 hex characters)'),
  ).action(async (id: string, flags: CommonFlags) =>
    run<CommonFlags>(async (connection, f, out) => {
      const receipt = await callAdmin<Record<string, string | number>>(
        connection,
        'POST',
        `/api/channels/${encodeURIComponent(id)}/close`,
      );
      if (f.json) return out(json(receipt));
      out(
        keyValues(`closed ${String(receipt.channelId)}`, [
          ['reason', receipt.reason],
          ['final seq', receipt.seq],
          ['amount', receipt.amount],
          ['to payee', receipt.payee],
          ['fee', receipt.fee],
          ['refunded', receipt.refund],
        ]),
      );
    })(flags),
  );

  const closeExpired = withCommon(
    new Command('close-expired').description('close every open channel past its expiry'),
  ).action(
    run<CommonFlags>(async (connection, flags, out) => {
      const result = await callAdmin<{ closed: number }>(
        connection,
        'POST',
        '/api/channels/close-expired',
      );
      if (flags.json) return out(json(result));
      out(`closed ${result.closed} expired channel${result.closed === 1 ? '' : 's'}\n`);
    }),
  );

  return new Command('channels')
    .description('list, show and close channels')
    .addHelpText('after', HELP_FOOTER)
    .addCommand(list)
    .addCommand(show)
    .addCommand(close)
    .addCommand(closeExpired);
}

// ---------------------------------------------------------------------------------------------

function settleCommand(): Command {
  return withCommon(
    new Command('settle').description('settle every channel with unsettled vouchers now'),
  ).action(
    run<CommonFlags>(async (connection, flags, out) => {
      const r = await callAdmin<{
        channels: number;
        moved: string;
        batches: number;
        durationMs: number;
        payouts: number;
      }>(connection, 'POST', '/api/settle');
      if (flags.json) return out(json(r));
      out(
        keyValues('settlement', [
          ['channels', r.channels],
          ['moved', r.moved],
          ['batches', r.batches],
          ['duration', `${r.durationMs} ms`],
          ['payouts', r.payouts],
        ]),
      );
    }),
  );
}

interface AccountPage {
  items: { account: string; asset: string; balance: string }[];
  next: string | null;
  count: number;
  sums: Record<string, string>;
}

function accountsCommand(): Command {
  return withCommon(
    new Command('accounts')
      .description('ledger balances by account and asset, and their sum per asset')
      .option('--prefix <prefix>', 'only accounts starting with this, e.g. device/ or payee/')
      .option('--asset <code>', 'only this asset'),
  ).action(
    run<CommonFlags & { prefix?: string; asset?: string }>(async (connection, flags, out) => {
      const items: AccountPage['items'] = [];
      let after: string | undefined;
      let sums: Record<string, string>;
      for (;;) {
        const page: AccountPage = await callAdmin<AccountPage>(
          connection,
          'GET',
          `/api/accounts${query({ prefix: flags.prefix, asset: flags.asset, after })}`,
        );
        items.push(...page.items);
        sums = page.sums;
        if (page.next === null) break;
        after = page.next;
      }
      if (flags.json) return out(json(items));
      out(
        table(
          ['account', 'asset', 'balance'],
          items.map((b) => [b.account, b.asset, b.balance]),
        ),
      );
      const scope =
        flags.prefix === undefined ? 'all accounts (must be 0)' : `accounts under ${flags.prefix}`;
      for (const [asset, sum] of Object.entries(sums)) out(`sum ${asset} over ${scope}: ${sum}\n`);
    }),
  );
}

function transferTable(items: TransferView[]): string {
  return table(
    ['seq', 'time', 'code', 'direction', 'counterparty', 'amount', 'asset', 'reference', 'id'],
    items.map((t) => [
      t.sequence,
      time(t.time),
      t.code,
      t.direction,
      t.counterparty,
      t.amount,
      t.asset,
      t.reference,
      t.id,
    ]),
  );
}

function transfersCommand(): Command {
  return withCommon(
    new Command('transfers')
      .description("an account's transfers, oldest first")
      .argument(
        '<account>',
        'e.g. device/<id>, payee/<id>, channel/<32 hex>, hub/fees, external/<rail>',
      )
      .option('--after <cursor>', 'start after this ledger sequence (the cursor printed as "more")')
      .addOption(limitOption(1000)),
  ).action(async (account: string, flags: CommonFlags & { after?: string; limit?: number }) =>
    run<typeof flags>(async (connection, f, out) => {
      const page = await callAdmin<{ items: TransferView[]; next: string | null }>(
        connection,
        'GET',
        `/api/accounts/${encodeURIComponent(account)}/transfers${query({ after: f.after, limit: f.limit })}`,
      );
      if (f.json) {
        out(json(page.items));
        if (page.next !== null) process.stderr.write(`next: ${page.next}\n`);
        return;
      }
      out(transferTable(page.items));
      out(nextHint(page.next, `farthing transfers ${account}`));
    })(flags),
  );
}

interface DepositFlags extends CommonFlags {
  asset?: string;
  reference?: string;
  id?: string;
}

function depositCommand(): Command {
  return withCommon(
    new Command('deposit')
      .description(
        "credit a device's prepaid account (from external/deposits); idempotent with --id",
      )
      .argument('<device>', 'the device id (base64url, as in its MQTT topics)')
      .argument('<amount>', 'whole base units, e.g. 5000000000')
      .option('--asset <code>', "the asset (default: the hub's first asset)")
      .option('--reference <text>', 'free text stored with the transfer (at most 64 characters)')
      .option('--id <hex>', 'transfer id, 32 hex characters; repeat it to retry safely'),
  ).action(async (device: string, amount: string, flags: DepositFlags) =>
    run<DepositFlags>(async (connection, f, out) => {
      const result = await callAdmin<Record<string, string | boolean>>(
        connection,
        'POST',
        '/api/deposits',
        {
          device,
          amount,
          ...(f.asset === undefined ? {} : { asset: f.asset }),
          ...(f.reference === undefined ? {} : { reference: f.reference }),
          ...(f.id === undefined ? {} : { id: f.id }),
        },
      );
      if (f.json) return out(json(result));
      out(
        keyValues(
          result.applied === true ? 'deposit applied' : 'deposit already applied (same id)',
          [
            ['id', String(result.id)],
            ['account', String(result.account)],
            ['amount', `${String(result.amount)} ${String(result.asset)}`],
            ['reference', String(result.reference)],
            ['balance now', String(result.balance)],
          ],
        ),
      );
    })(flags),
  );
}

interface Payout {
  id: string;
  payee: string | null;
  asset: string;
  amount: string;
  reference: string;
  sequence: number;
  time: string;
}

function payoutsCommand(): Command {
  return withCommon(
    new Command('payouts')
      .description('payout transfers recorded for payees, oldest first')
      .option('--after <cursor>', 'start after this ledger sequence (the cursor printed as "more")')
      .addOption(limitOption(1000)),
  ).action(
    run<CommonFlags & { after?: string; limit?: number }>(async (connection, flags, out) => {
      const page = await callAdmin<{ items: Payout[]; next: string | null }>(
        connection,
        'GET',
        `/api/payouts${query({ after: flags.after, limit: flags.limit })}`,
      );
      if (flags.json) {
        out(json(page.items));
        if (page.next !== null) process.stderr.write(`next: ${page.next}\n`);
        return;
      }
      out(
        table(
          ['seq', 'time', 'payee', 'asset', 'amount', 'reference', 'id'],
          page.items.map((p) => [
            p.sequence,
            time(p.time),
            p.payee,
            p.asset,
            p.amount,
            p.reference,
            p.id,
          ]),
        ),
      );
      out(nextHint(page.next, 'farthing payouts'));
    }),
  );
}

/** Every operator command, ready for program.addCommand(). */
export function opsCommands(): Command[] {
  return [
    statusCommand(),
    channelsCommand(),
    settleCommand(),
    accountsCommand(),
    transfersCommand(),
    depositCommand(),
    payoutsCommand(),
  ].map(applyExitOverride);
}
