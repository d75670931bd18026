/**
 * The strict Ed25519 rule, shared by both verification paths so that they accept exactly the
 * same signatures (libsodium's set): canonical encodings of A and R, S < L, neither A nor R of
 * small order, and the cofactorless equation [S]B = R + [k]A. Everything here is a byte check:
 * it runs before any curve arithmetic and is the same code on the device and the hub.
 */

/** Group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L_BYTES = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);

export const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
export const FIELD_PRIME = 2n ** 255n - 19n;

/** S (little-endian, 32 bytes) is strictly below L. */
export function isScalarCanonical(s: Uint8Array): boolean {
  if (s.length !== 32) return false;
  for (let i = 31; i >= 0; i--) {
    if (s[i]! < L_BYTES[i]!) return true;
    if (s[i]! > L_BYTES[i]!) return false;
  }
  return false; // equal to L
}

/**
 * A point encoding is canonical when y < p and, for the two points with x = 0 (y = 1 and
 * y = p − 1), the sign bit is clear. Whether y is on the curve at all is left to the
 * verifier, where both paths refuse it.
 */
export function isPointEncodingCanonical(point: Uint8Array): boolean {
  if (point.length !== 32) return false;
  const signBit = point[31]! >> 7;
  // y >= p only when y is in [p, 2^255): bytes ed..ff ff .. ff 7f with the first byte >= 0xed.
  let allHigh = (point[31]! & 0x7f) === 0x7f;
  for (let i = 30; i >= 1 && allHigh; i--) allHigh = point[i] === 0xff;
  if (allHigh && point[0]! >= 0xed) return false;
  if (signBit === 1) {
    if (isYEqual(point, Y_ONE) || isYEqual(point, Y_MINUS_ONE)) return false;
  }
  return true;
}

const Y_ONE = hex('0100000000000000000000000000000000000000000000000000000000000000');
const Y_MINUS_ONE = hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');

function isYEqual(point: Uint8Array, y: Uint8Array): boolean {
  for (let i = 0; i < 31; i++) if (point[i] !== y[i]) return false;
  return (point[31]! & 0x7f) === y[31];
}

/**
 * The canonical encodings of the eight points of order dividing 8. A canonical encoding that is
 * not in this list decodes to a point whose order is not small. test/unit/crypto-strict.test.ts
 * recomputes the list with curve arithmetic.
 */
export const SMALL_ORDER_ENCODINGS: readonly Uint8Array[] = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
].map(hex);

export function isSmallOrderEncoding(point: Uint8Array): boolean {
  outer: for (const candidate of SMALL_ORDER_ENCODINGS) {
    for (let i = 0; i < 32; i++) if (point[i] !== candidate[i]) continue outer;
    return true;
  }
  return false;
}

/** A public key the hub will accept: canonical and not of small order. */
export function isPublicKeyAcceptable(publicKey: Uint8Array): boolean {
  return (
    publicKey.length === 32 &&
    isPointEncodingCanonical(publicKey) &&
    !isSmallOrderEncoding(publicKey)
  );
}

/**
 * Every check of the strict rule that needs no curve arithmetic. A signature that fails here
 * is refused by both paths without touching a library.
 */
export function passesStrictPrechecks(signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || !isPublicKeyAcceptable(publicKey)) return false;
  const r = signature.subarray(0, 32);
  return (
    isPointEncodingCanonical(r) &&
    !isSmallOrderEncoding(r) &&
    isScalarCanonical(signature.subarray(32))
  );
}

function hex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}
