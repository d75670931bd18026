import { createRequire } from 'node:module';

/**
 * mqtt-packet (under both mqtt.js and aedes) calls its `debug` logger several times for every
 * packet it parses or writes. `debug` collects each call's arguments into a fresh array before
 * it checks whether it is enabled, so even switched off it made a tenth of a busy hub's garbage.
 * Unless DEBUG asks for mqtt-packet, its loggers become a no-op. Import this module before
 * anything that loads mqtt or aedes; if mqtt-packet is already loaded it changes nothing.
 */
const NAMESPACE = 'mqtt-packet:';
/** The loggers mqtt-packet creates. */
const PACKET_LOGGERS = ['mqtt-packet:parser', 'mqtt-packet:writeToStream'];

function silent(): void {}

/** A DEBUG entry as `debug` reads it: `*` stands for any run of characters. */
function namespacePattern(entry: string): RegExp {
  const escaped = entry.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/**
 * Whether DEBUG (the `debug` convention: entries split by commas or spaces, `*` a wildcard, a
 * leading `-` excluding) switches on any of these loggers, as `debug` itself would decide.
 */
export function debugEnables(
  loggers: readonly string[],
  debugSetting = process.env.DEBUG ?? '',
): boolean {
  const entries = debugSetting
    .trim()
    .split(/[\s,]+/)
    .filter(Boolean);
  const skips = entries.filter((e) => e.startsWith('-')).map((e) => namespacePattern(e.slice(1)));
  const names = entries.filter((e) => !e.startsWith('-')).map(namespacePattern);
  return loggers.some(
    (logger) => !skips.some((skip) => skip.test(logger)) && names.some((name) => name.test(logger)),
  );
}

export function quietPacketDebug(debugSetting = process.env.DEBUG ?? ''): boolean {
  if (debugEnables(PACKET_LOGGERS, debugSetting)) return false;
  const ours = createRequire(import.meta.url);
  let debugPath: string;
  try {
    // Resolve `debug` as mqtt-packet itself would, wherever npm placed it.
    const packetRequire = createRequire(ours.resolve('mqtt-packet'));
    debugPath = packetRequire.resolve('debug');
  } catch {
    return false;
  }
  const createDebug = ours(debugPath) as (namespace: string) => unknown;
  const cached = ours.cache[debugPath];
  if (cached === undefined) return false;
  // A proxy, so that setting debug's options (log, formatters, enable) still reaches debug.
  cached.exports = new Proxy(createDebug, {
    apply: (target, thisArg, args: [string]) =>
      args[0].startsWith(NAMESPACE) ? silent : Reflect.apply(target, thisArg, args),
  });
  return true;
}

quietPacketDebug();
