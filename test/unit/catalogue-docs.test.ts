import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { MessageType } from '../../src/protocol/messages.js';
import { schemas, type MessageSchema } from '../../src/protocol/schema.js';
import { Status, statusMeaning, type StatusName } from '../../src/protocol/status.js';

/**
 * Keeps the documents and the code in step (DESIGN §7): the status catalogue table, the message
 * sections and the CDDL schema of docs/PROTOCOL.md against src/protocol, and the error table of
 * docs/ERRORS.md against src/errors.ts. The markdown is parsed, not grepped: headings and tables
 * inside fenced code blocks do not count, table cells may carry backticks or escapes.
 */

const readDoc = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../../docs/${name}`, import.meta.url)), 'utf8');

// ---------------------------------------------------------------------------------------------
// A small markdown reader: fenced code blocks, headings, sections and pipe tables.

interface Line {
  text: string;
  /** 1-based line number in the file, for failure messages. */
  number: number;
  /** Inside a fenced code block (fence lines included). */
  inCode: boolean;
}

interface Fence {
  info: string;
  body: string;
  startLine: number;
}

interface Heading {
  level: number;
  text: string;
  index: number;
}

interface Table {
  header: string[];
  rows: string[][];
  startLine: number;
}

class MarkdownDoc {
  readonly lines: Line[] = [];
  readonly fences: Fence[] = [];
  readonly headings: Heading[] = [];

  constructor(source: string) {
    let open: { marker: string; info: string; start: number; body: string[] } | undefined;
    source.split(/\r?\n/).forEach((text, i) => {
      const fence = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(text);
      if (open === undefined && fence !== null) {
        open = { marker: fence[1]!, info: fence[2]!.toLowerCase(), start: i + 1, body: [] };
        this.lines.push({ text, number: i + 1, inCode: true });
        return;
      }
      if (open !== undefined) {
        this.lines.push({ text, number: i + 1, inCode: true });
        const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(text);
        if (
          close !== null &&
          close[1]![0] === open.marker[0] &&
          close[1]!.length >= open.marker.length
        ) {
          this.fences.push({ info: open.info, body: open.body.join('\n'), startLine: open.start });
          open = undefined;
        } else {
          open.body.push(text);
        }
        return;
      }
      this.lines.push({ text, number: i + 1, inCode: false });
      const heading = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/.exec(text);
      if (heading !== null) {
        this.headings.push({ level: heading[1]!.length, text: heading[2]!, index: i });
      }
    });
    if (open !== undefined) throw new Error(`unclosed code fence opened at line ${open.start}`);
  }

  /** The lines under a heading, up to the next heading of the same or a higher level. */
  section(heading: Heading): Line[] {
    const next = this.headings.find((h) => h.index > heading.index && h.level <= heading.level);
    return this.lines.slice(heading.index + 1, next === undefined ? undefined : next.index);
  }

  headingsMatching(pattern: RegExp): Heading[] {
    return this.headings.filter((h) => pattern.test(h.text));
  }
}

/** Splits a table row on unescaped pipes, dropping the outer ones. */
function splitRow(row: string): string[] {
  const cells: string[] = [];
  let cell = '';
  for (let i = 0; i < row.length; i++) {
    const ch = row[i]!;
    if (ch === '\\' && row[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (ch === '|') {
      cells.push(cell);
      cell = '';
    } else {
      cell += ch;
    }
  }
  cells.push(cell);
  const trimmed = row.trim();
  if (trimmed.startsWith('|')) cells.shift();
  if (trimmed.endsWith('|') && !trimmed.endsWith('\\|')) cells.pop();
  return cells;
}

/** Cell text as a reader sees it: no code backticks, no markdown escapes, single spaces. */
function plain(cell: string): string {
  return cell
    .trim()
    .replace(/`+([^`]*?)`+/g, '$1')
    .replace(/\\([\\`*_{}[\]()#+\-.!|<>~])/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

const SEPARATOR = /^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$/;

/** Every pipe table in these lines (outside code blocks). */
function tablesIn(lines: Line[]): Table[] {
  const tables: Table[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const next = lines[i + 1];
    if (
      !line.inCode &&
      line.text.trim().startsWith('|') &&
      next !== undefined &&
      !next.inCode &&
      SEPARATOR.test(next.text.trim())
    ) {
      const header = splitRow(line.text).map(plain);
      const rows: string[][] = [];
      let j = i + 2;
      while (j < lines.length && !lines[j]!.inCode && lines[j]!.text.trim().startsWith('|')) {
        const cells = splitRow(lines[j]!.text).map(plain);
        if (cells.length !== header.length) {
          throw new Error(
            `table row at line ${lines[j]!.number} has ${cells.length} cells, header has ${header.length}`,
          );
        }
        rows.push(cells);
        j++;
      }
      tables.push({ header, rows, startLine: line.number });
      i = j;
    } else {
      i++;
    }
  }
  return tables;
}

function column(table: Table, name: string): number {
  const index = table.header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  if (index < 0)
    throw new Error(`table at line ${table.startLine} has no "${name}" column: ${table.header}`);
  return index;
}

function duplicates(values: string[]): string[] {
  return values.filter((v, i) => values.indexOf(v) !== i);
}

// ---------------------------------------------------------------------------------------------
// A small CDDL reader: enough for rules of the form `name = ...` and positional arrays.

interface CddlRule {
  name: string;
  body: string;
}

/** Drops `;` comments, keeping quoted text ("..." and h'...') intact. */
function stripCddlComments(source: string): string {
  return source
    .split('\n')
    .map((line) => {
      let quote: string | undefined;
      for (let i = 0; i < line.length; i++) {
        const ch = line[i]!;
        if (quote !== undefined) {
          if (ch === '\\') i++;
          else if (ch === quote) quote = undefined;
        } else if (ch === '"' || ch === "'") {
          quote = ch;
        } else if (ch === ';') {
          return line.slice(0, i);
        }
      }
      return line;
    })
    .join('\n');
}

function parseCddl(source: string): Map<string, CddlRule> {
  const text = stripCddlComments(source);
  const start = /^([A-Za-z@_$][\w@$.-]*)(\s*<[^>\n]*>)?\s*(\/\/=|\/=|=)/gm;
  const heads = [...text.matchAll(start)];
  const rules = new Map<string, CddlRule>();
  heads.forEach((head, i) => {
    const bodyStart = head.index + head[0].length;
    const bodyEnd = i + 1 < heads.length ? heads[i + 1]!.index : text.length;
    const name = head[1]!;
    const body = text.slice(bodyStart, bodyEnd).trim();
    const existing = rules.get(name);
    if (head[3] === '=') {
      if (existing !== undefined) throw new Error(`CDDL rule ${name} is defined twice`);
      rules.set(name, { name, body });
    } else {
      // `/=` and `//=` add alternatives to an existing rule.
      if (existing === undefined)
        throw new Error(`CDDL rule ${name} extended before it is defined`);
      existing.body = `${existing.body} / ${body}`;
    }
  });
  return rules;
}

/** Splits at top-level separators, ignoring those inside brackets or quotes. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if ('([{<'.includes(ch)) {
      depth++;
    } else if (')]}>'.includes(ch)) {
      depth--;
    } else if (depth === 0 && ch === separator) {
      // `//` is a group choice, not two type choices.
      if (separator === '/' && (text[i + 1] === '/' || text[i - 1] === '/')) {
        current += ch;
        continue;
      }
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current.trim());
  return parts.filter((p) => p.length > 0);
}

interface CddlArray {
  typeNumber: number | undefined;
  fields: { name: string; type: string }[];
}

/** A rule whose body is `[ type: N, name: kind, ... ]`. */
function readArrayRule(rule: CddlRule): CddlArray | undefined {
  const body = rule.body.trim();
  if (!body.startsWith('[') || !body.endsWith(']')) return undefined;
  const entries = splitTopLevel(body.slice(1, -1), ',').map((entry) => {
    const member = /^([A-Za-z_][\w-]*)\s*:\s*(.+)$/s.exec(entry);
    if (member === null) throw new Error(`${rule.name}: entry without a name: "${entry}"`);
    return { name: member[1]!, type: member[2]!.replace(/\s+/g, ' ').trim() };
  });
  const first = entries[0];
  const typeNumber =
    first !== undefined && first.name === 'type' && /^\d+$/.test(first.type)
      ? Number(first.type)
      : undefined;
  return { typeNumber, fields: typeNumber === undefined ? entries : entries.slice(1) };
}

// ---------------------------------------------------------------------------------------------

const protocol = new MarkdownDoc(readDoc('PROTOCOL.md'));
const errors = new MarkdownDoc(readDoc('ERRORS.md'));
const schemaList: MessageSchema[] = Object.values(schemas);
const messageEntries = Object.entries(MessageType) as [string, number][];

describe('docs/PROTOCOL.md status catalogue matches src/protocol/status.ts', () => {
  const headings = protocol.headingsMatching(/status catalogue/i);

  it('has exactly one "Status catalogue" section with one Number/Name/Meaning table', () => {
    expect(headings).toHaveLength(1);
    const tables = tablesIn(protocol.section(headings[0]!)).filter((t) =>
      ['number', 'name', 'meaning'].every((h) => t.header.map((x) => x.toLowerCase()).includes(h)),
    );
    expect(tables).toHaveLength(1);
  });

  it('lists every status once, with its number and meaning, and nothing else', () => {
    const table = tablesIn(protocol.section(headings[0]!)).find((t) =>
      t.header.some((h) => h.toLowerCase() === 'number'),
    )!;
    const [numberCol, nameCol, meaningCol] = ['Number', 'Name', 'Meaning'].map((c) =>
      column(table, c),
    );
    const rows = table.rows.map((r) => ({
      number: r[numberCol!]!,
      name: r[nameCol!]!,
      meaning: r[meaningCol!]!,
    }));
    const names = rows.map((r) => r.name);
    const codeNames = Object.keys(Status);

    expect(duplicates(names), 'statuses listed twice').toEqual([]);
    expect(
      codeNames.filter((n) => !names.includes(n)),
      'statuses missing from the table',
    ).toEqual([]);
    expect(
      names.filter((n) => !codeNames.includes(n)),
      'rows that are not statuses in status.ts',
    ).toEqual([]);
    for (const row of rows) {
      const name = row.name as StatusName;
      expect(row.number, `number of ${name}`).toBe(String(Status[name]));
      expect(row.meaning, `meaning of ${name}`).toBe(statusMeaning[name]);
    }
    const numbers = rows.map((r) => r.number);
    expect(duplicates(numbers), 'numbers listed twice').toEqual([]);
  });
});

describe('docs/ERRORS.md matches ErrorCode in src/errors.ts', () => {
  const tables = tablesIn(errors.lines).filter((t) => t.header[0]?.toLowerCase() === 'code');

  it('has exactly one table whose first column is Code', () => {
    expect(tables).toHaveLength(1);
  });

  it('lists every error code once, with its meaning, and nothing else', () => {
    const table = tables[0]!;
    const meaningCol = column(table, 'Meaning');
    const codes = table.rows.map((r) => r[0]!);
    const codeNames = Object.keys(ErrorCode);

    expect(duplicates(codes), 'codes listed twice').toEqual([]);
    expect(
      codeNames.filter((c) => !codes.includes(c)),
      'codes missing from ERRORS.md',
    ).toEqual([]);
    expect(
      codes.filter((c) => !codeNames.includes(c)),
      'rows that are not codes in errors.ts',
    ).toEqual([]);
    for (const row of table.rows) {
      const code = row[0] as keyof typeof ErrorCode;
      expect(row[meaningCol], `meaning of ${code}`).toBe(ErrorCode[code]);
      for (const [i, cell] of row.entries())
        expect(cell.length, `${code}: "${table.header[i]}" is empty`).toBeGreaterThan(0);
    }
  });
});

describe('docs/PROTOCOL.md has a section for every message type', () => {
  /** Headings like "7.4 Voucher (type 4)". */
  const messageHeadings = protocol.headings
    .map((heading) => {
      const match = /(\w+)\s+\(type\s+(\d+)\)\s*$/.exec(heading.text);
      return match === null
        ? undefined
        : { heading, name: match[1]!, typeNumber: Number(match[2]) };
    })
    .filter((h) => h !== undefined);

  it('no section names a message type that messages.ts does not have, or a wrong number', () => {
    const wrong = messageHeadings
      .filter((h) => (MessageType as Record<string, number | undefined>)[h.name] !== h.typeNumber)
      .map((h) => h.heading.text);
    expect(wrong).toEqual([]);
  });

  for (const [name, typeNumber] of messageEntries) {
    const schema = schemas[typeNumber as keyof typeof schemas];

    it(`${name} (type ${typeNumber}): one section, form, direction and field table`, () => {
      const found = messageHeadings.filter((h) => h.name === name);
      expect(
        found.map((h) => h.typeNumber),
        `sections titled "${name} (type ${typeNumber})"`,
      ).toEqual([typeNumber]);
      const lines = protocol.section(found[0]!.heading);

      // The first paragraph states the form and the direction.
      const intro = lines
        .filter((l) => !l.inCode)
        .map((l) => l.text.trim())
        .join(' ');
      const stated = /(Signed by the (?:device|hub)|Plain)\.\s+Direction:\s+(\w+)/.exec(intro);
      expect(stated, `${name}: "Signed by … / Plain. Direction: …" sentence`).not.toBeNull();
      expect(stated![1]!.startsWith('Signed') ? 'signed' : 'plain', `${name} form`).toBe(
        schema.form,
      );
      expect(stated![2], `${name} direction`).toBe(schema.direction);

      // The field table: position 0 is the type number, then the fields in order.
      const table = tablesIn(lines).find((t) =>
        t.header.some((h) => h.toLowerCase() === 'position'),
      );
      expect(table, `${name}: a table with a Position column`).toBeDefined();
      const positionCol = column(table!, 'Position');
      const nameCol = column(table!, 'Name');
      const cborCol = column(table!, 'CBOR');
      expect(table!.rows.map((r) => r[nameCol])).toEqual([
        'type',
        ...schema.fields.map(([field]) => field),
      ]);
      expect(table!.rows.map((r) => r[positionCol])).toEqual(table!.rows.map((_, i) => String(i)));
      expect(table!.rows.slice(1).map((r) => r[cborCol])).toEqual(
        schema.fields.map(([, kind]) => kind),
      );
    });
  }
});

describe('the CDDL schema in docs/PROTOCOL.md matches src/protocol/schema.ts', () => {
  const blocks = protocol.fences.filter((f) => f.info === 'cddl');

  it('has exactly one ```cddl block', () => {
    expect(blocks).toHaveLength(1);
  });

  const rules = parseCddl(blocks[0]?.body ?? '');

  for (const schema of schemaList) {
    const typeNumber = MessageType[schema.name as keyof typeof MessageType];

    it(`${schema.name}: type ${typeNumber}, ${schema.fields.length} fields with their names and kinds`, () => {
      const rule = rules.get(schema.name);
      expect(rule, `CDDL rule ${schema.name}`).toBeDefined();
      const array = readArrayRule(rule!);
      expect(array, `${schema.name} is a positional array`).toBeDefined();
      expect(array!.typeNumber, `${schema.name} type number`).toBe(typeNumber);
      expect(array!.fields.length, `${schema.name} field count`).toBe(schema.fields.length);
      expect(array!.fields).toEqual(schema.fields.map(([name, kind]) => ({ name, type: kind })));
    });
  }

  it('defines every field kind the schemas use', () => {
    const kinds = [...new Set(schemaList.flatMap((s) => s.fields.map(([, kind]) => kind)))];
    expect(kinds.filter((kind) => !rules.has(kind))).toEqual([]);
  });

  it('has no message rule that schema.ts does not have', () => {
    const names = schemaList.map((s) => s.name);
    const extra = [...rules.values()]
      .filter((rule) => readArrayRule(rule)?.typeNumber !== undefined)
      .map((rule) => rule.name)
      .filter((name) => !names.includes(name));
    expect(extra).toEqual([]);
  });

  it('routes every message in its direction, signed (Sign1<…>) or plain as schema.ts says', () => {
    const routes: Record<MessageSchema['direction'], string> = {
      up: 'up-message',
      down: 'down-message',
      payee: 'payee-message',
      connect: 'connect-password',
    };
    const routed = new Map<string, { direction: string; form: string }[]>();
    for (const [direction, ruleName] of Object.entries(routes)) {
      const rule = rules.get(ruleName);
      expect(rule, `CDDL rule ${ruleName}`).toBeDefined();
      for (const choice of splitTopLevel(rule!.body, '/')) {
        const signed = /^Sign1\s*<\s*(\w+)\s*>$/.exec(choice);
        const bare = /^(\w+)$/.exec(choice);
        expect(signed ?? bare, `${ruleName}: "${choice}"`).not.toBeNull();
        const name = (signed ?? bare)![1]!;
        routed.set(name, [
          ...(routed.get(name) ?? []),
          { direction, form: signed !== null ? 'signed' : 'plain' },
        ]);
      }
    }
    for (const schema of schemaList) {
      expect(routed.get(schema.name), schema.name).toEqual([
        { direction: schema.direction, form: schema.form },
      ]);
    }
    expect([...routed.keys()].filter((n) => !schemaList.some((s) => s.name === n))).toEqual([]);
  });
});

describe('the markdown reader used above', () => {
  it('ignores headings and tables inside code fences and reads escaped pipes', () => {
    const doc = new MarkdownDoc(
      [
        '## Real',
        '| A | B |',
        '| --- | --- |',
        '| `x\\|y` | 2 |',
        '```python',
        '# not a heading',
        '| not | a table |',
        '| --- | --- |',
        '```',
      ].join('\n'),
    );
    expect(doc.headings.map((h) => h.text)).toEqual(['Real']);
    const tables = tablesIn(doc.lines);
    expect(tables).toHaveLength(1);
    expect(tables[0]!.rows).toEqual([['x|y', '2']]);
    expect(doc.fences).toHaveLength(1);
  });

  it('reads CDDL arrays with comments, trailing commas and generic rules', () => {
    const rules = parseCddl(
      [
        'a = [',
        '  type: 4, ; the type',
        '  channelId: bytes16,  ; with ; in a comment',
        "  proto: h'A10127',",
        ']',
        'Sign1<P> = [p: bstr .cbor P]',
        'r = Sign1<a> / b',
        'r /= c',
      ].join('\n'),
    );
    expect(readArrayRule(rules.get('a')!)).toEqual({
      typeNumber: 4,
      fields: [
        { name: 'channelId', type: 'bytes16' },
        { name: 'proto', type: "h'A10127'" },
      ],
    });
    expect(rules.has('Sign1')).toBe(true);
    expect(splitTopLevel(rules.get('r')!.body, '/')).toEqual(['Sign1<a>', 'b', 'c']);
  });
});
