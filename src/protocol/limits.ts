/**
 * Bounds on everything that crosses the wire. The receiver checks the size before it parses a
 * single byte, so a hostile sender cannot make it allocate or recurse past these.
 */
export const Limits = {
  /** Largest message of any type on a Farthing topic (bytes). Brokers enforce a cap above it. */
  maxMessageBytes: 512,
  /**
   * Largest device → hub message (bytes), checked before parsing: the largest OpenRequest is
   * 254 bytes and a voucher at most 107, so anything above this on the `up` topic is refused
   * unparsed.
   */
  maxUpMessageBytes: 256,
  /** A voucher is at most 107 bytes (seq is uint32, amount uint64). */
  maxVoucherBytes: 107,
  /** Largest MQTT packet the embedded broker accepts (bytes), topic and headers included. */
  maxPacketBytes: 4096,
  /** Deepest CBOR nesting any Farthing message uses is 2 (COSE array > header map). */
  maxCborDepth: 4,
  /** Most items in any one CBOR array or map. */
  maxCborItems: 16,
  /** Longest byte or text string inside a message (bytes). */
  maxCborStringBytes: 256,
  /** Largest amount or capacity: CBOR unsigned 64-bit. */
  maxAmount: 2n ** 64n - 1n,
  /** Largest seq: uint32, so a voucher stays within 107 bytes; a channel renews before it. */
  maxSeq: 2 ** 32 - 1,
  /** Ids chosen by operators (payee ids, rails): base64url alphabet, 1 to 64 characters. */
  maxIdChars: 64,
  /** Asset codes: 1 to 12 characters, upper-case letters and digits. */
  maxAssetChars: 12,
} as const;

export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const ASSET_PATTERN = /^[A-Z0-9]{1,12}$/;
