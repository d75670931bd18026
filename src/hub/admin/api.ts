import { randomBytes } from 'node:crypto';
import { isFarthingError } from '../../errors.js';
import { channelAccount, deviceAccount, externalAccount } from '../../ledger/accounts.js';
import { TransferCode, type Balance, type Transfer } from '../../ledger/types.js';
import { fromHex } from '../../protocol/bytes.js';
import { statusName } from '../../protocol/status.js';
import { keyId } from '../../protocol/topics.js';
import type { Hub } from '../hub.js';
import { depositTransferId } from '../ids.js';
import {
  CHANNEL_PREFIX,
  channelKey,
  decodeChannelRecord,
  decodeVoucherRecord,
  voucherKey,
} from '../records.js';
import {
  AdminError,
  badRequest,
  conflict,
  notFound,
  unavailable,
  type AdminReply,
} from './http.js';
import type { RateWindow } from './rates.js';
import type { AdminRequest, Router } from './router.js';
import {
  MAX_LIMIT,
  parseAccount,
  parseAccountPrefix,
  parseAmountField,
  parseAsset,
  parseChannelCursor,
  parseChannelId,
  parseEnum,
  parseId,
  parseLimit,
  parseObject,
  parseSequenceCursor,
  parseTransferIdField,
} from './validate.js';
import {
  channelView,
  closeReasonName,
  closeReceiptView,
  settlementRunView,
  transferView,
  type ChannelView,
} from './views.js';

export type RateName = 'received' | 'accepted' | 'refused';

export interface AdminContext {
  hub: Hub;
  /** Voucher counters sampled every second, for the per-second rates in /api/status. */
  rates: RateWindow<RateName>;
  /** The external account deposits come from: external/<depositRail>. */
  depositRail: string;
}

const DEFAULT_PAGE = 100;
const DEFAULT_DEPOSIT_REFERENCE = 'admin deposit';

/** Readings of the hub's voucher counters for the rate window. */
export function voucherCounts(hub: Hub): Record<RateName, number> {
  let refused = 0;
  for (const count of hub.counters.refusedByStatus.values()) refused += count;
  return {
    received: hub.counters.vouchersReceived,
    accepted: hub.counters.vouchersAccepted,
    refused,
  };
}

function requireRunning(hub: Hub): void {
  if (!hub.running) throw unavailable('the hub is not running (starting up or shutting down)');
}

/** Registers every /api route (all of them need the bearer token). */
export function registerApi(router: Router, ctx: AdminContext): void {
  router
    .add('GET', '/api/status', () => status(ctx))
    .add('GET', '/api/channels', (r) => listChannels(ctx, r))
    .add('POST', '/api/channels/close-expired', () => closeExpired(ctx))
    .add('GET', '/api/channels/:id', (r) => showChannel(ctx, r))
    .add('POST', '/api/channels/:id/close', (r) => closeChannel(ctx, r))
    .add('POST', '/api/settle', () => settle(ctx))
    .add('GET', '/api/settlements', (r) => settlements(ctx, r))
    .add('GET', '/api/accounts', (r) => accounts(ctx, r))
    .add('GET', '/api/accounts/:account/transfers', (r) =>
      accountTransfers(ctx, r, r.params.account!),
    )
    .add('GET', '/api/accounts/:kind/:name/transfers', (r) =>
      accountTransfers(ctx, r, `${r.params.kind!}/${r.params.name!}`),
    )
    .add('POST', '/api/deposits', (r) => deposit(ctx, r))
    .add('GET', '/api/payouts', (r) => payouts(ctx, r));
}

function status({ hub, rates }: AdminContext): AdminReply {
  const stats = hub.stats();
  const c = hub.counters;
  const perSecond = rates.rates();
  const last = hub.settlement.lastRun;
  const s = hub.settings;
  const round = (n: number | undefined): number => Math.round((n ?? 0) * 100) / 100;
  return {
    body: {
      hubId: hub.hubId,
      running: hub.running,
      uptimeS: Math.round(stats.uptimeS * 1000) / 1000,
      brokerConnected: hub.brokerConnected,
      openChannels: stats.openChannels,
      escrowOutstanding: stats.escrowOutstandingBaseUnits.toString(),
      unsettled: stats.unsettledBaseUnits.toString(),
      acceptedOpen: stats.acceptedOpenBaseUnits.toString(),
      settledSinceStart: c.settledBaseUnits.toString(),
      vouchers: {
        received: c.vouchersReceived,
        accepted: c.vouchersAccepted,
        duplicate: c.vouchersDuplicate,
        stale: c.vouchersStale,
        refused: voucherCounts(hub).refused,
        receivedPerS: round(perSecond.received),
        acceptedPerS: round(perSecond.accepted),
        refusedPerS: round(perSecond.refused),
      },
      refusedByStatus: c.refusedByName(),
      channels: { opened: c.opensAccepted, toppedUp: c.topUpsAccepted, closed: c.channelsClosed },
      pendingVerifications: stats.pendingVerifications,
      stagedVouchers: stats.stagedVouchers,
      lastGroupCommit: {
        size: stats.lastGroupCommit.size,
        ms: Math.round(stats.lastGroupCommit.ms * 1000) / 1000,
      },
      groupCommits: c.groupCommits,
      lastSettlement: last === undefined ? null : settlementRunView(last),
      payouts: c.payouts,
      settings: {
        feeBasisPoints: s.feeBasisPoints,
        assets: [...s.assets],
        autoFund: s.autoFundBaseUnits !== undefined && s.autoFundBaseUnits > 0n,
        autoFundAmount: s.autoFundBaseUnits?.toString() ?? null,
        settleIntervalMs: s.settleIntervalMs,
        settleThreshold: s.settleThresholdBaseUnits.toString(),
        payoutThreshold: s.payoutThresholdBaseUnits?.toString() ?? null,
        payoutRail: s.payoutRail,
        groupCommitIntervalMs: s.groupCommitIntervalMs,
      },
    },
  };
}

interface ChannelFilter {
  status: 'open' | 'closed' | undefined;
  device: string | undefined;
  payee: string | undefined;
}

/**
 * GET /api/channels: the durable ch/ records in channel id order, filtered, one page at a time
 * (`next` is the last id of the page). With `sort=accepted`, the busiest open channels by
 * accepted amount, read from the in-memory table (one page, no cursor).
 */
async function listChannels({ hub }: AdminContext, request: AdminRequest): Promise<AdminReply> {
  const q = request.query;
  const limit = parseLimit(q.get('limit'), DEFAULT_PAGE);
  const after = parseChannelCursor(q.get('after'));
  const filter: ChannelFilter = {
    status: parseEnum(q.get('status'), 'status', ['open', 'closed'] as const),
    device: q.get('device') === null ? undefined : parseId(q.get('device')!, 'device'),
    payee: q.get('payee') === null ? undefined : parseId(q.get('payee')!, 'payee'),
  };
  const sort = parseEnum(q.get('sort'), 'sort', ['id', 'accepted'] as const) ?? 'id';
  if (sort === 'accepted') {
    if (after !== undefined) throw badRequest('sort=accepted has one page: no after cursor');
    if (filter.status === 'closed') throw badRequest('sort=accepted lists open channels only');
    return { body: { items: await busiestChannels(hub, filter, limit), next: null } };
  }
  const items: ChannelView[] = [];
  let next: string | null = null;
  for await (const [key, value] of hub.ledger.records(CHANNEL_PREFIX)) {
    const idHex = key.slice(CHANNEL_PREFIX.length);
    if (after !== undefined && idHex <= after) continue;
    const record = decodeChannelRecord(value);
    if (filter.status !== undefined && record.status !== filter.status) continue;
    if (filter.payee !== undefined && record.payeeId !== filter.payee) continue;
    if (filter.device !== undefined && keyId(record.deviceKey) !== filter.device) continue;
    if (items.length === limit) {
      next = items[items.length - 1]!.channelId;
      break;
    }
    items.push(await channelView(hub.ledger, hub.table, record));
  }
  return { body: { items, next } };
}

async function busiestChannels(hub: Hub, filter: ChannelFilter, limit: number) {
  const { table } = hub;
  let top: { slot: number; accepted: bigint }[] = [];
  const byAcceptedDesc = (a: { accepted: bigint }, b: { accepted: bigint }): number =>
    a.accepted === b.accepted ? 0 : a.accepted > b.accepted ? -1 : 1;
  for (const slot of table.slots()) {
    if (filter.payee !== undefined && table.payeeId(slot) !== filter.payee) continue;
    if (filter.device !== undefined && keyId(table.deviceKey(slot)) !== filter.device) continue;
    top.push({ slot, accepted: table.acceptedAmount[slot]! });
    // Keep the candidates bounded: sort and cut whenever they reach four pages.
    if (top.length >= 4 * limit) top = top.sort(byAcceptedDesc).slice(0, limit);
  }
  top = top.sort(byAcceptedDesc).slice(0, limit);
  const ids = top.map(({ slot }) => table.channelId(slot).slice());
  const items: ChannelView[] = [];
  for (const channelId of ids) {
    const value = await hub.ledger.record(channelKey(Buffer.from(channelId).toString('hex')));
    if (value !== undefined)
      items.push(await channelView(hub.ledger, table, decodeChannelRecord(value)));
  }
  return items;
}

async function readChannel(hub: Hub, idText: string) {
  const idHex = parseChannelId(idText);
  const value = await hub.ledger.record(channelKey(idHex));
  if (value === undefined) throw notFound(`no channel ${idHex} at this hub`);
  return { idHex, record: decodeChannelRecord(value) };
}

/** GET /api/channels/:id: the channel, its newest durable voucher and its transfers. */
async function showChannel({ hub }: AdminContext, request: AdminRequest): Promise<AdminReply> {
  const after = parseSequenceCursor(request.query.get('after'));
  const limit = parseLimit(request.query.get('limit'), DEFAULT_PAGE);
  const { idHex, record } = await readChannel(hub, request.params.id!);
  const voucherValue = await hub.ledger.record(voucherKey(idHex));
  const voucher = voucherValue === undefined ? undefined : decodeVoucherRecord(voucherValue);
  const account = channelAccount(idHex);
  const page = await hub.ledger.transfers({
    account,
    limit,
    ...(after === undefined ? {} : { after }),
  });
  return {
    body: {
      channel: await channelView(hub.ledger, hub.table, record),
      voucher:
        voucher === undefined
          ? null
          : {
              seq: voucher.seq,
              amount: voucher.amountBaseUnits.toString(),
              bytes: Buffer.from(voucher.voucherBytes).toString('hex'),
            },
      account,
      transfers: {
        items: page.items.map((t) => transferView(t, account)),
        next: page.next === undefined ? null : String(page.next),
      },
    },
  };
}

/** POST /api/channels/:id/close: an operator close; 409 if the channel is already closed. */
async function closeChannel({ hub }: AdminContext, request: AdminRequest): Promise<AdminReply> {
  const { idHex, record } = await readChannel(hub, request.params.id!);
  const alreadyClosed = (closedAtMs: number, reason: number): AdminError =>
    conflict(
      `channel ${idHex} is already closed (${closeReasonName(reason) ?? reason} close at ${new Date(closedAtMs).toISOString()})`,
    );
  if (record.status === 'closed') throw alreadyClosed(record.closedAtMs, record.closeReason);
  requireRunning(hub);
  const outcome = await hub.closeChannel(fromHex(idHex));
  if (!outcome.ok) {
    const name = statusName(outcome.status) ?? String(outcome.status);
    if (name === 'CHANNEL_UNKNOWN') throw notFound(`no open channel ${idHex} at this hub`);
    if (name === 'HUB_FAILURE')
      throw new AdminError(500, 'ADMIN_INTERNAL', `closing ${idHex} failed; see the hub's log`);
    throw conflict(`channel ${idHex} cannot be closed now (${name})`);
  }
  if (outcome.alreadyClosed) {
    const again = await readChannel(hub, idHex);
    throw alreadyClosed(again.record.closedAtMs, again.record.closeReason);
  }
  return { body: closeReceiptView(outcome.receipt) };
}

async function closeExpired({ hub }: AdminContext): Promise<AdminReply> {
  requireRunning(hub);
  return { body: { closed: await hub.lifecycle.expireDue() } };
}

async function settle({ hub }: AdminContext): Promise<AdminReply> {
  requireRunning(hub);
  return { body: settlementRunView(await hub.settleNow()) };
}

/** GET /api/settlements: the hub's recent settlement runs (in memory, newest last). */
function settlements({ hub }: AdminContext, request: AdminRequest): AdminReply {
  const limit = parseLimit(request.query.get('limit'), DEFAULT_PAGE);
  return { body: { items: hub.settlement.history.slice(-limit).map(settlementRunView) } };
}

/**
 * GET /api/accounts: balances by account and asset, in account order, paged (`next` is an
 * opaque cursor), plus the sum per asset over every account matched (not just this page):
 * without a prefix that is the ledger's invariant and must be "0".
 */
async function accounts({ hub }: AdminContext, request: AdminRequest): Promise<AdminReply> {
  const q = request.query;
  const prefix = parseAccountPrefix(q.get('prefix'));
  const asset = parseAsset(q.get('asset'));
  const limit = parseLimit(q.get('limit'), MAX_LIMIT);
  const afterText = q.get('after');
  if (afterText !== null && !/^[A-Za-z0-9_/-]{1,80}\|[A-Z0-9]{1,12}$/.test(afterText))
    throw badRequest('after must be a cursor returned as `next` by the previous page');
  const balances = await hub.ledger.balances({
    ...(prefix === undefined ? {} : { accountPrefix: prefix }),
    ...(asset === undefined ? {} : { asset }),
  });
  const cursor = (b: Balance): string => `${b.account}|${b.asset}`;
  balances.sort((a, b) => (cursor(a) < cursor(b) ? -1 : cursor(a) > cursor(b) ? 1 : 0));
  const sums = new Map<string, bigint>();
  for (const b of balances) sums.set(b.asset, (sums.get(b.asset) ?? 0n) + b.balanceBaseUnits);
  const start = afterText === null ? 0 : balances.findIndex((b) => cursor(b) > afterText);
  const page = start < 0 ? [] : balances.slice(start, start + limit);
  const more = start >= 0 && start + limit < balances.length;
  return {
    body: {
      items: page.map((b) => ({
        account: b.account,
        asset: b.asset,
        balance: b.balanceBaseUnits.toString(),
      })),
      next: more ? cursor(page[page.length - 1]!) : null,
      count: balances.length,
      sums: Object.fromEntries([...sums].map(([a, sum]) => [a, sum.toString()])),
    },
  };
}

/** GET /api/accounts/:account/transfers (account URL-encoded, or as two path segments). */
async function accountTransfers(
  { hub }: AdminContext,
  request: AdminRequest,
  accountText: string,
): Promise<AdminReply> {
  const account = parseAccount(accountText);
  const after = parseSequenceCursor(request.query.get('after'));
  const limit = parseLimit(request.query.get('limit'), DEFAULT_PAGE);
  const page = await hub.ledger.transfers({
    account,
    limit,
    ...(after === undefined ? {} : { after }),
  });
  if (page.items.length === 0 && after === undefined) {
    const known = await hub.ledger.balances({ accountPrefix: account });
    if (!known.some((b) => b.account === account))
      throw notFound(`no transfers for account ${account}`);
  }
  return {
    body: {
      account,
      items: page.items.map((t) => transferView(t, account)),
      next: page.next === undefined ? null : String(page.next),
    },
  };
}

const DEPOSIT_FIELDS = ['device', 'amount', 'asset', 'reference', 'id'] as const;

/**
 * What a deposit reference may not hold: control and format characters (bidi overrides among
 * them, which would make a CLI table lie), line and paragraph separators, unassigned or
 * private-use code points, and lone surrogates (\p{Cs} under the u flag).
 */
const NOT_PRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/u;

/**
 * POST /api/deposits: credits device/<id> from external/<depositRail>, idempotent by id (201
 * when applied, 200 when the same deposit was already applied, 409 if the id was used for a
 * different one).
 */
async function deposit(ctx: AdminContext, request: AdminRequest): Promise<AdminReply> {
  const { hub } = ctx;
  const body = parseObject(await request.body(), DEPOSIT_FIELDS, ['device', 'amount']);
  if (typeof body.device !== 'string') throw badRequest('device must be a device id string');
  const deviceId = parseId(body.device, 'device');
  const amount = parseAmountField(body.amount);
  if (amount === 0n) throw badRequest('amount must be positive');
  let asset = hub.settings.assets[0] ?? 'USD';
  if (body.asset !== undefined) {
    if (typeof body.asset !== 'string') throw badRequest('asset must be a string');
    asset = parseAsset(body.asset)!;
  }
  if (!hub.settings.assets.includes(asset))
    throw badRequest(
      `asset ${asset} is not one of this hub's assets (${hub.settings.assets.join(', ')})`,
    );
  let reference = DEFAULT_DEPOSIT_REFERENCE;
  if (body.reference !== undefined) {
    if (
      typeof body.reference !== 'string' ||
      body.reference.length > 64 ||
      NOT_PRINTABLE.test(body.reference)
    )
      throw badRequest('reference must be a string of at most 64 printable characters');
    reference = body.reference;
  }
  const id =
    body.id === undefined ? randomBytes(16).toString('hex') : parseTransferIdField(body.id);
  requireRunning(hub);
  let applied: boolean;
  try {
    const result = await hub.deposit({
      id,
      deviceId,
      asset,
      amountBaseUnits: amount,
      reference,
      rail: ctx.depositRail,
    });
    applied = result.applied === 1;
  } catch (error) {
    if (isFarthingError(error, 'LEDGER_ID_CONFLICT'))
      throw conflict(`deposit id ${id} was already used for a different deposit`);
    if (isFarthingError(error, 'HUB_STOPPED')) throw unavailable('the hub is not running');
    throw error;
  }
  const account = deviceAccount(deviceId);
  return {
    status: applied ? 201 : 200,
    body: {
      id,
      transferId: depositTransferId(id),
      device: deviceId,
      account,
      from: externalAccount(ctx.depositRail),
      asset,
      amount: amount.toString(),
      reference,
      applied,
      balance: (await hub.ledger.balance(account, asset)).toString(),
    },
  };
}

/**
 * GET /api/payouts: Payout transfers to external/<payoutRail>, oldest first, paged by ledger
 * sequence. Other transfers on that account are skipped (a few ledger pages at most per call).
 */
async function payouts({ hub }: AdminContext, request: AdminRequest): Promise<AdminReply> {
  const limit = parseLimit(request.query.get('limit'), DEFAULT_PAGE);
  let after = parseSequenceCursor(request.query.get('after'));
  const account = externalAccount(hub.settings.payoutRail);
  const found: Transfer[] = [];
  let next: number | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await hub.ledger.transfers({
      account,
      limit: MAX_LIMIT,
      ...(after === undefined ? {} : { after }),
    });
    for (const t of page.items) {
      after = t.sequence;
      if (t.code !== TransferCode.Payout) continue;
      found.push(t);
      if (found.length === limit) break;
    }
    next = after;
    if (found.length === limit) {
      // More only if this page had more after the last taken item, or a next page exists.
      const lastSeq = found[found.length - 1]!.sequence;
      const rest = page.items.some((t) => t.sequence > lastSeq);
      next = rest || page.next !== undefined ? lastSeq : undefined;
      break;
    }
    if (page.next === undefined) {
      next = undefined;
      break;
    }
  }
  return {
    body: {
      account,
      items: found.map((t) => ({
        id: t.id,
        payee: t.debitAccount.startsWith('payee/') ? t.debitAccount.slice('payee/'.length) : null,
        account: t.debitAccount,
        asset: t.asset,
        amount: t.amountBaseUnits.toString(),
        reference: t.reference,
        sequence: t.sequence,
        time: new Date(t.timestampMs).toISOString(),
      })),
      next: next === undefined ? null : String(next),
    },
  };
}
