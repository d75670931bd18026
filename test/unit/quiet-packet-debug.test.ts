import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
// The transport loads mqtt; importing it is what quiets mqtt-packet's loggers.
import '../../src/transport/mqtt-link.js';
import { debugEnables, quietPacketDebug } from '../../src/transport/quiet-packet-debug.js';

const ours = createRequire(import.meta.url);
const packetRequire = createRequire(ours.resolve('mqtt-packet'));

interface DebugFactory {
  (namespace: string): unknown;
  enable(namespaces: string): void;
  disable(): string;
  log: (...args: unknown[]) => void;
}

describe("mqtt-packet's debug loggers", () => {
  it('log nothing while parsing and writing packets, even when switched on afterwards', () => {
    const createDebug = packetRequire('debug') as DebugFactory;
    const mqttPacket = packetRequire('mqtt-packet') as {
      parser(options: object): {
        on(e: string, f: (p: unknown) => void): void;
        parse(b: Buffer): void;
      };
      generate(packet: object): Buffer;
    };
    const lines: unknown[][] = [];
    const originalLog = createDebug.log;
    createDebug.log = (...args) => lines.push(args);
    createDebug.enable('mqtt-packet:*,farthing-test');
    try {
      const packets: unknown[] = [];
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p) => packets.push(p));
      parser.parse(
        mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 0 }),
      );
      expect(packets).toHaveLength(1);
      expect(lines).toEqual([]);
      // Other namespaces keep their real logger.
      (createDebug('farthing-test') as (...args: unknown[]) => void)('still here');
      expect(lines).toHaveLength(1);
    } finally {
      createDebug.disable();
      createDebug.log = originalLog;
    }
  });

  it('are left alone when DEBUG asks for them', () => {
    expect(quietPacketDebug('mqtt-packet:*')).toBe(false);
    expect(quietPacketDebug('*')).toBe(false);
  });
});

describe("whether DEBUG switches a library's loggers on", () => {
  const packet = ['mqtt-packet:parser', 'mqtt-packet:writeToStream'];

  it('reads wildcards, lists and exclusions as debug does', () => {
    expect(debugEnables(packet, '*')).toBe(true);
    expect(debugEnables(packet, 'mqtt-packet:*')).toBe(true);
    expect(debugEnables(packet, 'mqtt*')).toBe(true);
    expect(debugEnables(packet, 'mqtt-packet:parser')).toBe(true);
    expect(debugEnables(packet, 'express:* mqtt-packet:writeToStream')).toBe(true);
    // One logger excluded, the other still on.
    expect(debugEnables(packet, 'mqtt-packet:*,-mqtt-packet:parser')).toBe(true);
  });

  it('does not count a wildcard for another library, or an excluded one', () => {
    expect(debugEnables(packet, '')).toBe(false);
    expect(debugEnables(packet, 'express:*')).toBe(false);
    expect(debugEnables(packet, 'farthing:*,mqttjs:*')).toBe(false);
    expect(debugEnables(packet, '*,-mqtt-packet:*')).toBe(false);
    expect(debugEnables(packet, 'mqtt-packet')).toBe(false);
    // Regex characters in an entry are literal.
    expect(debugEnables(packet, 'mqtt.packet:*')).toBe(false);
  });
});
