import { transferIdFrom } from '../ledger/accounts.js';

/**
 * Every transfer the hub makes has an id derived from what caused it, so that a commit retried
 * after a crash or a timeout applies at most once (the ledger treats the same id and fields as
 * a no-op). Settlement ids derive from (channelId, seq): settling the same voucher twice is
 * impossible by construction.
 */
export const escrowTransferId = (channelId: Uint8Array): string =>
  transferIdFrom('escrow', channelId);
export const topUpTransferId = (channelId: Uint8Array, capacityBaseUnits: bigint): string =>
  transferIdFrom('topup', channelId, capacityBaseUnits);
export const settlePayeeTransferId = (channelId: Uint8Array, seq: number): string =>
  transferIdFrom('settle-payee', channelId, seq);
export const settleFeeTransferId = (channelId: Uint8Array, seq: number): string =>
  transferIdFrom('settle-fee', channelId, seq);
export const refundTransferId = (channelId: Uint8Array): string =>
  transferIdFrom('refund', channelId);
export const autoFundTransferId = (deviceId: string, amountBaseUnits: bigint): string =>
  transferIdFrom('autofund', deviceId, amountBaseUnits);
export const payoutTransferId = (payeeId: string, asset: string, sequence: number): string =>
  transferIdFrom('payout', payeeId, asset, sequence);
