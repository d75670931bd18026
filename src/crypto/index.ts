export * from './keys.js';
export { KeyObjectCache, verifyNode, publicKeyObject } from './node-path.js';
export { verifyNoble } from './noble-path.js';
export * from './strict-rules.js';
export * from './verify.js';
