import { fromBase64url, toBase64url } from './bytes.js';
import { ID_PATTERN } from './limits.js';

/**
 * MQTT topics (DESIGN §4). One topic per device and direction, so a broker ACL can confine a
 * device to its own pair. Ids are base64url: a device id is its 32-byte public key.
 */
export const TOPIC_ROOT = 'farthing/v1';

export function upTopic(hubId: string, deviceId: string): string {
  return `${TOPIC_ROOT}/${hubId}/up/${deviceId}`;
}

export function downTopic(hubId: string, deviceId: string): string {
  return `${TOPIC_ROOT}/${hubId}/down/${deviceId}`;
}

export function payeeTopic(hubId: string, payeeId: string): string {
  return `${TOPIC_ROOT}/${hubId}/payee/${payeeId}`;
}

/** The hub subscribes here for everything devices send it. */
export function upWildcard(hubId: string): string {
  return `${TOPIC_ROOT}/${hubId}/up/+`;
}

export type TopicKind = 'up' | 'down' | 'payee';

export interface ParsedTopic {
  hubId: string;
  kind: TopicKind;
  id: string;
}

/** Parses a Farthing topic; undefined for anything else (wrong shape, bad id, wildcards). */
export function parseTopic(topic: string): ParsedTopic | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return undefined;
  const [, , hubId, kind, id] = parts as [string, string, string, string, string];
  if (kind !== 'up' && kind !== 'down' && kind !== 'payee') return undefined;
  if (!ID_PATTERN.test(hubId) || !ID_PATTERN.test(id)) return undefined;
  return { hubId, kind, id };
}

/** The id form of a public key (device id, hub id). */
export function keyId(publicKey: Uint8Array): string {
  return toBase64url(publicKey);
}

/** The public key named by a key id, or undefined unless it is exactly 32 canonical bytes. */
export function keyFromId(id: string): Uint8Array | undefined {
  const key = fromBase64url(id);
  return key !== undefined && key.length === 32 ? key : undefined;
}
