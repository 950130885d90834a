// The mutation results as committed (reports/stryker-incremental.json) and the reasons given for the
// mutants left (scripts/mutation/harmless/*.json), read by table.mjs and by test/scripts/mutationResults.test.ts.
// RELIABILITY.md#mutation-testing.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const { OUT_OF_PROCESS, outOfProcess } = require('./judges.js');
export { OUT_OF_PROCESS, outOfProcess };

const at = (file) => path.join(ROOT, file);
export const config = JSON.parse(fs.readFileSync(at('stryker.config.json'), 'utf8'));
/** The reasons, one file per area (so that work on two areas never edits one file). */
export const HARMLESS_DIR = 'scripts/mutation/harmless';
/** The statuses a score counts: detected (killed, timed out) and left (survived, not covered). */
export const DETECTED = ['Killed', 'Timeout'];
export const LEFT = ['Survived', 'NoCoverage'];

export function sourceModules(dir = 'src') {
  return fs.readdirSync(at(dir), { withFileTypes: true }).flatMap((entry) => {
    const full = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceModules(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

export function incrementalReport() {
  return JSON.parse(fs.readFileSync(at(config.incrementalFile), 'utf8'));
}

const oneLine = (text, max = 120) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
};

/** The code a mutant replaces, on one line (cut at 120 characters), from the source the file recorded. */
export function originalOf(source, { start, end }) {
  const lines = source.split('\n');
  const text =
    start.line === end.line
      ? lines[start.line - 1].slice(start.column - 1, end.column - 1)
      : [
          lines[start.line - 1].slice(start.column - 1),
          ...lines.slice(start.line, end.line - 1),
          lines[end.line - 1].slice(0, end.column - 1),
        ].join('\n');
  return oneLine(text);
}

/**
 * A mutant left, as a reason names it: module, mutator, the line it starts on (`context`), the code it
 * replaces and the replacement. The line number is for the reader: a reason still matches after the
 * code moves.
 */
export function describe(module, source, mutant) {
  const { start } = mutant.location;
  return {
    module,
    line: start.line,
    status: mutant.status,
    mutator: mutant.mutatorName,
    context: oneLine(source.split('\n')[start.line - 1]),
    original: originalOf(source, mutant.location),
    replacement: oneLine(mutant.replacement ?? ''),
  };
}

const keyOf = ({ module, mutator, context, original, replacement }) =>
  JSON.stringify([module, mutator, context, original, replacement]);

/** The reasons given, by key; each file of HARMLESS_DIR holds { module: [{ line, mutator, context, original, replacement, why }] }. */
export function harmless() {
  const dir = at(HARMLESS_DIR);
  const byKey = new Map();
  for (const name of fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((n) => n.endsWith('.json'))
        .sort()
    : []) {
    const byModule = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
    for (const [module, entries] of Object.entries(byModule)) {
      for (const entry of entries) byKey.set(keyOf({ module, ...entry }), { module, file: name, ...entry });
    }
  }
  return byKey;
}

/**
 * Everything the table and its checks need: a row per module with results, the mutants left each with
 * its reason (or none), the reasons that match no mutant left, the modules never mutated.
 */
export function results() {
  const report = incrementalReport();
  const reasons = harmless();
  const used = new Set();
  const rows = [];
  const left = [];
  for (const module of Object.keys(report.files).sort()) {
    const { source, mutants } = report.files[module];
    const count = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
    let byBound = 0;
    for (const mutant of mutants) {
      if (!(mutant.status in count)) continue;
      const described = describe(module, source, mutant);
      const key = keyOf(described);
      const reason = reasons.get(key);
      const bound = killedByBoundAlone(mutant);
      if (bound && reason) {
        // Planted by hand, it passed the test that ran past its bound: a survivor, with its reason.
        used.add(key);
        count.Survived += 1;
        left.push({ ...described, status: 'Survived', byBound: true, why: reason.why });
        continue;
      }
      count[mutant.status] += 1;
      if (bound) byBound += 1;
      if (!LEFT.includes(mutant.status)) continue;
      if (reason) used.add(key);
      left.push({ ...described, why: reason?.why });
    }
    const valid = Object.values(count).reduce((a, b) => a + b, 0);
    rows.push({ module, valid, ...count, byBound, detected: count.Killed + count.Timeout });
  }
  const total = { module: 'all', valid: 0, Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, byBound: 0, detected: 0 };
  for (const row of rows) for (const key of Object.keys(total)) if (key !== 'module') total[key] += row[key];
  const stale = [...reasons.entries()].filter(([key]) => !used.has(key)).map(([, reason]) => reason);
  const modules = sourceModules();
  const pending = modules.filter((module) => !report.files[module] && !outOfProcess(module));
  const gone = Object.keys(report.files).filter((module) => !modules.includes(module));
  return { rows, total, left, stale, pending, gone };
}

/**
 * Killed only because a test ran past its bound in jest (scripts/mutation/environment.js), not by a
 * failed assertion: such a verdict rests on time alone, and some were false (RELIABILITY.md#mutation-testing).
 * The table counts them apart; a reason given for one (a hand plant that passed) makes it a survivor.
 */
export const killedByBoundAlone = (mutant) =>
  mutant.status === 'Killed' && /Exceeded timeout of \d+ ms for a test/.test(mutant.statusReason ?? '');

/** The score without the kills that rest on a test's bound alone, as if each of them survived. */
export const scoreWithoutBound = ({ detected, valid, byBound }) =>
  valid === 0 ? 100 : (100 * (detected - byBound)) / valid;

export const score = ({ detected, valid }) => (valid === 0 ? 100 : (100 * detected) / valid);
export const pct = (row) => (row.valid === 0 ? 'n/a' : `${score(row).toFixed(1)} %`);
