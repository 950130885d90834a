// The mutation results as committed (mutation/results.json, scripts/mutation/record.mjs), each mutant left
// with the reason given for it, read by table.mjs and by test/scripts/mutationResults.test.ts.
// docs/testing.md#mutation-testing.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  DETECTED,
  LEFT,
  ROOT,
  RECORD_FILE,
  oneLine,
  parseAt,
  readRecord,
  score,
  scoreWithoutBound,
} from './record.mjs';

export { DETECTED, LEFT, ROOT, RECORD_FILE };
const require = createRequire(import.meta.url);
const { OUT_OF_PROCESS, outOfProcess } = require('./judges.js');
export { OUT_OF_PROCESS, outOfProcess };

const at = (file) => path.join(ROOT, file);
export const config = JSON.parse(fs.readFileSync(at('stryker.config.json'), 'utf8'));

/**
 * A front door that only hands names on (`export { ... } from`, comments aside) holds no code a mutant could
 * change: it is no module to mutate.
 */
export function reexportsOnly(module) {
  const code = fs
    .readFileSync(at(module), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const statements = code
    .split(';')
    .map((statement) => statement.trim())
    .filter(Boolean);
  return (
    statements.length > 0 &&
    statements.every((statement) => /^export (type )?(\*|\{[\s\S]*\}) from '[^']+'$/.test(statement))
  );
}

/** The folders whose modules mutation testing judges: the service's and the browser kit's. */
export const SOURCE_DIRS = ['src', 'client/src'];

/**
 * The modules mutation testing judges, in src/ and client/src/: every .ts and .tsx file but declarations and the
 * front doors that only re-export.
 */
export function sourceModules(dirs = SOURCE_DIRS) {
  const walk = (dir) =>
    fs.readdirSync(at(dir), { withFileTypes: true }).flatMap((entry) => {
      const full = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) return walk(full);
      return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') && !reexportsOnly(full) ? [full] : [];
    });
  return [dirs].flat().flatMap(walk);
}

/**
 * A mutant left, as the table names it: module, the line it starts on (as measured), mutator, that line
 * (`context`), the code it replaces and the replacement, each on one line and cut at 120 characters.
 */
export function describe(module, m) {
  return {
    module,
    line: parseAt(m.at).start.line,
    status: m.status,
    mutator: m.mutator,
    context: oneLine(m.line),
    original: oneLine(m.original),
    replacement: oneLine(m.replacement),
    ...(m.byBound ? { byBound: true } : {}),
    why: m.why,
  };
}

/**
 * Everything the table and its checks need: a row per module with results (and the commits its results
 * were carried across), the mutants left each with its reason (or none), the modules never mutated, the
 * records of modules that are gone, and the records whose counts disagree with their list of mutants left.
 */
export function results(record = readRecord()) {
  const rows = [];
  const left = [];
  const inconsistent = [];
  for (const module of Object.keys(record.modules).sort()) {
    const entry = record.modules[module];
    const row = {
      module,
      valid: entry.mutants,
      Killed: entry.killed,
      Timeout: entry.timeout,
      Survived: entry.survived,
      NoCoverage: entry.noCoverage,
      byBound: entry.killedByBoundAlone,
      detected: entry.killed + entry.timeout,
      carried: entry.carried ?? [],
    };
    rows.push(row);
    for (const m of entry.left) left.push(describe(module, m));
    const ofStatus = (status) => entry.left.filter((m) => m.status === status).length;
    const round = (n) => Math.round(n * 10) / 10;
    if (
      entry.mutants !== entry.killed + entry.timeout + entry.survived + entry.noCoverage ||
      entry.killedByBoundAlone > entry.killed ||
      ofStatus('Survived') !== entry.survived ||
      ofStatus('NoCoverage') !== entry.noCoverage ||
      entry.left.length !== entry.survived + entry.noCoverage ||
      round(score(entry)) !== entry.score ||
      round(scoreWithoutBound(entry)) !== entry.scoreWithoutBound
    )
      inconsistent.push(module);
  }
  const total = { module: 'all', valid: 0, Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, byBound: 0, detected: 0 };
  for (const row of rows) for (const key of Object.keys(total)) if (key !== 'module') total[key] += row[key];
  const modules = sourceModules();
  const pending = modules.filter((module) => !record.modules[module] && !outOfProcess(module));
  const gone = Object.keys(record.modules).filter((module) => !modules.includes(module));
  return { rows, total, left, pending, notYetMutated: record.notYetMutated ?? [], gone, inconsistent };
}

/** A row's score without the kills that rest on a test's bound alone, as if each of them survived. */
export const scoreWithoutBoundOf = ({ detected, valid, byBound }) =>
  valid === 0 ? 100 : (100 * (detected - byBound)) / valid;
export const scoreOf = ({ detected, valid }) => (valid === 0 ? 100 : (100 * detected) / valid);
export const pct = (row) => (row.valid === 0 ? 'n/a' : `${scoreOf(row).toFixed(1)} %`);
