import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyNoble, verifyNode } from '../../src/crypto/index.js';
import { fromHex } from '../../src/protocol/bytes.js';

/**
 * The 12 edge cases of novifinancial/ed25519-speccheck, read in place from ../shared/vectors
 * (never copied into the project). Both verification paths must accept exactly libsodium's
 * subset: only case 3 (the table in ../shared/vectors/README.md).
 */
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CASES_PATH = resolve(repoRoot, '../shared/vectors/ed25519-speccheck-cases.json');
const present = existsSync(CASES_PATH);
const inCi = process.env.CI === 'true';

/** libsodium's verdicts, cases 0 to 11, and why each of the others is refused. */
const LIBSODIUM: ReadonlyArray<readonly [accepted: boolean, why: string]> = [
  [false, 'small-order A and small-order R, S = 0'],
  [false, 'small-order A'],
  [false, 'small-order R'],
  [true, 'mixed-order A, honest signature: both equations hold'],
  [false, 'holds only under the cofactored equation (mixed-order A)'],
  [false, 'holds only under the cofactored equation (mixed-order A, R)'],
  [false, 'S >= L'],
  [false, 'S >= L (S much larger)'],
  [false, 'non-canonical R (x = 0, sign bit set)'],
  [false, 'non-canonical R (x = 0, sign bit set), cofactored only'],
  [false, 'non-canonical A (x = 0, sign bit set)'],
  [false, 'non-canonical A (x = 0, sign bit set), another message'],
];

interface SpeccheckCase {
  message: string;
  pub_key: string;
  signature: string;
}

if (!present && !inCi) {
  console.warn(
    `SKIPPED ed25519-speccheck cross-check: ${CASES_PATH} is absent (a clone without ../shared). ` +
      'Set CI=true to make its absence a failure.',
  );
}

describe('ed25519-speccheck edge cases (read in place from ../shared/vectors)', () => {
  it.runIf(!present && inCi)('the speccheck file must be present when CI=true', () => {
    expect.fail(`${CASES_PATH} is missing; CI must run the Ed25519 cross-check`);
  });

  it.skipIf(!present)(
    'both paths accept exactly libsodium’s subset (only case 3), case by case',
    () => {
      const cases = JSON.parse(readFileSync(CASES_PATH, 'utf8')) as SpeccheckCase[];
      expect(cases).toHaveLength(12);
      const verdicts = cases.map((c, index) => {
        const signature = fromHex(c.signature);
        const message = fromHex(c.message);
        const publicKey = fromHex(c.pub_key);
        return {
          index,
          why: LIBSODIUM[index]![1],
          noble: verifyNoble(signature, message, publicKey),
          node: verifyNode(signature, message, publicKey),
        };
      });
      expect(verdicts).toEqual(
        LIBSODIUM.map(([accepted, why], index) => ({
          index,
          why,
          noble: accepted,
          node: accepted,
        })),
      );
    },
  );
});
