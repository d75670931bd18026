import { Command } from 'commander';
import { callAdmin } from './client.js';
import { run, withCommon, type CommonFlags } from './command-kit.js';
import { channelsCommand } from './channel-commands.js';
import { json, keyValues, time } from './format.js';
import {
  accountsCommand,
  depositCommand,
  payoutsCommand,
  transfersCommand,
} from './ledger-commands.js';

/**
 * The operator commands (`farthing status`, `channels …`, `settle`, `accounts`, `transfers`,
 * `deposit`, `payouts`): thin clients of the hub's admin HTTP API. Tables by default, --json
 * for scripts (lists print a JSON array, single things a JSON object).
 */

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
  ];
}
