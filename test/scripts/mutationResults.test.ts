import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * The committed mutation record (mutation/results.json, scripts/mutation/record.mjs) as
 * RELIABILITY.md#mutation-testing states it: a record, a listing as not mutated yet, or a reason to
 * be out of process for every src/ module and no record of a module that is gone; each record's counts
 * and scores agreeing with its list of mutants left; the score at least the break threshold even when
 * every kill that rests on a test's bound alone is counted as a survivor; each mutant left explained;
 * the record well under 1 MB; and RELIABILITY.md's table, list and modules not mutated yet as generated
 * from it. CI's mutation step then re-tests what changed since (scripts/mutation/run.mjs changed).
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
  pending: string[];
  gone: string[];
  inconsistent: string[];
  modules: string[];
  outOfProcess: string[];
  recordBytes: number;
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

test('every src/ module has a record, is named as not mutated yet in RELIABILITY.md, or is out of process; no record is of a module that is gone', () => {
  expect(results.gone).toEqual([]);
  const recorded = results.rows.map((row) => row.module);
  const accounted = [...recorded, ...results.pending, ...results.outOfProcess];
  expect([...accounted].sort()).toEqual([...results.modules].sort());
  expect(new Set(accounted).size).toBe(accounted.length);
  for (const module of results.pending) expect(results.markdown).toContain(`\`${module}\``);
});

test("each record's counts and scores agree with its mutants left", () => {
  expect(results.inconsistent).toEqual([]);
});

test('the mutants detected over all of src/ reach the break threshold, even without the kills on a test bound alone', () => {
  expect(results.total.valid).toBeGreaterThan(0);
  expect((100 * results.total.detected) / results.total.valid).toBeGreaterThanOrEqual(results.breakAt);
  expect((100 * (results.total.detected - results.total.byBound)) / results.total.valid).toBeGreaterThanOrEqual(
    results.breakAt,
  );
});

test('each mutant left has a reason', () => {
  expect(results.left.filter((m) => !m.why?.trim()).map(named)).toEqual([]);
});

test('the committed record stays well under 1 MB', () => {
  expect(results.recordBytes).toBeLessThan(512 * 1024);
});

test("RELIABILITY.md's table and list are the ones the committed record gives (npm run mutation:table -- --write)", () => {
  const start = results.reliability.indexOf(results.start);
  const end = results.reliability.indexOf(results.end);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(results.reliability.slice(start, end + results.end.length)).toBe(results.markdown);
});
