import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { FarthingError } from '../errors.js';
import { ConnectAuthenticator } from '../hub/connect-auth.js';
import { Hub } from '../hub/hub.js';
import type { SignatureVerifier } from '../hub/ports.js';
import type { HubSettings } from '../hub/settings.js';
import { LevelLedger } from '../ledger/level-ledger.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../transport/embedded-broker.js';
import type { BrokerLink } from '../transport/link.js';
import { connectMqttLink } from '../transport/mqtt-link.js';
import { keyId } from '../protocol/topics.js';
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
}

export interface RunningHub {
  hub: Hub;
  hubId: string;
  hubKey: Uint8Array;
  brokerUrl: string;
  embedded: EmbeddedBroker | undefined;
  ledger: LevelLedger;
  dataDir: DataDir;
  stop(): Promise<void>;
}

/** Wires the real pieces: data directory, LevelDB ledger, a broker (embedded or external), the hub. */
export async function startHubProcess(config: HubProcessConfig): Promise<RunningHub> {
  const { logger } = config;
  const dataDir = await openDataDir(config.dataDir);
  const hubKey = dataDir.keyPair.publicKey;
  const hubId = keyId(hubKey);
  if (dataDir.keyCreated) logger.info({ hubId, dataDir: dataDir.path }, 'created a new hub key');
  const ledger = new LevelLedger({ path: dataDir.ledgerPath });
  await ledger.open();
  const hubLedger = withFaultInjection(ledger);
  let embedded: EmbeddedBroker | undefined;
  let link: BrokerLink;
  let brokerUrl: string;
  try {
    if (config.broker === undefined) {
      const authenticator = new ConnectAuthenticator({ hubKey, payeeSecrets: await readPayeeSecrets(dataDir.path) });
      embedded = await startEmbeddedBroker({
        host: config.listen.host,
        port: config.listen.port,
        hubId,
        authenticate: (credentials) => {
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
      });
    }
  } catch (error) {
    await ledger.close();
    throw error;
  }
  const hub = new Hub({
    keyPair: dataDir.keyPair,
    ledger: hubLedger,
    broker: link,
    settings: config.settings,
    logger,
    ...(config.verifier === undefined ? {} : { verifier: config.verifier }),
  });
  link.onStatus((status) => logger.info({ status }, 'broker connection'));
  try {
    await hub.start();
  } catch (error) {
    await hub.stop().catch(() => undefined);
    if (embedded !== undefined) await embedded.close();
    else await link.close();
    await ledger.close();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await hub.stop();
      if (embedded !== undefined) await embedded.close();
      else await link.close();
      await ledger.close();
    })();
    return stopped;
  };
  return { hub, hubId, hubKey, brokerUrl, embedded, ledger, dataDir, stop };
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
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw new FarthingError('CONFIG_INVALID', `${path} must map payee ids to secret strings`);
  }
  return parsed as Record<string, string>;
}
