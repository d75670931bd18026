import Table from 'cli-table3';

/** Plain tables (no colour codes), so output can be piped, grepped and tested. */
export function table(head: string[], rows: (string | number | null | undefined)[][]): string {
  const t = new Table({ head, style: { head: [], border: [], compact: true } });
  for (const row of rows)
    t.push(row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))));
  return `${t.toString()}\n`;
}

/** A two-column table of labelled values. */
export function keyValues(
  title: string,
  rows: [string, string | number | boolean | null | undefined][],
): string {
  const t = new Table({
    head: [title, ''],
    style: { head: [], border: [], compact: true },
  });
  for (const [label, value] of rows)
    t.push([label, value === null || value === undefined ? '–' : String(value)]);
  return `${t.toString()}\n`;
}

/** Short ISO time without milliseconds, for tables. */
export function time(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '';
  return iso.replace(/\.\d{3}Z$/, 'Z');
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
