import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The channel table keeps running totals of its marks (stats, metrics, the settlement
 * threshold), so a write from outside its methods would leave them silently wrong. The compiler
 * is what refuses such a write; this compiles code it has never seen against the real table
 * and holds the refusal to every way in, and reads to still compiling.
 */
const root = path.resolve(import.meta.dirname, '../..');
const probePath = path.join(root, 'test/unit/__channel-table-probe.ts');

const writes = [
  'table.acceptedAmount[slot] = 5n;',
  'table.acceptedSeq[slot]++;',
  'table.durableAmount[slot] += 1n;',
  'table.durableSeq[slot] = 9;',
  'table.capacityBaseUnits[slot] = 0n;',
  'table.settledAmount.fill(0n);',
  'table.durableSeq.set([1], slot);',
  'table.acceptedAmount.sort();',
  'table.settledAmount.subarray(0, 1)[0] = 1n;',
  'new BigUint64Array(table.durableAmount.buffer)[0] = 1n;',
  'table.acceptedAmount = new BigUint64Array(4);',
  'const { durableAmount } = table; durableAmount[slot] = 1n;',
  'table.unsettledBaseUnits -= 1n;',
  'table.escrowOutstandingBaseUnits = 0n;',
  'table.acceptedBaseUnits++;',
];

const reads = [
  'const amount: bigint | undefined = table.acceptedAmount[slot];',
  'const durable = table.durableSeq[slot] === 3;',
  'const total = table.unsettledBaseUnits + table.escrowOutstandingBaseUnits;',
  'const copy = BigUint64Array.from(table.settledAmount);',
  'const top = [...table.capacityBaseUnits].length;',
  'table.status[slot] = 2;',
  'table.markAccepted(slot, 1, 1n);',
];

/** The compiler's errors for each of `lines`, each compiled as a block of one module. */
function errorsPerLine(lines: string[]): string[][] {
  const header = [
    "import { ChannelTable } from '../../src/hub/channel-table.js';",
    'declare const table: ChannelTable;',
    'declare const slot: number;',
  ];
  const source = [...header, ...lines.map((line) => `{ ${line} }`)].join('\n');
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(root, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
  );
  const options = { ...config!.options, noEmit: true, noUnusedLocals: false };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (file) => (path.resolve(file) === probePath ? source : readFile(file));
  host.fileExists = (file) => path.resolve(file) === probePath || fileExists(file);
  const program = ts.createProgram([probePath], options, host);
  const probe = program.getSourceFile(probePath)!;
  const errors = lines.map((): string[] => []);
  for (const diagnostic of ts.getPreEmitDiagnostics(program, probe)) {
    // An error outside the probe's lines (the header, a broken import, a global or config
    // error with no place in the probe) fails every case.
    const line =
      diagnostic.file === probe && diagnostic.start !== undefined
        ? probe.getLineAndCharacterOfPosition(diagnostic.start).line - header.length
        : -1;
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (errors[line] === undefined) errors.forEach((list) => list.push(`header: ${message}`));
    else errors[line].push(message);
  }
  return errors;
}

describe("the channel table's marks, as its callers' code sees them", () => {
  const errors = errorsPerLine([...writes, ...reads]);

  it.each(writes.map((code, i) => [code, i] as const))(
    'refuses a write from outside the table: %s',
    (_code, i) => {
      expect(errors[i]).not.toEqual([]);
      expect(errors[i]!.join('\n')).not.toMatch(/^header:/m);
    },
  );

  it.each(reads.map((code, i) => [code, writes.length + i] as const))(
    'lets reads, untracked fields and the methods through: %s',
    (_code, i) => {
      expect(errors[i]).toEqual([]);
    },
  );
});
