import { secretDigest, secretMatches } from '../crypto/secrets.js';
import { isPublicKeyAcceptable, verifyNode, type KeyObjectCache } from '../crypto/index.js';
import { bytesEqual } from '../protocol/bytes.js';
import { decodeMessage } from '../protocol/codec.js';
import { ID_PATTERN } from '../protocol/limits.js';
import { MessageType } from '../protocol/messages.js';
import { Status } from '../protocol/status.js';
import { keyId } from '../protocol/topics.js';
import {
  HUB_USERNAME,
  PAYEE_USERNAME_PREFIX,
  type ConnectRefusal,
  type Principal,
} from '../transport/link.js';

/**
 * Connect-time authentication for the embedded broker.
 *
 * Devices. A device id is the unpadded base64url of the device's 32-byte Ed25519 public key
 * (keyId in protocol/topics.ts); the hub id likewise of the hub key. A device connects with
 *   client id = username = its device id,
 *   password  = a ConnectProof (type 13, direction 'connect'), COSE_Sign1-signed by the device:
 *               [13, hubKey, deviceKey, timestampUnixS, nonce(16 random bytes)]
 *               (device/connect-proof.ts makes one; a new one for every connection attempt).
 * The hub MUST accept the connection only if, checked in this order (cheapest first, the
 * signature last, so garbage costs no curve arithmetic):
 *   1. the password decodes strictly as a signed ConnectProof;
 *   2. hubKey is this hub's key (a proof for another hub is useless here);
 *   3. deviceKey is canonical and not of small order (the open-time rule, DESIGN §3);
 *   4. keyId(deviceKey) equals the username and the client id (topics are per device id, and
 *      the broker drops an older session with the same client id, so the client id must be
 *      the proven one or any device could disconnect any other);
 *   5. |now − timestampUnixS| ≤ windowS (default 60 s);
 *   6. (deviceKey, nonce) was not accepted before (replay cache, below);
 *   7. the signature verifies (strict Ed25519, verifyNode) over the exact signed bytes.
 * A proof's bytes are secret only for its window: whoever sees them (a TLS-less network, a
 * log) could replay them, which the nonce cache forbids.
 *
 * Replay cache. Accepted proofs are remembered by (timestampUnixS, deviceKey, nonce), bucketed
 * by timestamp. A proof can only pass step 5 while timestampUnixS ≥ now − windowS, so buckets
 * older than now − 2·windowS are forgotten (the extra window tolerates the hub clock stepping
 * back). Only proofs with a valid signature are remembered, so an unauthenticated flood cannot
 * fill it. It holds at most `maxRemembered` entries: when full, new proofs are refused
 * ('replay-cache-full', the device retries after its reconnect period) rather than forgetting
 * unexpired entries, because forgetting would let a flood evict an entry and reopen a replay.
 *
 * Other principals (not devices) authenticate with a shared secret, compared in constant time
 * (timingSafeEqual over SHA-256 digests, so the length is not leaked either):
 *   payee: username = client id = `payee.<payeeId>`, password = that payee's secret; it may
 *          only subscribe to its payee topic (transport/authorization.ts).
 *   hub:   username = client id = `hub`, password = the hub secret; for a hub process that
 *          reaches the broker over TCP instead of the in-process link. Disabled unless a
 *          hub secret is configured.
 *
 * Refusal reasons are a fixed set (they key the broker's stats); the client only ever sees
 * CONNACK 4 "bad user name or password".
 */

export type ConnectRefusalReason =
  | 'no-username'
  | 'no-password'
  | 'proof-malformed'
  | 'not-a-connect-proof'
  | 'proof-not-signed'
  | 'wrong-hub'
  | 'device-key-unacceptable'
  | 'username-mismatch'
  | 'client-id-mismatch'
  | 'timestamp-too-old'
  | 'timestamp-in-future'
  | 'replayed'
  | 'signature-invalid'
  | 'replay-cache-full'
  | 'payee-unknown'
  | 'payee-secret-wrong'
  | 'hub-principal-disabled'
  | 'hub-secret-wrong';

export type ConnectCheck =
  { ok: true; principal: Principal } | (ConnectRefusal & { reason: ConnectRefusalReason });

export interface ConnectAuthenticatorOptions {
  hubKey: Uint8Array;
  /** Largest accepted |now − proof time| in seconds. Default 60. */
  windowS?: number;
  /** Unix seconds; injectable for tests. Default the system clock. */
  now?: () => number;
  /** Bound on remembered proofs (about 150 bytes each). Default 100 000. */
  maxRemembered?: number;
  /** Per-payee secrets, by payee id. */
  payeeSecrets?: Readonly<Record<string, string | Uint8Array>>;
  /** Secret of the `hub` principal; without it the hub principal is refused. */
  hubSecret?: string | Uint8Array;
  /** Parsed device keys for verifyNode; default its shared cache. */
  keyCache?: KeyObjectCache;
}

export interface ConnectAttempt {
  clientId: string;
  username: string | undefined;
  password: Uint8Array | undefined;
}

export class ConnectAuthenticator {
  private readonly hubKey: Uint8Array;
  readonly windowS: number;
  readonly maxRemembered: number;
  private readonly now: () => number;
  private readonly keyCache: KeyObjectCache | undefined;
  private readonly payeeDigests = new Map<string, Uint8Array>();
  private readonly hubDigest: Uint8Array | undefined;
  /** timestampUnixS → remembered `deviceKey ‖ nonce` keys (latin1 strings). */
  private readonly seen = new Map<number, Set<string>>();
  private remembered = 0;
  private lastPruneS = Number.NEGATIVE_INFINITY;

  constructor(options: ConnectAuthenticatorOptions) {
    if (!(options.hubKey instanceof Uint8Array) || options.hubKey.length !== 32)
      throw new TypeError('hubKey must be a 32-byte public key');
    const windowS = options.windowS ?? 60;
    if (!Number.isInteger(windowS) || windowS < 1)
      throw new RangeError('windowS must be a positive integer');
    const maxRemembered = options.maxRemembered ?? 100_000;
    if (!Number.isInteger(maxRemembered) || maxRemembered < 1)
      throw new RangeError('maxRemembered must be a positive integer');
    this.hubKey = Uint8Array.from(options.hubKey);
    this.windowS = windowS;
    this.maxRemembered = maxRemembered;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.keyCache = options.keyCache;
    for (const [payeeId, secret] of Object.entries(options.payeeSecrets ?? {}))
      this.setPayeeSecret(payeeId, secret);
    this.hubDigest = options.hubSecret === undefined ? undefined : digestOf(options.hubSecret);
  }

  /** Adds or replaces a payee's secret (takes effect for the next CONNECT). */
  setPayeeSecret(payeeId: string, secret: string | Uint8Array): void {
    if (!ID_PATTERN.test(payeeId)) throw new RangeError(`invalid payee id ${payeeId}`);
    if (secret.length === 0) throw new RangeError('a payee secret must not be empty');
    this.payeeDigests.set(payeeId, digestOf(secret));
  }

  removePayee(payeeId: string): void {
    this.payeeDigests.delete(payeeId);
  }

  /** Proofs currently remembered for replay protection. */
  get rememberedCount(): number {
    return this.remembered;
  }

  check(attempt: ConnectAttempt): ConnectCheck {
    const { clientId, username, password } = attempt;
    if (username === undefined || username.length === 0) return refuse('no-username');
    if (password === undefined || password.length === 0) return refuse('no-password');
    if (username === HUB_USERNAME) return this.checkHub(clientId, password);
    if (username.startsWith(PAYEE_USERNAME_PREFIX)) return this.checkPayee(attempt, password);
    return this.checkDevice(clientId, username, password);
  }

  private checkHub(clientId: string, password: Uint8Array): ConnectCheck {
    if (this.hubDigest === undefined) return refuse('hub-principal-disabled');
    if (!secretMatches(password, this.hubDigest)) return refuse('hub-secret-wrong');
    if (clientId !== HUB_USERNAME) return refuse('client-id-mismatch');
    return { ok: true, principal: { kind: 'hub' } };
  }

  private checkPayee(attempt: ConnectAttempt, password: Uint8Array): ConnectCheck {
    const username = attempt.username!;
    const payeeId = username.slice(PAYEE_USERNAME_PREFIX.length);
    const expected = this.payeeDigests.get(payeeId);
    if (expected === undefined) return refuse('payee-unknown');
    if (!secretMatches(password, expected)) return refuse('payee-secret-wrong');
    if (attempt.clientId !== username) return refuse('client-id-mismatch');
    return { ok: true, principal: { kind: 'payee', payeeId } };
  }

  private checkDevice(clientId: string, username: string, password: Uint8Array): ConnectCheck {
    const decoded = decodeMessage(password, 'connect');
    if (!decoded.ok) {
      if (decoded.type === MessageType.ConnectProof && decoded.status === Status.MESSAGE_FORM_WRONG)
        return refuse('proof-not-signed');
      if (decoded.type !== undefined && decoded.type !== MessageType.ConnectProof)
        return refuse('not-a-connect-proof');
      return refuse('proof-malformed');
    }
    const { message, signed } = decoded;
    if (message.type !== MessageType.ConnectProof) return refuse('not-a-connect-proof');
    if (signed === undefined) return refuse('proof-not-signed');
    if (!bytesEqual(message.hubKey, this.hubKey)) return refuse('wrong-hub');
    if (!isPublicKeyAcceptable(message.deviceKey)) return refuse('device-key-unacceptable');
    const deviceId = keyId(message.deviceKey);
    if (username !== deviceId) return refuse('username-mismatch');
    if (clientId !== deviceId) return refuse('client-id-mismatch');
    const nowS = this.now();
    if (nowS - message.timestampUnixS > this.windowS) return refuse('timestamp-too-old');
    if (message.timestampUnixS - nowS > this.windowS) return refuse('timestamp-in-future');
    const replayKey = latin1(message.deviceKey) + latin1(message.nonce);
    if (this.seen.get(message.timestampUnixS)?.has(replayKey) === true) return refuse('replayed');
    if (!verifyNode(signed.signature, signed.toBeSigned, message.deviceKey, this.keyCache))
      return refuse('signature-invalid');
    if (!this.remember(nowS, message.timestampUnixS, replayKey)) return refuse('replay-cache-full');
    return { ok: true, principal: { kind: 'device', deviceId } };
  }

  private remember(nowS: number, timestampS: number, key: string): boolean {
    if (nowS !== this.lastPruneS || this.remembered >= this.maxRemembered) this.prune(nowS);
    if (this.remembered >= this.maxRemembered) return false;
    let bucket = this.seen.get(timestampS);
    if (bucket === undefined) {
      bucket = new Set();
      this.seen.set(timestampS, bucket);
    }
    bucket.add(key);
    this.remembered++;
    return true;
  }

  /** Drops buckets older than 2·window: at most about 3·window buckets are ever kept. */
  private prune(nowS: number): void {
    this.lastPruneS = nowS;
    const oldestKeptS = nowS - 2 * this.windowS;
    for (const [timestampS, bucket] of this.seen) {
      if (timestampS < oldestKeptS) {
        this.remembered -= bucket.size;
        this.seen.delete(timestampS);
      }
    }
  }
}

function refuse(reason: ConnectRefusalReason): ConnectCheck {
  return { ok: false, reason };
}

function digestOf(secret: string | Uint8Array): Uint8Array {
  return secretDigest(secret);
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
