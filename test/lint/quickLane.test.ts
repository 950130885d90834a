import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DEBIAN_PROGRAMS, NEEDS, debianProgram, requireRoot, type DebianPackage } from '../support/programs';

/**
 * The quick lane (`npm run test:quick`, jest.quick.config.js) runs every suite
 * except those marked `@needs <package|root>`. A suite that reaches a Debian
 * program (through test/support/programs.ts, or Chromium through
 * playwright-core) without the mark would fail there on a machine without the
 * packages: found here, by reading the imports, before anyone's laptop does.
 */
const ROOT = path.resolve(__dirname, '../..');
const TEST = path.join(ROOT, 'test');
const rel = (file: string) => path.relative(ROOT, file);

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return /\.test\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

const needsOf = (text: string) =>
  [...text.matchAll(/^\s*\*\s*@needs\s+([^\n*]+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));

/** A module's own relative imports (static, dynamic, require), resolved to files. */
function importsOf(file: string, text: string): string[] {
  // A type-only import is gone at run time: it starts nothing.
  const code = text.replace(/^import type [^;]*;/gm, '');
  const specifiers = [
    ...code.matchAll(/(?:from\s+|import\s*\(?\s*|require(?:\.resolve)?\(\s*)'(\.{1,2}\/[^']+)'/g),
  ].map((m) => m[1]!);
  return specifiers.flatMap((specifier) => {
    const base = path.resolve(path.dirname(file), specifier);
    const found = [base, `${base}.ts`, path.join(base, 'index.ts')].find(
      (candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile(),
    );
    return found ? [found] : [];
  });
}

const VARIABLES = new RegExp(
  `process\\.env\\.(${Object.values(DEBIAN_PROGRAMS)
    .map((p) => p.variable)
    .join('|')})\\b`,
);

/** What a suite reaches that starts a system program: the modules that call for one or read where one is, and playwright-core (Chromium). */
function systemProgramsReached(suite: string): string[] {
  const seen = new Set<string>();
  const reasons: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file) || !/\.(ts|js|cjs)$/.test(file)) return;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    if (/\b(debianProgram|requireRoot)\(\s*'/.test(text) || VARIABLES.test(text)) reasons.push(rel(file));
    if (/from 'playwright-core'/.test(text)) reasons.push(`${rel(file)} (playwright-core)`);
    for (const imported of importsOf(file, text)) visit(imported);
  };
  visit(suite);
  return reasons;
}

const suites = testFiles(TEST);
const marked = new Map(suites.map((file) => [file, needsOf(fs.readFileSync(file, 'utf8'))]));
/** `@lane full <why>`: what a suite costs by design that keeps it out of the quick lane. */
const fullLane = new Map(
  suites.flatMap((file) => {
    const why = /^\s*\*\s*@lane full\b(.*)$/m.exec(fs.readFileSync(file, 'utf8'))?.[1];
    return why === undefined ? [] : [[file, why.trim()] as const];
  }),
);

test('every suite that starts a Debian program or needs root says so with @needs', () => {
  // This suite calls the helpers only to see them refuse.
  const unmarked = suites
    .filter((suite) => suite !== __filename)
    .flatMap((suite) => {
      const reached = systemProgramsReached(suite);
      return reached.length > 0 && marked.get(suite)!.length === 0
        ? [`${rel(suite)} reaches ${reached.join(', ')}`]
        : [];
    });
  expect(unmarked).toEqual([]);
});

test('the programs are those scripts/test-prerequisites.sh installs, looked for where it looks', () => {
  const script = fs.readFileSync(path.join(ROOT, 'scripts/test-prerequisites.sh'), 'utf8');
  const packages = /^packages=\(([^)]*)\)/m.exec(script)![1]!.trim().split(/\s+/);
  const binaries = [.../^binaries=\(([^)]*)\)/m.exec(script)![1]!.matchAll(/"\$\{(\w+):-([^}]+)\}"/g)].map((m) => ({
    variable: m[1],
    path: m[2],
  }));
  expect(Object.fromEntries(packages.map((pkg, i) => [pkg, binaries[i]]))).toEqual(DEBIAN_PROGRAMS);
});

test('@needs names only Debian packages the full run installs, or root', () => {
  const unknown = [...marked].flatMap(([suite, needs]) =>
    needs.filter((need) => !(NEEDS as readonly string[]).includes(need)).map((need) => `${rel(suite)}: ${need}`),
  );
  expect(unknown).toEqual([]);
});

test('each suite kept for the full lane says why', () => {
  expect([...fullLane].filter(([, why]) => why.length < 10).map(([suite]) => rel(suite))).toEqual([]);
});

test('the quick lane runs exactly the suites without @needs or @lane full', () => {
  const listed = spawnSync(
    process.execPath,
    [require.resolve('jest/bin/jest'), '-c', 'jest.quick.config.js', '--listTests'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  expect(listed.status).toBe(0);
  const selected = listed.stdout.split('\n').filter(Boolean).map(rel).sort();
  const expected = suites
    .filter((suite) => marked.get(suite)!.length === 0 && !fullLane.has(suite))
    .map(rel)
    .sort();
  expect(selected).toEqual(expected);
  // What it leaves out is what npm test installs for: the browser, Redis, nginx, HAProxy, podman.
  expect(suites.length - selected.length).toBeGreaterThanOrEqual(5);
});

describe('in the quick lane, the helpers refuse a Debian program or root, naming the mark to add', () => {
  const lane = process.env.BFF_TEST_LANE;
  beforeEach(() => (process.env.BFF_TEST_LANE = 'quick'));
  afterEach(() => (lane === undefined ? delete process.env.BFF_TEST_LANE : (process.env.BFF_TEST_LANE = lane)));

  test.each(Object.keys(DEBIAN_PROGRAMS) as DebianPackage[])('%s', (pkg) => {
    expect(() => debianProgram(pkg)).toThrow(`Add \`@needs ${pkg}\` to the suite's docblock`);
  });

  test('root', () => {
    expect(() => requireRoot('a test of rootful podman')).toThrow('Add `@needs root`');
  });
});

test('outside the quick lane, a missing program is named with its package and variable', () => {
  const lane = process.env.BFF_TEST_LANE;
  const variable = DEBIAN_PROGRAMS['redis-server'].variable;
  const saved = process.env[variable];
  delete process.env.BFF_TEST_LANE;
  process.env[variable] = path.join(TEST, 'no-such-redis-server');
  try {
    expect(() => debianProgram('redis-server')).toThrow(
      `no-such-redis-server is missing: install Debian's redis-server`,
    );
  } finally {
    if (saved === undefined) delete process.env[variable];
    else process.env[variable] = saved;
    if (lane !== undefined) process.env.BFF_TEST_LANE = lane;
  }
});
