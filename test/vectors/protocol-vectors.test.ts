import { sha256 } from '@noble/hashes/sha2.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkVoucher, type ChannelState } from '../../src/channel/index.js';
import { keyPairFromSeed, signerFor, verifyNoble, verifyNode } from '../../src/crypto/index.js';
import {
  MessageType,
  PROTECTED_EDDSA,
  Status,
  channelIdOf,
  decodeMessage,
  encodeCbor,
  encodeMessage,
  fromHex,
  keyId,
  schemas,
  statusName,
  toHex,
  writePayload,
  type Direction,
  type Message,
  type StatusName,
} from '../../src/protocol/index.js';
import { renderVectors } from '../../scripts/make-vectors.js';

/**
 * The committed vectors are the protocol as other implementations see it: our code must
 * reproduce every byte, signature and verdict in the file. If this fails after a deliberate
 * protocol change, regenerate with `npm run vectors` and review the diff.
 */
const PATH = fileURLToPath(new URL('./protocol-vectors.json', import.meta.url));
const text = readFileSync(PATH, 'utf8');

interface Vectors {
  statuses: Record<string, number>;
  keys: Record<'hub' | 'device', { label: string; seed: string; publicKey: string; id: string }>;
  channel: { nonce: string; channelId: string };
  cose: { protectedHeader: string };
  messages: Array<{
    name: string;
    type: number;
    form: 'signed' | 'plain';
    direction: Direction;
    signer: 'hub' | 'device' | null;
    fields: Array<{ name: string; kind: string; value: string | number }>;
    payload: string;
    encoded: string;
    encodedBytes: number;
    toBeSigned: string | null;
    signature: string | null;
  }>;
  refusals: Array<{
    description: string;
    direction: Direction;
    bytes: string;
    status: StatusName;
    statusCode: number;
  }>;
  voucherScenario: {
    capacityBaseUnits: string;
    expiresAtUnixS: number;
    steps: Array<{
      description: string;
      nowUnixS: number;
      sender: 'device' | 'hub';
      seq: number;
      amountBaseUnits: string;
      encoded: string;
      verdict: string;
      status: StatusName | null;
      statusCode: number | null;
      stateAfter: { seq: number; amountBaseUnits: string };
    }>;
  };
  ed25519: Array<{
    description: string;
    publicKey: string;
    message: string;
    signature: string;
    expected: 'accept' | 'refuse';
  }>;
}

const vectors = JSON.parse(text) as Vectors;
const hub = keyPairFromSeed(fromHex(vectors.keys.hub.seed));
const device = keyPairFromSeed(fromHex(vectors.keys.device.seed));
const channelId = fromHex(vectors.channel.channelId);

/** Field values as the code types them: amounts bigint, byte strings Uint8Array. */
function fieldValue(kind: string, value: string | number): unknown {
  if (kind === 'amount') return BigInt(value as string);
  if (kind === 'key32' || kind === 'bytes16') return fromHex(value as string);
  return value;
}

describe('protocol-vectors.json', () => {
  it('is exactly what scripts/make-vectors.ts generates (stable order, 2-space JSON)', () => {
    expect(text).toBe(renderVectors());
  });

  it('keys derive from their labels and seeds', () => {
    for (const [pair, json] of [
      [hub, vectors.keys.hub],
      [device, vectors.keys.device],
    ] as const) {
      expect(json.seed).toBe(toHex(sha256(new TextEncoder().encode(json.label))));
      expect(json.publicKey).toBe(toHex(pair.publicKey));
      expect(json.id).toBe(keyId(pair.publicKey));
    }
  });

  it('the channel id, COSE header and status catalogue match the code', () => {
    expect(
      toHex(channelIdOf(hub.publicKey, device.publicKey, fromHex(vectors.channel.nonce))),
    ).toBe(vectors.channel.channelId);
    expect(vectors.cose.protectedHeader).toBe(toHex(PROTECTED_EDDSA));
    expect(vectors.statuses).toEqual({ ...Status });
  });

  it('cover every message type', () => {
    expect(new Set(vectors.messages.map((m) => m.type))).toEqual(
      new Set(Object.values(MessageType)),
    );
  });

  describe.each(vectors.messages.map((m, i) => [`${i}: ${m.name}`, m] as const))(
    'message %s',
    (_, vector) => {
      const schema = schemas[vector.type as keyof typeof schemas];

      it('lists the schema’s fields, kinds, form and direction', () => {
        expect(vector.name).toBe(schema.name);
        expect(vector.form).toBe(schema.form);
        expect(vector.direction).toBe(schema.direction);
        expect(vector.fields.map((f) => [f.name, f.kind])).toEqual(
          schema.fields.map(([n, k]) => [n, k]),
        );
        expect(vector.signer).toBe(
          schema.form === 'plain'
            ? null
            : schema.direction === 'up' || schema.direction === 'connect'
              ? 'device'
              : 'hub',
        );
      });

      const message = Object.fromEntries([
        ['type', vector.type],
        ...vector.fields.map((f) => [f.name, fieldValue(f.kind, f.value)]),
      ]) as unknown as Message;

      it('encodes to the exact payload and message bytes, with the same signature', () => {
        expect(toHex(encodeCbor(writePayload(message)))).toBe(vector.payload);
        const signer =
          vector.signer === null ? undefined : signerFor(vector.signer === 'hub' ? hub : device);
        const encoded = encodeMessage(message, signer);
        expect(toHex(encoded)).toBe(vector.encoded);
        expect(encoded.length).toBe(vector.encodedBytes);
      });

      it('decodes to the listed fields; a signed one verifies over toBeSigned on both paths', () => {
        const decoded = decodeMessage(fromHex(vector.encoded), vector.direction);
        if (!decoded.ok) throw new Error(decoded.reason);
        expect(decoded.message).toStrictEqual(message);
        if (vector.form === 'plain') {
          expect(decoded.signed).toBeUndefined();
          expect(vector.toBeSigned).toBeNull();
          expect(vector.signature).toBeNull();
          expect(vector.encoded).toBe(vector.payload);
          return;
        }
        expect(toHex(decoded.signed!.toBeSigned)).toBe(vector.toBeSigned);
        expect(toHex(decoded.signed!.signature)).toBe(vector.signature);
        expect(vector.encoded.endsWith(vector.signature!)).toBe(true);
        const key = (vector.signer === 'hub' ? hub : device).publicKey;
        const signature = fromHex(vector.signature!);
        const toBeSigned = fromHex(vector.toBeSigned!);
        expect(verifyNoble(signature, toBeSigned, key)).toBe(true);
        expect(verifyNode(signature, toBeSigned, key)).toBe(true);
      });
    },
  );

  describe.each(vectors.refusals.map((r) => [r.description, r] as const))(
    'refusal: %s',
    (_, vector) => {
      it(`is ${vector.status} (${vector.statusCode}) on the ${vector.direction} topic`, () => {
        expect(Status[vector.status]).toBe(vector.statusCode);
        const decoded = decodeMessage(fromHex(vector.bytes), vector.direction);
        expect(decoded.ok ? 'accepted' : statusName(decoded.status)).toBe(vector.status);
      });
    },
  );

  it('the voucher scenario reproduces every verdict and state, and every voucher’s bytes', () => {
    const scenario = vectors.voucherScenario;
    let state: ChannelState = {
      channelId,
      deviceKey: device.publicKey,
      payeeId: 'charger-17',
      asset: 'USD',
      capacityBaseUnits: BigInt(scenario.capacityBaseUnits),
      expiresAtUnixS: scenario.expiresAtUnixS,
      seq: 0,
      amountBaseUnits: 0n,
      status: 'open',
      closeReason: undefined,
    };
    const sign = signerFor(device, 'node');
    const verdicts = new Set<string>();
    for (const step of scenario.steps) {
      const voucher = { seq: step.seq, amountBaseUnits: BigInt(step.amountBaseUnits) };
      const encoded = encodeMessage({ type: MessageType.Voucher, channelId, ...voucher }, sign);
      expect(toHex(encoded), step.description).toBe(step.encoded);
      const decoded = decodeMessage(encoded, 'up');
      expect(decoded.ok && decoded.message).toMatchObject(voucher);
      const sender = step.sender === 'device' ? device.publicKey : hub.publicKey;
      const verdict = checkVoucher(state, voucher, step.nowUnixS, sender);
      const status = verdict.kind === 'refuse' ? verdict.status : null;
      expect(
        {
          verdict: verdict.kind,
          status: status === null ? null : statusName(status),
          statusCode: status,
        },
        step.description,
      ).toEqual({ verdict: step.verdict, status: step.status, statusCode: step.statusCode });
      if (verdict.kind === 'accept') state = verdict.state;
      expect(
        { seq: state.seq, amountBaseUnits: state.amountBaseUnits.toString() },
        step.description,
      ).toEqual(step.stateAfter);
      verdicts.add(step.status ?? step.verdict);
    }
    // The scenario exercises every voucher verdict the rules can give.
    expect([...verdicts].sort()).toEqual(
      [
        'accept',
        'duplicate',
        'stale',
        'SEQ_NOT_INCREASING',
        'AMOUNT_DECREASED',
        'AMOUNT_EXCEEDS_CAPACITY',
        'CHANNEL_NOT_OWNED',
        'CHANNEL_EXPIRED',
      ].sort(),
    );
  });

  describe.each(vectors.ed25519.map((c) => [c.description, c] as const))(
    'ed25519: %s',
    (_, vector) => {
      it(`is ${vector.expected === 'accept' ? 'accepted' : 'refused'} by both paths`, () => {
        const args = [
          fromHex(vector.signature),
          fromHex(vector.message),
          fromHex(vector.publicKey),
        ] as const;
        expect({ noble: verifyNoble(...args), node: verifyNode(...args) }).toEqual({
          noble: vector.expected === 'accept',
          node: vector.expected === 'accept',
        });
      });
    },
  );

  it('the Ed25519 cases are one honest signature and the rest refused', () => {
    expect(vectors.ed25519.filter((c) => c.expected === 'accept')).toHaveLength(1);
    expect(vectors.ed25519.length).toBeGreaterThanOrEqual(9);
  });
});
