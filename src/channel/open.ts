import { bytesEqual } from '../protocol/bytes.js';
import { channelIdOf } from '../protocol/channel-id.js';
import type { OpenRequest } from '../protocol/messages.js';
import { Status } from '../protocol/status.js';
import { isPublicKeyAcceptable } from '../crypto/strict-rules.js';
import type { ChannelState } from './state.js';

/** What the hub allows when opening; all bounds inclusive. */
export interface OpenPolicy {
  hubKey: Uint8Array;
  assets: ReadonlySet<string>;
  /** Undefined: any well-formed payee id; otherwise only these. */
  payees: ReadonlySet<string> | undefined;
  minCapacityBaseUnits: bigint;
  maxCapacityBaseUnits: bigint;
  minLifetimeS: number;
  maxLifetimeS: number;
}

/**
 * Checks an OpenRequest (before its signature, which is checked last) and returns the new
 * channel. Order: HUB_MISMATCH, DEVICE_MISMATCH, KEY_INVALID, ASSET_UNSUPPORTED,
 * PAYEE_INVALID, CAPACITY_INVALID, EXPIRY_INVALID. Funds are checked by the hub afterwards.
 */
export function checkOpen(
  request: OpenRequest,
  policy: OpenPolicy,
  nowUnixS: number,
  senderKey: Uint8Array,
): { ok: true; state: ChannelState } | { ok: false; status: number } {
  if (!bytesEqual(request.hubKey, policy.hubKey)) return { ok: false, status: Status.HUB_MISMATCH };
  if (!bytesEqual(request.deviceKey, senderKey))
    return { ok: false, status: Status.DEVICE_MISMATCH };
  if (!isPublicKeyAcceptable(request.deviceKey)) return { ok: false, status: Status.KEY_INVALID };
  if (!policy.assets.has(request.asset)) return { ok: false, status: Status.ASSET_UNSUPPORTED };
  if (policy.payees !== undefined && !policy.payees.has(request.payeeId))
    return { ok: false, status: Status.PAYEE_INVALID };
  if (
    request.capacityBaseUnits < policy.minCapacityBaseUnits ||
    request.capacityBaseUnits > policy.maxCapacityBaseUnits
  ) {
    return { ok: false, status: Status.CAPACITY_INVALID };
  }
  const lifetimeS = request.expiresAtUnixS - nowUnixS;
  if (lifetimeS < policy.minLifetimeS || lifetimeS > policy.maxLifetimeS)
    return { ok: false, status: Status.EXPIRY_INVALID };
  return {
    ok: true,
    state: {
      channelId: channelIdOf(request.hubKey, request.deviceKey, request.nonce),
      deviceKey: request.deviceKey,
      payeeId: request.payeeId,
      asset: request.asset,
      capacityBaseUnits: request.capacityBaseUnits,
      expiresAtUnixS: request.expiresAtUnixS,
      seq: 0,
      amountBaseUnits: 0n,
      status: 'open',
      closeReason: undefined,
    },
  };
}
