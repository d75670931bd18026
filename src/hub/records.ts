import { decodeCborStrict, encodeCbor, writeCborHead, type CborValue } from '../protocol/cbor.js';
import { FarthingError } from '../errors.js';

/**
 * The hub's durable channel records, stored beside the ledger and written in the same atomic
 * commits as the money they describe. Two keys per channel, so that writers never clobber
 * each other's fields: the channel itself (changed by open, top-up and close, all serialized)
 * and its latest durable voucher (changed only by group commit).
 *
 *   ch/<channelIdHex>  ChannelRecord
 *   v/<channelIdHex>   VoucherRecord
 *
 * There is no settled-mark record: the channel's escrow balance in the ledger is the mark
 * (settled = capacity − escrow, see settledFromEscrow), so it can never disagree with the money.
 */
export const CHANNEL_PREFIX = 'ch/';
export const VOUCHER_PREFIX = 'v/';

export const channelKey = (idHex: string): string => CHANNEL_PREFIX + idHex;
export const voucherKey = (idHex: string): string => VOUCHER_PREFIX + idHex;

export interface ChannelRecord {
  channelId: Uint8Array;
  deviceKey: Uint8Array;
  payeeId: string;
  asset: string;
  capacityBaseUnits: bigint;
  expiresAtUnixS: number;
  feeBasisPoints: number;
  nonce: Uint8Array;
  openedAtMs: number;
  status: 'open' | 'closed';
  /** 0 while open; a CloseReason number once closed. */
  closeReason: number;
  closedAtMs: number;
  /** Final figures, set at close. */
  finalSeq: number;
  finalAmountBaseUnits: bigint;
  payeeBaseUnits: bigint;
  feeBaseUnits: bigint;
  refundBaseUnits: bigint;
}

export interface VoucherRecord {
  seq: number;
  amountBaseUnits: bigint;
  /** The signed voucher exactly as received: the hub's proof of what the device owes. */
  voucherBytes: Uint8Array;
}

const RECORD_VERSION = 1;
const RECORD_LIMIT_BYTES = 1024;

function decode(bytes: Uint8Array, what: string): CborValue[] {
  const decoded = decodeCborStrict(bytes, RECORD_LIMIT_BYTES, {
    maxDepth: 2,
    maxItems: 24,
    maxStringBytes: 512,
  });
  if (!decoded.ok || !Array.isArray(decoded.value) || decoded.value[0] !== RECORD_VERSION) {
    throw new FarthingError('LEDGER_UNAVAILABLE', `unreadable ${what} record`);
  }
  return decoded.value;
}

const big = (v: CborValue | undefined): bigint => BigInt(v as number | bigint);
const num = (v: CborValue | undefined): number => Number(v as number | bigint);
const bytes = (v: CborValue | undefined): Uint8Array => Uint8Array.from(v as Uint8Array);

export function encodeChannelRecord(r: ChannelRecord): Uint8Array {
  return encodeCbor([
    RECORD_VERSION,
    r.channelId,
    r.deviceKey,
    r.payeeId,
    r.asset,
    r.capacityBaseUnits,
    r.expiresAtUnixS,
    r.feeBasisPoints,
    r.nonce,
    r.openedAtMs,
    r.status === 'open' ? 0 : 1,
    r.closeReason,
    r.closedAtMs,
    r.finalSeq,
    r.finalAmountBaseUnits,
    r.payeeBaseUnits,
    r.feeBaseUnits,
    r.refundBaseUnits,
  ]);
}

export function decodeChannelRecord(value: Uint8Array): ChannelRecord {
  const f = decode(value, 'channel');
  return {
    channelId: bytes(f[1]),
    deviceKey: bytes(f[2]),
    payeeId: f[3] as string,
    asset: f[4] as string,
    capacityBaseUnits: big(f[5]),
    expiresAtUnixS: num(f[6]),
    feeBasisPoints: num(f[7]),
    nonce: bytes(f[8]),
    openedAtMs: num(f[9]),
    status: f[10] === 0 ? 'open' : 'closed',
    closeReason: num(f[11]),
    closedAtMs: num(f[12]),
    finalSeq: num(f[13]),
    finalAmountBaseUnits: big(f[14]),
    payeeBaseUnits: big(f[15]),
    feeBaseUnits: big(f[16]),
    refundBaseUnits: big(f[17]),
  };
}

/**
 * [version, seq, amount, voucherBytes], written by hand: group commit writes one per voucher.
 * Byte-identical to encodeCbor of the same array (test/property/hub-records.property.test.ts).
 */
export function encodeVoucherRecord(r: VoucherRecord): Uint8Array {
  const voucher = r.voucherBytes;
  const out = new Uint8Array(2 + 9 + 9 + 9 + voucher.length);
  out[0] = 0x84;
  out[1] = RECORD_VERSION;
  let offset = writeCborHead(out, 2, 0, r.seq);
  offset = writeCborHead(out, offset, 0, r.amountBaseUnits);
  offset = writeCborHead(out, offset, 2, voucher.length);
  out.set(voucher, offset);
  return out.subarray(0, offset + voucher.length);
}

export function decodeVoucherRecord(value: Uint8Array): VoucherRecord {
  const f = decode(value, 'voucher');
  return { seq: num(f[1]), amountBaseUnits: big(f[2]), voucherBytes: bytes(f[3]) };
}

/**
 * An open channel's settled mark from its escrow balance: every settlement and the close move
 * money out of escrow in the same commit that would have written a mark, and top-ups change
 * the capacity and the escrow together, so capacity − escrow is exactly what has been settled.
 */
export function settledFromEscrow(capacityBaseUnits: bigint, escrowBaseUnits: bigint): bigint {
  if (escrowBaseUnits < 0n || escrowBaseUnits > capacityBaseUnits) {
    throw new FarthingError(
      'LEDGER_UNAVAILABLE',
      `escrow ${escrowBaseUnits} does not fit a channel of capacity ${capacityBaseUnits}`,
    );
  }
  return capacityBaseUnits - escrowBaseUnits;
}
