import { describe, expect, it } from 'vitest';
import { checkOpen, type OpenPolicy } from '../../src/channel/index.js';
import { SMALL_ORDER_ENCODINGS, keyPairFromSeed } from '../../src/crypto/index.js';
import {
  MessageType,
  Status,
  channelIdOf,
  fromHex,
  type OpenRequest,
} from '../../src/protocol/index.js';

const hubKey = keyPairFromSeed(new Uint8Array(32).fill(0x40)).publicKey;
const deviceKey = keyPairFromSeed(new Uint8Array(32).fill(0x41)).publicKey;
const NOW = 1_900_000_000;
const nonce = new Uint8Array(16).fill(3);

const policy: OpenPolicy = {
  hubKey,
  assets: new Set(['USD', 'EUR']),
  payees: new Set(['payee-1']),
  minCapacityBaseUnits: 100n,
  maxCapacityBaseUnits: 1_000_000n,
  minLifetimeS: 60,
  maxLifetimeS: 86_400,
};

function request(patch: Partial<OpenRequest> = {}): OpenRequest {
  return {
    type: MessageType.OpenRequest,
    hubKey,
    deviceKey,
    payeeId: 'payee-1',
    asset: 'USD',
    capacityBaseUnits: 10_000n,
    expiresAtUnixS: NOW + 3600,
    nonce,
    ...patch,
  };
}

const statusOf = (r: OpenRequest, sender: Uint8Array = r.deviceKey, p: OpenPolicy = policy) => {
  const verdict = checkOpen(r, p, NOW, sender);
  return verdict.ok ? 'ok' : verdict.status;
};

describe('checkOpen', () => {
  it('refuses in the documented order, peeling one fault at a time', () => {
    const smallOrder = SMALL_ORDER_ENCODINGS[4]!;
    const everythingWrong = request({
      hubKey: deviceKey,
      deviceKey: smallOrder,
      asset: 'XXX',
      payeeId: 'stranger',
      capacityBaseUnits: 0n,
      expiresAtUnixS: NOW,
    });
    const sender = new Uint8Array(32).fill(9);
    expect(statusOf(everythingWrong, sender)).toBe(Status.HUB_MISMATCH);
    const r1 = { ...everythingWrong, hubKey };
    expect(statusOf(r1, sender)).toBe(Status.DEVICE_MISMATCH);
    expect(statusOf(r1, smallOrder)).toBe(Status.KEY_INVALID);
    const r2 = { ...r1, deviceKey };
    expect(statusOf(r2)).toBe(Status.ASSET_UNSUPPORTED);
    const r3 = { ...r2, asset: 'EUR' };
    expect(statusOf(r3)).toBe(Status.PAYEE_INVALID);
    const r4 = { ...r3, payeeId: 'payee-1' };
    expect(statusOf(r4)).toBe(Status.CAPACITY_INVALID);
    const r5 = { ...r4, capacityBaseUnits: 100n };
    expect(statusOf(r5)).toBe(Status.EXPIRY_INVALID);
    expect(statusOf({ ...r5, expiresAtUnixS: NOW + 60 })).toBe('ok');
  });

  it('refuses every small-order and non-canonical device key as KEY_INVALID', () => {
    const nonCanonical = [
      fromHex('01' + '00'.repeat(30) + '80'),
      fromHex('ee' + 'ff'.repeat(30) + '7f'),
      fromHex('ff'.repeat(32)),
    ];
    for (const key of [...SMALL_ORDER_ENCODINGS, ...nonCanonical]) {
      expect(statusOf(request({ deviceKey: key }))).toBe(Status.KEY_INVALID);
    }
  });

  it('capacity and lifetime bounds are inclusive', () => {
    expect(statusOf(request({ capacityBaseUnits: 99n }))).toBe(Status.CAPACITY_INVALID);
    expect(statusOf(request({ capacityBaseUnits: 100n }))).toBe('ok');
    expect(statusOf(request({ capacityBaseUnits: 1_000_000n }))).toBe('ok');
    expect(statusOf(request({ capacityBaseUnits: 1_000_001n }))).toBe(Status.CAPACITY_INVALID);
    expect(statusOf(request({ expiresAtUnixS: NOW + 59 }))).toBe(Status.EXPIRY_INVALID);
    expect(statusOf(request({ expiresAtUnixS: NOW + 60 }))).toBe('ok');
    expect(statusOf(request({ expiresAtUnixS: NOW + 86_400 }))).toBe('ok');
    expect(statusOf(request({ expiresAtUnixS: NOW + 86_401 }))).toBe(Status.EXPIRY_INVALID);
    expect(statusOf(request({ expiresAtUnixS: NOW - 1 }))).toBe(Status.EXPIRY_INVALID);
  });

  it('with no payee list, any well-formed payee id is accepted', () => {
    const open = { ...policy, payees: undefined };
    expect(statusOf(request({ payeeId: 'anyone_at-all' }), undefined, open)).toBe('ok');
  });

  it('returns a fresh open channel whose id derives from hub key, device key and nonce', () => {
    const verdict = checkOpen(request(), policy, NOW, Uint8Array.from(deviceKey));
    expect(verdict).toEqual({
      ok: true,
      state: {
        channelId: channelIdOf(hubKey, deviceKey, nonce),
        deviceKey,
        payeeId: 'payee-1',
        asset: 'USD',
        capacityBaseUnits: 10_000n,
        expiresAtUnixS: NOW + 3600,
        seq: 0,
        amountBaseUnits: 0n,
        status: 'open',
        closeReason: undefined,
      },
    });
  });
});
