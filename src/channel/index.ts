export * from './fees.js';
export * from './open.js';
export * from './rules.js';
export * from './state.js';
