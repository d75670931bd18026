import { keyPairFromSeed, signerFor } from '../../src/crypto/index.js';
import {
  CloseReason,
  Limits,
  MessageType,
  Status,
  channelIdOf,
  encodeMessage,
  schemas,
  type Message,
} from '../../src/protocol/index.js';

/** Fixed keys and one sample of every message type, shared by the protocol tests. */
export const hub = keyPairFromSeed(new Uint8Array(32).fill(0xa1));
export const device = keyPairFromSeed(new Uint8Array(32).fill(0xd1));
export const nonce = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);
export const channelId = channelIdOf(hub.publicKey, device.publicKey, nonce);

/** One message of every type, with values away from zero so a swapped field shows. */
export const samples: Message[] = [
  {
    type: MessageType.OpenRequest,
    hubKey: hub.publicKey,
    deviceKey: device.publicKey,
    payeeId: 'payee_A-1',
    asset: 'USD',
    capacityBaseUnits: 5_000_000_000n,
    expiresAtUnixS: 1_800_000_000,
    nonce,
  },
  {
    type: MessageType.OpenAccepted,
    nonce,
    channelId,
    payeeId: 'payee_A-1',
    asset: 'EUR2',
    capacityBaseUnits: 5_000_000_000n,
    expiresAtUnixS: 1_800_000_000,
    feeBasisPoints: 10_000,
  },
  { type: MessageType.OpenRejected, nonce, status: Status.CAPACITY_INVALID },
  { type: MessageType.Voucher, channelId, seq: 3, amountBaseUnits: 2n ** 40n },
  { type: MessageType.Ack, channelId, seq: 3, amountBaseUnits: 2n ** 40n },
  {
    type: MessageType.Receipt,
    channelId,
    seq: 3,
    amountBaseUnits: 2n ** 40n,
    capacityBaseUnits: 2n ** 41n,
  },
  {
    type: MessageType.Rejection,
    channelId,
    refusedType: MessageType.TopUp,
    seq: 0,
    status: Status.CAPACITY_NOT_INCREASING,
  },
  { type: MessageType.TopUp, channelId, capacityBaseUnits: Limits.maxAmount },
  { type: MessageType.CloseRequest, channelId, seq: 42 },
  {
    type: MessageType.CloseReceipt,
    channelId,
    seq: 99,
    amountBaseUnits: 1000n,
    payeeBaseUnits: 985n,
    feeBaseUnits: 15n,
    refundBaseUnits: 0n,
    reason: CloseReason.Expiry,
  },
  { type: MessageType.ReceiptRequest, channelId },
  {
    type: MessageType.PayeeNotice,
    payeeId: 'p',
    channelId,
    asset: 'BTC',
    seq: Limits.maxSeq,
    settledBaseUnits: 1n,
    payeeBaseUnits: 0n,
  },
  {
    type: MessageType.ConnectProof,
    hubKey: hub.publicKey,
    deviceKey: device.publicKey,
    timestampUnixS: 2 ** 32 - 1,
    nonce,
  },
];

export function signerKeyOf(message: Message) {
  const { direction } = schemas[message.type];
  return direction === 'up' || direction === 'connect' ? device : hub;
}

export function encodeSample(message: Message): Uint8Array {
  const schema = schemas[message.type];
  return schema.form === 'signed'
    ? encodeMessage(message, signerFor(signerKeyOf(message), 'node'))
    : encodeMessage(message);
}
