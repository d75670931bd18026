export * from './authorization.js';
export * from './embedded-broker.js';
export * from './frame-guard.js';
export * from './link.js';
export * from './mosquitto-config.js';
export * from './mqtt-link.js';
