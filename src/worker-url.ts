/**
 * A worker script beside the calling module, compiled. Under vitest the caller runs from its
 * .ts source, where no .js worker exists, so this points at the same path in the build in dist/
 * (npm test builds first); from the build it is simply the sibling.
 */
export function compiledWorkerUrl(callerUrl: string, workerFile: string): URL {
  const sibling = new URL(`./${workerFile}`, callerUrl);
  if (!callerUrl.endsWith('.ts')) return sibling;
  // This module is src/worker-url.ts whenever its caller is TypeScript: the project root is one up.
  const root = new URL('../', import.meta.url).href;
  if (!sibling.href.startsWith(root)) throw new Error(`${callerUrl} is outside ${root}`);
  return new URL(`dist/${sibling.href.slice(root.length)}`, root);
}
