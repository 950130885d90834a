#!/usr/bin/env node
// Plants, by hand, a mutant the committed record holds as left (mutation/results.json), runs jest on it, and
// puts the source back: to see whether a new test kills it without a Stryker run (docs/testing.md#mutation-testing).
//   node scripts/mutation/plant.mjs <module>:<line> [-- <jest arguments>]
//   node scripts/mutation/plant.mjs <module> [-- <jest arguments>]      every mutant left in the module, one by one
// Without jest arguments, the module's judges (scripts/mutation/judges.js) run. Each mutant prints KILLED or
// SURVIVED. The source is restored after each run, also on Ctrl-C. A mutant is found in the current source by
// its line, unchanged, nearest where it was recorded, so it still plants after other lines of the module changed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { createRequire } from 'node:module';
import { ROOT, parseAt, readRecord } from './record.mjs';

const require = createRequire(import.meta.url);
const { judgesOf } = require('./judges.js');
process.chdir(ROOT);

const args = process.argv.slice(2);
const dash = args.indexOf('--');
const [target] = dash < 0 ? args : args.slice(0, dash);
const jestArgs = dash < 0 ? [] : args.slice(dash + 1);
if (!target) {
  process.stderr.write('usage: node scripts/mutation/plant.mjs <module>[:<line>] [-- <jest arguments>]\n');
  process.exit(2);
}
const [module, lineText] = target.split(':');
const report = readRecord().modules[module];
if (!report) {
  process.stderr.write(`${module}: no results in mutation/results.json\n`);
  process.exit(2);
}

/**
 * The mutated text of `current`: the mutant's first line (as recorded), unchanged, found nearest where it was
 * recorded, and the code it replaces at the same column there; undefined when either is gone.
 */
function planted(current, mutant) {
  const { start } = parseAt(mutant.at);
  const lines = current.split('\n');
  let nearest;
  lines.forEach((text, i) => {
    if (
      text === mutant.line &&
      (nearest === undefined || Math.abs(i + 1 - start.line) < Math.abs(nearest + 1 - start.line))
    )
      nearest = i;
  });
  if (nearest === undefined) return undefined;
  const at = lines.slice(0, nearest).reduce((sum, text) => sum + text.length + 1, 0) + start.column - 1;
  if (current.slice(at, at + mutant.original.length) !== mutant.original) return undefined;
  return current.slice(0, at) + mutant.replacement + current.slice(at + mutant.original.length);
}

/** jest on `tests`, in its own process group (so that Ctrl-C here ends it too): its exit status and stderr. */
function jest(tests) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['jest', '--silent', ...tests], {
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    running = child;
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => {
      running = undefined;
      resolve({ status, stderr });
    });
  });
}
let running;

const file = path.join(ROOT, module);
const current = fs.readFileSync(file, 'utf8');
const restore = () => fs.writeFileSync(file, current);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    restore();
    if (running) process.kill(-running.pid, 'SIGKILL');
    process.exit(130);
  });
}

const chosen = report.left.filter((m) => !lineText || parseAt(m.at).start.line === Number(lineText));
if (chosen.length === 0) {
  process.stderr.write(`${target}: no mutant left there\n`);
  process.exit(2);
}
const tests = jestArgs.length > 0 ? jestArgs : (judgesOf(module) ?? []);
let survived = 0;
try {
  for (const mutant of chosen) {
    const what = `${module}:${parseAt(mutant.at).start.line} ${mutant.mutator} → ${mutant.replacement.replace(/\s+/g, ' ').slice(0, 80)}`;
    const text = planted(current, mutant);
    if (text === undefined) {
      process.stdout.write(`NOT FOUND ${what} (the code it replaces is no longer in the module)\n`);
      continue;
    }
    fs.writeFileSync(file, text);
    const run = await jest(tests);
    restore();
    const killed = run.status !== 0;
    if (!killed) survived += 1;
    const failing = killed ? (run.stderr.match(/● .+/g) ?? []).slice(0, 2).join(' | ') : '';
    process.stdout.write(`${killed ? 'KILLED  ' : 'SURVIVED'} ${what}${failing ? `  (${failing})` : ''}\n`);
  }
} finally {
  restore();
}
process.exit(survived > 0 ? 1 : 0);
