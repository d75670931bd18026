import type { StatusCode } from './status.js';

/**
 * Message type numbers: the first element of every payload array. Part of the wire protocol:
 * never renumber; a changed layout gets a new number (docs/PROTOCOL.md, "Extending").
 */
export const MessageType = {
  OpenRequest: 1,
  OpenAccepted: 2,
  OpenRejected: 3,
  Voucher: 4,
  Ack: 5,
  Receipt: 6,
  Rejection: 7,
  TopUp: 8,
  CloseRequest: 9,
  CloseReceipt: 10,
  ReceiptRequest: 11,
  PayeeNotice: 12,
  ConnectProof: 13,
} as const;

export type MessageTypeName = keyof typeof MessageType;
export type MessageTypeNumber = (typeof MessageType)[MessageTypeName];

/** Why a channel closed, as carried by CloseReceipt. */
export const CloseReason = {
  Cooperative: 1,
  Operator: 2,
  Expiry: 3,
} as const;
export type CloseReasonNumber = (typeof CloseReason)[keyof typeof CloseReason];

/** Device asks the hub to open a channel; signed by the device key it names. */
export interface OpenRequest {
  type: typeof MessageType.OpenRequest;
  hubKey: Uint8Array;
  deviceKey: Uint8Array;
  payeeId: string;
  asset: string;
  capacityBaseUnits: bigint;
  expiresAtUnixS: number;
  nonce: Uint8Array;
}

/** Hub confirms the channel and its escrow; signed by the hub. */
export interface OpenAccepted {
  type: typeof MessageType.OpenAccepted;
  nonce: Uint8Array;
  channelId: Uint8Array;
  payeeId: string;
  asset: string;
  capacityBaseUnits: bigint;
  expiresAtUnixS: number;
  feeBasisPoints: number;
}

/** Hub refuses an open; plain (it grants nothing, so it is not worth a signature). */
export interface OpenRejected {
  type: typeof MessageType.OpenRejected;
  nonce: Uint8Array;
  status: StatusCode | number;
}

/** Cumulative promise to pay: supersedes every voucher with a lower seq. Signed by the device. */
export interface Voucher {
  type: typeof MessageType.Voucher;
  channelId: Uint8Array;
  seq: number;
  amountBaseUnits: bigint;
}

/** Plain acknowledgement: the hub holds this voucher durably. Sent between signed receipts. */
export interface Ack {
  type: typeof MessageType.Ack;
  channelId: Uint8Array;
  seq: number;
  amountBaseUnits: bigint;
}

/** Hub-signed statement of the highest durable voucher and the current capacity. */
export interface Receipt {
  type: typeof MessageType.Receipt;
  channelId: Uint8Array;
  seq: number;
  amountBaseUnits: bigint;
  capacityBaseUnits: bigint;
}

/** Hub refuses a channel message; plain. `seq` is the refused voucher's seq, else 0. */
export interface Rejection {
  type: typeof MessageType.Rejection;
  channelId: Uint8Array;
  refusedType: number;
  seq: number;
  status: StatusCode | number;
}

/** Device raises the channel's capacity to a new total (idempotent); signed by the device. */
export interface TopUp {
  type: typeof MessageType.TopUp;
  channelId: Uint8Array;
  capacityBaseUnits: bigint;
}

/**
 * Device closes its channel cooperatively; signed by the device. `seq` is the newest voucher
 * the device stands by (0: it does not know), so the hub never closes short of it.
 */
export interface CloseRequest {
  type: typeof MessageType.CloseRequest;
  channelId: Uint8Array;
  seq: number;
}

/** Hub's final word on a channel: what was paid, the fee, the refund. Signed by the hub. */
export interface CloseReceipt {
  type: typeof MessageType.CloseReceipt;
  channelId: Uint8Array;
  seq: number;
  amountBaseUnits: bigint;
  payeeBaseUnits: bigint;
  feeBaseUnits: bigint;
  refundBaseUnits: bigint;
  reason: CloseReasonNumber;
}

/** Device asks for a signed Receipt now; plain (the broker already confines who may send it). */
export interface ReceiptRequest {
  type: typeof MessageType.ReceiptRequest;
  channelId: Uint8Array;
}

/** Hub tells a payee what one channel has settled to it so far; signed by the hub. */
export interface PayeeNotice {
  type: typeof MessageType.PayeeNotice;
  payeeId: string;
  channelId: Uint8Array;
  asset: string;
  seq: number;
  settledBaseUnits: bigint;
  payeeBaseUnits: bigint;
}

/** Device proves possession of its key when connecting to the embedded broker. */
export interface ConnectProof {
  type: typeof MessageType.ConnectProof;
  hubKey: Uint8Array;
  deviceKey: Uint8Array;
  timestampUnixS: number;
  nonce: Uint8Array;
}

export type Message =
  | OpenRequest
  | OpenAccepted
  | OpenRejected
  | Voucher
  | Ack
  | Receipt
  | Rejection
  | TopUp
  | CloseRequest
  | CloseReceipt
  | ReceiptRequest
  | PayeeNotice
  | ConnectProof;

export type MessageOf<T extends MessageTypeNumber> = Extract<Message, { type: T }>;
