/**
 * An in-process stand-in for an MQTT broker, for fast hub/device tests that are about the
 * protocol rather than the transport. Delivers asynchronously (like a network), supports `+`
 * wildcards, and can drop, duplicate or reorder messages on purpose.
 */
type Status = 'connected' | 'reconnecting' | 'offline' | 'closed';

export interface MemoryLink {
  subscribe(filter: string, qos: 0 | 1): Promise<void>;
  publish(topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void>;
  onMessage(handler: (topic: string, payload: Uint8Array) => void): void;
  onStatus(handler: (status: Status) => void): void;
  readonly connected: boolean;
  close(): Promise<void>;
  /** Simulates a dropped and restored connection. */
  bounce(): void;
}

export class MemoryBroker {
  private readonly links = new Set<LinkImpl>();
  /** Called for every delivery; return how many copies to deliver (0 drops it). */
  copies: (topic: string, payload: Uint8Array) => number = () => 1;
  /** Extra delivery delay (ms) per message, e.g. random for reordering. */
  delayMs: (topic: string) => number = () => 0;
  published = 0;
  /** Sees every publish with the QoS it was made at. */
  onPublish: (topic: string, payload: Uint8Array, qos: 0 | 1) => void = () => undefined;

  link(): MemoryLink {
    const link = new LinkImpl(this);
    this.links.add(link);
    return link;
  }

  deliver(topic: string, payload: Uint8Array): void {
    this.published++;
    const copies = this.copies(topic, payload);
    for (const link of this.links) {
      if (!link.connected || !link.matches(topic)) continue;
      for (let i = 0; i < copies; i++) {
        const copy = Uint8Array.from(payload);
        const delay = this.delayMs(topic);
        if (delay > 0) setTimeout(() => link.receive(topic, copy), delay);
        else setImmediate(() => link.receive(topic, copy));
      }
    }
  }

  remove(link: LinkImpl): void {
    this.links.delete(link);
  }
}

class LinkImpl implements MemoryLink {
  private readonly filters: string[] = [];
  private readonly handlers: ((topic: string, payload: Uint8Array) => void)[] = [];
  private readonly statusHandlers: ((status: Status) => void)[] = [];
  connected = true;

  constructor(private readonly broker: MemoryBroker) {}

  async subscribe(filter: string): Promise<void> {
    this.filters.push(filter);
  }

  async publish(topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void> {
    if (!this.connected) throw new Error('offline');
    this.broker.onPublish(topic, payload, qos);
    this.broker.deliver(topic, payload);
  }

  onMessage(handler: (topic: string, payload: Uint8Array) => void): void {
    this.handlers.push(handler);
  }

  onStatus(handler: (status: Status) => void): void {
    this.statusHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.connected = false;
    this.broker.remove(this);
    for (const h of this.statusHandlers) h('closed');
  }

  bounce(): void {
    this.connected = false;
    for (const h of this.statusHandlers) h('offline');
    setTimeout(() => {
      this.connected = true;
      for (const h of this.statusHandlers) h('connected');
    }, 5);
  }

  matches(topic: string): boolean {
    return this.filters.some((filter) => topicMatches(filter, topic));
  }

  receive(topic: string, payload: Uint8Array): void {
    if (!this.connected) return;
    for (const h of this.handlers) h(topic, payload);
  }
}

export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
