import type { MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { isFarthingError } from '../../src/errors.js';
/** Small waiting helpers for broker tests: bounded waits on real events, never bare sleeps. */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once `predicate()` holds; rejects with `what` after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Resolves when `emitter` emits `event`; rejects after `timeoutMs` (so a failure is fast). */
export function eventWithin(
  emitter: { once(event: string, listener: () => void): unknown },
  event: string,
  what: string,
  timeoutMs = 3000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    emitter.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface Received {
  topic: string;
  text: string;
}

/** A message log that a link's onMessage feeds. */
export class Inbox {
  readonly messages: Received[] = [];

  readonly push = (topic: string, payload: Uint8Array): void => {
    this.messages.push({ topic, text: new TextDecoder().decode(payload) });
  };

  has(topic: string, text: string): boolean {
    return this.messages.some((m) => m.topic === topic && m.text === text);
  }

  texts(): string[] {
    return this.messages.map((m) => m.text);
  }

  /**
   * Waits for a control message (sent after the ones that must not arrive, on an allowed
   * path), then a further `settleMs`, so "not delivered" is asserted after the broker has
   * demonstrably routed later traffic, not after an arbitrary sleep.
   */
  async settleAfter(topic: string, text: string, settleMs = 300): Promise<void> {
    await waitFor(() => this.has(topic, text), `control message ${text} on ${topic}`);
    await sleep(settleMs);
  }
}

/** 'connected', or the CONNACK return code / 'closed' when the broker refuses the client. */
export function connectOutcome(client: MqttClient): Promise<'connected' | number | 'closed'> {
  return new Promise((resolve) => {
    client.once('connect', () => resolve('connected'));
    client.once('error', (error) => resolve((error as Error & { code?: number }).code ?? -1));
    client.once('close', () => resolve('closed'));
  });
}

/** A link operation the broker refused (connect, subscribe or publish). */
export async function expectRefused(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toSatisfy((error) => isFarthingError(error, 'BROKER_UNREACHABLE'));
}
