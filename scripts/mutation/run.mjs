#!/usr/bin/env node
// Mutation testing of src/, incremental (stryker.config.json; RELIABILITY.md#mutation-testing).
//   node scripts/mutation/run.mjs changed          npm run test:mutation:changed (CI, .ci/run)
//   node scripts/mutation/run.mjs modules a.ts,b.ts   those modules, in one run
//   node scripts/mutation/run.mjs all              npm run test:mutation: every module, area by area
//   node scripts/mutation/run.mjs confirm [a.ts,b.ts]  re-tests the verdicts that rest on time alone (every run does)
//   node scripts/mutation/run.mjs trim             shortens the file's failure messages (every run does)
// Every run reads and rewrites reports/stryker-incremental.json, which is committed: Stryker re-tests
// only the mutants whose code or covering tests changed and keeps every other module's results.
// Each module is judged by its area's suites (scripts/mutation/judges.js), passed as --testFiles.
//
// `changed` mutates the src/ modules that changed since the incremental file was written:
// - a module the file holds: its source differs from the source the file recorded (no git needed);
// - a module the file does not hold yet: changed or added since the commit that last wrote the
//   file (git diff), or not committed yet; the others are listed as never mutated;
// - a module with a mutant killed by a test file that has changed since.
// Nothing changed: it says so and exits 0 in seconds. Otherwise it fails when Stryker fails, when a
// module it mutated scores under the break threshold (judged per module, not over every result the
// file holds, which would fail a change because of a module it did not touch), or when it runs over
// its budget (MUTATION_BUDGET_SECONDS, 1200 by default; 0 for none): those changes are then NOT
// judged, and the way out is to run `npm run test:mutation:changed` locally without a budget and
// commit the refreshed file.
// Environment: MUTATION_BUDGET_SECONDS, MUTATION_CONCURRENCY (Stryker's --concurrency).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { setTimeout, clearTimeout } from 'node:timers';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { killedByBoundAlone } from './results.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
process.chdir(ROOT);
const require = createRequire(import.meta.url);
const { areaOf, judgesOf, outOfProcess } = require('./judges.js');
const config = JSON.parse(fs.readFileSync('stryker.config.json', 'utf8'));
const INCREMENTAL_FILE = config.incrementalFile;
const REPORT_FILE = config.jsonReporter.fileName;
const BREAK = config.thresholds.break;

const say = (line) => process.stdout.write(`mutation: ${line}\n`);
const fail = (line) => {
  process.stderr.write(`mutation: FAILED: ${line}\n`);
  process.exit(1);
};
const slash = (file) => file.split(path.sep).join('/');
const readOrUndefined = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);
const git = (...args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

function sourceModules(dir = 'src') {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = slash(path.join(dir, entry.name));
    if (entry.isDirectory()) return sourceModules(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The suites of stryker.jest.config.js, relative to the repository. */
const SUITES = require(path.join(ROOT, 'stryker.jest.config.js')).testMatch.map((pattern) =>
  pattern.replace('<rootDir>/', ''),
);

/** The suites that judge `modules` together, or undefined when one of them needs every suite. */
function judgesOfAll(modules) {
  const paths = new Set();
  for (const module of modules) {
    const judges = judgesOf(module);
    if (!judges) return undefined;
    for (const judge of judges) paths.add(judge);
  }
  return SUITES.filter((suite) =>
    [...paths].some((judge) => (judge.endsWith('/') ? suite.startsWith(judge) : suite === judge)),
  );
}

function incrementalReport() {
  return fs.existsSync(INCREMENTAL_FILE)
    ? JSON.parse(fs.readFileSync(INCREMENTAL_FILE, 'utf8'))
    : { files: {}, testFiles: {} };
}

/** src/ modules changed or added since the commit that last wrote the incremental file, committed or not. */
function changedInGit() {
  try {
    const base = git('log', '-1', '--format=%H', '--', INCREMENTAL_FILE);
    if (!base) return { base: undefined, files: new Set() };
    const changed = git('diff', '--name-only', base, '--', 'src').split('\n');
    const untracked = git('ls-files', '--others', '--exclude-standard', '--', 'src').split('\n');
    return { base, files: new Set([...changed, ...untracked].filter(Boolean)) };
  } catch {
    return { base: undefined, files: new Set() };
  }
}

/** What `changed` mutates, each with why. */
function changedModules() {
  if (!fs.existsSync(INCREMENTAL_FILE)) fail(`${INCREMENTAL_FILE} is missing: it is committed with the repository`);
  const incremental = incrementalReport();
  const recorded = incremental.files ?? {};
  const { base, files: changedSinceBase } = changedInGit();
  if (!base) say(`no commit of ${INCREMENTAL_FILE} in this clone's history: only the modules it holds are compared`);
  const chosen = new Map();
  const pending = [];
  const neverMutated = [];
  for (const module of sourceModules()) {
    if (outOfProcess(module)) continue;
    const held = recorded[module];
    if (held) {
      if (held.source !== fs.readFileSync(module, 'utf8'))
        chosen.set(module, 'changed since its results were recorded');
    } else if (changedSinceBase.has(module)) {
      if (HELD_ONLY) neverMutated.push(module);
      else chosen.set(module, `changed since ${base.slice(0, 10)} and never mutated`);
    } else pending.push(module);
  }
  if (neverMutated.length > 0) {
    say(
      `${neverMutated.length} changed module(s) never mutated yet, listed and not run here (CI re-tests only what the incremental file holds; npm run test:mutation covers them): ${neverMutated.join(', ')}`,
    );
  }
  const testFiles = incremental.testFiles ?? {};
  const changedTests = new Set(
    Object.entries(testFiles)
      .filter(([file, { source }]) => file !== '' && source !== undefined && readOrUndefined(file) !== source)
      .map(([file]) => file),
  );
  if (changedTests.size > 0) {
    const fileOfTest = new Map();
    for (const [file, { tests }] of Object.entries(testFiles)) for (const test of tests) fileOfTest.set(test.id, file);
    for (const [module, { mutants }] of Object.entries(recorded)) {
      if (chosen.has(module) || !fs.existsSync(module)) continue;
      const killer = mutants
        .flatMap((m) => m.killedBy ?? [])
        .map((id) => fileOfTest.get(id))
        .find((file) => changedTests.has(file));
      if (killer) chosen.set(module, `a mutant of it was killed by ${killer}, which changed`);
    }
  }
  if (pending.length > 0)
    say(`${pending.length} module(s) never mutated and unchanged, not run here (npm run mutation:table lists them)`);
  return chosen;
}

/**
 * A verdict that rests on time alone: a mutant killed only because a test ran past its bound in jest
 * (scripts/mutation/environment.js), or timed out by Stryker. A mutant that makes a test hang earns it;
 * so does a loaded machine. Under four Stryker processes on two cores, mutants that pass their suites
 * when run alone were counted as killed this way (RELIABILITY.md#mutation-testing), so each such verdict
 * is confirmed by a second run at MUTATION_CONFIRM_CONCURRENCY (2: the TypeScript checker and one test
 * runner; without the checker the confirmation ran at a third of the speed).
 */
const byTimeAlone = (mutant) => mutant.status === 'Timeout' || killedByBoundAlone(mutant);

/** Drops from the incremental file the verdicts of `modules` that rest on time alone; how many. */
function forgetTimeVerdicts(modules) {
  if (!fs.existsSync(INCREMENTAL_FILE)) return 0;
  const incremental = incrementalReport();
  let forgotten = 0;
  for (const module of modules) {
    const held = incremental.files?.[module];
    if (!held) continue;
    const kept = held.mutants.filter((mutant) => !byTimeAlone(mutant));
    forgotten += held.mutants.length - kept.length;
    held.mutants = kept;
  }
  if (forgotten > 0) fs.writeFileSync(INCREMENTAL_FILE, `${JSON.stringify(incremental, null, 2)}\n`);
  return forgotten;
}

/**
 * Stryker over `modules` (strykerRun), then again over the verdicts that rest on time alone: the
 * second run re-tests only those (Stryker re-tests the mutants its incremental file does not hold).
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
  return strykerRun(modules, budgetSeconds, ['--concurrency', String(CORES)]);
}

/** Stryker's --concurrency for the confirming run (MUTATION_CONFIRM_CONCURRENCY). */
const CORES = Number(process.env.MUTATION_CONFIRM_CONCURRENCY ?? 2);

/** One Stryker run over `modules`, judged by their suites; resolves to how it ended. */
async function strykerRun(modules, budgetSeconds, extraArgs) {
  const suites = judgesOfAll(modules);
  // The break threshold is judged per module below (scoresOf): Stryker's own, over every result the
  // file holds, would fail a change to a module because of another one it did not touch.
  fs.mkdirSync(config.tempDirName, { recursive: true });
  const runConfig = path.join(config.tempDirName, 'stryker.run.json');
  fs.writeFileSync(
    runConfig,
    JSON.stringify({ ...config, $schema: undefined, thresholds: { ...config.thresholds, break: null } }, null, 2),
  );
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
  trimReasons();
  return { code, overBudget, seconds: Math.round((Date.now() - started) / 1000) };
}

/** How much of a killed mutant's failure the committed file keeps (Stryker keeps jest's whole message). */
const REASON_CHARS = 500;

/**
 * Shortens each mutant's `statusReason` in the incremental file. Stryker stores the failing test's
 * whole message there, a diff of thousands of lines at times: 26 of the file's 28 MB after the
 * Guest API run. Stryker's incremental comparison does not read it; the head says which assertion
 * failed.
 */
function trimReasons() {
  if (!fs.existsSync(INCREMENTAL_FILE)) return;
  const incremental = incrementalReport();
  let trimmed = 0;
  for (const { mutants } of Object.values(incremental.files ?? {})) {
    for (const mutant of mutants) {
      if (typeof mutant.statusReason === 'string' && mutant.statusReason.length > REASON_CHARS) {
        mutant.statusReason = `${mutant.statusReason.slice(0, REASON_CHARS)}…`;
        trimmed += 1;
      }
    }
  }
  if (trimmed > 0) fs.writeFileSync(INCREMENTAL_FILE, `${JSON.stringify(incremental, null, 2)}\n`);
}

/** Each mutated module's score in the run's report; the modules under the break threshold. */
function scoresOf(modules) {
  const report = JSON.parse(fs.readFileSync(REPORT_FILE, 'utf8'));
  const low = [];
  for (const module of modules) {
    const mutants = report.files[module]?.mutants ?? [];
    const count = (...statuses) => mutants.filter((m) => statuses.includes(m.status)).length;
    const detected = count('Killed', 'Timeout');
    const valid = detected + count('Survived', 'NoCoverage');
    const score = valid === 0 ? 100 : (100 * detected) / valid;
    say(`${module}: ${score.toFixed(1)} % (${detected} of ${valid} detected)`);
    if (score < BREAK) low.push(module);
  }
  return low;
}

const [mode = 'changed', list] = process.argv.slice(2);
/**
 * MUTATION_HELD_ONLY=1 (CI): `changed` re-tests only the modules the incremental file holds results for, so a
 * module once mutated cannot lose its score unnoticed; a changed module never mutated is listed, not run, since
 * mutating a whole new module can take longer than CI has (RELIABILITY.md#mutation-testing).
 */
const HELD_ONLY = process.env.MUTATION_HELD_ONLY === '1';
if (mode === 'changed' || mode === 'modules') {
  let modules;
  if (mode === 'changed') {
    const chosen = changedModules();
    if (chosen.size === 0) {
      say(`no src/ module changed since ${INCREMENTAL_FILE} was written: nothing to mutate`);
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
  const { code, overBudget, seconds } = await stryker(modules, budgetSeconds);
  if (overBudget) {
    fail(
      `over its budget of ${budgetSeconds} s: these changes are NOT judged. Run \`MUTATION_BUDGET_SECONDS=0 npm run ` +
        `test:mutation:changed\` and commit ${INCREMENTAL_FILE}, so that CI re-tests only what changes after it.`,
    );
  }
  if (code !== 0) fail(`stryker exited with ${code} after ${seconds} s (see above)`);
  const low = scoresOf(modules);
  if (low.length > 0) fail(`under the break threshold of ${BREAK} %: ${low.join(', ')}`);
  say(`passed in ${seconds} s; commit ${INCREMENTAL_FILE} to keep these results`);
} else if (mode === 'trim') {
  trimReasons();
} else if (mode === 'confirm') {
  // The verdicts that rest on time alone in results recorded before every run confirmed them.
  const held = incrementalReport().files ?? {};
  const modules = (list ? list.split(',') : Object.keys(held)).filter(
    (module) => held[module]?.mutants.some(byTimeAlone) && !outOfProcess(module),
  );
  if (modules.length === 0) {
    say('no verdict rests on time alone');
    process.exit(0);
  }
  const { code, seconds } = await confirmTimeVerdicts(modules, 0);
  if (code !== 0) fail(`stryker exited with ${code} after ${seconds} s (see above)`);
  scoresOf(modules);
  say(`done in ${seconds} s; commit ${INCREMENTAL_FILE} to keep these results`);
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
    say(`area ${area}`);
    const { code } = await stryker(modules, 0);
    failed ||= code !== 0;
  }
  if (failed) fail('a run failed (above)');
} else {
  fail(`unknown mode ${mode}: changed, modules <a.ts,b.ts>, all, confirm [a.ts,b.ts] or trim`);
}
