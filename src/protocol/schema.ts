import { ASSET_PATTERN, ID_PATTERN, Limits } from './limits.js';
import { MessageType, type Message, type MessageTypeNumber } from './messages.js';
import type { CborValue } from './cbor.js';

/** Who sends a message and whether it must be a COSE_Sign1 or a plain array. */
export type Direction = 'up' | 'down' | 'payee' | 'connect';
export type Form = 'signed' | 'plain';

type FieldKind =
  | 'key32'
  | 'bytes16'
  | 'amount'
  | 'seq'
  | 'unixS'
  | 'id'
  | 'asset'
  | 'status'
  | 'messageType'
  | 'closeReason'
  | 'basisPoints';

export interface MessageSchema {
  name: string;
  form: Form;
  direction: Direction;
  fields: ReadonlyArray<readonly [name: string, kind: FieldKind]>;
}

/** The positional layout of every payload, after its leading type number. */
export const schemas: Record<MessageTypeNumber, MessageSchema> = {
  [MessageType.OpenRequest]: {
    name: 'OpenRequest',
    form: 'signed',
    direction: 'up',
    fields: [
      ['hubKey', 'key32'],
      ['deviceKey', 'key32'],
      ['payeeId', 'id'],
      ['asset', 'asset'],
      ['capacityBaseUnits', 'amount'],
      ['expiresAtUnixS', 'unixS'],
      ['nonce', 'bytes16'],
    ],
  },
  [MessageType.OpenAccepted]: {
    name: 'OpenAccepted',
    form: 'signed',
    direction: 'down',
    fields: [
      ['nonce', 'bytes16'],
      ['channelId', 'bytes16'],
      ['payeeId', 'id'],
      ['asset', 'asset'],
      ['capacityBaseUnits', 'amount'],
      ['expiresAtUnixS', 'unixS'],
      ['feeBasisPoints', 'basisPoints'],
    ],
  },
  [MessageType.OpenRejected]: {
    name: 'OpenRejected',
    form: 'plain',
    direction: 'down',
    fields: [
      ['nonce', 'bytes16'],
      ['status', 'status'],
    ],
  },
  [MessageType.Voucher]: {
    name: 'Voucher',
    form: 'signed',
    direction: 'up',
    fields: [
      ['channelId', 'bytes16'],
      ['seq', 'seq'],
      ['amountBaseUnits', 'amount'],
    ],
  },
  [MessageType.Ack]: {
    name: 'Ack',
    form: 'plain',
    direction: 'down',
    fields: [
      ['channelId', 'bytes16'],
      ['seq', 'seq'],
      ['amountBaseUnits', 'amount'],
    ],
  },
  [MessageType.Receipt]: {
    name: 'Receipt',
    form: 'signed',
    direction: 'down',
    fields: [
      ['channelId', 'bytes16'],
      ['seq', 'seq'],
      ['amountBaseUnits', 'amount'],
      ['capacityBaseUnits', 'amount'],
    ],
  },
  [MessageType.Rejection]: {
    name: 'Rejection',
    form: 'plain',
    direction: 'down',
    fields: [
      ['channelId', 'bytes16'],
      ['refusedType', 'messageType'],
      ['seq', 'seq'],
      ['status', 'status'],
    ],
  },
  [MessageType.TopUp]: {
    name: 'TopUp',
    form: 'signed',
    direction: 'up',
    fields: [
      ['channelId', 'bytes16'],
      ['capacityBaseUnits', 'amount'],
    ],
  },
  [MessageType.CloseRequest]: {
    name: 'CloseRequest',
    form: 'signed',
    direction: 'up',
    fields: [
      ['channelId', 'bytes16'],
      ['seq', 'seq'],
    ],
  },
  [MessageType.CloseReceipt]: {
    name: 'CloseReceipt',
    form: 'signed',
    direction: 'down',
    fields: [
      ['channelId', 'bytes16'],
      ['seq', 'seq'],
      ['amountBaseUnits', 'amount'],
      ['payeeBaseUnits', 'amount'],
      ['feeBaseUnits', 'amount'],
      ['refundBaseUnits', 'amount'],
      ['reason', 'closeReason'],
    ],
  },
  [MessageType.ReceiptRequest]: {
    name: 'ReceiptRequest',
    form: 'plain',
    direction: 'up',
    fields: [['channelId', 'bytes16']],
  },
  [MessageType.PayeeNotice]: {
    name: 'PayeeNotice',
    form: 'signed',
    direction: 'payee',
    fields: [
      ['payeeId', 'id'],
      ['channelId', 'bytes16'],
      ['asset', 'asset'],
      ['seq', 'seq'],
      ['settledBaseUnits', 'amount'],
      ['payeeBaseUnits', 'amount'],
    ],
  },
  [MessageType.ConnectProof]: {
    name: 'ConnectProof',
    form: 'signed',
    direction: 'connect',
    fields: [
      ['hubKey', 'key32'],
      ['deviceKey', 'key32'],
      ['timestampUnixS', 'unixS'],
      ['nonce', 'bytes16'],
    ],
  },
};

export function schemaOf(type: number): MessageSchema | undefined {
  return (schemas as Record<number, MessageSchema | undefined>)[type];
}

const UINT32_MAX = 2 ** 32 - 1;

function asUint(value: CborValue, max: bigint): bigint | undefined {
  if (typeof value === 'number')
    return value >= 0 && BigInt(value) <= max ? BigInt(value) : undefined;
  if (typeof value === 'bigint') return value >= 0n && value <= max ? value : undefined;
  return undefined;
}

function asSmallUint(value: CborValue, max: number): number | undefined {
  return typeof value === 'number' && value >= 0 && value <= max ? value : undefined;
}

function asBytes(value: CborValue, length: number): Uint8Array | undefined {
  return value instanceof Uint8Array && value.length === length ? toPlainBytes(value) : undefined;
}

/** cbor-x hands out Buffers; the protocol surface is plain Uint8Array everywhere. */
function toPlainBytes(value: Uint8Array): Uint8Array {
  return value.constructor === Uint8Array
    ? value
    : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Reads one field; undefined when the value is not of its kind or out of range. */
function readField(kind: FieldKind, value: CborValue): unknown {
  switch (kind) {
    case 'key32':
      return asBytes(value, 32);
    case 'bytes16':
      return asBytes(value, 16);
    case 'amount':
      return asUint(value, Limits.maxAmount);
    case 'seq':
      return asSmallUint(value, Limits.maxSeq);
    case 'unixS':
      return asSmallUint(value, UINT32_MAX);
    case 'id':
      return typeof value === 'string' && ID_PATTERN.test(value) ? value : undefined;
    case 'asset':
      return typeof value === 'string' && ASSET_PATTERN.test(value) ? value : undefined;
    case 'status':
      return asSmallUint(value, 999);
    case 'messageType':
      return asSmallUint(value, 255);
    case 'closeReason': {
      const n = asSmallUint(value, 3);
      return n !== undefined && n >= 1 ? n : undefined;
    }
    case 'basisPoints':
      return asSmallUint(value, 10_000);
  }
}

/** Writes one field in the form the decoder expects back (validated, so encode cannot lie). */
function writeField(kind: FieldKind, name: string, value: unknown): CborValue {
  const back = readField(kind, value as CborValue);
  if (back === undefined) throw new RangeError(`field ${name}: invalid ${kind}: ${String(value)}`);
  return value as CborValue;
}

export type PayloadRead =
  | { ok: true; message: Message; schema: MessageSchema }
  | { ok: false; unknownType: boolean; reason: string; type?: number };

/** Maps a decoded payload array onto its typed message, checking every field. */
export function readPayload(value: CborValue): PayloadRead {
  if (!Array.isArray(value) || value.length === 0) {
    return { ok: false, unknownType: false, reason: 'payload is not a non-empty array' };
  }
  const type = value[0];
  // Any integer is a possible type number; one this receiver has no schema for is unknown.
  if (typeof type === 'bigint')
    return { ok: false, unknownType: true, reason: `unknown type ${type}` };
  if (typeof type !== 'number')
    return { ok: false, unknownType: false, reason: 'type is not an integer' };
  const schema = schemaOf(type);
  if (schema === undefined)
    return { ok: false, unknownType: true, reason: `unknown type ${type}`, type };
  if (value.length !== schema.fields.length + 1) {
    return {
      ok: false,
      unknownType: false,
      type,
      reason: `${schema.name} has ${schema.fields.length + 1} elements, got ${value.length}`,
    };
  }
  const message: Record<string, unknown> = { type };
  for (let i = 0; i < schema.fields.length; i++) {
    const [name, kind] = schema.fields[i]!;
    const field = readField(kind, value[i + 1]!);
    if (field === undefined)
      return {
        ok: false,
        unknownType: false,
        type,
        reason: `${schema.name}.${name}: invalid ${kind}`,
      };
    message[name] = field;
  }
  return { ok: true, message: message as unknown as Message, schema };
}

/** The payload array of a message (throws RangeError on a field out of range: API misuse). */
export function writePayload(message: Message): CborValue[] {
  const schema = schemaOf(message.type);
  if (schema === undefined) throw new RangeError(`unknown message type ${String(message.type)}`);
  const record = message as unknown as Record<string, unknown>;
  return [
    message.type,
    ...schema.fields.map(([name, kind]) => writeField(kind, name, record[name])),
  ];
}
