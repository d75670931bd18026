import type { Price } from '../src/device/index.js';
import { randomInt, type Rng } from './rng.js';

/**
 * Usage patterns of simulated devices. A scenario is asked once per tick (the device's voucher
 * timer) for the usage of that tick, in its own unit; 0 means idle (no voucher this tick).
 * Everything random comes from the seeded Rng, so a run is reproducible.
 *
 *   smart-meter    a steady number of Wh per tick with ±10 % noise; never idle
 *   ev-charger     charging sessions: a ramp up, a plateau, a stop, then an idle gap with no
 *                  vouchers; while charging, every tick is a voucher (the requested rate)
 *   sensor-uplink  KB per tick: small random readings, now and then a burst (a firmware log,
 *                  an image)
 */
export const SCENARIO_NAMES = ['smart-meter', 'ev-charger', 'sensor-uplink'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

export interface Scenario {
  readonly name: ScenarioName;
  /** The usage unit, for reports. */
  readonly unit: 'Wh' | 'KB';
  /** Usage of the next tick (a whole number of units); 0n: idle, send nothing. */
  next(): bigint;
}

/**
 * Default prices in base units of an asset at scale 9 (1 base unit = 1e-9 USD):
 *   electricity at a meter  0.15 USD/kWh = 150 000 per Wh
 *   EV charging             0.35 USD/kWh = 350 000 per Wh
 *   cellular uplink         0.01 USD/MB  =  10 000 per KB
 */
export const DEFAULT_PRICES: Readonly<Record<ScenarioName, Price>> = {
  'smart-meter': { baseUnits: 150_000n, perUnits: 1n },
  'ev-charger': { baseUnits: 350_000n, perUnits: 1n },
  'sensor-uplink': { baseUnits: 10_000n, perUnits: 1n },
};

export function makeScenario(name: ScenarioName, rng: Rng): Scenario {
  switch (name) {
    case 'smart-meter':
      return smartMeter(rng);
    case 'ev-charger':
      return evCharger(rng);
    case 'sensor-uplink':
      return sensorUplink(rng);
  }
}

function smartMeter(rng: Rng): Scenario {
  // A household's steady draw, as Wh per tick; each tick is within ±10 % of it.
  const baseWh = randomInt(rng, 5, 20);
  return {
    name: 'smart-meter',
    unit: 'Wh',
    next() {
      const noise = 0.9 + 0.2 * rng();
      return BigInt(Math.max(1, Math.round(baseWh * noise)));
    },
  };
}

type EvPhase = 'ramp' | 'plateau' | 'idle';

function evCharger(rng: Rng): Scenario {
  const peakWh = randomInt(rng, 20, 60);
  let phase: EvPhase = 'ramp';
  let left = 0;
  let rampTicks = 1;
  const startSession = (): void => {
    phase = 'ramp';
    rampTicks = randomInt(rng, 3, 8);
    left = rampTicks;
  };
  startSession();
  // Start somewhere in the cycle so a fleet does not charge in lockstep.
  if (rng() < 0.3) {
    phase = 'idle';
    left = randomInt(rng, 1, 10);
  }
  return {
    name: 'ev-charger',
    unit: 'Wh',
    next() {
      while (left === 0) {
        if (phase === 'ramp') {
          phase = 'plateau';
          left = randomInt(rng, 15, 60);
        } else if (phase === 'plateau') {
          // The car is full or unplugged: stop, and wait for the next one.
          phase = 'idle';
          left = randomInt(rng, 3, 15);
        } else {
          startSession();
        }
      }
      left--;
      switch (phase) {
        case 'ramp': {
          const step = rampTicks - left; // 1..rampTicks
          return BigInt(Math.max(1, Math.round((peakWh * step) / rampTicks)));
        }
        case 'plateau':
          return BigInt(Math.max(1, Math.round(peakWh * (0.97 + 0.06 * rng()))));
        case 'idle':
          return 0n;
      }
    },
  };
}

function sensorUplink(rng: Rng): Scenario {
  const burstChance = 0.03 + 0.04 * rng();
  return {
    name: 'sensor-uplink',
    unit: 'KB',
    next() {
      if (rng() < burstChance) return BigInt(randomInt(rng, 50, 250));
      return BigInt(randomInt(rng, 1, 8));
    },
  };
}
