import { FarthingError } from '../errors.js';
import { ASSET_PATTERN, ID_PATTERN, Limits } from '../protocol/limits.js';
import { defaultHubSettings, type HubSettings } from './settings.js';

/** Settings that count something or time something: whole numbers, at least 1. */
const POSITIVE_INTEGERS = [
  'minLifetimeS',
  'maxLifetimeS',
  'groupCommitIntervalMs',
  'groupCommitMaxVouchers',
  'settleIntervalMs',
  'settleMaxChannelsPerBatch',
  'receiptEveryMs',
  'receiptEveryAcks',
  'expiryCheckIntervalMs',
  'maxPendingVerifications',
  'payeeNoticeEveryMs',
] as const satisfies readonly (keyof HubSettings)[];

const invalid = (message: string): FarthingError =>
  new FarthingError('CONFIG_INVALID', `hub settings: ${message}`);

const checkId = (what: string, id: string): void => {
  if (!ID_PATTERN.test(id))
    throw invalid(`${what} ${JSON.stringify(id)} is not 1..64 characters of [A-Za-z0-9_-]`);
};

/** An amount setting, 1..2^64-1 base units (0 too where `zero` allows it); undefined: unset. */
const checkAmount = (key: string, value: bigint | undefined, zero = false): void => {
  if (value === undefined) return;
  if (value < (zero ? 0n : 1n) || value > Limits.maxAmount)
    throw invalid(`${key} must be ${zero ? 0 : 1}..2^64-1 base units`);
};

/** The hub's settings: the defaults under the given ones, checked (checkHubSettings). */
export function resolveHubSettings(settings: Partial<HubSettings> = {}): HubSettings {
  const resolved = { ...defaultHubSettings, ...settings };
  checkHubSettings(resolved);
  return resolved;
}

/**
 * Refuses settings a hub would only trip over later, at a request (an asset or rail the ledger
 * cannot name, a lifetime range no open can meet): a hub that starts should work.
 */
export function checkHubSettings(settings: HubSettings): void {
  const { assets, payees, payoutRail, feeBasisPoints } = settings;
  if (assets.length === 0) throw invalid('at least one asset is needed');
  for (const asset of assets)
    if (!ASSET_PATTERN.test(asset))
      throw invalid(`asset ${JSON.stringify(asset)} is not 1..12 characters of [A-Z0-9]`);
  if (new Set(assets).size !== assets.length) throw invalid('an asset is listed twice');
  for (const payee of payees ?? []) checkId('payee id', payee);
  checkId('payout rail', payoutRail);
  if (!Number.isInteger(feeBasisPoints) || feeBasisPoints < 0 || feeBasisPoints > 10_000)
    throw invalid(`the fee must be 0..10000 basis points, not ${feeBasisPoints}`);
  for (const key of POSITIVE_INTEGERS) {
    const value = settings[key];
    if (!Number.isSafeInteger(value) || value < 1)
      throw invalid(`${key} must be a whole number of at least 1, not ${value}`);
  }
  if (settings.minLifetimeS > settings.maxLifetimeS)
    throw invalid(
      `the shortest lifetime (${settings.minLifetimeS} s) is above the longest (${settings.maxLifetimeS} s)`,
    );
  checkAmount('minCapacityBaseUnits', settings.minCapacityBaseUnits);
  checkAmount('maxCapacityBaseUnits', settings.maxCapacityBaseUnits);
  checkAmount('autoFundBaseUnits', settings.autoFundBaseUnits);
  checkAmount('payoutThresholdBaseUnits', settings.payoutThresholdBaseUnits);
  // 0 is allowed: settle after every group commit.
  checkAmount('settleThresholdBaseUnits', settings.settleThresholdBaseUnits, true);
  if (settings.minCapacityBaseUnits > settings.maxCapacityBaseUnits)
    throw invalid('the smallest capacity is above the largest');
}
