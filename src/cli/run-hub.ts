import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { FarthingError } from '../errors.js';
import { startAdminServer, type AdminServer } from '../hub/admin/server.js';
import { ConnectAuthenticator } from '../hub/connect-auth.js';
import { Hub } from '../hub/hub.js';
import { InlineVerifier } from '../hub/inline-verifier.js';
import { VerifyPool } from '../hub/verify-pool.js';
import { HubMetrics } from '../hub/metrics.js';
import type { SignatureVerifier } from '../hub/ports.js';
import type { HubSettings } from '../hub/settings.js';
import { resolveHubSettings } from '../hub/settings-check.js';
import { LevelLedger } from '../ledger/level-ledger.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../transport/embedded-broker.js';
import type { BrokerLink } from '../transport/link.js';
import { connectMqttLink } from '../transport/mqtt-link.js';
import { keyId } from '../protocol/topics.js';
import { ID_PATTERN } from '../protocol/limits.js';
import { openDataDir, type DataDir } from './data-dir.js';
import { withFaultInjection } from './fault-injection.js';
import type { HostPort } from './parse.js';

export interface ExternalBroker {
  url: string;
  username?: string;
  password?: string;
}

export interface HubProcessConfig {
  dataDir: string;
  /** Embedded broker address (used when `broker` is not given). */
  listen: HostPort;
  broker?: ExternalBroker;
  settings: Partial<HubSettings>;
  logger: Logger;
  verifier?: SignatureVerifier;
  /** Signature-check worker threads when no verifier is given: default one per core; 0 checks inline. */
  verifyThreads?: number;
  /**
   * Serve the admin HTTP API (and /metrics, the dashboard) here, with the data directory's
   * admin.token as bearer token. Undefined: no admin API and no metrics.
   */
  admin?: HostPort;
}

export interface RunningHub {
  hub: Hub;
  hubId: string;
  hubKey: Uint8Array;
  brokerUrl: string;
  embedded: EmbeddedBroker | undefined;
  ledger: LevelLedger;
  dataDir: DataDir;
  /** The admin API, when `admin` was given. */
  admin: AdminServer | undefined;
  metrics: HubMetrics | undefined;
  stop(): Promise<void>;
}

/** Wires the real pieces: data directory, LevelDB ledger, a broker (embedded or external), the hub. */
export async function startHubProcess(config: HubProcessConfig): Promise<RunningHub> {
  const { logger } = config;
  // Before anything is opened or listening: the hub would refuse them anyway, later.
  resolveHubSettings(config.settings);
  const dataDir = await openDataDir(config.dataDir);
  const hubKey = dataDir.keyPair.publicKey;
  const hubId = keyId(hubKey);
  if (dataDir.keyCreated) logger.info({ hubId, dataDir: dataDir.path }, 'created a new hub key');
  const ledger = new LevelLedger({ path: dataDir.ledgerPath });
  await ledger.open();
  const hubLedger = withFaultInjection(ledger);
  let embedded: EmbeddedBroker | undefined;
  let accepting = false;
  let link: BrokerLink;
  let brokerUrl: string;
  try {
    if (config.broker === undefined) {
      const authenticator = new ConnectAuthenticator({
        hubKey,
        payeeSecrets: await readPayeeSecrets(dataDir.path),
      });
      embedded = await startEmbeddedBroker({
        host: config.listen.host,
        port: config.listen.port,
        hubId,
        // Until the hub has reloaded its channels and subscribed, a device's messages would
        // reach no one; refuse connections meanwhile and let devices retry.
        authenticate: (credentials) => {
          if (!accepting) return { ok: false, reason: 'hub-starting' };
          const checked = authenticator.check(credentials);
          return checked.ok ? checked.principal : checked;
        },
      });
      link = embedded.hubLink;
      brokerUrl = embedded.url;
    } else {
      brokerUrl = config.broker.url;
      link = await connectMqttLink({
        url: config.broker.url,
        clientId: `farthing-hub-${hubId.slice(0, 16)}`,
        username: config.broker.username,
        password: config.broker.password,
        maxPending: 1_000_000,
        // A persistent session: the broker keeps QoS 1 vouchers for the hub while it restarts.
        clean: false,
      });
    }
  } catch (error) {
    await ledger.close();
    throw error;
  }
  const metrics = config.admin === undefined ? undefined : new HubMetrics();
  const hub = new Hub({
    keyPair: dataDir.keyPair,
    ledger: hubLedger,
    broker: link,
    settings: config.settings,
    logger,
    verifier:
      config.verifier ??
      (config.verifyThreads === 0
        ? new InlineVerifier()
        : new VerifyPool({ threads: config.verifyThreads })),
    ...(metrics === undefined ? {} : { observer: metrics.observer }),
  });
  const broker = embedded;
  metrics?.attach({ hub, ...(broker === undefined ? {} : { brokerStats: () => broker.stats() }) });
  link.onStatus((status) => logger.info({ status }, 'broker connection'));
  let admin: AdminServer | undefined;
  try {
    // The admin API listens first: a taken port fails fast, and /health answers during reload
    // (requests that move money get 503 until the hub runs).
    if (config.admin !== undefined) {
      admin = await startAdminServer({
        hub,
        host: config.admin.host,
        port: config.admin.port,
        token: dataDir.adminToken,
        logger: logger.child({ component: 'admin' }),
        ...(metrics === undefined ? {} : { metrics }),
      });
    }
    await hub.start();
    accepting = true;
  } catch (error) {
    await admin?.close();
    await hub.stop().catch(() => undefined);
    if (embedded !== undefined) await embedded.close();
    else await link.close();
    await ledger.close();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await admin?.close();
      await hub.stop();
      if (embedded !== undefined) await embedded.close();
      else await link.close();
      await ledger.close();
    })();
    return stopped;
  };
  return { hub, hubId, hubKey, brokerUrl, embedded, ledger, dataDir, admin, metrics, stop };
}

/** Optional `payees.json` in the data directory: { "<payeeId>": "<secret>" } for payee logins. */
async function readPayeeSecrets(dataDir: string): Promise<Record<string, string>> {
  const path = join(dataDir, 'payees.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new FarthingError('CONFIG_INVALID', `cannot read ${path}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new FarthingError('CONFIG_INVALID', `${path} is not JSON`, { cause: error });
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    Array.isArray(parsed) ||
    Object.entries(parsed).some(
      ([id, secret]) => !ID_PATTERN.test(id) || typeof secret !== 'string',
    )
  ) {
    throw new FarthingError(
      'CONFIG_INVALID',
      `${path} must map payee ids (1..64 characters of [A-Za-z0-9_-]) to secret strings`,
    );
  }
  return parsed as Record<string, string>;
}
