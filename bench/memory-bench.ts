import { fileURLToPath } from 'node:url';
import { runNodeForJson } from './child-process.js';

/** Heap and RSS per open channel, each size in a fresh process so nothing else is counted. */
export async function memoryFigures(sizes: number[]): Promise<Record<string, number>> {
  const script = fileURLToPath(new URL('./memory-child.js', import.meta.url));
  const figures: Record<string, number> = {};
  for (const size of sizes) {
    const result = await runNodeForJson<{
      heapBytesPerChannel: number;
      tableArrayBytesPerChannel: number;
      rssBytesPerChannel: number;
    }>(['--expose-gc', script, String(size)]);
    const label = size >= 1_000_000 ? `${size / 1_000_000}M` : `${size / 1000}k`;
    figures[`heapBytesPerChannelAt${label}`] = result.heapBytesPerChannel;
    figures[`tableArrayBytesPerChannelAt${label}`] = result.tableArrayBytesPerChannel;
    figures[`rssBytesPerChannelAt${label}`] = result.rssBytesPerChannel;
  }
  return figures;
}
