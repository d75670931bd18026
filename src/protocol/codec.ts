import { decodeCborStrict, encodeCbor } from './cbor.js';
import { encodeSign1, readSign1, sigStructure, type SignFn } from './cose.js';
import { Limits } from './limits.js';
import type { Message, MessageOf, MessageTypeNumber } from './messages.js';
import {
  readPayload,
  schemaOf,
  writePayload,
  type Direction,
  type MessageSchema,
} from './schema.js';
import { Status, type StatusCode } from './status.js';

/** A decoded signed message carries what a verifier needs: the exact signed bytes. */
export interface SignedEnvelope {
  toBeSigned: Uint8Array;
  signature: Uint8Array;
}

export type Decoded<M extends Message = Message> =
  | { ok: true; message: M; signed: SignedEnvelope | undefined; schema: MessageSchema }
  | { ok: false; status: StatusCode; reason: string; type: number | undefined };

/**
 * Encodes a message in its required form. A signed type needs `sign`; a plain type must not
 * get one (misuse is a TypeError, not a silently unsigned message).
 */
export function encodeMessage(message: Message, sign?: SignFn): Uint8Array {
  const schema = schemaOf(message.type);
  if (schema === undefined) throw new RangeError(`unknown message type ${String(message.type)}`);
  const payload = writePayload(message);
  if (schema.form === 'plain') {
    if (sign !== undefined) throw new TypeError(`${schema.name} is a plain message`);
    return encodeCbor(payload);
  }
  if (sign === undefined) throw new TypeError(`${schema.name} must be signed`);
  return encodeSign1(encodeCbor(payload), sign);
}

const refuse = (status: StatusCode, reason: string, type?: number): Decoded => ({
  ok: false,
  status,
  reason,
  type,
});

/**
 * Decodes untrusted bytes into a typed message, in the fixed order: size, strict CBOR,
 * envelope, strict payload CBOR, known type, form and direction, fields. Never throws on any
 * input; the signature is NOT checked here (the caller knows which key must have signed).
 */
export function decodeMessage(
  bytes: Uint8Array,
  direction: Direction,
  maxBytes: number = Limits.maxMessageBytes,
): Decoded {
  const outer = decodeCborStrict(bytes, maxBytes);
  if (!outer.ok) return refuse(outer.status, outer.reason);
  const envelope = readSign1(outer.value);
  if (envelope === 'bad-envelope')
    return refuse(
      Status.MESSAGE_MALFORMED,
      'COSE_Sign1 envelope is not EdDSA with empty unprotected header',
    );
  let payloadValue = outer.value;
  let signed: SignedEnvelope | undefined;
  if (envelope !== undefined) {
    const inner = decodeCborStrict(envelope.payload, maxBytes);
    if (!inner.ok) return refuse(Status.MESSAGE_MALFORMED, `payload: ${inner.reason}`);
    payloadValue = inner.value;
    signed = { toBeSigned: sigStructure(envelope.payload), signature: envelope.signature };
  }
  const read = readPayload(payloadValue);
  if (!read.ok) {
    return refuse(
      read.unknownType ? Status.MESSAGE_TYPE_UNKNOWN : Status.MESSAGE_INVALID,
      read.reason,
      read.type,
    );
  }
  const { message, schema } = read;
  if (schema.direction !== direction) {
    return refuse(
      Status.MESSAGE_FORM_WRONG,
      `${schema.name} does not travel ${direction}`,
      message.type,
    );
  }
  if ((schema.form === 'signed') !== (signed !== undefined)) {
    return refuse(Status.MESSAGE_FORM_WRONG, `${schema.name} must be ${schema.form}`, message.type);
  }
  return { ok: true, message, signed, schema };
}

/** Decodes and insists on one message type (device-side convenience). */
export function decodeMessageOf<T extends MessageTypeNumber>(
  bytes: Uint8Array,
  direction: Direction,
  type: T,
): Decoded<MessageOf<T>> {
  const decoded = decodeMessage(bytes, direction);
  if (decoded.ok && decoded.message.type !== type) {
    return {
      ok: false,
      status: Status.MESSAGE_INVALID,
      reason: `expected type ${type}`,
      type: decoded.message.type,
    };
  }
  return decoded as Decoded<MessageOf<T>>;
}
