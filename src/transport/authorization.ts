import { downTopic, parseTopic, payeeTopic, upTopic, upWildcard } from '../protocol/topics.js';
import type { Principal } from './link.js';

/**
 * Topic authorization for the embedded broker (DESIGN §4): the same confinement the shipped
 * Mosquitto ACL gives (mosquitto-config.ts). Exact string comparisons against the topics a
 * principal owns, so no wildcard, `$SYS`, other hub or non-Farthing topic can ever match.
 *
 *   device  publish   farthing/v1/<hub>/up/<itsDeviceId>
 *           subscribe farthing/v1/<hub>/down/<itsDeviceId>
 *   payee   subscribe farthing/v1/<hub>/payee/<itsPayeeId>; publishes nothing
 *   hub     subscribe farthing/v1/<hub>/up/+ (or one device's up topic, for partitioned hubs)
 *           publish   farthing/v1/<hub>/down/<id> and farthing/v1/<hub>/payee/<id>
 */

export type PublishRefusal = 'retained' | 'qos-unsupported' | 'topic-forbidden';

export function mayPublish(principal: Principal, hubId: string, topic: string): boolean {
  switch (principal.kind) {
    case 'device':
      return topic === upTopic(hubId, principal.deviceId);
    case 'payee':
      return false;
    case 'hub': {
      const parsed = parseTopic(topic);
      return parsed !== undefined && parsed.hubId === hubId && parsed.kind !== 'up';
    }
  }
}

/**
 * Why a publish is refused, or undefined if allowed. No retained messages at all: a retained
 * voucher or receipt would be replayed to whoever subscribes next. QoS 2 is not part of the
 * protocol, and refusing it keeps the broker's per-client QoS 2 state empty.
 */
export function publishRefusal(
  principal: Principal,
  hubId: string,
  packet: { topic: string; qos: number; retain: boolean },
): PublishRefusal | undefined {
  if (packet.retain) return 'retained';
  if (packet.qos > 1) return 'qos-unsupported';
  if (!mayPublish(principal, hubId, packet.topic)) return 'topic-forbidden';
  return undefined;
}

export function maySubscribe(principal: Principal, hubId: string, filter: string): boolean {
  switch (principal.kind) {
    case 'device':
      return filter === downTopic(hubId, principal.deviceId);
    case 'payee':
      return filter === payeeTopic(hubId, principal.payeeId);
    case 'hub': {
      if (filter === upWildcard(hubId)) return true;
      const parsed = parseTopic(filter);
      return parsed !== undefined && parsed.hubId === hubId && parsed.kind === 'up';
    }
  }
}

/**
 * Whether a message on `topic` may be delivered to this principal. Subscriptions are already
 * confined; this is the second lock, checked per message on the way out.
 */
export function mayReceive(principal: Principal, hubId: string, topic: string): boolean {
  switch (principal.kind) {
    case 'device':
      return topic === downTopic(hubId, principal.deviceId);
    case 'payee':
      return topic === payeeTopic(hubId, principal.payeeId);
    case 'hub': {
      const parsed = parseTopic(topic);
      return parsed !== undefined && parsed.hubId === hubId && parsed.kind === 'up';
    }
  }
}
