import { describe, expect, it } from 'vitest';
import { generateKeyPair, signerFor, SMALL_ORDER_ENCODINGS } from '../../src/crypto/index.js';
import { makeConnectProof } from '../../src/device/connect-proof.js';
import { ConnectAuthenticator, type ConnectCheck } from '../../src/hub/connect-auth.js';
import {
  encodeCbor,
  encodeMessage,
  keyId,
  MessageType,
  writePayload,
} from '../../src/protocol/index.js';
import { payeeUsername } from '../../src/transport/link.js';

const hub = generateKeyPair();
const device = generateKeyPair();
const deviceId = keyId(device.publicKey);
const T0 = 1_800_000_000;

function setup(options: { windowS?: number; maxRemembered?: number } = {}) {
  let nowS = T0;
  const auth = new ConnectAuthenticator({
    hubKey: hub.publicKey,
    now: () => nowS,
    payeeSecrets: { 'payee-1': 'correct horse battery staple' },
    hubSecret: 'hub secret',
    ...options,
  });
  return {
    auth,
    setNow: (s: number) => (nowS = s),
  };
}

function asDevice(password: Uint8Array, id = deviceId) {
  return { clientId: id, username: id, password };
}

function reason(result: ConnectCheck): string {
  return result.ok ? 'accepted' : result.reason;
}

function nonce(byte: number): Uint8Array {
  return new Uint8Array(16).fill(byte);
}

describe('ConnectAuthenticator: devices', () => {
  it('accepts a valid proof as the device it names', () => {
    const { auth } = setup();
    const result = auth.check(asDevice(makeConnectProof(device, hub.publicKey, T0)));
    expect(result).toEqual({ ok: true, principal: { kind: 'device', deviceId } });
    expect(auth.rememberedCount).toBe(1);
  });

  it('refuses a proof made for another hub', () => {
    const { auth } = setup();
    const other = generateKeyPair();
    expect(reason(auth.check(asDevice(makeConnectProof(device, other.publicKey, T0))))).toBe(
      'wrong-hub',
    );
  });

  it('refuses a username or client id that is not the proven device id', () => {
    const { auth } = setup();
    const proof = makeConnectProof(device, hub.publicKey, T0, nonce(1));
    const otherId = keyId(generateKeyPair().publicKey);
    expect(reason(auth.check({ clientId: deviceId, username: otherId, password: proof }))).toBe(
      'username-mismatch',
    );
    expect(reason(auth.check({ clientId: otherId, username: deviceId, password: proof }))).toBe(
      'client-id-mismatch',
    );
    // Neither refusal consumed the nonce: the same proof still works with the right ids.
    expect(reason(auth.check(asDevice(proof)))).toBe('accepted');
  });

  it('accepts a timestamp at either edge of the window and refuses one beyond it', () => {
    const { auth } = setup({ windowS: 60 });
    const at = (ts: number, n: number) =>
      reason(auth.check(asDevice(makeConnectProof(device, hub.publicKey, ts, nonce(n)))));
    expect(at(T0 - 60, 1)).toBe('accepted');
    expect(at(T0 + 60, 2)).toBe('accepted');
    expect(at(T0 - 61, 3)).toBe('timestamp-too-old');
    expect(at(T0 + 61, 4)).toBe('timestamp-in-future');
  });

  it('refuses a replayed proof, accepts a fresh nonce', () => {
    const { auth } = setup();
    const proof = makeConnectProof(device, hub.publicKey, T0, nonce(7));
    expect(reason(auth.check(asDevice(proof)))).toBe('accepted');
    expect(reason(auth.check(asDevice(proof)))).toBe('replayed');
    expect(reason(auth.check(asDevice(makeConnectProof(device, hub.publicKey, T0))))).toBe(
      'accepted',
    );
  });

  it('refuses a tampered signature, and a tampered proof does not burn the nonce', () => {
    const { auth } = setup();
    const proof = makeConnectProof(device, hub.publicKey, T0, nonce(9));
    const tampered = Uint8Array.from(proof);
    // The signature is the last 64 bytes; flip a bit of R.
    const at = tampered.length - 64;
    tampered[at] = tampered[at]! ^ 0x01;
    expect(reason(auth.check(asDevice(tampered)))).toBe('signature-invalid');
    expect(auth.rememberedCount).toBe(0);
    expect(reason(auth.check(asDevice(proof)))).toBe('accepted');
  });

  it('refuses a proof naming a device key signed by another key', () => {
    const { auth } = setup();
    const impostor = generateKeyPair();
    const forged = encodeMessage(
      {
        type: MessageType.ConnectProof,
        hubKey: hub.publicKey,
        deviceKey: device.publicKey,
        timestampUnixS: T0,
        nonce: nonce(3),
      },
      signerFor(impostor),
    );
    expect(reason(auth.check(asDevice(forged)))).toBe('signature-invalid');
  });

  it('refuses small-order device keys', () => {
    const { auth } = setup();
    for (const smallOrder of SMALL_ORDER_ENCODINGS) {
      const proof = encodeMessage(
        {
          type: MessageType.ConnectProof,
          hubKey: hub.publicKey,
          deviceKey: smallOrder,
          timestampUnixS: T0,
          nonce: nonce(5),
        },
        signerFor(device),
      );
      expect(reason(auth.check(asDevice(proof, keyId(smallOrder))))).toBe(
        'device-key-unacceptable',
      );
    }
  });

  it('refuses garbage, a plain ConnectProof and other message types as the password', () => {
    const { auth } = setup();
    expect(reason(auth.check(asDevice(new TextEncoder().encode('hunter2'))))).toBe(
      'proof-malformed',
    );
    expect(reason(auth.check(asDevice(new Uint8Array(5000))))).toBe('proof-malformed');
    const plainProof = encodeCbor(
      writePayload({
        type: MessageType.ConnectProof,
        hubKey: hub.publicKey,
        deviceKey: device.publicKey,
        timestampUnixS: T0,
        nonce: nonce(2),
      }),
    );
    expect(reason(auth.check(asDevice(plainProof)))).toBe('proof-not-signed');
    const plainRequest = encodeMessage({
      type: MessageType.ReceiptRequest,
      channelId: nonce(1),
    });
    expect(reason(auth.check(asDevice(plainRequest)))).toBe('not-a-connect-proof');
    const voucher = encodeMessage(
      { type: MessageType.Voucher, channelId: nonce(1), seq: 1, amountBaseUnits: 1n },
      signerFor(device),
    );
    expect(reason(auth.check(asDevice(voucher)))).toBe('not-a-connect-proof');
  });

  it('refuses a connection without username or password', () => {
    const { auth } = setup();
    const proof = makeConnectProof(device, hub.publicKey, T0);
    expect(reason(auth.check({ clientId: deviceId, username: undefined, password: proof }))).toBe(
      'no-username',
    );
    expect(
      reason(auth.check({ clientId: deviceId, username: deviceId, password: undefined })),
    ).toBe('no-password');
  });
});

describe('ConnectAuthenticator: replay cache bounds', () => {
  it('forgets proofs older than two windows, never one that could still pass', () => {
    const { auth, setNow } = setup({ windowS: 10 });
    const proof = makeConnectProof(device, hub.publicKey, T0, nonce(1));
    expect(reason(auth.check(asDevice(proof)))).toBe('accepted');
    // Still inside the window: remembered, refused as a replay.
    setNow(T0 + 10);
    expect(reason(auth.check(asDevice(proof)))).toBe('replayed');
    // Past the window the timestamp check refuses it, whether or not it is remembered.
    setNow(T0 + 11);
    expect(reason(auth.check(asDevice(proof)))).toBe('timestamp-too-old');
    // The clock steps back into the window: the entry was kept (2 windows), still a replay.
    setNow(T0 + 5);
    expect(reason(auth.check(asDevice(proof)))).toBe('replayed');
    // Another accepted proof, later, prunes entries older than 2 windows.
    setNow(T0 + 21);
    expect(
      reason(auth.check(asDevice(makeConnectProof(device, hub.publicKey, T0 + 21, nonce(2))))),
    ).toBe('accepted');
    expect(auth.rememberedCount).toBe(1);
  });

  it('when full, refuses new proofs instead of evicting unexpired ones', () => {
    const { auth, setNow } = setup({ windowS: 10, maxRemembered: 3 });
    const proofs = [1, 2, 3, 4].map((n) => makeConnectProof(device, hub.publicKey, T0, nonce(n)));
    expect(proofs.slice(0, 3).map((p) => reason(auth.check(asDevice(p))))).toEqual([
      'accepted',
      'accepted',
      'accepted',
    ]);
    expect(reason(auth.check(asDevice(proofs[3]!)))).toBe('replay-cache-full');
    // A flood of fresh proofs did not evict anything: the first is still a replay.
    expect(reason(auth.check(asDevice(proofs[0]!)))).toBe('replayed');
    expect(auth.rememberedCount).toBe(3);
    // Once the remembered proofs have expired, new ones are accepted again.
    setNow(T0 + 21);
    expect(
      reason(auth.check(asDevice(makeConnectProof(device, hub.publicKey, T0 + 21, nonce(5))))),
    ).toBe('accepted');
    expect(auth.rememberedCount).toBe(1);
  });
});

describe('ConnectAuthenticator: payees and the hub principal', () => {
  const secret = (text: string) => new TextEncoder().encode(text);
  const payee = payeeUsername('payee-1');

  it('accepts a payee with its secret', () => {
    const { auth } = setup();
    expect(
      auth.check({
        clientId: payee,
        username: payee,
        password: secret('correct horse battery staple'),
      }),
    ).toEqual({ ok: true, principal: { kind: 'payee', payeeId: 'payee-1' } });
  });

  it('refuses a wrong secret, an unknown payee and a client id that is not the username', () => {
    const { auth } = setup();
    const check = (username: string, password: string, clientId = username) =>
      reason(auth.check({ clientId, username, password: secret(password) }));
    expect(check(payee, 'correct horse battery stapl')).toBe('payee-secret-wrong');
    expect(check(payee, '')).toBe('no-password');
    expect(check(payeeUsername('payee-2'), 'correct horse battery staple')).toBe('payee-unknown');
    expect(check(payee, 'correct horse battery staple', deviceId)).toBe('client-id-mismatch');
  });

  it('payees can be added and removed at run time', () => {
    const { auth } = setup();
    const other = payeeUsername('payee-2');
    auth.setPayeeSecret('payee-2', 's2');
    expect(reason(auth.check({ clientId: other, username: other, password: secret('s2') }))).toBe(
      'accepted',
    );
    auth.removePayee('payee-2');
    expect(reason(auth.check({ clientId: other, username: other, password: secret('s2') }))).toBe(
      'payee-unknown',
    );
  });

  it('accepts the hub principal with the hub secret only', () => {
    const { auth } = setup();
    expect(
      auth.check({ clientId: 'hub', username: 'hub', password: secret('hub secret') }),
    ).toEqual({ ok: true, principal: { kind: 'hub' } });
    expect(
      reason(auth.check({ clientId: 'hub', username: 'hub', password: secret('hub secreT') })),
    ).toBe('hub-secret-wrong');
    expect(
      reason(auth.check({ clientId: 'hub2', username: 'hub', password: secret('hub secret') })),
    ).toBe('client-id-mismatch');
    const noHub = new ConnectAuthenticator({ hubKey: hub.publicKey });
    expect(
      reason(noHub.check({ clientId: 'hub', username: 'hub', password: secret('hub secret') })),
    ).toBe('hub-principal-disabled');
  });
});
