import type { Ledger } from '../ledger/types.js';
import type { SignFn } from '../protocol/cose.js';
import type { ChannelTable } from './channel-table.js';
import type { HubCounters, HubObserver } from './counters.js';
import type { GroupCommitter } from './group-commit.js';
import type { Clock, HubLogger, SignatureVerifier } from './ports.js';
import type { PayoutsDue } from './payouts-due.js';
import type { Responder } from './responder.js';
import type { UnknownChannelLookups } from './refusals.js';
import type { SerialQueue } from './serial-queue.js';
import type { HubSettings } from './settings.js';

/** The parts of a running hub that its intake, lifecycle and settlement modules share. */
export interface HubCore {
  readonly hubKey: Uint8Array;
  readonly hubId: string;
  readonly sign: SignFn;
  readonly settings: HubSettings;
  readonly table: ChannelTable;
  readonly ledger: Ledger;
  readonly verifier: SignatureVerifier;
  readonly responder: Responder;
  readonly counters: HubCounters;
  readonly observer: HubObserver;
  readonly committer: GroupCommitter;
  /** Serializes every read-then-commit of money. */
  readonly moneyQueue: SerialQueue;
  /** Payees whose balance may be due a payout (src/hub/payouts-due.ts). */
  readonly payoutsDue: PayoutsDue;
  /** Bounded lookups of channels not in memory (closed or unknown). */
  readonly unknownLookups: UnknownChannelLookups;
  readonly clock: Clock;
  readonly logger: HubLogger;
}

export function nowUnixS(core: Pick<HubCore, 'clock'>): number {
  return Math.floor(core.clock.nowMs() / 1000);
}
