import { makeRng } from '../../device-sim/rng.js';
import {
  TransferCode,
  type CommitRequest,
  type CommitResult,
  type Ledger,
} from '../ledger/types.js';

/**
 * TEST ONLY. With FARTHING_CRASH_POINTS set (e.g. "group-commit:0.02,settlement:0.2,open:0.1"),
 * the hub process SIGKILLs itself during a ledger commit of that kind, with that probability,
 * either just before the write or just after it became durable (but before the hub answered).
 * The crash test uses it so that kills land inside the windows that matter, not only between
 * them. FARTHING_CRASH_SEED makes the choices reproducible. Never set it in production.
 */
export function withFaultInjection(ledger: Ledger, env: NodeJS.ProcessEnv = process.env): Ledger {
  const spec = env.FARTHING_CRASH_POINTS;
  if (spec === undefined || spec === '') return ledger;
  const probability = new Map<string, number>();
  for (const part of spec.split(',')) {
    const [kind, p] = part.split(':');
    probability.set(kind!.trim(), Number(p));
  }
  const random = makeRng(Number(env.FARTHING_CRASH_SEED ?? '1'));
  const kindOf = (request: CommitRequest): string => {
    const keys = (request.records ?? []).map((r) => r.key);
    const codes = new Set(request.transfers.map((t) => t.code));
    if (request.transfers.length === 0 && keys.every((k) => k.startsWith('v/')))
      return 'group-commit';
    if (keys.some((k) => k.startsWith('ch/'))) {
      if (codes.has(TransferCode.Escrow)) return 'open';
      if (codes.has(TransferCode.TopUpEscrow)) return 'topup';
      return 'close';
    }
    const settles = (c: number) => c === TransferCode.SettlePayee || c === TransferCode.SettleFee;
    if (keys.length === 0 && codes.size > 0 && [...codes].every(settles)) return 'settlement';
    return 'other';
  };
  const die = (where: string): never => {
    process.stderr.write(`fault injection: SIGKILL ${where}\n`);
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable');
  };
  const commit = async (request: CommitRequest): Promise<CommitResult> => {
    const kind = kindOf(request);
    const p = probability.get(kind) ?? 0;
    const roll = random();
    if (roll < p / 2) die(`before ${kind} commit`);
    const result = await ledger.commit(request);
    if (roll < p) die(`after ${kind} commit`);
    return result;
  };
  return {
    open: () => ledger.open(),
    close: () => ledger.close(),
    commit,
    balance: (account, asset) => ledger.balance(account, asset),
    balances: (filter) => ledger.balances(filter),
    transfer: (id) => ledger.transfer(id),
    transfers: (query) => ledger.transfers(query),
    record: (key) => ledger.record(key),
    records: (prefix) => ledger.records(prefix),
  };
}
