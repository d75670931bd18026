import { createRequire } from 'node:module';

/**
 * mqtt-packet (under both mqtt.js and aedes) calls its `debug` logger several times for every
 * packet it parses or writes. `debug` collects each call's arguments into a fresh array before
 * it checks whether it is enabled, so even switched off it made a tenth of a busy hub's garbage.
 * Unless DEBUG asks for mqtt-packet, its loggers become a no-op. Import this module before
 * anything that loads mqtt or aedes; if mqtt-packet is already loaded it changes nothing.
 */
const NAMESPACE = 'mqtt-packet:';

function silent(): void {}

/** Whether DEBUG (the `debug` convention) asks for the loggers under `prefix`. */
export function debugAsksFor(prefix: string, debugSetting = process.env.DEBUG ?? ''): boolean {
  return debugSetting.includes('*') || debugSetting.includes(prefix);
}

export function quietPacketDebug(debugSetting = process.env.DEBUG ?? ''): boolean {
  if (debugAsksFor('mqtt-packet', debugSetting)) return false;
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
