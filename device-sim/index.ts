export {
  runFleet,
  fleetPassed,
  type FleetOptions,
  type FleetSummary,
  type FleetTotals,
} from './fleet.js';
export {
  MISBEHAVIOUR_MODES,
  isMisbehaviourMode,
  type MisbehaviourMode,
  type MisbehaviourOutcome,
} from './misbehaviour.js';
export {
  SCENARIO_NAMES,
  DEFAULT_PRICES,
  isScenarioName,
  makeScenario,
  type Scenario,
  type ScenarioName,
} from './scenarios.js';
export {
  createProgressReporter,
  formatProgress,
  type FleetProgress,
  type ProgressReporter,
} from './progress.js';
export { connectDeviceLink, type BrokerAuth } from './connect.js';
export { toJson } from './stats.js';
