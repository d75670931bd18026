import { Device, generateKeyPair, type KeyPair } from '../src/device/index.js';
import {
  MessageType,
  decodeMessage,
  downTopic,
  keyId,
  upTopic,
  toHex,
} from '../src/protocol/index.js';
import type { BrokerLink } from '../src/transport/index.js';
import { connectDeviceLink, type BrokerAuth } from './connect.js';
import { presignAll, type PresignedVouchers } from './presign.js';
import { summarize, type LatencySummary } from './stats.js';

/**
 * The benchmark's load generator. Every voucher is signed before the timed phase, so the
 * generator measures the hub, not itself: the timed phase only publishes prepared bytes and
 * reads acknowledgements. Channels are opened through the device SDK (so the hub escrows as it
 * would for any device); streaming then uses one raw MQTT link per device.
 */
export interface PresignedLoadOptions {
  brokerUrl: string;
  hubKey: Uint8Array;
  devices: number;
  channelsPerDevice: number;
  /** Vouchers signed ahead per channel: the most one channel can send in all timed phases. */
  vouchersPerChannel: number;
  auth?: BrokerAuth;
  payeeId?: string;
  asset?: string;
  /** Skip opening (for a hub that does not need channels, like the naive baseline). */
  openChannels?: boolean;
}

interface LoadChannel extends PresignedVouchers {
  deviceIndex: number;
  channelIdHex: string;
  nextSeq: number;
  ackedSeq: number;
  sentAtMs: Float64Array;
}

export interface ClosedLoopResult {
  /** Acknowledged within the timed window. */
  vouchersAcked: number;
  seconds: number;
  perS: number;
  /** Acknowledged in all, with those still in flight when the window closed. */
  vouchersAckedWithDrain: number;
}

export interface OpenLoopResult {
  targetPerS: number;
  sent: number;
  acked: number;
  achievedPerS: number;
  latency: LatencySummary;
  /** Timed acknowledgements slower than `overMs`: the tail, as a histogram bucket counts it. */
  tail: { overMs: number; over: number };
}

export interface OpenLoopOptions {
  /** Unmeasured lead-in at the same rate (see openLoop). */
  rampS?: number;
  /** Where the tail starts (default 20 ms). */
  tailOverMs?: number;
  /** Called once, as the measured part begins: to read the hub's own counters there. */
  onMeasuredStart?: () => void;
}

export class PresignedLoad {
  private readonly channelsById = new Map<string, LoadChannel>();
  private onAck: ((channel: LoadChannel, seq: number) => void) | undefined;

  private constructor(
    private readonly links: BrokerLink[],
    private readonly topics: string[],
    readonly channels: LoadChannel[],
  ) {
    for (const channel of channels) this.channelsById.set(channel.channelIdHex, channel);
    links.forEach((link) => link.onMessage((_topic, payload) => this.receive(payload)));
  }

  static async prepare(options: PresignedLoadOptions): Promise<PresignedLoad> {
    const keyPairs: KeyPair[] = Array.from({ length: options.devices }, () => generateKeyPair());
    const channelIds: { deviceIndex: number; channelId: Uint8Array }[] = [];
    // Two connections per device: the SDK's for opening (its Device would also handle every
    // ack in the timed phase), then a bare one for streaming prepared bytes.
    const connect = (keyPair: KeyPair): Promise<BrokerLink> =>
      connectDeviceLink({
        brokerUrl: options.brokerUrl,
        hubKey: options.hubKey,
        keyPair,
        auth: options.auth ?? 'proof',
      });
    if (options.openChannels ?? true) {
      await inBatches(keyPairs, 16, async (keyPair, deviceIndex) => {
        const link = await connect(keyPair);
        const device = await Device.create({
          keyPair,
          hubKey: options.hubKey,
          link,
          cryptoPath: 'node',
          timeoutMs: 60_000,
        });
        for (let c = 0; c < options.channelsPerDevice; c++) {
          const channel = await device.open({
            payeeId: options.payeeId ?? 'bench-payee',
            asset: options.asset ?? 'USD',
            capacityBaseUnits: BigInt(options.vouchersPerChannel) + 1n,
            lifetimeS: 3600,
            price: { baseUnits: 1n, perUnits: 1n },
          });
          channelIds.push({ deviceIndex, channelId: channel.channelId });
        }
        await device.shutdown();
      });
    } else {
      keyPairs.forEach((_keyPair, deviceIndex) => {
        for (let c = 0; c < options.channelsPerDevice; c++) {
          channelIds.push({
            deviceIndex,
            channelId: globalThis.crypto.getRandomValues(new Uint8Array(16)),
          });
        }
      });
    }
    // Sign everything now, outside any timed phase.
    const signed = await presignAll(
      channelIds.map(({ deviceIndex, channelId }) => ({
        ...keyPairs[deviceIndex]!,
        channelId,
        count: options.vouchersPerChannel,
      })),
    );
    const channels: LoadChannel[] = channelIds.map(({ deviceIndex, channelId }, i) => ({
      deviceIndex,
      channelIdHex: toHex(channelId),
      ...signed[i]!,
      nextSeq: 1,
      ackedSeq: 0,
      sentAtMs: new Float64Array(options.vouchersPerChannel + 1),
    }));
    const hubId = keyId(options.hubKey);
    const links: BrokerLink[] = [];
    const topics: string[] = [];
    await inBatches(keyPairs, 16, async (keyPair, index) => {
      const link = await connect(keyPair);
      await link.subscribe(downTopic(hubId, keyId(keyPair.publicKey)), 1);
      links[index] = link;
      topics[index] = upTopic(hubId, keyId(keyPair.publicKey));
    });
    return new PresignedLoad(links, topics, channels);
  }

  private receive(payload: Uint8Array): void {
    // Plain Acks are nearly all the traffic: [5, channelId, seq, amount]; read seq directly.
    if (payload.length >= 20 && payload[0] === 0x84 && payload[1] === 0x05 && payload[2] === 0x50) {
      const seq = readSmallUint(payload, 19);
      const channel =
        seq === undefined ? undefined : this.channelsById.get(toHex(payload.subarray(3, 19)));
      if (channel !== undefined && seq! > channel.ackedSeq) {
        channel.ackedSeq = seq!;
        this.onAck?.(channel, seq!);
      }
      return;
    }
    const decoded = decodeMessage(payload, 'down');
    if (!decoded.ok) return;
    const m = decoded.message;
    if (m.type !== MessageType.Ack && m.type !== MessageType.Receipt) return;
    const channel = this.channelsById.get(toHex(m.channelId));
    if (channel === undefined || m.seq <= channel.ackedSeq) return;
    channel.ackedSeq = m.seq;
    this.onAck?.(channel, m.seq);
  }

  private send(channel: LoadChannel): boolean {
    const seq = channel.nextSeq;
    if (seq >= channel.voucherEnds.length) return false;
    const bytes = channel.voucherBytes.subarray(
      channel.voucherEnds[seq - 1],
      channel.voucherEnds[seq],
    );
    channel.nextSeq++;
    channel.sentAtMs[seq] = performance.now();
    // QoS 1, as the device SDK sends vouchers (see ChannelHost).
    this.links[channel.deviceIndex]!.publish(this.topics[channel.deviceIndex]!, bytes, 1).catch(
      () => undefined,
    );
    return true;
  }

  /**
   * Saturation: every channel keeps exactly one voucher in flight (send the next when the last
   * is acknowledged), so the hub never gets two of one channel to coalesce: each acknowledged
   * voucher was verified.
   */
  async closedLoop(seconds: number): Promise<ClosedLoopResult> {
    let acked = 0;
    let running = true;
    this.onAck = (channel) => {
      acked++;
      if (running && channel.nextSeq === channel.ackedSeq + 1) this.send(channel);
    };
    const started = performance.now();
    for (const channel of this.channels)
      if (channel.nextSeq === channel.ackedSeq + 1) this.send(channel);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    running = false;
    const elapsed = (performance.now() - started) / 1000;
    const counted = acked;
    await this.quiesce();
    return {
      vouchersAcked: counted,
      seconds: elapsed,
      perS: counted / elapsed,
      vouchersAckedWithDrain: acked,
    };
  }

  /**
   * A fixed offered rate, spread round-robin over the channels; latency is send → ack. The
   * first `rampS` seconds run at the same rate but are not measured: right after a saturation
   * phase the hub is still catching up (LevelDB compaction, garbage), which is not how it
   * behaves at this rate.
   */
  async openLoop(
    targetPerS: number,
    seconds: number,
    options: OpenLoopOptions = {},
  ): Promise<OpenLoopResult> {
    const { rampS = 0, tailOverMs = 20, onMeasuredStart } = options;
    const latencies: number[] = [];
    let sent = 0;
    const tickMs = 5;
    const started = performance.now();
    const measuredFromMs = started + rampS * 1000;
    seconds += rampS;
    this.onAck = (channel, seq) => {
      // One ack covers every earlier voucher of the channel; time the newest it covers.
      const sentAtMs = channel.sentAtMs[seq]!;
      if (sentAtMs >= measuredFromMs) latencies.push(performance.now() - sentAtMs);
    };
    let cursor = 0;
    let measuring = false;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsedS = (performance.now() - started) / 1000;
        if (elapsedS >= seconds) {
          clearInterval(timer);
          resolve();
          return;
        }
        if (!measuring && elapsedS >= rampS) {
          measuring = true;
          onMeasuredStart?.();
        }
        const due = Math.floor(elapsedS * targetPerS) - sent;
        for (let i = 0; i < due; i++) {
          const channel = this.channels[cursor++ % this.channels.length]!;
          if (this.send(channel)) sent++;
        }
      }, tickMs);
    });
    await this.quiesce();
    const acked = latencies.length;
    return {
      targetPerS,
      sent,
      acked,
      achievedPerS: acked / (seconds - rampS),
      latency: summarize(latencies),
      tail: { overMs: tailOverMs, over: latencies.filter((ms) => ms > tailOverMs).length },
    };
  }

  /** Waits (bounded) until every sent voucher is acknowledged. */
  async quiesce(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.channels.some((c) => c.ackedSeq < c.nextSeq - 1) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.onAck = undefined;
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((link) => link.close()));
  }
}

/** A CBOR unsigned integer below 2^32 at `offset` (the generator trusts the hub's encoding). */
function readSmallUint(bytes: Uint8Array, offset: number): number | undefined {
  const head = bytes[offset];
  if (head === undefined) return undefined;
  if (head < 24) return head;
  if (head === 0x18) return bytes[offset + 1];
  if (head === 0x19) return (bytes[offset + 1]! << 8) | bytes[offset + 2]!;
  if (head === 0x1a)
    return (
      ((bytes[offset + 1]! << 24) >>> 0) +
      ((bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 8) | bytes[offset + 4]!)
    );
  return undefined;
}

async function inBatches<T>(
  items: T[],
  width: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < items.length; start += width) {
    await Promise.all(items.slice(start, start + width).map((item, i) => work(item, start + i)));
  }
}
