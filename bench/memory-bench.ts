import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Heap and RSS per open channel, each size in a fresh process so nothing else is counted. */
export async function memoryFigures(sizes: number[]): Promise<Record<string, number>> {
  const script = fileURLToPath(new URL('./memory-child.js', import.meta.url));
  const figures: Record<string, number> = {};
  for (const size of sizes) {
    const { stdout } = await run(process.execPath, ['--expose-gc', script, String(size)], {
      maxBuffer: 1 << 20,
    });
    const result = JSON.parse(stdout) as {
      heapBytesPerChannel: number;
      tableArrayBytesPerChannel: number;
      rssBytesPerChannel: number;
    };
    const label = size >= 1_000_000 ? `${size / 1_000_000}M` : `${size / 1000}k`;
    figures[`heapBytesPerChannelAt${label}`] = result.heapBytesPerChannel;
    figures[`tableArrayBytesPerChannelAt${label}`] = result.tableArrayBytesPerChannel;
    figures[`rssBytesPerChannelAt${label}`] = result.rssBytesPerChannel;
  }
  return figures;
}
