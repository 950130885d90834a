import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * The committed mutation results (reports/stryker-incremental.json) as RELIABILITY.md#mutation-testing
 * states them: no results of a module that is gone, the score at least the break threshold even when
 * every kill that rests on a test's bound alone is counted as a survivor, each mutant left explained
 * (scripts/mutation/harmless/), and RELIABILITY.md's table, list and modules not mutated yet as
 * generated from those results. CI's mutation step then re-tests what changed since
 * (scripts/mutation/run.mjs changed).
 */
interface Left {
  module: string;
  line: number;
  mutator: string;
  original: string;
  replacement: string;
  why?: string;
}
interface Row {
  module: string;
  valid: number;
  detected: number;
  byBound: number;
}
interface Results {
  rows: Row[];
  total: Row;
  left: Left[];
  stale: Left[];
  pending: string[];
  gone: string[];
  markdown: string;
  reliability: string;
  start: string;
  end: string;
  breakAt: number;
}

const TABLE = path.join(__dirname, '../../scripts/mutation/table.mjs');
const results: Results = JSON.parse(
  execFileSync(process.execPath, [TABLE, '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }),
);
const named = (m: Left) => `${m.module}:${m.line} ${m.mutator}: ${m.original} → ${m.replacement}`;

test('no results are of a module that is gone, and RELIABILITY.md names each module not mutated yet', () => {
  expect(results.gone).toEqual([]);
  for (const module of results.pending) expect(results.markdown).toContain(`\`${module}\``);
});

test('the mutants detected over all of src/ reach the break threshold, even without the kills on a test bound alone', () => {
  expect(results.total.valid).toBeGreaterThan(0);
  expect((100 * results.total.detected) / results.total.valid).toBeGreaterThanOrEqual(results.breakAt);
  expect((100 * (results.total.detected - results.total.byBound)) / results.total.valid).toBeGreaterThanOrEqual(
    results.breakAt,
  );
});

test('each mutant left has a reason, and each reason names a mutant left', () => {
  expect(results.left.filter((m) => !m.why?.trim()).map(named)).toEqual([]);
  expect(results.stale.map(named)).toEqual([]);
});

test("RELIABILITY.md's table and list are the ones the committed results give (npm run mutation:table -- --write)", () => {
  const start = results.reliability.indexOf(results.start);
  const end = results.reliability.indexOf(results.end);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(results.reliability.slice(start, end + results.end.length)).toBe(results.markdown);
});
