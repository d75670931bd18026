import pino, { type Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * Structured JSON logs on stderr (stdout stays for a command's output), or a human-readable
 * form with `pretty`. Key material never reaches a log call: the hub logs ids, never keys.
 */
export function createLogger(options: { level: LogLevel; pretty: boolean; name?: string }): Logger {
  const base = {
    level: options.level,
    name: options.name ?? 'farthing',
    redact: ['*.secretSeed', '*.password', '*.token'],
  };
  if (options.pretty) {
    return pino(
      base,
      pino.transport({
        target: 'pino-pretty',
        options: { destination: 2, colorize: process.stderr.isTTY },
      }),
    );
  }
  return pino(base, pino.destination({ dest: 2, sync: false }));
}
