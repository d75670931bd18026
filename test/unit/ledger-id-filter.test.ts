import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IdFilter } from '../../src/ledger/id-filter.js';

/** `count` ids back to back: hashes, or (structured) a counter in the last bytes. */
function ids(count: number, kind: 'hashed' | 'counter', salt = 0): Buffer {
  const out = Buffer.alloc(16 * count);
  for (let i = 0; i < count; i++) {
    if (kind === 'hashed') {
      createHash('sha256')
        .update(`${salt}/${i}`)
        .digest()
        .copy(out, 16 * i, 0, 16);
    } else {
      out.writeUInt32BE(salt, 16 * i);
      out.writeUInt32BE(i, 16 * i + 12);
    }
  }
  return out;
}

describe('IdFilter', () => {
  it('never forgets an id, and says "new" for almost every other one', () => {
    for (const kind of ['hashed', 'counter'] as const) {
      const filter = new IdFilter(0);
      const added = ids(200_000, kind, 1);
      expect(filter.addAll(added, 200_000)?.length ?? 0).toBeLessThan(2_000);
      for (let i = 0; i < 200_000; i++) expect(filter.mayContain(added, 16 * i)).toBe(true);
      const others = ids(100_000, kind, 2);
      let maybe = 0;
      for (let i = 0; i < 100_000; i++) if (filter.mayContain(others, 16 * i)) maybe++;
      expect(maybe, kind).toBeLessThan(1_000);
    }
  });

  it('reports ids added before, and duplicates within one call', () => {
    const filter = new IdFilter(0);
    const first = ids(1000, 'hashed', 3);
    filter.addAll(first, 1000);
    const again = Buffer.concat([ids(10, 'hashed', 4), first.subarray(16 * 5, 16 * 6)]);
    const withDuplicate = Buffer.concat([again, again.subarray(0, 16)]);
    const maybe = filter.addAll(withDuplicate, 12) ?? [];
    expect(maybe).toContain(10);
    expect(maybe).toContain(11);
  });

  it('grows past its capacity without losing ids or its precision', () => {
    const filter = new IdFilter(0);
    const before = filter.bytes;
    const all = ids(3_200_000, 'counter', 5);
    filter.addAll(all, 3_200_000);
    expect(filter.bytes).toBeGreaterThan(before);
    for (let i = 0; i < 3_200_000; i += 997) expect(filter.mayContain(all, 16 * i)).toBe(true);
    const others = ids(100_000, 'hashed', 6);
    let maybe = 0;
    for (let i = 0; i < 100_000; i++) if (filter.mayContain(others, 16 * i)) maybe++;
    expect(maybe).toBeLessThan(3_000);
    // About 10 bits per id of capacity, never a set of the ids themselves.
    expect(filter.bytes).toBeLessThan(3_200_000 * 4);
  });
});
