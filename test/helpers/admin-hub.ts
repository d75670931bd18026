/**
 * A real hub for admin API, CLI, metrics and dashboard tests: startHubProcess (LevelDB ledger,
 * the embedded broker on a free loopback port) with the admin API on another free port, plus
 * real devices over MQTT and a small JSON client for the API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { startHubProcess, type RunningHub } from '../../src/cli/run-hub.js';
import { generateKeyPair, signerFor, type KeyPair } from '../../src/crypto/keys.js';
import { makeConnectProof } from '../../src/device/connect-proof.js';
import { Device } from '../../src/device/device.js';
import type { HubSettings } from '../../src/hub/settings.js';
import { fromHex } from '../../src/protocol/bytes.js';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { keyId, upTopic } from '../../src/protocol/topics.js';
import type { BrokerLink } from '../../src/transport/link.js';
import { connectMqttLink } from '../../src/transport/mqtt-link.js';
import { freePort } from './ports.js';

export interface AdminHub {
  running: RunningHub;
  /** The admin API base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  token: string;
  dir: string;
  api: ApiClient;
  /** Stops devices, the hub, and removes the data directory. */
  stop(): Promise<void>;
  devices: TestDevice[];
  newDevice(): Promise<TestDevice>;
}

export interface TestDevice {
  device: Device;
  link: BrokerLink;
  pair: KeyPair;
  deviceId: string;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers are checked field by field
  body: any;
  text: string;
}

export type ApiClient = (
  method: string,
  path: string,
  options?: { body?: unknown; rawBody?: string; token?: string | null; contentType?: string },
) => Promise<ApiAnswer>;

export function apiClient(url: string, token: string): ApiClient {
  return async (method, path, options = {}) => {
    const useToken = options.token === undefined ? token : options.token;
    const headers: Record<string, string> = {};
    if (useToken !== null) headers.authorization = `Bearer ${useToken}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const response = await fetch(`${url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
}

export const AUTO_FUND = 10n ** 12n;

export async function startAdminHub(
  settings: Partial<HubSettings> = {},
  logger: Logger = pino({ level: 'silent' }),
): Promise<AdminHub> {
  const dir = await mkdtemp(join(tmpdir(), 'farthing-admin-'));
  const running = await startHubProcess({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: await freePort() },
    admin: { host: '127.0.0.1', port: await freePort() },
    settings: {
      autoFundBaseUnits: AUTO_FUND,
      feeBasisPoints: 250,
      groupCommitIntervalMs: 2,
      ...settings,
    },
    logger,
  });
  const url = running.admin!.url;
  const token = running.dataDir.adminToken;
  const devices: TestDevice[] = [];
  const hub: AdminHub = {
    running,
    url,
    token,
    dir,
    api: apiClient(url, token),
    devices,
    async newDevice() {
      const device = await connectTestDevice(running);
      devices.push(device);
      return device;
    },
    async stop() {
      for (const d of devices) await d.device.shutdown().catch(() => undefined);
      await running.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return hub;
}

/** A device on its own MQTT link (kept, so a test can also publish forged messages on it). */
export async function connectTestDevice(running: RunningHub): Promise<TestDevice> {
  const pair = generateKeyPair();
  const deviceId = keyId(pair.publicKey);
  const link = await connectMqttLink({
    url: running.brokerUrl,
    clientId: deviceId,
    username: deviceId,
    password: () => makeConnectProof(pair, running.hubKey, Math.floor(Date.now() / 1000)),
  });
  const device = await Device.create({
    keyPair: pair,
    hubKey: running.hubKey,
    link,
    cryptoPath: 'node',
    resendMs: 300,
    timeoutMs: 8000,
  });
  return { device, link, pair, deviceId };
}

/** Publishes a voucher for the device's channel signed by another key: SIGNATURE_INVALID. */
export async function publishForgedVoucher(
  running: RunningHub,
  d: TestDevice,
  channelIdHex: string,
  seq: number,
  amountBaseUnits: bigint,
): Promise<void> {
  const bytes = encodeMessage(
    { type: MessageType.Voucher, channelId: fromHex(channelIdHex), seq, amountBaseUnits },
    signerFor(generateKeyPair(), 'node'),
  );
  await d.link.publish(upTopic(running.hubId, d.deviceId), bytes, 1);
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 8000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
