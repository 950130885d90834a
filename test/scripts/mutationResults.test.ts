import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The committed mutation record (mutation/results.json, scripts/mutation/record.mjs) as
 * docs/testing.md#mutation-testing states it: a record, a listing as not mutated yet, or a reason to
 * be out of process for every src/ module and no record of a module that is gone; each record's counts
 * and scores agreeing with its list of mutants left; the score at least the break threshold even when
 * every kill that rests on a test's bound alone is counted as a survivor; each mutant left explained;
 * and the record well under 1 MB. CI's mutation step then re-tests what changed since (scripts/mutation/run.mjs changed).
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
  notYetMutated: string[];
  gone: string[];
  inconsistent: string[];
  modules: string[];
  outOfProcess: string[];
  recordBytes: number;
  markdown: string;
  areas: string;
  breakAt: number;
}

const TABLE = path.join(__dirname, '../../scripts/mutation/table.mjs');
const results: Results = JSON.parse(
  execFileSync(process.execPath, [TABLE, '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }),
);
const named = (m: Left) => `${m.module}:${m.line} ${m.mutator}: ${m.original} → ${m.replacement}`;

test('every src/ module has a record, is listed as not mutated yet, or is out of process; no record is of a module that is gone', () => {
  expect(results.gone).toEqual([]);
  const recorded = results.rows.map((row) => row.module);
  const accounted = [...recorded, ...results.pending, ...results.outOfProcess];
  expect([...accounted].sort()).toEqual([...results.modules].sort());
  expect(new Set(accounted).size).toBe(accounted.length);
  // A module without results is a decision, written in the record (`run.mjs drop`), never an accident.
  expect([...results.pending].sort()).toEqual([...results.notYetMutated].sort());
  for (const module of results.pending) expect(results.markdown).toContain(`\`${module}\``);
});

test('docs/testing.md shows the scores by area as the record has them now', () => {
  const docs = fs.readFileSync(path.join(__dirname, '../../docs/testing.md'), 'utf8');
  const block = /<!-- mutation-areas: [^>]*-->\n([\s\S]*?)\n<!-- \/mutation-areas -->/.exec(docs);
  expect(block?.[1]).toBe(results.areas);
  // Every module to measure is in some area's count, and the last line is all of them.
  const all = results.areas.split('\n').pop()!;
  expect(all).toContain(`| ${results.rows.length} of ${results.rows.length + results.pending.length} |`);
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
