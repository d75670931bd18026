import { Command, Option } from 'commander';
import type { ChannelView, TransferView } from '../../hub/admin/views.js';
import { callAdmin } from './client.js';
import {
  HELP_FOOTER,
  limitOption,
  nextHint,
  outJsonPage,
  query,
  run,
  withCommon,
  type CommonFlags,
} from './command-kit.js';
import { json, keyValues, table, time } from './format.js';
import { transferTable } from './ledger-commands.js';

/** `farthing channels list|show|close|close-expired`. */

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

export function channelsCommand(): Command {
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
      if (flags.json) return outJsonPage(out, items, next);
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
