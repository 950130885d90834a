import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * How scripts/mutation/run.mjs decides what CI mutates, without a Stryker run: a module is re-tested
 * when its source hash or the hash of a suite its kills rest on differs from the committed record
 * (scripts/mutation/record.mjs changedModules, staleness), a record is rebuilt from Stryker's results
 * keeping the reasons of the mutants still left (entryOf), and `carry` takes a change for one that only
 * moves or formats code when Prettier and the import lines are all that differ (sameCode), and a verdict that
 * rests on time alone is confirmed once, not at every run that reuses it (run.mjs forgetUnconfirmed).
 * The scripts are ES modules: each case runs in a node of its own.
 */
const RECORD = pathToFileURL(path.join(__dirname, '../../scripts/mutation/record.mjs')).href;
const RUN = pathToFileURL(path.join(__dirname, '../../scripts/mutation/run.mjs')).href;

function run<T>(body: string, input: unknown): T {
  const script = `import * as record from ${JSON.stringify(RECORD)};
const input = JSON.parse(process.env.CASE_INPUT);
const output = await (async () => { ${body} })();
process.stdout.write(JSON.stringify(output));`;
  return JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, CASE_INPUT: JSON.stringify(input) },
    }),
  ) as T;
}

interface Decided {
  chosen: [string, string][];
  pending: string[];
  neverMutated: string[];
  gone: string[];
}

/** changedModules over files whose hashes are `hashes` (a missing file: no entry). */
function decide(
  modules: Record<string, { source: string; suites: Record<string, string> }>,
  present: string[],
  hashes: Record<string, string>,
  options: { heldOnly?: boolean; changedSinceBase?: string[] } = {},
): Decided {
  return run<Decided>(
    `const { modules, present, hashes, heldOnly, changedSinceBase } = input;
const decided = record.changedModules({ modules }, present, {
  heldOnly,
  base: 'abcdef1234567',
  changedSinceBase: new Set(changedSinceBase),
  hashNow: (file) => hashes[file],
});
return { ...decided, chosen: [...decided.chosen] };`,
    { modules, present, hashes, ...options },
  );
}

const A = 'src/http/listen.ts';
const B = 'src/http/cors.ts';
const SUITE = 'test/http/listen.test.ts';
const OTHER = 'test/http/cors.test.ts';
const held = {
  [A]: { source: 'a1', suites: { [SUITE]: 's1' } },
  [B]: { source: 'b1', suites: { [OTHER]: 'o1' } },
};
const same = { [A]: 'a1', [B]: 'b1', [SUITE]: 's1', [OTHER]: 'o1' };

test('nothing changed: nothing to mutate', () => {
  expect(decide(held, [A, B], same)).toEqual({ chosen: [], pending: [], neverMutated: [], gone: [] });
});

test('a module whose source changed is mutated, and only it', () => {
  expect(decide(held, [A, B], { ...same, [A]: 'a2' }).chosen).toEqual([[A, 'changed since its results were recorded']]);
});

test('a module is mutated when a suite its kills rest on changed or is gone, not when another suite changed', () => {
  expect(decide(held, [A, B], { ...same, [SUITE]: 's2' }).chosen).toEqual([
    [A, `${SUITE}, which killed mutants of it, changed`],
  ]);
  const { [SUITE]: _gone, ...withoutSuite } = same;
  expect(decide(held, [A, B], withoutSuite).chosen).toEqual([[A, `${SUITE}, which killed mutants of it, is gone`]]);
  expect(decide(held, [A, B], { ...same, 'test/http/edge.test.ts': 'e2' }).chosen).toEqual([]);
});

test('a module with no record: listed and not run under MUTATION_HELD_ONLY, run otherwise when changed, pending when not', () => {
  const NEW = 'src/http/newModule.ts';
  const UNTOUCHED = 'src/http/untouched.ts';
  const present = [A, B, NEW, UNTOUCHED];
  const hashes = { ...same, [NEW]: 'n1', [UNTOUCHED]: 'u1' };
  expect(decide(held, present, hashes, { heldOnly: true, changedSinceBase: [NEW] })).toEqual({
    chosen: [],
    pending: [UNTOUCHED],
    neverMutated: [NEW],
    gone: [],
  });
  expect(decide(held, present, hashes, { heldOnly: false, changedSinceBase: [NEW] })).toEqual({
    chosen: [[NEW, 'changed since abcdef1234 and never mutated']],
    pending: [UNTOUCHED],
    neverMutated: [],
    gone: [],
  });
});

test('a module out of process is never chosen; a record of a module that is gone is named', () => {
  const decided = decide(
    held,
    [A, 'src/main.ts'],
    { ...same, 'src/main.ts': 'm' },
    { changedSinceBase: ['src/main.ts'] },
  );
  expect(decided.chosen).toEqual([]);
  expect(decided.pending).toEqual([]);
  expect(decided.gone).toEqual([B]);
});

/** record.mjs's hash of `text`. */
const hashOf = (text: string) => run<string>('return record.hashOf(input);', text);

interface Entry {
  source: string;
  suites: Record<string, string>;
  mutants: number;
  killed: number;
  killedByBoundAlone: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  score: number;
  scoreWithoutBound: number;
  left: {
    at: string;
    status: string;
    mutator: string;
    original: string;
    replacement: string;
    why?: string;
    byBound?: boolean;
  }[];
}

test('a verdict on time alone is tested again until a confirming run gave it, and once Stryker gives it anew', () => {
  const bound = 'Exceeded timeout of 5000 ms for a test.';
  const out = run<{
    forgotten: number[];
    kept: string[][];
    stillBound: boolean;
    marks: number[];
    toConfirm: string[][];
  }>(
    `const { forgetUnconfirmed, markConfirmed, unconfirmedIn, CONFIRMED } = await import(${JSON.stringify(RUN)});
const cache = () => ({
  files: {
    [input.A]: { mutants: [
      { id: 't', status: 'Timeout' },
      { id: 'b', status: 'Killed', statusReason: input.bound },
      { id: 'k', status: 'Killed', statusReason: 'expected 1, got 2' },
      { id: 's', status: 'Survived' },
    ] },
    [input.B]: { mutants: [{ id: 'other', status: 'Timeout' }] },
  },
});
const ids = (c, m) => c.files[m].mutants.map((x) => x.id);
const fresh = cache();
const forgotten = [forgetUnconfirmed(fresh, [input.A])];
const confirmed = cache();
markConfirmed(confirmed, [input.A]);
markConfirmed(confirmed, [input.A]);
const marks = confirmed.files[input.A].mutants.map((x) => (x.statusReason ?? '').split(CONFIRMED).length - 1);
const toConfirm = [unconfirmedIn(cache()), unconfirmedIn(confirmed), unconfirmedIn(confirmed, [input.A])];
const reused = structuredClone(confirmed);
forgotten.push(forgetUnconfirmed(reused, [input.A]));
const retested = structuredClone(confirmed);
retested.files[input.A].mutants[1].statusReason = input.bound;
forgotten.push(forgetUnconfirmed(retested, [input.A, input.B]));
return {
  forgotten,
  kept: [ids(fresh, input.A), ids(reused, input.A), ids(retested, input.A), ids(retested, input.B)],
  stillBound: record.killedByBoundAlone(confirmed.files[input.A].mutants[1]),
  marks,
  toConfirm,
};`,
    { A, B, bound },
  );
  // Unconfirmed, both verdicts on time alone are tested again; the kill on a test's failure and the survivor stand.
  expect(out.forgotten).toEqual([2, 0, 2]);
  expect(out.kept[0]).toEqual(['k', 's']);
  // A confirming run marks each once; reused as it was, nothing is tested again, and the kill still counts as on a
  // bound alone.
  expect(out.marks).toEqual([1, 1, 0, 0]);
  expect(out.kept[1]).toEqual(['t', 'b', 'k', 's']);
  expect(out.stillBound).toBe(true);
  // Stryker tested one again (a fresh reason, unmarked): it is tested again; so is another module's unconfirmed one.
  expect(out.kept[2]).toEqual(['t', 'k', 's']);
  expect(out.kept[3]).toEqual([]);
  // `run.mjs confirm` takes only the modules with a verdict still to confirm.
  expect(out.toConfirm).toEqual([[A, B], [B], []]);
});

test("a record rebuilt from Stryker's results counts each verdict and keeps the reasons of the mutants still left", () => {
  const source = ['const a = 1;', 'if (a > 0) go();', 'const b = "x";', 'stop();', ''].join('\n');
  const loc = (line: number, from: number, to: number) => ({
    start: { line, column: from },
    end: { line, column: to },
  });
  const fileResult = {
    source,
    mutants: [
      { id: '1', mutatorName: 'EqualityOperator', replacement: 'a >= 0', status: 'Survived', location: loc(2, 5, 10) },
      { id: '2', mutatorName: 'StringLiteral', replacement: '""', status: 'NoCoverage', location: loc(3, 11, 14) },
      {
        id: '3',
        mutatorName: 'BlockStatement',
        replacement: '{}',
        status: 'Killed',
        killedBy: ['t1'],
        location: loc(2, 1, 17),
      },
      {
        id: '4',
        mutatorName: 'ConditionalExpression',
        replacement: 'true',
        status: 'Killed',
        killedBy: ['t2'],
        statusReason: 'thrown: Exceeded timeout of 5000 ms for a test.',
        location: loc(2, 5, 10),
      },
      {
        id: '5',
        mutatorName: 'ConditionalExpression',
        replacement: 'false',
        status: 'Killed',
        killedBy: ['t2'],
        statusReason: 'thrown: Exceeded timeout of 5000 ms for a test.',
        location: loc(2, 5, 10),
      },
      {
        id: '6',
        mutatorName: 'BlockStatement',
        replacement: '{}',
        status: 'Timeout',
        coveredBy: ['t3'],
        location: loc(4, 1, 8),
      },
      { id: '7', mutatorName: 'StringLiteral', replacement: '""', status: 'CompileError', location: loc(1, 1, 2) },
      { id: '8', mutatorName: 'StringLiteral', replacement: '""', status: 'Ignored', location: loc(1, 1, 2) },
    ],
  };
  const testFiles = {
    'test/a.test.ts': { tests: [{ id: 't1', name: 'one' }] },
    'test/b.test.ts': { tests: [{ id: 't2', name: 'two' }] },
    'test/c.test.ts': { tests: [{ id: 't3', name: 'three' }] },
  };
  const previous = {
    left: [
      // The same mutant on a line Prettier rewrote: found by mutator, code and replacement.
      {
        mutator: 'EqualityOperator',
        line: 'if (a>0) go()',
        original: 'a > 0',
        replacement: 'a >= 0',
        why: 'equal at 0',
      },
      // A bound-only kill planted by hand that passed: a survivor with its reason.
      {
        mutator: 'ConditionalExpression',
        line: 'if (a > 0) go();',
        original: 'a > 0',
        replacement: 'true',
        why: 'planted, passed',
      },
      { mutator: 'StringLiteral', line: 'gone();', original: '"y"', replacement: '""', why: 'a mutant now killed' },
      // A case added after the last run kills it: this run judges that case, so the reason is not carried (on the
      // bound-only kill below it would otherwise count as a survivor).
      {
        mutator: 'ConditionalExpression',
        line: 'if (a > 0) go();',
        original: 'a > 0',
        replacement: 'false',
        why: "Killed since the measurement by 'two' in b.test.ts, planted by hand.",
      },
    ],
  };
  const entry = run<Entry>(
    `return record.entryOf(input.fileResult, input.testFiles, input.previous, (file) => 'text of ' + file);`,
    { fileResult, testFiles, previous },
  );
  expect(entry).toMatchObject({
    // Ignored and compile errors do not count; the bound-only kill with a reason counts as a survivor.
    mutants: 6,
    killed: 2,
    killedByBoundAlone: 1,
    timeout: 1,
    survived: 2,
    noCoverage: 1,
    score: 50,
    scoreWithoutBound: 33.3,
  });
  // The suites that killed one (a, and b by its bound alone) or covered one that timed out (c), as they were.
  expect(entry.suites).toEqual({
    'test/a.test.ts': hashOf('text of test/a.test.ts'),
    'test/b.test.ts': hashOf('text of test/b.test.ts'),
    'test/c.test.ts': hashOf('text of test/c.test.ts'),
  });
  expect(entry.left.map((m) => [m.at, m.status, m.mutator, m.original, m.replacement, m.why, m.byBound])).toEqual([
    ['2:5-2:10', 'Survived', 'EqualityOperator', 'a > 0', 'a >= 0', 'equal at 0', undefined],
    ['3:11-3:14', 'NoCoverage', 'StringLiteral', '"x"', '""', undefined, undefined],
    ['2:5-2:10', 'Survived', 'ConditionalExpression', 'a > 0', 'true', 'planted, passed', true],
  ]);
});

test('a reason that shared its code with a "killed since" one stays ambiguous after a reformat', () => {
  // Two survivors of the same code and replacement on two lines: one equivalent, one killed since by a new case.
  const previous = {
    left: [
      { mutator: 'BooleanLiteral', line: 'a(true);', original: 'true', replacement: 'false', why: 'equivalent here' },
      {
        mutator: 'BooleanLiteral',
        line: 'b(true);',
        original: 'true',
        replacement: 'false',
        why: "Killed since the measurement by 'b' in b.test.ts, planted by hand.",
      },
    ],
  };
  // The new run, after Prettier rewrote both lines, leaves one of them: which one cannot be told, so no reason.
  const fileResult = {
    source: 'a( true );\nb( true );\n',
    mutants: [
      {
        id: '1',
        mutatorName: 'BooleanLiteral',
        replacement: 'false',
        status: 'Survived',
        location: { start: { line: 2, column: 4 }, end: { line: 2, column: 8 } },
      },
    ],
  };
  const entry = run<Entry>(`return record.entryOf(input.fileResult, {}, input.previous, () => '');`, {
    fileResult,
    previous,
  });
  expect(entry.left.map((m) => [m.at, m.why])).toEqual([['2:4-2:8', undefined]]);
});

test('carry takes a change for layout and imports only when that is all that differs', () => {
  const before = [
    "import { a } from './a';",
    "import type { B } from '../b';",
    '',
    'export function f(x: B) { return a(x, "one") }',
    '// a comment',
    'export const g = (y) => y + 1;',
    '',
  ].join('\n');
  const moved = [
    "import type { B } from '../../b';",
    "import { a } from '../a';",
    '',
    'export function f(x: B) {',
    "  return a(x, 'one');",
    '}',
    '',
    'export const g = (y) => y + 1;',
    '',
  ].join('\n');
  const changed = moved.replace('y + 1', 'y + 2');
  const reexported = `${moved}export { h } from './h';\n`;
  const compare = (next: string) =>
    run<boolean>(`return record.sameCode(input.before, input.next, 'src/http/sample.ts');`, { before, next });
  expect(compare(moved)).toBe(true);
  expect(compare(reexported)).toBe(true);
  expect(compare(changed)).toBe(false);
  expect(compare('export function f( {')).toBe(false);
});
