import { describe, expect, it } from 'vitest';
import { signerFor } from '../../src/crypto/index.js';
import {
  Limits,
  MessageType,
  PROTECTED_EDDSA,
  Status,
  checkCborStructure,
  concatBytes,
  decodeCborStrict,
  decodeMessage,
  encodeCbor,
  encodeMessage,
  fromHex,
  sigStructure,
  toHex,
  writePayload,
  type Direction,
  type Message,
  type StatusName,
} from '../../src/protocol/index.js';
import { channelId, device, encodeSample, hub, samples } from './protocol-samples.js';

/**
 * Exact refusal statuses of decodeMessage, one case per rule. Bytes are written out in hex
 * where the point is the encoding itself, so nothing here depends on our encoder being right.
 */
const h = (text: string): Uint8Array => fromHex(text.replace(/\s+/g, ''));
const sign = signerFor(device, 'node');
const cid = toHex(channelId);

/** A correctly signed COSE_Sign1 around arbitrary payload bytes. */
const sign1 = (payload: Uint8Array): Uint8Array =>
  encodeCbor([PROTECTED_EDDSA, new Map(), payload, sign(sigStructure(payload))]);

/** A COSE_Sign1 whose parts are given as raw hex (for broken envelopes). */
const rawSign1 = (protectedHex: string, unprotectedHex: string, payload: Uint8Array) =>
  concatBytes(
    h(`84 ${protectedHex} ${unprotectedHex}`),
    h(
      payload.length < 24
        ? (0x40 + payload.length).toString(16)
        : `58${toHex(Uint8Array.of(payload.length))}`,
    ),
    payload,
    h('5840'),
    sign(sigStructure(payload)),
  );

const voucher: Message = { type: MessageType.Voucher, channelId, seq: 7, amountBaseUnits: 700n };
const voucherPayload = encodeCbor(writePayload(voucher));
const signedVoucher = encodeMessage(voucher, sign);
/** Voucher payload with its three fields given as raw hex. */
const voucherWith = (channelHex: string, seqHex: string, amountHex: string, head = '84') =>
  sign1(h(`${head} 04 ${channelHex} ${seqHex} ${amountHex}`));

type Case = [description: string, bytes: Uint8Array, expected: StatusName, direction?: Direction];

function check(cases: Case[]) {
  for (const [description, bytes, expected, direction = 'up'] of cases) {
    it(`${description} → ${expected}`, () => {
      const decoded = decodeMessage(bytes, direction);
      expect(decoded.ok ? 'accepted' : decoded.status).toBe(Status[expected]);
    });
  }
}

describe('the valid baseline decodes', () => {
  it('the signed voucher these cases mutate is accepted', () => {
    const decoded = decodeMessage(signedVoucher, 'up');
    expect(decoded.ok).toBe(true);
    expect(toHex(voucherWith(`50${cid}`, '07', '1902bc'))).toBe(toHex(signedVoucher));
  });
});

describe('MESSAGE_TOO_LARGE: size is checked before anything is parsed', () => {
  check([
    ['513 zero bytes', new Uint8Array(Limits.maxMessageBytes + 1), 'MESSAGE_TOO_LARGE'],
    ['513 bytes of 0x9f (would be malformed)', new Uint8Array(513).fill(0x9f), 'MESSAGE_TOO_LARGE'],
    [
      '512 bytes of 0x9f is parsed, and malformed',
      new Uint8Array(512).fill(0x9f),
      'MESSAGE_MALFORMED',
    ],
  ]);
  it('honours a smaller per-topic cap', () => {
    const decoded = decodeMessage(signedVoucher, 'up', signedVoucher.length - 1);
    expect(decoded).toMatchObject({ ok: false, status: Status.MESSAGE_TOO_LARGE });
    expect(decodeMessage(signedVoucher, 'up', signedVoucher.length).ok).toBe(true);
  });
});

describe('MESSAGE_MALFORMED: not strict deterministic CBOR', () => {
  describe('tags, around the message and inside it', () => {
    const tags: Array<[number, string]> = [
      [27, 'd81b'],
      [28, 'd81c'],
      [29, 'd81d'],
      [0, 'c0'],
      [1, 'c1'],
      [55799, 'd9d9f7'],
    ];
    check(
      tags.flatMap(([tag, head]): Case[] => [
        [
          `tag ${tag} around a valid voucher`,
          concatBytes(h(head), signedVoucher),
          'MESSAGE_MALFORMED',
        ],
        [
          `tag ${tag} around the seq`,
          voucherWith(`50${cid}`, `${head} 07`, '1902bc'),
          'MESSAGE_MALFORMED',
        ],
      ]),
    );
    check([
      [
        'tag 29 around a plain ack',
        concatBytes(h('d81d'), encodeSample(samples[4]!)),
        'MESSAGE_MALFORMED',
        'down',
      ],
      [
        'tag 2 (bignum) as the amount',
        voucherWith(`50${cid}`, '07', 'c2 42 02bc'),
        'MESSAGE_MALFORMED',
      ],
      [
        'tag 28 around the envelope payload',
        rawSign1('43a10127', 'a0', concatBytes(h('d81c'), voucherPayload)),
        'MESSAGE_MALFORMED',
      ],
    ]);
  });

  describe('indefinite lengths', () => {
    check([
      [
        'indefinite-length outer array',
        concatBytes(h('9f'), signedVoucher.subarray(1), h('ff')),
        'MESSAGE_MALFORMED',
      ],
      [
        'indefinite-length payload array',
        sign1(h(`9f 04 50${cid} 07 1902bc ff`)),
        'MESSAGE_MALFORMED',
      ],
      [
        'indefinite-length byte string (channel id)',
        voucherWith(`5f 48${cid.slice(0, 16)} 48${cid.slice(16)} ff`, '07', '1902bc'),
        'MESSAGE_MALFORMED',
      ],
      ['indefinite-length text string', h('82 0b 7f 6161 ff'), 'MESSAGE_MALFORMED'],
      [
        'indefinite-length map (unprotected header)',
        rawSign1('43a10127', 'bf ff', voucherPayload),
        'MESSAGE_MALFORMED',
      ],
      ['a lone break byte', h('ff'), 'MESSAGE_MALFORMED'],
    ]);
  });

  describe('non-shortest integers and lengths', () => {
    check([
      ['seq 7 as 0x18 07', voucherWith(`50${cid}`, '18 07', '1902bc'), 'MESSAGE_MALFORMED'],
      ['seq 7 as 0x19 0007', voucherWith(`50${cid}`, '19 0007', '1902bc'), 'MESSAGE_MALFORMED'],
      [
        'amount 700 as 0x1a 000002bc',
        voucherWith(`50${cid}`, '07', '1a 000002bc'),
        'MESSAGE_MALFORMED',
      ],
      [
        'amount 700 as 0x1b 00000000000002bc',
        voucherWith(`50${cid}`, '07', '1b 00000000000002bc'),
        'MESSAGE_MALFORMED',
      ],
      [
        'amount 2^32 - 1 as 0x1b',
        voucherWith(`50${cid}`, '07', '1b 00000000ffffffff'),
        'MESSAGE_MALFORMED',
      ],
      ['type 4 as 0x18 04', sign1(h(`84 1804 50${cid} 07 1902bc`)), 'MESSAGE_MALFORMED'],
      ['negative -1 as 0x38 00', voucherWith(`50${cid}`, '38 00', '1902bc'), 'MESSAGE_MALFORMED'],
      [
        'byte-string length 16 as 0x58 10',
        voucherWith(`5810${cid}`, '07', '1902bc'),
        'MESSAGE_MALFORMED',
      ],
      ['array length 4 as 0x98 04', sign1(h(`9804 04 50${cid} 07 1902bc`)), 'MESSAGE_MALFORMED'],
      [
        'signature length as 0x59 0040',
        concatBytes(
          signedVoucher.subarray(0, signedVoucher.length - 66),
          h('590040'),
          signedVoucher.subarray(signedVoucher.length - 64),
        ),
        'MESSAGE_MALFORMED',
      ],
      ['reserved additional information 28', h('1c'), 'MESSAGE_MALFORMED'],
    ]);
  });

  describe('floats and simple values', () => {
    check([
      ['half float as the amount', voucherWith(`50${cid}`, '07', 'f9 5e00'), 'MESSAGE_MALFORMED'],
      [
        'single float as the seq',
        voucherWith(`50${cid}`, 'fa 40e00000', '1902bc'),
        'MESSAGE_MALFORMED',
      ],
      ['double float 1.0', h('fb 3ff0000000000000'), 'MESSAGE_MALFORMED'],
      ['false', h('f4'), 'MESSAGE_MALFORMED'],
      ['true', h('f5'), 'MESSAGE_MALFORMED'],
      ['null', h('f6'), 'MESSAGE_MALFORMED'],
      ['undefined', h('f7'), 'MESSAGE_MALFORMED'],
      ['simple(32)', h('f8 20'), 'MESSAGE_MALFORMED'],
      ['null as the seq', voucherWith(`50${cid}`, 'f6', '1902bc'), 'MESSAGE_MALFORMED'],
    ]);
  });

  describe('truncation and trailing bytes', () => {
    check([
      ['one trailing zero byte', concatBytes(signedVoucher, h('00')), 'MESSAGE_MALFORMED'],
      ['a second message appended', concatBytes(signedVoucher, signedVoucher), 'MESSAGE_MALFORMED'],
      [
        'trailing byte inside the payload',
        sign1(concatBytes(voucherPayload, h('00'))),
        'MESSAGE_MALFORMED',
      ],
      [
        'last byte missing',
        signedVoucher.subarray(0, signedVoucher.length - 1),
        'MESSAGE_MALFORMED',
      ],
      ['empty input', new Uint8Array(0), 'MESSAGE_MALFORMED'],
      ['declared 2^64 - 1 byte string', h('5b ffffffffffffffff 00'), 'MESSAGE_MALFORMED'],
      ['declared 2^64 - 1 element array', h('9b ffffffffffffffff 00'), 'MESSAGE_MALFORMED'],
      ['declared 2^32 - 1 element map', h('ba ffffffff'), 'MESSAGE_MALFORMED'],
      ['array of 17 items (above the item cap)', h(`91 ${'00'.repeat(17)}`), 'MESSAGE_MALFORMED'],
      [
        'byte string of 257 bytes (above the string cap)',
        h(`59 0101 ${'00'.repeat(257)}`),
        'MESSAGE_MALFORMED',
      ],
    ]);
  });

  describe('nesting depth', () => {
    check([
      ['5 nested arrays (cap is 4)', h('81 81 81 81 81 00'), 'MESSAGE_MALFORMED'],
      ['10 000 nested arrays', new Uint8Array(10_000).fill(0x81), 'MESSAGE_TOO_LARGE'],
      [
        '4 nested arrays is within the cap, then not a message',
        h('81 81 81 81 00'),
        'MESSAGE_INVALID',
      ],
    ]);
    it('10 000 nested arrays under a large cap are refused by depth, not by the stack', () => {
      const deep = concatBytes(new Uint8Array(10_000).fill(0x81), h('00'));
      expect(decodeMessage(deep, 'up', 20_000)).toMatchObject({
        ok: false,
        status: Status.MESSAGE_MALFORMED,
      });
      expect(checkCborStructure(deep)).toMatchObject({ ok: false });
    });
  });

  describe('maps', () => {
    check([
      ['unsorted keys {2: 0, 1: 0}', h('a2 0200 0100'), 'MESSAGE_MALFORMED'],
      ['duplicate keys {1: 0, 1: 0}', h('a2 0100 0100'), 'MESSAGE_MALFORMED'],
      ['unsorted text keys {"b": 0, "a": 0}', h('a2 616200 616100'), 'MESSAGE_MALFORMED'],
      [
        'shorter key after longer {10: 0, 1: 0} is unsorted',
        h('a2 0a00 0100'),
        'MESSAGE_MALFORMED',
      ],
      ['byte-string key', h('a1 4100 00'), 'MESSAGE_MALFORMED'],
      ['array key', h('a1 8100 00'), 'MESSAGE_MALFORMED'],
      [
        'unsorted unprotected header',
        rawSign1('43a10127', 'a2 0400 0100', voucherPayload),
        'MESSAGE_MALFORMED',
      ],
    ]);
  });

  describe('text strings must be valid UTF-8', () => {
    const openPayload = (payeeHex: string) =>
      sign1(
        h(
          `88 01 5820${toHex(hub.publicKey)} 5820${toHex(device.publicKey)} ${payeeHex} 63555344 1a3b9aca00 1a6b49d200 50${'00'.repeat(16)}`,
        ),
      );
    it('the baseline with payee "ab" is accepted', () => {
      const decoded = decodeMessage(openPayload('626162'), 'up');
      expect(decoded.ok && decoded.message).toMatchObject({ type: 1, payeeId: 'ab', asset: 'USD' });
    });
    check([
      ['lone continuation byte', openPayload('6180'), 'MESSAGE_MALFORMED'],
      ['truncated sequence c3', openPayload('61c3'), 'MESSAGE_MALFORMED'],
      ['overlong NUL c0 80', openPayload('62c080'), 'MESSAGE_MALFORMED'],
      ['UTF-16 surrogate ed a0 80', openPayload('63eda080'), 'MESSAGE_MALFORMED'],
      ['above U+10FFFF f4 90 80 80', openPayload('64f4908080'), 'MESSAGE_MALFORMED'],
      ['invalid byte ff', openPayload('61ff'), 'MESSAGE_MALFORMED'],
      ['in a top-level string', h('62 c328'), 'MESSAGE_MALFORMED'],
    ]);
  });

  describe('the COSE_Sign1 envelope', () => {
    check([
      ['alg -7 (ES256)', rawSign1('43a10126', 'a0', voucherPayload), 'MESSAGE_MALFORMED'],
      ['empty protected header', rawSign1('40', 'a0', voucherPayload), 'MESSAGE_MALFORMED'],
      [
        'alg in the unprotected header too',
        rawSign1('43a10127', 'a1 0127', voucherPayload),
        'MESSAGE_MALFORMED',
      ],
      [
        'a kid in the unprotected header',
        rawSign1('43a10127', 'a1 04 4101', voucherPayload),
        'MESSAGE_MALFORMED',
      ],
      [
        'unprotected header as an array',
        rawSign1('43a10127', '80', voucherPayload),
        'MESSAGE_MALFORMED',
      ],
      [
        '63-byte signature',
        encodeCbor([PROTECTED_EDDSA, new Map(), voucherPayload, new Uint8Array(63)]),
        'MESSAGE_MALFORMED',
      ],
      [
        '65-byte signature',
        encodeCbor([PROTECTED_EDDSA, new Map(), voucherPayload, new Uint8Array(65)]),
        'MESSAGE_MALFORMED',
      ],
      [
        'payload as a text string',
        encodeCbor([PROTECTED_EDDSA, new Map(), 'hello', new Uint8Array(64)]),
        'MESSAGE_MALFORMED',
      ],
      ['payload bytes that are not CBOR', sign1(h('ff')), 'MESSAGE_MALFORMED'],
      ['payload bytes empty', sign1(new Uint8Array(0)), 'MESSAGE_MALFORMED'],
    ]);
  });
});

describe('MESSAGE_TYPE_UNKNOWN', () => {
  check([
    ['plain [99]', h('81 1863'), 'MESSAGE_TYPE_UNKNOWN'],
    ['plain [0]', h('81 00'), 'MESSAGE_TYPE_UNKNOWN'],
    ['plain [14] (one past the last type)', h('81 0e'), 'MESSAGE_TYPE_UNKNOWN'],
    ['plain [-1]', h('81 20'), 'MESSAGE_TYPE_UNKNOWN'],
    ['signed payload of type 99', sign1(h(`84 1863 50${cid} 07 1902bc`)), 'MESSAGE_TYPE_UNKNOWN'],
  ]);
  it('reports the unknown type number', () => {
    expect(decodeMessage(h('81 1863'), 'up')).toMatchObject({ ok: false, type: 99 });
  });
});

describe('MESSAGE_INVALID: well-formed CBOR, wrong shape', () => {
  check([
    ['voucher with 2 fields', voucherWith(`50${cid}`, '07', '', '83'), 'MESSAGE_INVALID'],
    ['voucher with 4 fields', sign1(h(`85 04 50${cid} 07 1902bc 00`)), 'MESSAGE_INVALID'],
    ['channel id of 15 bytes', voucherWith(`4f${cid.slice(2)}`, '07', '1902bc'), 'MESSAGE_INVALID'],
    ['channel id of 17 bytes', voucherWith(`51${cid}00`, '07', '1902bc'), 'MESSAGE_INVALID'],
    [
      'channel id as a text string',
      voucherWith(`70${cid.slice(0, 32).replace(/../g, '61')}`, '07', '1902bc'),
      'MESSAGE_INVALID',
    ],
    ['seq negative', voucherWith(`50${cid}`, '20', '1902bc'), 'MESSAGE_INVALID'],
    ['seq 2^32', voucherWith(`50${cid}`, '1b 0000000100000000', '1902bc'), 'MESSAGE_INVALID'],
    ['seq as a byte string', voucherWith(`50${cid}`, '41 07', '1902bc'), 'MESSAGE_INVALID'],
    ['amount negative', voucherWith(`50${cid}`, '07', '3902bb'), 'MESSAGE_INVALID'],
    ['amount -2^64 + 1', voucherWith(`50${cid}`, '07', '3b fffffffffffffffe'), 'MESSAGE_INVALID'],
    ['amount -2^32', voucherWith(`50${cid}`, '07', '3a ffffffff'), 'MESSAGE_INVALID'],
    ['amount as a text string', voucherWith(`50${cid}`, '07', '63 373030'), 'MESSAGE_INVALID'],
    ['type as a text string', h('81 6134'), 'MESSAGE_INVALID'],
    ['type 2^32 (a bigint)', h('81 1b 0000000100000000'), 'MESSAGE_TYPE_UNKNOWN'],
    ['payload is an empty array', h('80'), 'MESSAGE_INVALID'],
    ['payload is an integer', h('04'), 'MESSAGE_INVALID'],
    ['payload is a byte string', h('41 04'), 'MESSAGE_INVALID'],
    ['payload is a map', h('a1 00 04'), 'MESSAGE_INVALID'],
    [
      'asset in lower case',
      sign1(encodeCbor([...writePayload(samples[0]!)].map((v, i) => (i === 4 ? 'usd' : v)))),
      'MESSAGE_INVALID',
    ],
    [
      'asset of 13 characters',
      sign1(
        encodeCbor([...writePayload(samples[0]!)].map((v, i) => (i === 4 ? 'A'.repeat(13) : v))),
      ),
      'MESSAGE_INVALID',
    ],
    [
      'payee id with a slash',
      sign1(encodeCbor([...writePayload(samples[0]!)].map((v, i) => (i === 3 ? 'a/b' : v)))),
      'MESSAGE_INVALID',
    ],
    [
      'payee id empty',
      sign1(encodeCbor([...writePayload(samples[0]!)].map((v, i) => (i === 3 ? '' : v)))),
      'MESSAGE_INVALID',
    ],
    [
      'payee id of 65 characters',
      sign1(
        encodeCbor([...writePayload(samples[0]!)].map((v, i) => (i === 3 ? 'p'.repeat(65) : v))),
      ),
      'MESSAGE_INVALID',
    ],
    [
      'expiry above uint32',
      sign1(encodeCbor([...writePayload(samples[0]!)].map((v, i) => (i === 6 ? 2 ** 32 : v)))),
      'MESSAGE_INVALID',
    ],
  ]);
  const hubSigned = (message: Message, index: number, value: number) =>
    encodeCbor([
      PROTECTED_EDDSA,
      new Map(),
      encodeCbor(writePayload(message).map((v, i) => (i === index ? value : v))),
      new Uint8Array(64),
    ]);
  const plain = (message: Message, index: number, value: number) =>
    encodeCbor(writePayload(message).map((v, i) => (i === index ? value : v)));
  check([
    ['fee of 10 001 basis points', hubSigned(samples[1]!, 7, 10_001), 'MESSAGE_INVALID', 'down'],
    ['close reason 0', hubSigned(samples[9]!, 7, 0), 'MESSAGE_INVALID', 'down'],
    ['close reason 4', hubSigned(samples[9]!, 7, 4), 'MESSAGE_INVALID', 'down'],
    ['status 1000', plain(samples[2]!, 2, 1000), 'MESSAGE_INVALID', 'down'],
    ['refused type 256', plain(samples[6]!, 2, 256), 'MESSAGE_INVALID', 'down'],
  ]);
});

describe('MESSAGE_FORM_WRONG: signed/plain or direction', () => {
  const plainAck = encodeSample(samples[4]!);
  check([
    ['Voucher sent plain', voucherPayload, 'MESSAGE_FORM_WRONG'],
    ['TopUp sent plain', encodeCbor(writePayload(samples[7]!)), 'MESSAGE_FORM_WRONG'],
    [
      'ReceiptRequest sent signed',
      sign1(encodeCbor(writePayload(samples[10]!))),
      'MESSAGE_FORM_WRONG',
    ],
    ['Ack sent signed', sign1(plainAck), 'MESSAGE_FORM_WRONG', 'down'],
    ['Receipt (down) offered as up', encodeSample(samples[5]!), 'MESSAGE_FORM_WRONG'],
    ['Ack (down) offered as up', plainAck, 'MESSAGE_FORM_WRONG'],
    ['OpenAccepted (down) offered as up', encodeSample(samples[1]!), 'MESSAGE_FORM_WRONG'],
    ['Voucher (up) offered as down', signedVoucher, 'MESSAGE_FORM_WRONG', 'down'],
    ['PayeeNotice offered as up', encodeSample(samples[11]!), 'MESSAGE_FORM_WRONG'],
    ['ConnectProof offered as up', encodeSample(samples[12]!), 'MESSAGE_FORM_WRONG'],
    ['OpenRequest offered as connect', encodeSample(samples[0]!), 'MESSAGE_FORM_WRONG', 'connect'],
  ]);
});

describe('__proto__ keys', () => {
  // {"__proto__": {"polluted": 1}}
  const protoMap = h('a1 69 5f5f70726f746f5f5f a1 68 706f6c6c75746564 01');

  it('decode to a Map and never touch Object.prototype', () => {
    const decoded = decodeCborStrict(protoMap, Limits.maxMessageBytes);
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(decoded.value).toBeInstanceOf(Map);
    const inner = (decoded.value as Map<string, unknown>).get('__proto__');
    expect(inner).toBeInstanceOf(Map);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('as a message: refused, and Object.prototype untouched', () => {
    expect(decodeMessage(protoMap, 'up')).toMatchObject({
      ok: false,
      status: Status.MESSAGE_INVALID,
    });
    expect(decodeMessage(sign1(protoMap), 'up')).toMatchObject({
      ok: false,
      status: Status.MESSAGE_INVALID,
    });
    const asUnprotected = rawSign1('43a10127', toHex(protoMap), voucherPayload);
    expect(decodeMessage(asUnprotected, 'up')).toMatchObject({
      ok: false,
      status: Status.MESSAGE_MALFORMED,
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
