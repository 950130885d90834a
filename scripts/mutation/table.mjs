#!/usr/bin/env node
// The mutation results (docs/testing.md#mutation-testing), generated from the committed record
// (mutation/results.json: per module its counts, score and each mutant left with the reason it is harmless;
// scripts/mutation/record.mjs).
//   node scripts/mutation/table.mjs                 npm run mutation:table: the table (with the commits a module's
//                                                   results were carried across unmeasured), every mutant left with
//                                                   its reason or NOT EXPLAINED, the modules never mutated
//   node scripts/mutation/table.mjs --markdown      the same as Markdown
//   node scripts/mutation/table.mjs --json          the results as JSON (test/scripts/mutationResults.test.ts)
//   node scripts/mutation/table.mjs --areas         the scores by area (the top-level folders of src/, and client/src/), as Markdown
//   node scripts/mutation/table.mjs --docs          writes that table into docs/testing.md, between its markers
//   node scripts/mutation/table.mjs unexplained [prefix]
//                                                   the mutants left without a reason: give each its "why" in
//                                                   mutation/results.json (or kill it with a test)
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {
  OUT_OF_PROCESS,
  ROOT,
  config,
  outOfProcess,
  pct,
  RECORD_FILE,
  results,
  scoreWithoutBoundOf,
  sourceModules,
} from './results.mjs';

const out = (line = '') => process.stdout.write(`${line}\n`);

const code = (text) => {
  const ticks = text.includes('`') ? '``' : '`';
  return `${ticks}${ticks.length > 1 ? ' ' : ''}${text}${ticks.length > 1 ? ' ' : ''}${ticks}`;
};

const HEADER = [
  'module',
  'mutants',
  'killed',
  'of them by a test bound alone',
  'timed out',
  'survived',
  'no coverage',
  'score',
  'score without the bound kills',
];
const rowLine = (row, name) =>
  `| ${name} | ${row.valid} | ${row.Killed} | ${row.byBound} | ${row.Timeout} | ${row.Survived} | ${row.NoCoverage} | ${pct(row)} | ${row.valid === 0 ? 'n/a' : `${scoreWithoutBoundOf(row).toFixed(1)} %`} |`;

/** The results as Markdown: the table, then each mutant left with why it is harmless. */
export function markdown(r = results()) {
  const lines = [];
  lines.push(`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---|').join('')}`);
  for (const row of [...r.rows, r.total])
    lines.push(rowLine(row, row.module === 'all' ? '**all**' : code(row.module.replace(/^src\//, ''))));
  lines.push('');
  if (r.pending.length > 0) lines.push(`Not mutated yet: ${r.pending.map(code).join(', ')}.`, '');
  lines.push(`Each mutant left (${r.left.length}), and why it is harmless:`, '');
  let module;
  for (const m of r.left) {
    if (m.module !== module) {
      module = m.module;
      lines.push('', `${code(module.replace(/^src\//, ''))}:`, '');
    }
    const status =
      m.status === 'NoCoverage'
        ? ', not covered'
        : m.byBound
          ? ', killed in the run only by a test past its bound, passes that test when planted by hand'
          : '';
    const where = m.context === m.original ? '' : ` in ${code(m.context)}`;
    lines.push(
      `- line ${m.line}, ${m.mutator}${status}: ${code(m.original)} → ${code(m.replacement)}${where}. ${m.why ?? '**Not explained.**'}`,
    );
  }
  return lines.join('\n');
}

/** A module's area: the top-level folder of src/ it is in, or `(top level)` for a file directly in src/. */
/** A module's area: the folder under src/ it is in, or the browser kit (client/src/) as one. */
const areaOfModule = (module) => {
  if (module.startsWith('client/src/')) return 'client/src/';
  const parts = module.replace(/^src\//, '').split('/');
  return parts.length > 1 ? `${parts[0]}/` : '(top level)';
};

/**
 * The scores by area (docs/testing.md#mutation-testing, between DOCS_MARKERS): per area the modules measured of those
 * to measure, the mutants, those detected and left, and the score over the modules measured; the last line is all
 * of src/. A module run only as its own process is not counted.
 */
export function areasMarkdown(r = results()) {
  const areas = new Map();
  const at = (name) => {
    if (!areas.has(name)) areas.set(name, { measured: 0, modules: 0, valid: 0, detected: 0, left: 0 });
    return areas.get(name);
  };
  const all = { measured: 0, modules: 0, valid: 0, detected: 0, left: 0 };
  for (const row of r.rows)
    for (const a of [at(areaOfModule(row.module)), all]) {
      a.measured++;
      a.modules++;
      a.valid += row.valid;
      a.detected += row.detected;
      a.left += row.Survived + row.NoCoverage;
    }
  for (const module of r.pending) for (const a of [at(areaOfModule(module)), all]) a.modules++;
  const line = (name, a) =>
    `| ${name} | ${a.measured} of ${a.modules} | ${a.valid} | ${a.detected} | ${a.left} | ` +
    `${a.valid === 0 ? 'n/a' : `${((100 * a.detected) / a.valid).toFixed(1)} %`} |`;
  return [
    '| area | modules measured | mutants | detected | left | score |',
    '|---|---|---|---|---|---|',
    ...[...areas.keys()].sort().map((name) => line(code(name), areas.get(name))),
    line('**all**', all),
  ].join('\n');
}

/** Where docs/testing.md holds the table areasMarkdown writes. */
export const DOCS_FILE = 'docs/testing.md';
export const DOCS_MARKERS = [
  '<!-- mutation-areas: generated by `node scripts/mutation/table.mjs --docs` -->',
  '<!-- /mutation-areas -->',
];

/** docs/testing.md with the areas table between its markers replaced by `table`. */
export function withAreas(text, table) {
  const [open, close] = DOCS_MARKERS;
  const from = text.indexOf(open);
  const to = text.indexOf(close);
  if (from < 0 || to < from) throw new Error(`${DOCS_FILE} has no ${open} ... ${close} block`);
  return `${text.slice(0, from + open.length)}\n${table}\n${text.slice(to)}`;
}

async function notYetMutated(pending) {
  const { Instrumenter } = await import('@stryker-mutator/instrumenter');
  const quiet = {
    debug() {},
    info() {},
    warn() {},
    trace() {},
    error() {},
    isDebugEnabled: () => false,
    isTraceEnabled: () => false,
  };
  const options = { plugins: null, excludedMutations: [], ignorers: [], noHeader: true };
  let sum = 0;
  out();
  out('Not yet mutated (mutants as instrumented, before the TypeScript checker and ignoreStatic):');
  for (const module of pending) {
    const content = fs.readFileSync(path.join(ROOT, module), 'utf8');
    const { mutants: found } = await new Instrumenter(quiet).instrument(
      [{ name: path.resolve(ROOT, module), mutate: true, content }],
      options,
    );
    sum += found.length;
    out(`- ${module}: ${found.length}`);
  }
  out(`- ${pending.length} modules, ${sum} mutants`);
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.join(ROOT, 'scripts/mutation/table.mjs');
if (isMain) {
  const [mode, prefix = 'src/'] = process.argv.slice(2);
  const r = results();
  if (mode === '--markdown') {
    out(markdown(r));
  } else if (mode === '--areas') {
    out(areasMarkdown(r));
  } else if (mode === '--docs') {
    const file = path.join(ROOT, DOCS_FILE);
    fs.writeFileSync(file, withAreas(fs.readFileSync(file, 'utf8'), areasMarkdown(r)));
    out(`${DOCS_FILE}: the scores by area written`);
  } else if (mode === '--json') {
    // For test/scripts/mutationResults.test.ts: the results, src/'s modules, the record's size, the generated part
    // and the break threshold.
    out(
      JSON.stringify({
        ...r,
        modules: sourceModules(),
        outOfProcess: sourceModules().filter((module) => outOfProcess(module)),
        recordBytes: fs.statSync(path.join(ROOT, RECORD_FILE)).size,
        markdown: markdown(r),
        areas: areasMarkdown(r),
        breakAt: config.thresholds.break,
      }),
    );
  } else if (mode === 'unexplained') {
    const entries = {};
    for (const { module, line, mutator, context, original, replacement, why } of r.left) {
      if (why || !module.startsWith(prefix)) continue;
      (entries[module] ??= []).push({ line, mutator, context, original, replacement });
    }
    out(JSON.stringify(entries, null, 2));
  } else if (mode === undefined) {
    out(`| ${HEADER.join(' | ')} |`);
    out(`|${HEADER.map(() => '---|').join('')}`);
    for (const row of [...r.rows, r.total]) out(rowLine(row, `\`${row.module.replace(/^src\//, '')}\``));
    out();
    out('Survived and not covered:');
    for (const m of r.left)
      out(
        `- ${m.module}:${m.line} ${m.status} ${m.mutator}: ${m.original} → ${m.replacement}${m.why ? '' : '  NOT EXPLAINED'}`,
      );
    const carried = r.rows.filter((row) => row.carried.length > 0);
    if (carried.length > 0) {
      out();
      out(
        `Carried, not measured again, across commits that only moved or formatted code (lines above as measured, before them):`,
      );
      const byCommits = new Map();
      for (const row of carried) {
        const key = row.carried.join(', ');
        byCommits.set(key, [...(byCommits.get(key) ?? []), row.module]);
      }
      for (const [commits, modules] of byCommits) {
        const others = r.rows.map((row) => row.module).filter((module) => !modules.includes(module));
        const which =
          others.length === 0
            ? `all ${modules.length} modules`
            : others.length < modules.length
              ? `${modules.length} of ${r.rows.length} modules, all but ${others.join(', ')}`
              : modules.join(', ');
        out(`- across ${commits}: ${which}`);
      }
    }
    if (r.gone.length > 0 || r.inconsistent.length > 0) {
      out();
      if (r.gone.length > 0) out(`Records of modules that are gone (carry or drop them): ${r.gone.join(', ')}`);
      if (r.inconsistent.length > 0)
        out(`Records whose counts disagree with their mutants left: ${r.inconsistent.join(', ')}`);
    }
    const unjudged = sourceModules().filter((module) => outOfProcess(module));
    if (unjudged.length > 0) {
      out();
      out('Not mutated, no in-process suite judges them:');
      for (const [start, why] of OUT_OF_PROCESS)
        out(`- ${unjudged.filter((module) => module.startsWith(start)).join(', ')}: ${why}`);
    }
    if (r.pending.length > 0) await notYetMutated(r.pending);
  } else {
    process.stderr.write(
      `unknown mode ${mode}: --write, --markdown, --json, unexplained [prefix], or none (${RECORD_FILE})\n`,
    );
    process.exit(2);
  }
}
