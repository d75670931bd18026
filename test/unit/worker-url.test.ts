import { describe, expect, it } from 'vitest';
import { compiledWorkerUrl } from '../../src/worker-url.js';

const root = new URL('../../', import.meta.url).href;

describe('the compiled worker script beside a module', () => {
  it('is the sibling when the caller runs from the build', () => {
    expect(compiledWorkerUrl(`${root}dist/src/hub/verify-pool.js`, 'verify-worker.js').href).toBe(
      `${root}dist/src/hub/verify-worker.js`,
    );
  });

  it('is the same path in dist/ when the caller is TypeScript source', () => {
    expect(compiledWorkerUrl(`${root}src/hub/verify-pool.ts`, 'verify-worker.js').href).toBe(
      `${root}dist/src/hub/verify-worker.js`,
    );
    expect(compiledWorkerUrl(`${root}device-sim/presign.ts`, 'presign-worker.js').href).toBe(
      `${root}dist/device-sim/presign-worker.js`,
    );
  });

  it('refuses a TypeScript caller outside the project', () => {
    expect(() => compiledWorkerUrl('file:///elsewhere/x.ts', 'w.js')).toThrow(/outside/);
  });
});
