import { bytesEqual } from './bytes.js';
import { encodeCbor, writeCborHead, type CborValue } from './cbor.js';

/**
 * COSE_Sign1 (RFC 9052 §4.2), untagged, EdDSA only. The protected header is always exactly
 * {1: -8} (alg: EdDSA), the unprotected header is always empty and there is no external AAD, so
 * every signed Farthing message has one possible envelope around its payload.
 */
export const PROTECTED_EDDSA = Uint8Array.of(0xa1, 0x01, 0x27);
export const SIGNATURE_BYTES = 64;

/** A signer returns the 64-byte Ed25519 signature of the given bytes. */
export type SignFn = (toBeSigned: Uint8Array) => Uint8Array;

/**
 * Sig_structure = ["Signature1", protected, external_aad = h'', payload]. Its fixed prefix is
 * precomputed so the hub can build the signed bytes with one copy.
 */
const SIG_STRUCTURE_PREFIX = encodeCbor([
  'Signature1',
  PROTECTED_EDDSA,
  new Uint8Array(0),
]).subarray(1);

export function sigStructure(payload: Uint8Array): Uint8Array {
  // Array header 0x84, the constant prefix, then the payload as a byte string, written into
  // one buffer: the hub builds one per voucher.
  if (payload.length >= 0x10000) throw new RangeError('payload too large for a Farthing message');
  const out = new Uint8Array(1 + SIG_STRUCTURE_PREFIX.length + 3 + payload.length);
  out[0] = 0x84;
  out.set(SIG_STRUCTURE_PREFIX, 1);
  const offset = writeCborHead(out, 1 + SIG_STRUCTURE_PREFIX.length, 2, payload.length);
  out.set(payload, offset);
  return out.subarray(0, offset + payload.length);
}

export function encodeSign1(payload: Uint8Array, sign: SignFn): Uint8Array {
  const signature = sign(sigStructure(payload));
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) {
    throw new TypeError('signer must return 64 bytes');
  }
  return encodeCbor([PROTECTED_EDDSA, new Map(), payload, signature]);
}

export interface Sign1Parts {
  payload: Uint8Array;
  signature: Uint8Array;
}

/** Recognises the envelope in an already strictly decoded value; undefined if it is not one. */
export function readSign1(value: CborValue): Sign1Parts | undefined | 'bad-envelope' {
  if (!Array.isArray(value) || value.length !== 4 || !(value[0] instanceof Uint8Array))
    return undefined;
  const [protectedBytes, unprotected, payload, signature] = value;
  if (!bytesEqual(protectedBytes as Uint8Array, PROTECTED_EDDSA)) return 'bad-envelope';
  if (!(unprotected instanceof Map) || unprotected.size !== 0) return 'bad-envelope';
  if (!(payload instanceof Uint8Array)) return 'bad-envelope';
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES)
    return 'bad-envelope';
  return { payload, signature };
}
