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
/**
 * The id of one leg of settling a channel up to voucher `seq`: 'payee' is its escrow → payee
 * transfer, 'fee' the payee → hub/fees transfer a close makes for it (settlement sums fees per
 * payee instead). Settlement makes one per channel per batch, so these ids are built rather
 * than hashed: the first 11 bytes of the channel id (itself a SHA-256 prefix), a leg byte
 * (0xa1 payee, 0xa2 fee), then seq as 4 bytes big-endian. Distinct (channel, seq, leg) give
 * distinct ids; meeting one of the hub's hashed ids would take a 2^-88 coincidence, and two
 * channels whose ids share those 11 bytes (a device could grind nonces for a pair) are never
 * both opened (Lifecycle.open refuses the second with CHANNEL_EXISTS). Built from
 * the channel id's hex, which the caller has anyway, so that no bytes are allocated per channel.
 */
export function settleTransferId(channelIdHex: string, seq: number, leg: 'payee' | 'fee'): string {
  const seqHex = (seq >>> 0).toString(16).padStart(8, '0');
  return `${channelIdHex.slice(0, 22)}${leg === 'payee' ? 'a1' : 'a2'}${seqHex}`;
}
export const refundTransferId = (channelId: Uint8Array): string =>
  transferIdFrom('refund', channelId);
export const autoFundTransferId = (deviceId: string, amountBaseUnits: bigint): string =>
  transferIdFrom('autofund', deviceId, amountBaseUnits);
export const payoutTransferId = (payeeId: string, asset: string, sequence: number): string =>
  transferIdFrom('payout', payeeId, asset, sequence);
/**
 * The ledger id of an operator's deposit, from the id its client chose. Hashed rather than
 * taken as is: the hub's own ids derive from public data (channel ids), so a client id used
 * verbatim could take the id of a settlement or refund the hub has yet to make and stall it.
 */
export const depositTransferId = (clientDepositId: string): string =>
  transferIdFrom('deposit', clientDepositId);
