// The committed mutation record (mutation/results.json): per src/ module, what its results were measured
// against (a hash of its source, a hash of each suite its verdicts rest on), its counts and score, and each
// mutant left with the reason it is harmless. Stryker's own incremental file (reports/stryker-incremental.json)
// is a local cache only, never committed: the record is all CI needs to tell which modules changed
// (scripts/mutation/run.mjs changed), and the table is generated from it (scripts/mutation/table.mjs).
//
// mutation/results.json:
// { "about": "…", "modules": { "src/a.ts": {
//     "source": hash of the module's source the verdicts were measured on,
//     "suites": { "test/a.test.ts": hash, … } the suites that killed a mutant of it (or covered one that
//               timed out), each as it was then: a change to any other suite cannot lower its score,
//     "carried": ["824a92f", …] (only when carried) the commits that moved or formatted the module or its
//               suites without changing what they do, across which the results were carried, not re-measured
//               (scripts/mutation/run.mjs carry); lines and code in "left" are as measured, before those commits,
//     "mutants", "killed", "killedByBoundAlone" (of "killed": only a test past its bound failed), "timeout",
//     "survived", "noCoverage", "score", "scoreWithoutBound" (as if each kill on a bound alone survived),
//     "left": [{ "at": "line:column-line:column", "status", "mutator", "line": the whole first line,
//               "original", "replacement", "byBound"?: killed in a run only on a test's bound and passed that
//               test when planted by hand, "why": the reason it is harmless (written by hand), or that a case
//               added after the run kills it ("Killed since the measurement by …", planted by hand): a claim about
//               that run only, which the next run that mutates the module tests for itself }] } } }
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const { judgesOf, outOfProcess } = require('./judges.js');
const at = (file) => path.join(ROOT, file);

export const RECORD_FILE = 'mutation/results.json';
const ABOUT =
  'Mutation results per src/ module, written by scripts/mutation/run.mjs (a Stryker run, carry or drop), read by ' +
  'npm run mutation:table; the reasons ("why") are written by hand. Stryker\'s incremental file is a local cache ' +
  'only. Field meanings: scripts/mutation/record.mjs.';

/** The statuses a score counts: detected (killed, timed out) and left (survived, not covered). */
export const DETECTED = ['Killed', 'Timeout'];
export const LEFT = ['Survived', 'NoCoverage'];

/** A short content hash (sha256, 16 hex digits). */
export const hashOf = (text) => createHash('sha256').update(text).digest('hex').slice(0, 16);
/** The hash of a file in the working tree, or undefined when it is missing. */
export const hashOfFile = (file) => (fs.existsSync(at(file)) ? hashOf(fs.readFileSync(at(file))) : undefined);

export function readRecord() {
  if (!fs.existsSync(at(RECORD_FILE))) return { about: ABOUT, modules: {} };
  return JSON.parse(fs.readFileSync(at(RECORD_FILE), 'utf8'));
}

/** Writes the record, modules sorted, pretty-printed for diffs. */
export function writeRecord(record) {
  const modules = Object.fromEntries(
    Object.keys(record.modules ?? {})
      .sort()
      .map((m) => [m, record.modules[m]]),
  );
  // A module measured since it was listed as not mutated yet leaves the list.
  const notYetMutated = [...new Set(record.notYetMutated ?? [])].filter((m) => !modules[m]).sort();
  fs.mkdirSync(path.dirname(at(RECORD_FILE)), { recursive: true });
  fs.writeFileSync(at(RECORD_FILE), `${JSON.stringify({ about: ABOUT, notYetMutated, modules }, null, 2)}\n`);
}

/** The suites of stryker.jest.config.js (those that can judge src/ in process), relative to the repository. */
export function inProcessSuites() {
  const file = at('stryker.jest.config.js');
  delete require.cache[require.resolve(file)];
  return require(file).testMatch.map((pattern) => pattern.replace('<rootDir>/', ''));
}

/** The suites that judge `modules` together (scripts/mutation/judges.js), or undefined when one of them needs every suite. */
export function judgesOfAll(modules, suites = inProcessSuites()) {
  const paths = new Set();
  for (const module of modules) {
    const judges = judgesOf(module);
    if (!judges) return undefined;
    for (const judge of judges) paths.add(judge);
  }
  return suites.filter((suite) =>
    [...paths].some((judge) => (judge.endsWith('/') ? suite.startsWith(judge) : suite === judge)),
  );
}

export const oneLine = (text, max = 120) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
};

/** The text of `source` at a Stryker location (1-based lines and columns, end exclusive). */
export function textAt(source, { start, end }) {
  const lines = source.split('\n');
  return start.line === end.line
    ? lines[start.line - 1].slice(start.column - 1, end.column - 1)
    : [
        lines[start.line - 1].slice(start.column - 1),
        ...lines.slice(start.line, end.line - 1),
        lines[end.line - 1].slice(0, end.column - 1),
      ].join('\n');
}

export const formatAt = ({ start, end }) => `${start.line}:${start.column}-${end.line}:${end.column}`;
export function parseAt(text) {
  const [start, end] = text.split('-').map((p) => p.split(':').map(Number));
  return { start: { line: start[0], column: start[1] }, end: { line: end[0], column: end[1] } };
}

/**
 * Killed only because a test ran past its bound in jest (scripts/mutation/environment.js), not by a
 * failed assertion: such a verdict rests on time alone, and some were false (docs/testing.md#mutation-testing).
 * The table counts them apart; a reason given for one (a hand plant that passed) makes it a survivor.
 */
export const killedByBoundAlone = (mutant) =>
  mutant.status === 'Killed' && /Exceeded timeout of \d+ ms for a test/.test(mutant.statusReason ?? '');

/**
 * How a reason finds its mutant again after a new run: module-wide by mutator, first line, code and
 * replacement (as one-lined for the table), else by mutator, code and replacement when exactly one
 * mutant of the module had them (the line was reformatted).
 */
const fullKey = (m) => JSON.stringify([m.mutator, oneLine(m.line), oneLine(m.original), oneLine(m.replacement)]);
const looseKey = (m) => JSON.stringify([m.mutator, oneLine(m.original), oneLine(m.replacement)]);

/**
 * A reason that a case added after the measurement kills the mutant. A new run judges that case itself, so the
 * reason is not carried into it: carried onto a kill on a test's bound alone, it would read as "planted by hand,
 * it passed", and count the kill as a survivor.
 */
export const KILLED_SINCE = /^Killed since the measurement\b/;

function reasonFinder(previousLeft) {
  const reasoned = previousLeft.filter((m) => m.why);
  const full = new Map(reasoned.map((m) => [fullKey(m), m.why]));
  // Ambiguity is judged over every reason, "killed since" ones too: dropping those first would let another
  // mutant's reason stand alone for a key it shared with them, and land on the wrong mutant.
  const loose = new Map();
  for (const m of reasoned) {
    const key = looseKey(m);
    loose.set(key, loose.has(key) ? undefined : m.why);
  }
  const carried = (why) => (why === undefined || KILLED_SINCE.test(why) ? undefined : why);
  return (described, candidates) => {
    const exact = carried(full.get(fullKey(described)));
    if (exact) return exact;
    const key = looseKey(described);
    return candidates.filter((c) => looseKey(c) === key).length === 1 ? carried(loose.get(key)) : undefined;
  };
}

/**
 * A module's record from Stryker's results for it (a file of its JSON report or incremental file, with the
 * report's testFiles), keeping the reasons of `previous` (the module's record before the run) for the mutants
 * still left. `suiteSource(file)` is a suite's text as it was when it judged (undefined: read it now).
 */
export function entryOf(fileResult, testFiles, previous, suiteSource = () => undefined) {
  const { source, mutants } = fileResult;
  const fileOfTest = new Map();
  for (const [file, { tests }] of Object.entries(testFiles ?? {}))
    for (const test of tests) fileOfTest.set(test.id, file);
  const described = (mutant) => ({
    at: formatAt(mutant.location),
    status: mutant.status,
    mutator: mutant.mutatorName,
    line: source.split('\n')[mutant.location.start.line - 1],
    original: textAt(source, mutant.location),
    replacement: mutant.replacement ?? '',
  });
  const counted = mutants.filter((m) => DETECTED.includes(m.status) || LEFT.includes(m.status));
  const candidates = counted.filter((m) => LEFT.includes(m.status) || killedByBoundAlone(m)).map(described);
  const reasonOf = reasonFinder(previous?.left ?? []);
  const count = { killed: 0, killedByBoundAlone: 0, timeout: 0, survived: 0, noCoverage: 0 };
  const left = [];
  const suites = new Set();
  for (const mutant of counted) {
    const bound = killedByBoundAlone(mutant);
    if (bound || LEFT.includes(mutant.status)) {
      const d = described(mutant);
      const why = reasonOf(d, candidates);
      if (bound && why) {
        // Planted by hand, it passed the test that ran past its bound: a survivor, with its reason.
        count.survived += 1;
        left.push({ ...d, status: 'Survived', byBound: true, why });
        continue;
      }
      if (!bound) {
        left.push(why ? { ...d, why } : d);
        count[mutant.status === 'Survived' ? 'survived' : 'noCoverage'] += 1;
        continue;
      }
    }
    if (mutant.status === 'Killed') {
      count.killed += 1;
      if (bound) count.killedByBoundAlone += 1;
    } else count.timeout += 1;
    const tests = mutant.status === 'Timeout' || !mutant.killedBy?.length ? mutant.coveredBy : mutant.killedBy;
    for (const id of tests ?? []) {
      const file = fileOfTest.get(id);
      if (file) suites.add(file);
    }
  }
  const row = { ...count, mutants: counted.length };
  return {
    source: hashOf(source),
    suites: Object.fromEntries(
      [...suites].sort().map((file) => {
        const text = suiteSource(file);
        return [file, text === undefined ? (hashOfFile(file) ?? 'missing') : hashOf(text)];
      }),
    ),
    mutants: row.mutants,
    killed: row.killed,
    killedByBoundAlone: row.killedByBoundAlone,
    timeout: row.timeout,
    survived: row.survived,
    noCoverage: row.noCoverage,
    score: round(score(row)),
    scoreWithoutBound: round(scoreWithoutBound(row)),
    left,
  };
}

const round = (n) => Math.round(n * 10) / 10;
const detectedOf = (row) => row.killed + row.timeout;
/** The score: detected of the mutants counted (100 when none is). */
export const score = (row) => (row.mutants === 0 ? 100 : (100 * detectedOf(row)) / row.mutants);
/** The score without the kills that rest on a test's bound alone, as if each of them survived. */
export const scoreWithoutBound = (row) =>
  row.mutants === 0 ? 100 : (100 * (detectedOf(row) - row.killedByBoundAlone)) / row.mutants;

/**
 * Why a module's record no longer holds, or undefined when it does: its source changed, or a suite its
 * verdicts rest on changed or is gone. `hashNow(file)` is a file's hash now (undefined when missing).
 * (A suite that killed mutants of it in a run that took more suites than judges.js gives it now still
 * counts: the record keeps what the runs measured.)
 */
export function staleness(module, entry, { hashNow = hashOfFile } = {}) {
  if (hashNow(module) !== entry.source) return 'changed since its results were recorded';
  for (const [suite, hash] of Object.entries(entry.suites ?? {})) {
    const now = hashNow(suite);
    if (now === undefined) return `${suite}, which killed mutants of it, is gone`;
    if (now !== hash) return `${suite}, which killed mutants of it, changed`;
  }
  return undefined;
}

/**
 * What `run.mjs changed` mutates, each with why (staleness), given the record and the modules of src/ now;
 * also the modules never mutated (`neverMutated`: changed since the record's last commit, listed and not run
 * under `heldOnly`; `pending`: unchanged) and the records of modules that are gone.
 */
export function changedModules(record, modules, { heldOnly, changedSinceBase = new Set(), base = '', ...now } = {}) {
  const chosen = new Map();
  const pending = [];
  const neverMutated = [];
  for (const module of modules) {
    if (outOfProcess(module)) continue;
    const held = record.modules[module];
    if (held) {
      const why = staleness(module, held, now);
      if (why) chosen.set(module, why);
    } else if (changedSinceBase.has(module)) {
      if (heldOnly) neverMutated.push(module);
      else chosen.set(module, `changed since ${base.slice(0, 10)} and never mutated`);
    } else pending.push(module);
  }
  const gone = Object.keys(record.modules).filter((module) => !modules.includes(module));
  return { chosen, pending, neverMutated, gone };
}

/**
 * Whether two versions of a module do the same: equal once both are formatted by Prettier (with the
 * repository's settings) and their import declarations and re-exports (`export … from`) are left out.
 * Comments before a statement and blank lines between statements do not count; text that does not parse is
 * never the same.
 */
export async function sameCode(oldText, newText, file) {
  const prettier = await import('prettier');
  const ts = require('typescript');
  const options = { ...(await prettier.resolveConfig(path.join(ROOT, file))), filepath: path.join(ROOT, file) };
  const statements = async (text) => {
    const formatted = await prettier.format(text, options);
    const sourceFile = ts.createSourceFile(
      file,
      formatted,
      ts.ScriptTarget.Latest,
      true,
      file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
    );
    return sourceFile.statements
      .filter(
        (s) =>
          !ts.isImportDeclaration(s) &&
          !ts.isImportEqualsDeclaration(s) &&
          !(ts.isExportDeclaration(s) && s.moduleSpecifier),
      )
      .map((s) => s.getText(sourceFile))
      .join('\n');
  };
  try {
    return (await statements(oldText)) === (await statements(newText));
  } catch {
    return false; // one of them does not parse
  }
}
