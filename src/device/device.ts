import type { KeyPair } from '../crypto/keys.js';
import { signerFor, type CryptoPath } from '../crypto/keys.js';
import { verifySignature } from '../crypto/verify.js';
import { asError, FarthingError } from '../errors.js';
import { bytesEqual, toHex } from '../protocol/bytes.js';
import { channelIdOf, NONCE_BYTES } from '../protocol/channel-id.js';
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import type { SignFn } from '../protocol/cose.js';
import { MessageType, type OpenAccepted } from '../protocol/messages.js';
import { downTopic, keyId, upTopic } from '../protocol/topics.js';
import { DeviceChannel, type ChannelHost } from './device-channel.js';
import { Emitter } from './emitter.js';
import { RequestRefusedError } from './errors.js';
import { PendingRequest } from './pending.js';
import { checkPrice, type Price } from './price.js';
import type { DeviceLink } from './ports.js';
import type { DeviceStateStore } from './state-store.js';

export interface DeviceOptions {
  keyPair: KeyPair;
  hubKey: Uint8Array;
  link: DeviceLink;
  /** Signing and verification path: 'noble' (pure JS, the default) or 'node' (OpenSSL). */
  cryptoPath?: CryptoPath;
  /** Where channel state survives a reboot; without one, state lives only in memory. */
  store?: DeviceStateStore;
  /** Unanswered requests are re-sent this often (ms). */
  resendMs?: number;
  /** And given up after this long (ms). */
  timeoutMs?: number;
  nowMs?: () => number;
  /** Random bytes for nonces; crypto.getRandomValues by default. */
  randomBytes?: (length: number) => Uint8Array;
}

export interface OpenParams {
  payeeId: string;
  asset: string;
  capacityBaseUnits: bigint;
  /** Seconds from now until the channel expires. */
  lifetimeS: number;
  price: Price;
}

export interface DeviceEvents extends Record<string, unknown[]> {
  /** A message from the hub that failed to decode or verify, with the reason. */
  invalid: [string];
  status: ['connected' | 'reconnecting' | 'offline' | 'closed'];
  /**
   * Saving the state failed where no caller waits for it (a Receipt, a CloseReceipt): the state
   * in memory is ahead of the store until the next save succeeds.
   */
  saveFailed: [Error];
}

/**
 * A device: one key, one hub, any number of channels. Talks to the hub only through its own
 * MQTT topics, verifies every hub-signed answer, and re-sends its newest vouchers whenever the
 * broker connection comes back, which restores anything the hub had not yet made durable.
 */
export class Device extends Emitter<DeviceEvents> {
  readonly deviceId: string;
  readonly hubId: string;
  readonly channels = new Map<string, DeviceChannel>();
  private readonly sign: SignFn;
  private readonly cryptoPath: CryptoPath;
  private readonly upTopic: string;
  private readonly downTopic: string;
  private readonly resendMs: number;
  private readonly timeoutMs: number;
  private readonly pendingOpens = new Map<
    string,
    { params: OpenParams; expiresAtUnixS: number; pending: PendingRequest<DeviceChannel> }
  >();
  private connectedOnce = false;
  private closed = false;

  private constructor(private readonly options: DeviceOptions) {
    super();
    this.deviceId = keyId(options.keyPair.publicKey);
    this.hubId = keyId(options.hubKey);
    this.cryptoPath = options.cryptoPath ?? 'noble';
    this.sign = signerFor(options.keyPair, this.cryptoPath);
    this.upTopic = upTopic(this.hubId, this.deviceId);
    this.downTopic = downTopic(this.hubId, this.deviceId);
    this.resendMs = options.resendMs ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Restores persisted channels, subscribes to the device's down topic and re-sends what is owed. */
  static async create(options: DeviceOptions): Promise<Device> {
    const device = new Device(options);
    await device.restore();
    options.link.onMessage((topic, payload) => device.receive(topic, payload));
    options.link.onStatus((status) => device.onLinkStatus(status));
    await options.link.subscribe(device.downTopic, 1);
    device.connectedOnce = true;
    device.resendAll();
    return device;
  }

  get publicKey(): Uint8Array {
    return this.options.keyPair.publicKey;
  }

  private host(): ChannelHost {
    return {
      sign: this.sign,
      publish: (payload, qos) => this.publish(payload, qos),
      persist: () => this.persist(),
      nowMs: () => (this.options.nowMs ?? Date.now)(),
      persistInBackground: () => {
        this.persist().catch((error: unknown) => this.emit('saveFailed', asError(error)));
      },
      resendMs: this.resendMs,
      timeoutMs: this.timeoutMs,
    };
  }

  private async restore(): Promise<void> {
    const state = await this.options.store?.load();
    for (const persisted of state?.channels ?? []) {
      this.channels.set(persisted.channelIdHex, new DeviceChannel(this.host(), persisted));
    }
  }

  private async persist(): Promise<void> {
    const channels = [...this.channels.values()];
    // What this save holds: once it is durable, those vouchers may leave the device.
    const saved = channels.map((c) => c.savePoint());
    const store = this.options.store;
    if (store !== undefined)
      await store.save({ version: 1, channels: channels.map((c) => c.toPersisted()) });
    for (const markSaved of saved) markSaved();
  }

  private publish(payload: Uint8Array, qos: 0 | 1): void {
    if (this.closed) return;
    this.options.link.publish(this.upTopic, payload, qos).catch(() => {
      // Offline: the newest voucher is re-sent on reconnect; requests re-send on their timers.
    });
  }

  /** Opens a channel; resolves with it once the hub's signed OpenAccepted arrives. */
  open(params: OpenParams): Promise<DeviceChannel> {
    checkPrice(params.price);
    if (params.capacityBaseUnits <= 0n) throw new RangeError('capacity must be positive');
    if (!Number.isInteger(params.lifetimeS) || params.lifetimeS <= 0)
      throw new RangeError('lifetimeS must be a positive integer');
    const nonce = (this.options.randomBytes ?? defaultRandomBytes)(NONCE_BYTES);
    const nowMs = (this.options.nowMs ?? Date.now)();
    const expiresAtUnixS = Math.floor(nowMs / 1000) + params.lifetimeS;
    const bytes = encodeMessage(
      {
        type: MessageType.OpenRequest,
        hubKey: this.options.hubKey,
        deviceKey: this.publicKey,
        payeeId: params.payeeId,
        asset: params.asset,
        capacityBaseUnits: params.capacityBaseUnits,
        expiresAtUnixS,
        nonce,
      },
      this.sign,
    );
    const nonceHex = toHex(nonce);
    const pending = new PendingRequest<DeviceChannel>(
      'open',
      () => this.publish(bytes, 1),
      this.resendMs,
      this.timeoutMs,
    );
    this.pendingOpens.set(nonceHex, { params, expiresAtUnixS, pending });
    void pending.promise.catch(() => undefined).finally(() => this.pendingOpens.delete(nonceHex));
    return pending.promise;
  }

  private async opened(message: OpenAccepted): Promise<void> {
    const nonceHex = toHex(message.nonce);
    const waiting = this.pendingOpens.get(nonceHex);
    if (waiting === undefined) return; // a duplicate answer, or an open this device gave up on
    const expected = channelIdOf(this.options.hubKey, this.publicKey, message.nonce);
    const { params } = waiting;
    const mismatch = !bytesEqual(expected, message.channelId)
      ? 'channel id'
      : message.payeeId !== params.payeeId
        ? 'payee'
        : message.asset !== params.asset
          ? 'asset'
          : message.capacityBaseUnits !== params.capacityBaseUnits
            ? 'capacity'
            : message.expiresAtUnixS !== waiting.expiresAtUnixS
              ? 'expiry'
              : undefined;
    if (mismatch !== undefined) {
      this.emit('invalid', `OpenAccepted does not match the request (${mismatch})`);
      return;
    }
    const channel = new DeviceChannel(this.host(), {
      channelIdHex: toHex(message.channelId),
      nonceHex,
      payeeId: message.payeeId,
      asset: message.asset,
      capacityBaseUnits: message.capacityBaseUnits.toString(),
      expiresAtUnixS: message.expiresAtUnixS,
      feeBasisPoints: message.feeBasisPoints,
      priceBaseUnits: waiting.params.price.baseUnits.toString(),
      pricePerUnits: waiting.params.price.perUnits.toString(),
      usageUnits: '0',
      directBaseUnits: '0',
      seq: 0,
      amountBaseUnits: '0',
      lastVoucherHex: '',
      status: 'open',
    });
    this.channels.set(channel.channelIdHex, channel);
    this.pendingOpens.delete(nonceHex);
    try {
      await this.persist();
    } catch (error) {
      // The channel stays in memory (the hub holds its escrow) and goes out with the next save.
      return waiting.pending.reject(asError(error));
    }
    waiting.pending.resolve(channel);
  }

  /** Every message on the device's down topic. Anything unverifiable is reported and ignored. */
  private receive(topic: string, payload: Uint8Array): void {
    if (topic !== this.downTopic) return;
    const decoded = decodeMessage(payload, 'down');
    if (!decoded.ok) return this.emit('invalid', `undecodable message: ${decoded.reason}`);
    const { message, signed } = decoded;
    if (
      signed !== undefined &&
      !verifySignature(signed.signature, signed.toBeSigned, this.options.hubKey, this.cryptoPath)
    ) {
      return this.emit('invalid', `${decoded.schema.name} with a bad hub signature`);
    }
    switch (message.type) {
      case MessageType.OpenAccepted:
        void this.opened(message);
        return;
      case MessageType.OpenRejected: {
        const waiting = this.pendingOpens.get(toHex(message.nonce));
        waiting?.pending.reject(new RequestRefusedError('open', message.status));
        return;
      }
      case MessageType.Ack:
        return this.channels.get(toHex(message.channelId))?.onAck(message);
      case MessageType.Receipt:
        return this.channels.get(toHex(message.channelId))?.onReceipt(message);
      case MessageType.Rejection:
        return this.channels.get(toHex(message.channelId))?.onRejection(message);
      case MessageType.CloseReceipt:
        return this.channels.get(toHex(message.channelId))?.onCloseReceipt(message);
      default:
        return this.emit('invalid', `unexpected ${decoded.schema.name} on the down topic`);
    }
  }

  private onLinkStatus(status: 'connected' | 'reconnecting' | 'offline' | 'closed'): void {
    this.emit('status', status);
    if (status === 'connected' && this.connectedOnce) this.resendAll();
  }

  /** Re-sends the newest voucher of every open channel. */
  resendAll(): void {
    for (const channel of this.channels.values()) channel.resendLatest();
  }

  /** Open channels of this device. */
  openChannels(): DeviceChannel[] {
    return [...this.channels.values()].filter((c) => c.status === 'open');
  }

  /** Stops timers and closes the broker link (channels stay open at the hub). */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const { pending } of this.pendingOpens.values()) {
      pending.reject(new FarthingError('DEVICE_NOT_CONNECTED', 'device shut down'));
    }
    for (const channel of this.channels.values()) channel.dispose();
    await this.options.link.close();
  }
}

function defaultRandomBytes(length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}
