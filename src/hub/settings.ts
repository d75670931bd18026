/** Everything about a hub's behaviour that an operator may set; see README "Configuration". */
export interface HubSettings {
  /** Asset codes this hub accepts channels in (base units are the asset's own). */
  assets: readonly string[];
  /** Hub fee on every settled amount, 0..10000 basis points, floor-rounded (src/channel/fees.ts). */
  feeBasisPoints: number;
  /** If set, only these payee ids may be named in an OpenRequest. */
  payees: readonly string[] | undefined;
  minCapacityBaseUnits: bigint;
  maxCapacityBaseUnits: bigint;
  /** Bounds on a channel's lifetime from the moment it is opened (seconds). */
  minLifetimeS: number;
  maxLifetimeS: number;
  /** Development only: credit each new device this much from external/faucet at its first open. */
  autoFundBaseUnits: bigint | undefined;
  groupCommitIntervalMs: number;
  groupCommitMaxVouchers: number;
  settleIntervalMs: number;
  /** Settle at once when durable but unsettled value reaches this (base units, all assets). */
  settleThresholdBaseUnits: bigint;
  /** Most channels per settlement commit; more are settled in further commits. */
  settleMaxChannelsPerBatch: number;
  /** Sign a Receipt for a channel at least this often while it streams (ms) ... */
  receiptEveryMs: number;
  /** ... or after this many plain Acks, whichever comes first. */
  receiptEveryAcks: number;
  /** Pay a payee out to external/<payoutRail> once its balance reaches this; undefined: never. */
  payoutThresholdBaseUnits: bigint | undefined;
  payoutRail: string;
  expiryCheckIntervalMs: number;
  /** Vouchers waiting for a signature check before the hub answers HUB_BUSY. */
  maxPendingVerifications: number;
  /** Publish hub-signed PayeeNotices (per channel settled, and at close). */
  payeeNotices: boolean;
  /** At most one PayeeNotice per channel this often while it streams (ms); always one at close. */
  payeeNoticeEveryMs: number;
}

export const defaultHubSettings: HubSettings = {
  assets: ['USD'],
  feeBasisPoints: 100,
  payees: undefined,
  minCapacityBaseUnits: 1n,
  maxCapacityBaseUnits: 10n ** 15n,
  minLifetimeS: 10,
  maxLifetimeS: 90 * 24 * 3600,
  autoFundBaseUnits: undefined,
  groupCommitIntervalMs: 2,
  groupCommitMaxVouchers: 4096,
  settleIntervalMs: 10_000,
  settleThresholdBaseUnits: 10n ** 12n,
  settleMaxChannelsPerBatch: 10_000,
  receiptEveryMs: 5000,
  receiptEveryAcks: 100,
  payoutThresholdBaseUnits: undefined,
  payoutRail: 'payouts',
  expiryCheckIntervalMs: 1000,
  maxPendingVerifications: 50_000,
  payeeNotices: true,
  payeeNoticeEveryMs: 60_000,
};
