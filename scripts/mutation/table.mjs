#!/usr/bin/env node
// The per-module table of RELIABILITY.md#mutation-testing, from the committed incremental file
// (reports/stryker-incremental.json, every result of every run so far), then each surviving or
// uncovered mutant, then the src/ modules with no results yet and how many mutants each holds.
//   node scripts/mutation/table.mjs
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
process.chdir(ROOT);
const config = JSON.parse(fs.readFileSync('stryker.config.json', 'utf8'));
const report = JSON.parse(fs.readFileSync(config.incrementalFile, 'utf8'));
const out = (line = '') => process.stdout.write(`${line}\n`);
const pct = (detected, valid) => (valid === 0 ? 'n/a' : `${((100 * detected) / valid).toFixed(1)} %`);

function sourceModules(dir = 'src') {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name).split(path.sep).join('/');
    if (entry.isDirectory()) return sourceModules(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const totals = { mutants: 0, Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
const left = [];
out('| module | mutants | killed | timed out | survived | no coverage | score |');
out('|---|---|---|---|---|---|---|');
for (const module of Object.keys(report.files).sort()) {
  const count = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
  for (const mutant of report.files[module].mutants) {
    if (!(mutant.status in count)) continue;
    count[mutant.status] += 1;
    if (mutant.status === 'Survived' || mutant.status === 'NoCoverage') left.push({ module, mutant });
  }
  const valid = Object.values(count).reduce((a, b) => a + b, 0);
  for (const key of Object.keys(count)) totals[key] += count[key];
  totals.mutants += valid;
  const name = module.replace(/^src\//, '');
  out(`| \`${name}\` | ${valid} | ${count.Killed} | ${count.Timeout} | ${count.Survived} | ${count.NoCoverage} | ${pct(count.Killed + count.Timeout, valid)} |`);
}
const { mutants, Killed, Timeout, Survived, NoCoverage } = totals;
out(`| all | ${mutants} | ${Killed} | ${Timeout} | ${Survived} | ${NoCoverage} | ${pct(Killed + Timeout, mutants)} |`);

out();
out('Survived and not covered:');
for (const { module, mutant } of left) {
  const { line } = mutant.location.start;
  const replacement = (mutant.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80);
  out(`- ${module}:${line} ${mutant.status} ${mutant.mutatorName}: ${replacement}`);
}

const { OUT_OF_PROCESS, outOfProcess } = createRequire(import.meta.url)('./judges.js');
const unjudged = sourceModules().filter((module) => outOfProcess(module));
if (unjudged.length > 0) {
  out();
  out('Not mutated, no in-process suite judges them:');
  for (const [prefix, why] of OUT_OF_PROCESS) {
    out(`- ${unjudged.filter((module) => module.startsWith(prefix)).join(', ')}: ${why}`);
  }
}

const pending = sourceModules().filter((module) => !report.files[module] && !outOfProcess(module));
if (pending.length > 0) {
  const { Instrumenter } = await import('@stryker-mutator/instrumenter');
  const quiet = { debug() {}, info() {}, warn() {}, trace() {}, error() {}, isDebugEnabled: () => false, isTraceEnabled: () => false };
  const options = { plugins: null, excludedMutations: [], ignorers: [], noHeader: true };
  let sum = 0;
  out();
  out('Not yet mutated (mutants as instrumented, before the TypeScript checker and ignoreStatic):');
  for (const module of pending) {
    const content = fs.readFileSync(module, 'utf8');
    const { mutants: found } = await new Instrumenter(quiet).instrument([{ name: path.resolve(module), mutate: true, content }], options);
    sum += found.length;
    out(`- ${module}: ${found.length}`);
  }
  out(`- ${pending.length} modules, ${sum} mutants`);
}
