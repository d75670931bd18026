import { Command, Option } from 'commander';
import { isFarthingError } from '../errors.js';
import { createLogger, type LogLevel } from './logger.js';
import {
  parseAmount,
  parseNonNegativeInt,
  parseBasisPoints,
  parseHostPort,
  parsePositiveInt,
  type HostPort,
} from './parse.js';
import { startHubProcess } from './run-hub.js';
import type { HubSettings } from '../hub/settings.js';

interface HubFlags {
  data: string;
  verifyThreads?: number;
  listen: HostPort;
  broker?: string;
  brokerUsername?: string;
  brokerPassword?: string;
  asset: string[];
  feeBps: number;
  autoFund?: bigint;
  settleIntervalMs: number;
  settleThreshold: bigint;
  groupCommitMs: number;
  groupCommitMax: number;
  payoutThreshold?: bigint;
  payoutRail: string;
  payee?: string[];
  minLifetimeS: number;
  maxLifetimeS: number;
  expiryCheckMs: number;
  logLevel: LogLevel;
  pretty: boolean;
  /** The admin API address, or false with --no-admin. */
  admin: HostPort | false;
}

export function hubCommand(): Command {
  return (
    new Command('hub')
      .description(
        'run a hub: an embedded MQTT broker (or an external one), the ledger, settlement',
      )
      .requiredOption(
        '--data <dir>',
        'data directory (hub key, ledger, admin token); created on first start',
      )
      .addOption(
        new Option('--listen <host:port>', 'embedded broker address')
          .argParser(parseHostPort)
          .default({ host: '127.0.0.1', port: 1883 }, '127.0.0.1:1883'),
      )
      .option(
        '--broker <url>',
        'use this external MQTT broker instead of the embedded one, e.g. mqtt://127.0.0.1:1883',
      )
      .addOption(
        new Option('--broker-username <name>', 'username at the external broker').env(
          'FARTHING_BROKER_USERNAME',
        ),
      )
      .addOption(
        new Option('--broker-password <secret>', 'password at the external broker').env(
          'FARTHING_BROKER_PASSWORD',
        ),
      )
      .option('--asset <code...>', 'asset codes channels may use', ['USD'])
      .option(
        '--fee-bps <n>',
        'hub fee in basis points of every settled amount',
        parseBasisPoints,
        100,
      )
      .option(
        '--auto-fund <amount>',
        'DEVELOPMENT ONLY: credit each new device this many base units from external/faucet',
        parseAmount,
      )
      .option(
        '--settle-interval-ms <ms>',
        'settle changed channels this often',
        parsePositiveInt,
        10_000,
      )
      // A bigint default needs its own description: commander's help JSON-encodes defaults.
      .addOption(
        new Option(
          '--settle-threshold <amount>',
          'settle at once when unsettled value reaches this',
        )
          .argParser(parseAmount)
          .default(10n ** 12n, '1000000000000'),
      )
      .option(
        '--group-commit-ms <ms>',
        'longest a verified voucher waits for its commit',
        parsePositiveInt,
        2,
      )
      .option(
        '--group-commit-max <n>',
        'commit at once when this many channels are waiting',
        parsePositiveInt,
        4096,
      )
      .option(
        '--payout-threshold <amount>',
        'pay a payee out once its balance reaches this',
        parseAmount,
      )
      .option('--payout-rail <rail>', 'external account payouts go to', 'payouts')
      .option('--payee <id...>', 'only these payee ids may be named (default: any)')
      .option(
        '--min-lifetime-s <s>',
        'shortest channel lifetime an open may ask for',
        parsePositiveInt,
        10,
      )
      .option(
        '--max-lifetime-s <s>',
        'longest channel lifetime an open may ask for',
        parsePositiveInt,
        90 * 24 * 3600,
      )
      .option(
        '--expiry-check-ms <ms>',
        'how often expired channels are looked for',
        parsePositiveInt,
        1000,
      )
      .addOption(
        new Option(
          '--admin <host:port>',
          'admin HTTP API, /metrics and dashboard address (bearer token: <data>/admin.token)',
        )
          .argParser(parseHostPort)
          .default({ host: '127.0.0.1', port: 8180 }, '127.0.0.1:8180'),
      )
      .option('--no-admin', 'do not serve the admin API, metrics or dashboard')
      .addOption(
        new Option('--log-level <level>', 'log level')
          .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info'),
      )
      .option(
        '--verify-threads <n>',
        'signature-check worker threads (default: one per core; 0: on the main thread)',
        parseNonNegativeInt,
      )
      .option('--pretty', 'human-readable logs instead of JSON', false)
      .action(async (flags: HubFlags) => {
        const logger = createLogger({ level: flags.logLevel, pretty: flags.pretty });
        const settings: Partial<HubSettings> = {
          assets: flags.asset,
          feeBasisPoints: flags.feeBps,
          autoFundBaseUnits: flags.autoFund,
          settleIntervalMs: flags.settleIntervalMs,
          settleThresholdBaseUnits: flags.settleThreshold,
          groupCommitIntervalMs: flags.groupCommitMs,
          groupCommitMaxVouchers: flags.groupCommitMax,
          payoutThresholdBaseUnits: flags.payoutThreshold,
          payoutRail: flags.payoutRail,
          payees: flags.payee,
          minLifetimeS: flags.minLifetimeS,
          maxLifetimeS: flags.maxLifetimeS,
          expiryCheckIntervalMs: flags.expiryCheckMs,
        };
        let running;
        try {
          running = await startHubProcess({
            dataDir: flags.data,
            listen: flags.listen,
            broker:
              flags.broker === undefined
                ? undefined
                : {
                    url: flags.broker,
                    username: flags.brokerUsername,
                    password: flags.brokerPassword,
                  },
            settings,
            logger,
            ...(flags.verifyThreads === undefined ? {} : { verifyThreads: flags.verifyThreads }),
            ...(flags.admin === false ? {} : { admin: flags.admin }),
          });
        } catch (error) {
          process.stderr.write(
            `farthing hub: ${isFarthingError(error) ? `${error.code}: ${error.message}` : String(error)}\n`,
          );
          logger.flush();
          process.exitCode = 2;
          return;
        }
        if (flags.autoFund !== undefined)
          logger.warn(
            { amount: flags.autoFund.toString() },
            'auto-fund is on: for development only',
          );
        process.stdout.write(
          [
            `farthing hub ${running.hubId}`,
            `  broker   ${running.brokerUrl}${running.embedded === undefined ? ' (external)' : ' (embedded)'}`,
            `  data     ${running.dataDir.path}`,
            `  admin    ${running.admin === undefined ? 'off' : `${running.admin.url} (dashboard at /, token in ${running.dataDir.path}/admin.token)`}`,
            `  channels ${running.hub.table.size} open`,
            '',
          ].join('\n'),
        );
        await new Promise<void>((resolve) => {
          const shutdown = (signal: string): void => {
            logger.info({ signal }, 'shutting down');
            running
              .stop()
              .then(() => resolve())
              .catch((error: unknown) => {
                logger.error({ err: error }, 'shutdown failed');
                process.exitCode = 1;
                resolve();
              });
          };
          process.once('SIGINT', shutdown);
          process.once('SIGTERM', shutdown);
        });
        logger.flush();
      })
  );
}
