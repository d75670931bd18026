import { describe, expect, it } from 'vitest';
import { signerFor, verifyNoble, verifyNode } from '../../src/crypto/index.js';
import {
  Limits,
  MessageType,
  Status,
  decodeCborStrict,
  decodeMessage,
  decodeMessageOf,
  encodeCbor,
  encodeMessage,
  PROTECTED_EDDSA,
  schemas,
  sigStructure,
  toHex,
  writePayload,
  type Message,
} from '../../src/protocol/index.js';
import { channelId, device, encodeSample, hub, samples, signerKeyOf } from './protocol-samples.js';

describe('every message type round-trips', () => {
  it('the samples cover every message type exactly once', () => {
    expect(samples.map((m) => m.type).sort((a, b) => a - b)).toEqual(
      Object.values(MessageType).sort((a, b) => a - b),
    );
  });

  for (const message of samples) {
    const schema = schemas[message.type];
    it(`${schema.name} (${schema.form}, ${schema.direction})`, () => {
      const bytes = encodeSample(message);
      const decoded = decodeMessage(bytes, schema.direction);
      if (!decoded.ok) throw new Error(`refused: ${decoded.reason}`);
      // toStrictEqual: byte fields come back as plain Uint8Array, amounts as bigint.
      expect(decoded.message).toStrictEqual(message);
      expect(decoded.schema).toBe(schema);
      const payload = encodeCbor(writePayload(message));
      if (schema.form === 'plain') {
        expect(decoded.signed).toBeUndefined();
        expect(toHex(bytes)).toBe(toHex(payload));
      } else {
        const signed = decoded.signed!;
        expect(signed.toBeSigned).toEqual(sigStructure(payload));
        const key = signerKeyOf(message).publicKey;
        expect(verifyNoble(signed.signature, signed.toBeSigned, key)).toBe(true);
        expect(verifyNode(signed.signature, signed.toBeSigned, key)).toBe(true);
        // The other party's key does not verify it: the signer is the one the schema says.
        const other = (key === hub.publicKey ? device : hub).publicKey;
        expect(verifyNode(signed.signature, signed.toBeSigned, other)).toBe(false);
      }
      // Encoding is deterministic: the same message gives the same bytes. (Compared as hex:
      // cbor-x hangs a `dataView` property on the arrays it decodes.)
      expect(toHex(encodeSample(decoded.message))).toBe(toHex(bytes));
    });
  }
});

describe('sizes', () => {
  it('the largest voucher (seq 2^32 - 1, amount 2^64 - 1) is at most 110 bytes', () => {
    const bytes = encodeMessage(
      {
        type: MessageType.Voucher,
        channelId,
        seq: Limits.maxSeq,
        amountBaseUnits: Limits.maxAmount,
      },
      signerFor(device, 'node'),
    );
    console.log(`largest voucher: ${bytes.length} bytes`);
    expect(bytes.length).toBeLessThanOrEqual(110);
    expect(bytes.length).toBeLessThanOrEqual(Limits.maxVoucherBytes);
  });

  it('every sample fits the message cap with room to spare', () => {
    for (const message of samples) expect(encodeSample(message).length).toBeLessThan(256);
  });
});

describe('encodeMessage refuses misuse', () => {
  const voucher = samples[3]!;
  const ack = samples[4]!;

  it('a signed type without a signer and a plain type with one are TypeErrors', () => {
    expect(() => encodeMessage(voucher)).toThrow(TypeError);
    expect(() => encodeMessage(ack, signerFor(device))).toThrow(TypeError);
  });

  it('a signer that does not return 64 bytes is a TypeError', () => {
    expect(() => encodeMessage(voucher, () => new Uint8Array(63))).toThrow(TypeError);
  });

  it('an out-of-range field or an unknown type is a RangeError', () => {
    const sign = signerFor(device, 'node');
    const bad = (patch: Record<string, unknown>) =>
      encodeMessage({ ...voucher, ...patch } as Message, sign);
    expect(() => bad({ seq: Limits.maxSeq + 1 })).toThrow(RangeError);
    expect(() => bad({ seq: -1 })).toThrow(RangeError);
    expect(() => bad({ amountBaseUnits: -1n })).toThrow(RangeError);
    expect(() => bad({ amountBaseUnits: 2n ** 64n })).toThrow(RangeError);
    expect(() => bad({ channelId: new Uint8Array(15) })).toThrow(RangeError);
    expect(() => bad({ type: 99 })).toThrow(RangeError);
    expect(() => encodeMessage({ ...samples[0]!, asset: 'usd' } as Message, sign)).toThrow(
      RangeError,
    );
    expect(() => encodeMessage({ ...samples[0]!, payeeId: 'a/b' } as Message, sign)).toThrow(
      RangeError,
    );
  });
});

describe('decodeMessageOf', () => {
  it('returns the message of the wanted type and refuses another as MESSAGE_INVALID', () => {
    const bytes = encodeSample(samples[3]!);
    const ok = decodeMessageOf(bytes, 'up', MessageType.Voucher);
    expect(ok.ok && ok.message.seq).toBe(3);
    const wrong = decodeMessageOf(bytes, 'up', MessageType.TopUp);
    expect(wrong).toMatchObject({ ok: false, status: Status.MESSAGE_INVALID, type: 4 });
  });
});

describe('decodeCborStrict of an encoded message equals the value written', () => {
  it('holds for every sample payload', () => {
    for (const message of samples) {
      const payload = writePayload(message);
      const decoded = decodeCborStrict(encodeCbor(payload), Limits.maxMessageBytes);
      expect(decoded.ok).toBe(true);
      expect(decoded.ok && toHex(encodeCbor(decoded.value))).toBe(toHex(encodeCbor(payload)));
    }
  });
});

describe('Sig_structure', () => {
  it('is the CBOR array ["Signature1", protected, h\'\', payload] for every length form', () => {
    for (const length of [0, 1, 23, 24, 255, 256, 1000]) {
      const payload = Uint8Array.from({ length }, (_, i) => (i * 7 + length) & 0xff);
      const expected = encodeCbor(['Signature1', PROTECTED_EDDSA, new Uint8Array(0), payload]);
      expect(toHex(sigStructure(payload)), `payload of ${length} bytes`).toBe(toHex(expected));
    }
  });
});
