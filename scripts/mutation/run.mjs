#!/usr/bin/env node
// Mutation testing of src/ (stryker.config.json; docs/testing.md#mutation-testing).
//   node scripts/mutation/run.mjs changed          npm run test:mutation:changed (CI, .ci/run)
//   node scripts/mutation/run.mjs modules a.ts,b.ts   those modules, in one run
//   node scripts/mutation/run.mjs all              npm run test:mutation: every module, area by area
//   node scripts/mutation/run.mjs confirm [a.ts,b.ts]  re-tests the verdicts that rest on time alone and were not
//                                                  confirmed yet (every run does; needs the local cache of the run
//                                                  that gave them)
//   node scripts/mutation/run.mjs carry <rev> [old=new ...] [--note <text>] [--force]
//   node scripts/mutation/run.mjs drop <module> [...]
//
// The results are committed as a compact record, mutation/results.json (scripts/mutation/record.mjs): per
// module a hash of its source, a hash of each suite that killed one of its mutants, its counts and score, and
// each mutant left with the reason it is harmless (written there by hand; `npm run mutation:table` prints the
// table from it). Every Stryker run rewrites the record of the modules it mutated, keeping the reasons of the
// mutants still left. Stryker's incremental file (reports/stryker-incremental.json) is only a local cache, not
// committed: when present, Stryker re-tests only the mutants whose code or covering tests changed.
// Each module is judged by its area's suites (scripts/mutation/judges.js), passed as --testFiles.
//
// `changed` mutates the src/ modules whose record no longer holds: the module's source hash differs, or a
// suite its kills rest on changed or is gone. A module with no record: under
// MUTATION_HELD_ONLY=1 (CI) it is listed and not run; otherwise it is mutated when changed or added since the
// commit that last wrote the record (or not committed yet), and listed as never mutated when not. A record of a
// module that is gone fails the run (carry or drop it). Nothing changed: it says so and exits 0 in seconds.
// Otherwise it fails when Stryker fails, when a module it mutated scores under the break threshold (judged per
// module, not over every module's results, which would fail a change because of a module it did not touch), or
// when it runs over its budget (MUTATION_BUDGET_SECONDS, 1200 by default; 0 for none): those changes are then
// NOT judged, and the way out is to run `MUTATION_BUDGET_SECONDS=0 npm run test:mutation:changed` locally and
// commit mutation/results.json.
//
// `carry` is for a change that moves or formats code without changing what it does (Prettier, a file moved to a
// sub-folder with only import lines changed, test files moved or merged): after it every hash differs, and
// `changed` would re-run every module. It carries each record whose hashes no longer hold to the module's
// path now and records its hashes now, with "carried": [<note>] so that the table says the results were not
// measured again. Renames come from `git diff -M --name-status <rev>` (rev: the commit before the move, whose
// tree the record was written against; the move committed, or at least staged) and from old=new pairs (a
// module or suite git did not see as renamed, e.g. a test file merged into another). A module is carried only
// when its source at <rev> is the one recorded and its code now is the same as then once both are formatted by
// Prettier and their import and re-export declarations left out; otherwise it is listed and not carried
// (--force carries it anyway: for a change read by eye). Each suite its kills rest on must be at <rev> as it was
// measured and exist now (renamed or mapped); one that differs from <rev>'s beyond layout and imports (test
// files merged) is named. The note is the short HEAD commit (src/ and test/ committed) or --note.
//   node scripts/mutation/run.mjs carry 1367556      the record of 1367556's tree, carried across HEAD (824a92f,
//                                                    Prettier)
//   node scripts/mutation/run.mjs carry <rev> test/a.test.ts=test/b.test.ts   a.test.ts merged into b.test.ts
// It writes the records it carries and fails listing the others; run it again after dealing with them.
// `drop` removes modules' records, for a change that did change what they do: they show as not mutated yet
// (CI lists them and does not run them) until `node scripts/mutation/run.mjs modules <module>` measures them.
// Environment: MUTATION_BUDGET_SECONDS, MUTATION_CONCURRENCY (Stryker's --concurrency), MUTATION_HELD_ONLY,
// MUTATION_RUNNER_REUSE (mutants per jest worker; 1, the configuration's, by default).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { setTimeout, clearTimeout } from 'node:timers';
import { createRequire } from 'node:module';
import {
  RECORD_FILE,
  ROOT,
  changedModules,
  entryOf,
  hashOf,
  hashOfFile,
  judgesOfAll,
  killedByBoundAlone,
  readRecord,
  sameCode,
  staleness,
  writeRecord,
} from './record.mjs';
import { results, SOURCE_DIRS, sourceModules } from './results.mjs';
import { areasMarkdown, DOCS_FILE, withAreas } from './table.mjs';

process.chdir(ROOT);
const require = createRequire(import.meta.url);
const { areaOf, outOfProcess } = require('./judges.js');
const config = JSON.parse(fs.readFileSync('stryker.config.json', 'utf8'));
const INCREMENTAL_FILE = config.incrementalFile;
const REPORT_FILE = config.jsonReporter.fileName;
const BREAK = config.thresholds.break;

const say = (line) => process.stdout.write(`mutation: ${line}\n`);
const fail = (line) => {
  process.stderr.write(`mutation: FAILED: ${line}\n`);
  process.exit(1);
};

/** Writes the record, and the scores by area docs/testing.md shows from it (test/scripts/mutationResults.test.ts). */
function writeRecordAndAreas(record) {
  writeRecord(record);
  const docs = path.join(ROOT, DOCS_FILE);
  fs.writeFileSync(docs, withAreas(fs.readFileSync(docs, 'utf8'), areasMarkdown(results(record))));
}

const git = (...args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

function incrementalReport() {
  return fs.existsSync(INCREMENTAL_FILE)
    ? JSON.parse(fs.readFileSync(INCREMENTAL_FILE, 'utf8'))
    : { files: {}, testFiles: {} };
}

/** Modules of src/ and client/src/ changed or added since the commit that last wrote the record, committed or not. */
function changedInGit() {
  try {
    const base = git('log', '-1', '--format=%H', '--', RECORD_FILE);
    if (!base) return { base: undefined, files: new Set() };
    const changed = git('diff', '--name-only', base, '--', ...SOURCE_DIRS).split('\n');
    const untracked = git('ls-files', '--others', '--exclude-standard', '--', ...SOURCE_DIRS).split('\n');
    return { base, files: new Set([...changed, ...untracked].filter(Boolean)) };
  } catch {
    return { base: undefined, files: new Set() };
  }
}

function changed() {
  if (!fs.existsSync(RECORD_FILE)) fail(`${RECORD_FILE} is missing: it is committed with the repository`);
  const { base, files: changedSinceBase } = changedInGit();
  if (!base && !HELD_ONLY)
    say(`no commit of ${RECORD_FILE} in this clone's history: only the modules it holds are compared`);
  const { chosen, pending, neverMutated, gone } = changedModules(readRecord(), sourceModules(), {
    heldOnly: HELD_ONLY,
    changedSinceBase,
    base,
  });
  if (gone.length > 0)
    fail(
      `${RECORD_FILE} holds records of modules that are gone: ${gone.join(', ')}. Moved without changing what they ` +
        'do: `node scripts/mutation/run.mjs carry <commit before the move>`; deleted or changed: `node scripts/mutation/run.mjs drop <module>`',
    );
  if (neverMutated.length > 0) {
    say(
      `${neverMutated.length} module(s) never mutated yet, listed and not run here (CI re-tests only what ${RECORD_FILE} holds; npm run test:mutation or run.mjs modules covers them): ${neverMutated.join(', ')}`,
    );
  }
  if (pending.length > 0)
    say(`${pending.length} module(s) never mutated and unchanged, not run here (npm run mutation:table lists them)`);
  return chosen;
}

/**
 * A verdict that rests on time alone: a mutant killed only because a test ran past its bound in jest
 * (scripts/mutation/environment.js), or timed out by Stryker. A mutant that makes a test hang earns it;
 * so does a loaded machine. Under four Stryker processes on two cores, mutants that pass their suites
 * when run alone were counted as killed this way (docs/testing.md#mutation-testing), so each such verdict
 * is confirmed by a second run at MUTATION_CONFIRM_CONCURRENCY (2: the TypeScript checker and one test
 * runner; without the checker the confirmation ran at a third of the speed).
 */
const byTimeAlone = (mutant) => mutant.status === 'Timeout' || killedByBoundAlone(mutant);

/**
 * What a verdict on time alone carries in the local cache once a confirming run gave it. Stryker hands a reused
 * verdict back as it was, statusReason and all, and writes a fresh one for a mutant it tests again: a marked verdict
 * is one no change has touched since it was confirmed, and is not tested a third time.
 */
export const CONFIRMED = ' (confirmed at low concurrency)';
const confirmed = (mutant) => (mutant.statusReason ?? '').endsWith(CONFIRMED);

/**
 * Drops from `incremental` (Stryker's incremental report) the verdicts of `modules` that rest on time alone and were
 * not confirmed since their mutant or its tests last changed; how many.
 */
export function forgetUnconfirmed(incremental, modules) {
  let forgotten = 0;
  for (const module of modules) {
    const held = incremental.files?.[module];
    if (!held) continue;
    const kept = held.mutants.filter((mutant) => !byTimeAlone(mutant) || confirmed(mutant));
    forgotten += held.mutants.length - kept.length;
    held.mutants = kept;
  }
  return forgotten;
}

/** The modules of `incremental` (of `modules`, when given) that hold a verdict on time alone not confirmed yet. */
export function unconfirmedIn(incremental, modules = Object.keys(incremental.files ?? {})) {
  return modules.filter((module) =>
    incremental.files?.[module]?.mutants.some((mutant) => byTimeAlone(mutant) && !confirmed(mutant)),
  );
}

/** Marks in `incremental` each verdict of `modules` that rests on time alone as confirmed (a confirming run gave it). */
export function markConfirmed(incremental, modules) {
  for (const module of modules) {
    for (const mutant of incremental.files?.[module]?.mutants ?? []) {
      if (byTimeAlone(mutant) && !confirmed(mutant)) mutant.statusReason = `${mutant.statusReason ?? ''}${CONFIRMED}`;
    }
  }
}

/** Drops from the local incremental cache the verdicts of `modules` that rest on time alone, unconfirmed; how many. */
function forgetTimeVerdicts(modules) {
  const incremental = incrementalReport();
  const forgotten = forgetUnconfirmed(incremental, modules);
  if (forgotten > 0) fs.writeFileSync(INCREMENTAL_FILE, JSON.stringify(incremental));
  return forgotten;
}

/**
 * Stryker over `modules` (strykerRun), then again over the verdicts that rest on time alone: the
 * second run re-tests only those (Stryker re-tests the mutants its incremental cache does not hold).
 */
async function stryker(modules, budgetSeconds) {
  const first = await strykerRun(modules, budgetSeconds, []);
  if (first.code !== 0 || first.overBudget) return first;
  const second = await confirmTimeVerdicts(modules, budgetSeconds > 0 ? Math.max(1, budgetSeconds - first.seconds) : 0);
  return second ? { ...second, seconds: first.seconds + second.seconds } : first;
}

/** Drops the verdicts of `modules` that rest on time alone and has Stryker test them again; undefined when none does. */
async function confirmTimeVerdicts(modules, budgetSeconds) {
  const forgotten = forgetTimeVerdicts(modules);
  if (forgotten === 0) return undefined;
  say(
    `${forgotten} verdict(s) rest on time alone (a test past its bound, or a Stryker timeout): re-testing them at concurrency ${CORES}`,
  );
  const run = await strykerRun(modules, budgetSeconds, ['--concurrency', String(CORES)]);
  if (run.code === 0 && !run.overBudget) {
    const incremental = incrementalReport();
    markConfirmed(incremental, modules);
    fs.writeFileSync(INCREMENTAL_FILE, JSON.stringify(incremental));
  }
  return run;
}

/**
 * What a run of each kind of module changes in stryker.config.json: the browser kit's modules are type-checked as
 * the kit is built (client/tsconfig.json: DOM, ES modules), the service's as it is. One run holds one kind.
 */
const KINDS = {
  service: {},
  client: { tsconfigFile: 'client/tsconfig.json' },
};
const kindOf = (module) => (module.startsWith('client/') ? 'client' : 'service');

/**
 * How many mutants a jest worker runs before Stryker replaces it: the configuration's (1, a fresh worker per mutant),
 * or MUTATION_RUNNER_REUSE for a local run that would rather not pay a worker's start per mutant.
 */
export function runnerReuse(env = process.env) {
  const given = env.MUTATION_RUNNER_REUSE;
  if (given === undefined || given === '') return config.maxTestRunnerReuse;
  if (!/^[1-9][0-9]{0,2}$/.test(given))
    throw new Error(`MUTATION_RUNNER_REUSE must be a whole number from 1 to 999, not ${given}`);
  return Number(given);
}

/** The Stryker configuration of a run over `modules`, all of one kind. */
export function runConfigOf(modules, env = process.env) {
  const kinds = new Set(modules.map(kindOf));
  if (kinds.size !== 1) throw new Error(`one run holds one kind of module, not ${[...kinds].join(' and ')}`);
  return {
    ...config,
    ...KINDS[kindOf(modules[0])],
    $schema: undefined,
    maxTestRunnerReuse: runnerReuse(env),
    thresholds: { ...config.thresholds, break: null },
  };
}

/** `modules` in runs of one kind each (KINDS), the service's first. */
export function byKind(modules) {
  return Object.keys(KINDS)
    .map((kind) => modules.filter((module) => kindOf(module) === kind))
    .filter((group) => group.length > 0);
}

/** Stryker's --concurrency for the confirming run (MUTATION_CONFIRM_CONCURRENCY). */
const CORES = Number(process.env.MUTATION_CONFIRM_CONCURRENCY ?? 2);

/** One Stryker run over `modules`, judged by their suites; resolves to how it ended. */
async function strykerRun(modules, budgetSeconds, extraArgs) {
  const suites = judgesOfAll(modules);
  // The break threshold is judged per module below (scoresOf): Stryker's own, over every result its
  // incremental cache holds, would fail a change to a module because of another one it did not touch.
  fs.mkdirSync(config.tempDirName, { recursive: true });
  const runConfig = path.join(config.tempDirName, 'stryker.run.json');
  fs.writeFileSync(runConfig, JSON.stringify(runConfigOf(modules), null, 2));
  const args = [
    'stryker',
    'run',
    runConfig,
    '--mutate',
    modules.join(','),
    '--reporters',
    'clear-text,json,html,progress-append-only',
  ];
  if (suites) args.push('--testFiles', suites.join(','));
  if (process.env.MUTATION_CONCURRENCY && !extraArgs.includes('--concurrency'))
    args.push('--concurrency', process.env.MUTATION_CONCURRENCY);
  args.push(...extraArgs);
  say(`stryker over ${modules.length} module(s), judged by ${suites ? `${suites.length} suite(s)` : 'every suite'}`);
  const started = Date.now();
  const child = spawn('npx', args, { stdio: 'inherit', detached: true });
  let overBudget = false;
  const budget =
    budgetSeconds > 0 &&
    setTimeout(() => {
      overBudget = true;
      process.kill(-child.pid, 'SIGTERM');
      setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 30_000).unref();
    }, budgetSeconds * 1000);
  const code = await new Promise((resolve) => child.on('exit', (exitCode, signal) => resolve(exitCode ?? signal)));
  if (budget) clearTimeout(budget);
  return { code, overBudget, seconds: Math.round((Date.now() - started) / 1000) };
}

/**
 * Rewrites the record of `modules` from the run's report (REPORT_FILE), keeping the reasons of the mutants
 * still left; says each module's score and returns the modules under the break threshold.
 */
function record(modules) {
  const report = JSON.parse(fs.readFileSync(REPORT_FILE, 'utf8'));
  const held = readRecord();
  const low = [];
  for (const module of modules) {
    const file = report.files[module] ?? { source: fs.readFileSync(module, 'utf8'), mutants: [] };
    const entry = entryOf(file, report.testFiles, held.modules[module]);
    held.modules[module] = entry;
    const unexplained = entry.left.filter((m) => !m.why).length;
    say(
      `${module}: ${entry.score.toFixed(1)} % (${entry.killed + entry.timeout} of ${entry.mutants} detected; ` +
        `${entry.scoreWithoutBound.toFixed(1)} % without ${entry.killedByBoundAlone} kill(s) on a test bound alone)` +
        (unexplained > 0
          ? `, ${unexplained} mutant(s) left without a reason (npm run mutation:table -- unexplained)`
          : ''),
    );
    if (entry.score < BREAK) low.push(module);
  }
  writeRecordAndAreas(held);
  return low;
}

/** Old path → new path, from `git diff -M --name-status <rev>` (renames, however many files) and old=new pairs. */
function renamesSince(rev, pairs) {
  const renames = new Map();
  for (const line of git('diff', '-M', '-l0', '--name-status', rev, '--').split('\n')) {
    const [status, from, to] = line.split('\t');
    if (status?.startsWith('R')) renames.set(from, to);
  }
  for (const pair of pairs) {
    const [from, to] = pair.split('=');
    if (!from || !to) fail(`carry: ${pair} is not old=new`);
    renames.set(from, to);
  }
  return renames;
}

/** The text of `file` at `rev`, or undefined when it was not there. */
function atRev(rev, file) {
  try {
    return execFileSync('git', ['show', `${rev}:${file}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

async function carry(args) {
  const force = args.includes('--force');
  const noteAt = args.indexOf('--note');
  const note = noteAt >= 0 ? args[noteAt + 1] : undefined;
  const rest = args.filter((arg, i) => arg !== '--force' && (noteAt < 0 || (i !== noteAt && i !== noteAt + 1)));
  const [rev, ...pairs] = rest;
  if (!rev || rev.includes('='))
    fail('carry: name the commit the record was written against, before the move: carry <rev> [old=new ...]');
  let commit = note;
  if (!commit) {
    if (git('status', '--porcelain', '--', 'src', 'test') !== '')
      fail('carry: src/ or test/ has uncommitted changes: commit the move first, or name it with --note <text>');
    commit = git('rev-parse', '--short', 'HEAD');
  }
  const renames = renamesSince(rev, pairs);
  const held = readRecord();
  const carried = {};
  const refused = [];
  const movedSuites = new Set();
  let unchanged = 0;
  for (const [module, entry] of Object.entries(held.modules)) {
    const now = renames.get(module) ?? module;
    if (!fs.existsSync(now)) {
      refused.push(`${module}: gone (name its new path: ${module}=<path>, or drop it)`);
      continue;
    }
    const suitesNow = {};
    const suiteProblems = [];
    for (const suite of Object.keys(entry.suites ?? {})) {
      const suiteNow = renames.get(suite) ?? suite;
      const hash = hashOfFile(suiteNow);
      if (hash === undefined) suiteProblems.push(`suite ${suite} is gone (name where its tests went: ${suite}=<path>)`);
      else if (hash !== entry.suites[suite] && hashOf(atRev(rev, suite) ?? '') !== entry.suites[suite])
        suiteProblems.push(
          `suite ${suite} at ${rev} is not the one its kills were measured with (changed before ${rev})`,
        );
      else {
        suitesNow[suiteNow] = hash;
        if (hash !== entry.suites[suite]) movedSuites.add(JSON.stringify([suite, suiteNow]));
      }
    }
    if (suiteProblems.length > 0) {
      refused.push(`${module}: ${suiteProblems.join('; ')}`);
      continue;
    }
    const sourceNow = hashOfFile(now);
    if (now === module && sourceNow === entry.source && !staleness(module, entry)) {
      unchanged += 1;
      continue;
    }
    if (sourceNow !== entry.source) {
      const before = atRev(rev, module);
      if (before === undefined) {
        refused.push(`${module}: not in ${rev}`);
        continue;
      }
      if (hashOf(before) !== entry.source) {
        refused.push(
          `${module}: its source at ${rev} is not the one its results were measured on (changed before ${rev})`,
        );
        continue;
      }
      if (!force && !(await sameCode(before, fs.readFileSync(now, 'utf8'), now))) {
        refused.push(
          `${module}${now === module ? '' : ` → ${now}`}: its code differs from ${rev}'s beyond layout and imports (drop it, or --force after reading the change)`,
        );
        continue;
      }
    }
    carried[module] = {
      now,
      entry: { ...entry, source: sourceNow, suites: suitesNow, carried: [...(entry.carried ?? []), commit] },
    };
  }
  // A suite is carried on the word of whoever moved it (test files are merged, too); those that differ from
  // <rev>'s beyond layout and imports are named.
  for (const pair of movedSuites) {
    const [suite, suiteNow] = JSON.parse(pair);
    if (!(await sameCode(atRev(rev, suite), fs.readFileSync(suiteNow, 'utf8'), suiteNow)))
      say(
        `note: suite ${suite}${suite === suiteNow ? '' : ` → ${suiteNow}`} differs from ${rev}'s beyond layout and imports`,
      );
  }
  for (const [module, { now, entry }] of Object.entries(carried)) {
    delete held.modules[module];
    held.modules[now] = sortedEntry(entry);
    say(`carried ${module}${now === module ? '' : ` → ${now}`}`);
  }
  if (Object.keys(carried).length > 0) writeRecordAndAreas(held);
  say(
    `${Object.keys(carried).length} record(s) carried across ${commit}, ${unchanged} already current, ${refused.length} not carried`,
  );
  if (refused.length > 0) fail(`not carried:\n${refused.map((line) => `  ${line}`).join('\n')}`);
}

/** An entry with its fields in the record's order (carried after the hashes). */
function sortedEntry({ source, suites, carried, ...rest }) {
  return { source, suites, ...(carried ? { carried } : {}), ...rest };
}

function drop(modules) {
  if (modules.length === 0) fail('drop: name the modules');
  const held = readRecord();
  const unknown = modules.filter((module) => !held.modules[module] && !fs.existsSync(module));
  if (unknown.length > 0) fail(`drop: no record of ${unknown.join(', ')}, and no such file`);
  for (const module of modules) {
    const reasons = held.modules[module]?.left.filter((m) => m.why).length ?? 0;
    delete held.modules[module];
    say(
      `dropped ${module}${reasons > 0 ? ` (its ${reasons} reason(s) stay in git history)` : ''}; listed as not mutated yet`,
    );
  }
  held.notYetMutated = [...new Set([...(held.notYetMutated ?? []), ...modules])];
  writeRecordAndAreas(held);
}

/**
 * MUTATION_HELD_ONLY=1 (CI): `changed` re-tests only the modules the record holds results for, so a module once
 * mutated cannot lose its score unnoticed; a changed module never mutated is listed, not run, since mutating a
 * whole new module can take longer than CI has (docs/testing.md#mutation-testing).
 */
const HELD_ONLY = process.env.MUTATION_HELD_ONLY === '1';

async function main(mode = 'changed', ...args) {
  const list = args[0];
  if (mode === 'changed' || mode === 'modules') {
    let modules;
    if (mode === 'changed') {
      const chosen = changed();
      if (chosen.size === 0) {
        say(`no src/ module or suite changed since ${RECORD_FILE} recorded their results: nothing to mutate`);
        process.exit(0);
      }
      for (const [module, why] of chosen) say(`mutating ${module}: ${why}`);
      modules = [...chosen.keys()];
    } else {
      modules = (list ?? '').split(',').filter(Boolean);
      if (modules.length === 0) fail('modules: name the modules, comma-separated');
      const unjudged = modules.filter((module) => outOfProcess(module));
      if (unjudged.length > 0) fail(`no in-process suite judges ${unjudged.join(', ')}: ${outOfProcess(unjudged[0])}`);
    }
    const budgetSeconds = Number(process.env.MUTATION_BUDGET_SECONDS ?? (mode === 'changed' ? 1200 : 0));
    let spent = 0;
    const low = [];
    for (const group of byKind(modules)) {
      const left = budgetSeconds > 0 ? budgetSeconds - spent : 0;
      const { code, overBudget, seconds } =
        budgetSeconds > 0 && left <= 0 ? { overBudget: true, seconds: 0 } : await stryker(group, left);
      spent += seconds;
      if (overBudget) {
        fail(
          `over its budget of ${budgetSeconds} s: these changes are NOT judged. Run \`MUTATION_BUDGET_SECONDS=0 npm run ` +
            `test:mutation:changed\` and commit ${RECORD_FILE}, so that CI re-tests only what changes after it ` +
            '(a change that only moves or formats code: `node scripts/mutation/run.mjs carry <commit before it>` instead).',
        );
      }
      if (code !== 0) fail(`stryker exited with ${code} after ${seconds} s (see above)`);
      low.push(...record(group));
    }
    if (low.length > 0) fail(`under the break threshold of ${BREAK} %: ${low.join(', ')} (${RECORD_FILE} rewritten)`);
    say(`passed in ${spent} s; commit ${RECORD_FILE} to keep these results`);
  } else if (mode === 'confirm') {
    // The verdicts that rest on time alone in the local cache's results.
    if (!fs.existsSync(INCREMENTAL_FILE))
      fail(`confirm: no local cache (${INCREMENTAL_FILE}): run.mjs modules <a.ts> measures a module afresh`);
    const modules = unconfirmedIn(incrementalReport(), list ? list.split(',') : undefined).filter(
      (module) => !outOfProcess(module),
    );
    if (modules.length === 0) {
      say('no verdict rests on time alone that is not confirmed already');
      process.exit(0);
    }
    let spent = 0;
    for (const group of byKind(modules)) {
      const run = await confirmTimeVerdicts(group, 0);
      if (!run) continue;
      spent += run.seconds;
      if (run.code !== 0) fail(`stryker exited with ${run.code} after ${run.seconds} s (see above)`);
      record(group);
    }
    say(`done in ${spent} s; commit ${RECORD_FILE} to keep these results`);
  } else if (mode === 'all') {
    const byArea = new Map();
    for (const module of sourceModules()) {
      const why = outOfProcess(module);
      if (why) {
        say(`skipping ${module}: ${why}`);
        continue;
      }
      const area = areaOf(module) ?? 'every suite';
      byArea.set(area, [...(byArea.get(area) ?? []), module]);
    }
    let failed = false;
    for (const [area, modules] of byArea) {
      for (const group of byKind(modules)) {
        say(`area ${area}`);
        const { code } = await stryker(group, 0);
        if (code === 0) failed = record(group).length > 0 || failed;
        else failed = true;
      }
    }
    if (failed) fail('a run failed or a module is under the break threshold (above)');
  } else if (mode === 'carry') {
    await carry(args);
  } else if (mode === 'drop') {
    drop(args);
  } else {
    fail(
      `unknown mode ${mode}: changed, modules <a.ts,b.ts>, all, confirm [a.ts,b.ts], carry <rev> [old=new ...] or drop <module>`,
    );
  }
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.join(ROOT, 'scripts/mutation/run.mjs');
if (isMain) await main(...process.argv.slice(2));
