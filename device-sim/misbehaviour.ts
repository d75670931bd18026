import { signerFor, type CryptoPath } from '../src/crypto/keys.js';
import {
  Device,
  generateKeyPair,
  MemoryStateStore,
  type DeviceChannel,
  type DeviceLink,
  type KeyPair,
  type Price,
} from '../src/device/index.js';
import {
  decodeMessage,
  downTopic,
  encodeMessage,
  keyId,
  MessageType,
  Status,
  statusName,
  toHex,
  upTopic,
  type CloseReceipt,
} from '../src/protocol/index.js';
import type { BrokerLink, LinkStatus } from '../src/transport/index.js';
import { connectDeviceLink, type BrokerAuth } from './connect.js';
import { describe } from './sim-device.js';
import { sleep, untilSecondAfter, withTimeout } from './timing.js';

/**
 * Misbehaving devices. Each mode runs on one or two extra devices of its own, next to the
 * honest fleet, and expects one exact outcome from the hub (or the broker):
 *
 *   forged-signature  a voucher for its own channel signed by another key → SIGNATURE_INVALID
 *   replay            an older voucher of its own channel after newer ones: the hub ignores a
 *                     stale voucher (no answer, acked amount unchanged); then, after the
 *                     channel closed, its OpenRequest again → CHANNEL_CLOSED
 *   overspend         a correctly signed voucher above the capacity, built by hand (the SDK
 *                     refuses to sign one) → AMOUNT_EXCEEDS_CAPACITY
 *   after-close       close, then a correctly signed voucher → CHANNEL_CLOSED
 *   foreign-topic     a voucher for its own channel published on another device's up topic:
 *                     an authorizing broker (the embedded one) refuses the publish and drops
 *                     the connection, so the hub never sees it; an open broker delivers it and
 *                     the hub answers CHANNEL_NOT_OWNED on the victim's down topic
 *
 * The hand-made messages go out on the device's own MQTT link (the same connectMqttLink the
 * SDK uses), so they travel exactly as a real device's would.
 */
export const MISBEHAVIOUR_MODES = [
  'forged-signature',
  'replay',
  'overspend',
  'after-close',
  'foreign-topic',
] as const;
export type MisbehaviourMode = (typeof MISBEHAVIOUR_MODES)[number];

export function isMisbehaviourMode(name: string): name is MisbehaviourMode {
  return (MISBEHAVIOUR_MODES as readonly string[]).includes(name);
}

export interface MisbehaviourOutcome {
  mode: MisbehaviourMode;
  /** Extra devices this mode used. */
  devices: number;
  expected: string;
  observed: string;
  ok: boolean;
}

export interface MisbehaviourContext {
  brokerUrl: string;
  hubKey: Uint8Array;
  auth: BrokerAuth;
  cryptoPath: CryptoPath;
  payeeId: string;
  asset: string;
  capacityBaseUnits: bigint;
  price: Price;
  lifetimeS: number;
  /** How long to wait for each expected answer. */
  answerTimeoutMs: number;
  /** Counts a channel the mode opened (they are part of the run's channels). */
  onChannelOpened(): void;
}

/** A running misbehaviour: its outcome, and the channels and devices the fleet must clean up. */
export interface MisbehaviourRun {
  mode: MisbehaviourMode;
  outcome: Promise<MisbehaviourOutcome>;
  /** Channels opened by the mode, with the CloseReceipt when the mode closed them itself. */
  channels(): { channel: DeviceChannel; label: string }[];
  shutdown(): Promise<void>;
}

interface DownEvent {
  type: number;
  channelIdHex: string;
  refusedType: number;
  seq: number;
  status: number;
}

/** A device under the harness's control: the SDK Device, its link, what it sent, what it got. */
class Actor {
  readonly deviceId: string;
  readonly up: string;
  readonly down: string;
  device: Device | undefined;
  link: BrokerLink | undefined;
  readonly store = new MemoryStateStore();
  /** Every signed message this device published, newest last (OpenRequests and vouchers). */
  readonly opens: Uint8Array[] = [];
  readonly vouchers = new Map<number, Uint8Array>();
  readonly events: DownEvent[] = [];
  private readonly waiters = new Set<() => void>();
  readonly statuses: LinkStatus[] = [];
  /** When the last hub-signed Receipt arrived (the hub signs one per channel per second). */
  lastReceiptAtMs = 0;

  constructor(
    private readonly ctx: MisbehaviourContext,
    readonly label: string,
    readonly keyPair: KeyPair = generateKeyPair(),
  ) {
    this.deviceId = keyId(keyPair.publicKey);
    this.up = upTopic(keyId(ctx.hubKey), this.deviceId);
    this.down = downTopic(keyId(ctx.hubKey), this.deviceId);
  }

  /** Connects a bare link (no Device) with this actor's identity. */
  async connectBare(): Promise<BrokerLink> {
    const link = await connectDeviceLink({
      brokerUrl: this.ctx.brokerUrl,
      hubKey: this.ctx.hubKey,
      keyPair: this.keyPair,
      auth: this.ctx.auth,
    });
    this.link = link;
    link.onMessage((topic, payload) => this.observe(topic, payload));
    link.onStatus((status) => this.statuses.push(status));
    return link;
  }

  /** Connects (a new link) and creates the Device from this actor's store. */
  async connect(): Promise<Device> {
    const link = await this.connectBare();
    this.device = await Device.create({
      keyPair: this.keyPair,
      hubKey: this.ctx.hubKey,
      link: this.tap(link),
      cryptoPath: this.ctx.cryptoPath,
      store: this.store,
      resendMs: 300,
      timeoutMs: this.ctx.answerTimeoutMs,
    });
    return this.device;
  }

  async open(): Promise<DeviceChannel> {
    const channel = await this.device!.open({
      payeeId: this.ctx.payeeId,
      asset: this.ctx.asset,
      capacityBaseUnits: this.ctx.capacityBaseUnits,
      lifetimeS: this.ctx.lifetimeS,
      price: this.ctx.price,
    });
    this.ctx.onChannelOpened();
    return channel;
  }

  /** A link that records what the SDK publishes (to replay it later), then passes it on. */
  private tap(link: BrokerLink): DeviceLink {
    return {
      subscribe: (filter, qos) => link.subscribe(filter, qos),
      publish: (topic, payload, qos) => {
        const decoded = decodeMessage(payload, 'up');
        if (decoded.ok && decoded.message.type === MessageType.OpenRequest)
          this.opens.push(payload.slice());
        if (decoded.ok && decoded.message.type === MessageType.Voucher)
          this.vouchers.set(decoded.message.seq, payload.slice());
        return link.publish(topic, payload, qos);
      },
      onMessage: (handler) => link.onMessage(handler),
      onStatus: (handler) => link.onStatus(handler),
      get connected() {
        return link.connected;
      },
      close: () => link.close(),
    };
  }

  /** Every refusal on this device's down topic, whatever channel it names. */
  private observe(topic: string, payload: Uint8Array): void {
    if (topic !== this.down) return;
    const decoded = decodeMessage(payload, 'down');
    if (!decoded.ok) return;
    const m = decoded.message;
    if (m.type === MessageType.Receipt) {
      this.lastReceiptAtMs = Date.now();
      return;
    }
    if (m.type === MessageType.Rejection) {
      this.events.push({
        type: m.type,
        channelIdHex: toHex(m.channelId),
        refusedType: m.refusedType,
        seq: m.seq,
        status: m.status,
      });
    } else if (m.type === MessageType.OpenRejected) {
      this.events.push({
        type: m.type,
        channelIdHex: '',
        refusedType: MessageType.OpenRequest,
        seq: 0,
        status: m.status,
      });
    } else {
      return;
    }
    for (const wake of this.waiters) wake();
  }

  /** The first refusal (from index `from`) matching `match`, or undefined after `timeoutMs`. */
  async refusal(
    match: (event: DownEvent) => boolean,
    timeoutMs: number,
    from = 0,
  ): Promise<DownEvent | undefined> {
    const find = (): DownEvent | undefined => this.events.slice(from).find(match);
    const found = find();
    if (found !== undefined) return found;
    let wake: () => void = () => {};
    const event = new Promise<DownEvent | undefined>((resolve) => {
      wake = () => {
        const hit = find();
        if (hit !== undefined) resolve(hit);
      };
      this.waiters.add(wake);
    });
    try {
      return await withTimeout(event, timeoutMs);
    } finally {
      this.waiters.delete(wake);
    }
  }

  /** A voucher built by hand, signed by `signer` (default: this device's own key). */
  voucher(
    channel: DeviceChannel,
    seq: number,
    amountBaseUnits: bigint,
    signerKey: KeyPair = this.keyPair,
  ): Uint8Array {
    return encodeMessage(
      { type: MessageType.Voucher, channelId: channel.channelId, seq, amountBaseUnits },
      signerFor(signerKey, this.ctx.cryptoPath),
    );
  }

  publishRaw(topic: string, payload: Uint8Array): Promise<void> {
    return this.link!.publish(topic, payload, 1);
  }

  async shutdown(): Promise<void> {
    if (this.device !== undefined) await this.device.shutdown();
    else if (this.link !== undefined) await this.link.close();
    this.device = undefined;
    this.link = undefined;
  }
}

const name = (status: number): string => statusName(status) ?? `status ${status}`;

/** Pays `count` small vouchers and waits for the hub to acknowledge the last one. */
async function stream(channel: DeviceChannel, count: number, timeoutMs: number): Promise<boolean> {
  for (let i = 0; i < count; i++) await channel.payBaseUnits(1_000n);
  const acked = await withTimeout(
    channel.whenAcked(channel.seq).then(
      () => true,
      () => false,
    ),
    timeoutMs,
  );
  return acked === true;
}

/** Starts one misbehaviour; the returned run's outcome never rejects. */
export function startMisbehaviour(
  mode: MisbehaviourMode,
  ctx: MisbehaviourContext,
): MisbehaviourRun {
  const actors: Actor[] = [];
  const opened: { actor: Actor; channel: DeviceChannel }[] = [];
  const actor = (label: string, keyPair?: KeyPair): Actor => {
    const a = new Actor(ctx, `${mode} ${label}`, keyPair);
    actors.push(a);
    return a;
  };
  const openOn = async (a: Actor): Promise<DeviceChannel> => {
    const channel = await a.open();
    opened.push({ actor: a, channel });
    return channel;
  };
  const scenario = SCENARIOS[mode];
  const outcome = scenario({ ctx, actor, openOn }).then(
    (result) => ({ mode, devices: actors.length, ...result }),
    (error: unknown) => ({
      mode,
      devices: actors.length,
      expected: EXPECTED[mode],
      observed: `error: ${describe(error)}`,
      ok: false,
    }),
  );
  return {
    mode,
    outcome,
    // The actor's current Device holds the live channel object (a reconnected device
    // restores its channels from its store as new objects).
    channels: () =>
      opened.map(({ actor: a, channel }) => ({
        channel: a.device?.channels.get(channel.channelIdHex) ?? channel,
        label: a.label,
      })),
    shutdown: async () => {
      for (const a of actors) await a.shutdown();
    },
  };
}

const EXPECTED: Record<MisbehaviourMode, string> = {
  'forged-signature': 'SIGNATURE_INVALID',
  replay: 'stale voucher ignored (acked amount unchanged); OpenRequest after close: CHANNEL_CLOSED',
  overspend: 'AMOUNT_EXCEEDS_CAPACITY',
  'after-close': 'CHANNEL_CLOSED',
  'foreign-topic':
    "broker refuses the publish (connection dropped, nothing reaches the hub), or on an open broker CHANNEL_NOT_OWNED on the victim's down topic",
};

interface ScenarioTools {
  ctx: MisbehaviourContext;
  actor(label: string, keyPair?: KeyPair): Actor;
  openOn(a: Actor): Promise<DeviceChannel>;
}

type Result = { expected: string; observed: string; ok: boolean };
type Scenario = (tools: ScenarioTools) => Promise<Result>;

/** A refusal for a hand-made voucher of `channel` with `seq`, and whether it is `status`. */
async function voucherRefusal(
  a: Actor,
  channel: DeviceChannel,
  seq: number,
  timeoutMs: number,
  from: number,
): Promise<DownEvent | undefined> {
  return a.refusal(
    (e) =>
      e.type === MessageType.Rejection &&
      e.refusedType === MessageType.Voucher &&
      e.channelIdHex === channel.channelIdHex &&
      e.seq === seq,
    timeoutMs,
    from,
  );
}

const SCENARIOS: Record<MisbehaviourMode, Scenario> = {
  async 'forged-signature'({ ctx, actor, openOn }) {
    const a = actor('device');
    await a.connect();
    const channel = await openOn(a);
    await stream(channel, 3, ctx.answerTimeoutMs);
    const seq = channel.seq + 1;
    const from = a.events.length;
    await a.publishRaw(
      a.up,
      a.voucher(channel, seq, channel.amountBaseUnits + 1n, generateKeyPair()),
    );
    const refused = await voucherRefusal(a, channel, seq, ctx.answerTimeoutMs, from);
    // The channel is unharmed: the next honest voucher (the same seq) is accepted.
    const followUp = await stream(channel, 1, ctx.answerTimeoutMs);
    const observed = refused === undefined ? 'no answer' : name(refused.status);
    return {
      expected: EXPECTED['forged-signature'],
      observed: followUp ? observed : `${observed}; the next honest voucher was not acknowledged`,
      ok: refused?.status === Status.SIGNATURE_INVALID && followUp,
    };
  },

  async replay({ ctx, actor, openOn }) {
    const a = actor('device');
    await a.connect();
    const channel = await openOn(a);
    await stream(channel, 5, ctx.answerTimeoutMs);
    const ackedBefore = channel.ackedAmountBaseUnits;
    const seqBefore = channel.seq;
    const from = a.events.length;
    // Older vouchers of its own channel, each more than once, out of order.
    for (const seq of [2, 1, 3, 2]) await a.publishRaw(a.up, a.vouchers.get(seq)!);
    await sleep(400);
    await untilSecondAfter(a.lastReceiptAtMs, Date.now);
    const receipt = await channel.requestReceipt();
    const answered = a.events
      .slice(from)
      .filter(
        (e) => e.channelIdHex === channel.channelIdHex && e.refusedType === MessageType.Voucher,
      );
    const ignored =
      answered.length === 0 &&
      receipt.amountBaseUnits === ackedBefore &&
      receipt.seq === seqBefore &&
      channel.ackedAmountBaseUnits === ackedBefore;
    const staleText = ignored
      ? `stale voucher ignored (acked amount unchanged at ${ackedBefore})`
      : `stale voucher answered ${answered.map((e) => name(e.status)).join(',') || 'nothing'}, receipt seq ${receipt.seq} amount ${receipt.amountBaseUnits} (before: seq ${seqBefore} amount ${ackedBefore})`;
    // Part two: the channel closes, then its OpenRequest comes again.
    await channel.close();
    const openFrom = a.events.length;
    await a.publishRaw(a.up, a.opens[a.opens.length - 1]!);
    const reopen = await a.refusal(
      (e) => e.type === MessageType.OpenRejected,
      ctx.answerTimeoutMs,
      openFrom,
    );
    const reopenText = reopen === undefined ? 'no answer' : name(reopen.status);
    return {
      expected: EXPECTED.replay,
      observed: `${staleText}; OpenRequest after close: ${reopenText}`,
      ok: ignored && reopen?.status === Status.CHANNEL_CLOSED,
    };
  },

  async overspend({ ctx, actor, openOn }) {
    const a = actor('device');
    await a.connect();
    const channel = await openOn(a);
    await stream(channel, 2, ctx.answerTimeoutMs);
    const seq = channel.seq + 1;
    const from = a.events.length;
    await a.publishRaw(a.up, a.voucher(channel, seq, channel.capacityBaseUnits + 1n));
    const refused = await voucherRefusal(a, channel, seq, ctx.answerTimeoutMs, from);
    const followUp = await stream(channel, 1, ctx.answerTimeoutMs);
    const observed = refused === undefined ? 'no answer' : name(refused.status);
    return {
      expected: EXPECTED.overspend,
      observed: followUp ? observed : `${observed}; the next honest voucher was not acknowledged`,
      ok: refused?.status === Status.AMOUNT_EXCEEDS_CAPACITY && followUp,
    };
  },

  async 'after-close'({ ctx, actor, openOn }) {
    const a = actor('device');
    await a.connect();
    const channel = await openOn(a);
    await stream(channel, 2, ctx.answerTimeoutMs);
    const closed: CloseReceipt = await channel.close();
    const seq = closed.seq + 1;
    const from = a.events.length;
    await a.publishRaw(a.up, a.voucher(channel, seq, closed.amountBaseUnits + 1n));
    const refused = await voucherRefusal(a, channel, seq, ctx.answerTimeoutMs, from);
    return {
      expected: EXPECTED['after-close'],
      observed: refused === undefined ? 'no answer' : name(refused.status),
      ok: refused?.status === Status.CHANNEL_CLOSED,
    };
  },

  async 'foreign-topic'({ ctx, actor, openOn }) {
    const victim = actor('victim');
    await victim.connect();
    const victimChannel = await openOn(victim);
    await stream(victimChannel, 1, ctx.answerTimeoutMs);
    const attacker = actor('attacker');
    await attacker.connect();
    const channel = await openOn(attacker);
    await stream(channel, 1, ctx.answerTimeoutMs);
    const bytes = attacker.voucher(channel, channel.seq + 1, channel.amountBaseUnits + 1n);
    // The SDK device steps aside; a bare link with the attacker's identity sends the
    // forbidden publish (an authorizing broker keeps dropping it on every reconnect, so
    // it must not be the link the device keeps using).
    await attacker.shutdown();
    const from = victim.events.length;
    const raw = actor('attacker (bare link)', attacker.keyPair);
    await raw.connectBare();
    const statusesBefore = raw.statuses.length;
    const published = raw.publishRaw(victim.up, bytes).then(
      () => 'acknowledged' as const,
      () => 'failed' as const,
    );
    const notOwned = (e: DownEvent): boolean =>
      e.type === MessageType.Rejection && e.channelIdHex === channel.channelIdHex;
    const dropped = (): boolean =>
      raw.statuses
        .slice(statusesBefore)
        .some((s) => s === 'offline' || s === 'reconnecting' || s === 'closed');
    const deadline = Date.now() + ctx.answerTimeoutMs;
    let answer: DownEvent | undefined;
    while (Date.now() < deadline && !dropped()) {
      answer = await victim.refusal(notOwned, 50, from);
      if (answer !== undefined) break;
    }
    const wasDropped = dropped();
    // Dropped or not, give the hub time to answer if the message did reach it.
    answer ??= await victim.refusal(notOwned, wasDropped ? 500 : 0, from);
    await raw.shutdown();
    const pubAck = await withTimeout(published, 100);
    // The attacker's device comes back (from its stored state) and carries on.
    await attacker.connect();
    const attackerOk = await stream(
      attacker.device!.channels.get(channel.channelIdHex)!,
      1,
      ctx.answerTimeoutMs,
    );
    const victimOk = await stream(victimChannel, 1, ctx.answerTimeoutMs);
    let observed: string;
    let ok: boolean;
    if (wasDropped && answer === undefined) {
      observed = 'broker refused the publish: connection dropped, nothing reached the hub';
      ok = true;
    } else if (!wasDropped && answer !== undefined) {
      observed = `${name(answer.status)} on the victim's down topic (open broker${pubAck === 'acknowledged' ? ', PUBACK' : ''})`;
      ok = answer.status === Status.CHANNEL_NOT_OWNED;
    } else if (answer !== undefined) {
      observed = `connection dropped AND the hub answered ${name(answer.status)}`;
      ok = false;
    } else {
      observed = 'no answer and no refusal by the broker';
      ok = false;
    }
    if (!attackerOk || !victimOk) {
      observed += `; afterwards ${!victimOk ? 'the victim' : 'the attacker'} could not pay`;
      ok = false;
    }
    return { expected: EXPECTED['foreign-topic'], observed, ok };
  },
};
