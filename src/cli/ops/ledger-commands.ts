import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import type { TransferView } from '../../hub/admin/views.js';
import { callAdmin, OpsFailure } from './client.js';
import {
  limitOption,
  nextHint,
  outJsonPage,
  query,
  run,
  withCommon,
  type CommonFlags,
} from './command-kit.js';
import { json, keyValues, table, time } from './format.js';

/** The ledger's commands: `farthing accounts`, `transfers`, `deposit`, `payouts`. */

interface AccountPage {
  items: { account: string; asset: string; balance: string }[];
  next: string | null;
  count: number;
  sums: Record<string, string>;
}

export function accountsCommand(): Command {
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

export function transferTable(items: TransferView[]): string {
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

export function transfersCommand(): Command {
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
      if (f.json) return outJsonPage(out, page.items, page.next);
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

export function depositCommand(): Command {
  return withCommon(
    new Command('deposit')
      .description(
        "credit a device's prepaid account (from external/deposits); idempotent with --id",
      )
      .argument('<device>', 'the device id (base64url, as in its MQTT topics)')
      .argument('<amount>', 'whole base units, e.g. 5000000000')
      .option('--asset <code>', "the asset (default: the hub's first asset)")
      .option('--reference <text>', 'free text stored with the transfer (at most 64 characters)')
      .option(
        '--id <hex>',
        'deposit id, 32 hex characters (default: a random one); repeat it to retry safely',
      ),
  ).action(async (device: string, amount: string, flags: DepositFlags) =>
    run<DepositFlags>(async (connection, f, out) => {
      // Chosen here, not by the hub: if the answer is lost, the operator can repeat the deposit
      // under the same id and it applies at most once.
      const id = f.id ?? randomBytes(16).toString('hex');
      const request = {
        device,
        amount,
        ...(f.asset === undefined ? {} : { asset: f.asset }),
        ...(f.reference === undefined ? {} : { reference: f.reference }),
        id,
      };
      const result = await callAdmin<Record<string, string | boolean>>(
        connection,
        'POST',
        '/api/deposits',
        request,
      ).catch((error: unknown) => {
        if (error instanceof OpsFailure && error.message.startsWith('ADMIN_UNREACHABLE'))
          throw new OpsFailure(
            error.exitCode,
            `${error.message}\nthe deposit may or may not have been applied: repeat it with --id ${id} to apply it at most once`,
          );
        throw error;
      });
      if (f.json) return out(json(result));
      out(
        keyValues(
          result.applied === true ? 'deposit applied' : 'deposit already applied (same id)',
          [
            ['id', String(result.id)],
            ['transfer', String(result.transferId)],
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

export function payoutsCommand(): Command {
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
      if (flags.json) return outJsonPage(out, page.items, page.next);
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
