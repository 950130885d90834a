import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Mutation testing covers the browser kit as well as the service (docs/testing.md#mutation-testing): its modules
 * are found, judged by its own suites, type-checked as the kit is built, in runs of their own; and its jsdom suites,
 * which name their environment in a docblock, get per-test coverage and the mutation run's roles in a Stryker
 * worker. The scripts are ES modules: each case runs in a node of its own.
 */
const ROOT = path.join(__dirname, '../..');
const urlOf = (file: string) => pathToFileURL(path.join(ROOT, file)).href;

function run<T>(body: string, env: Record<string, string> = {}): T {
  return JSON.parse(
    execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `process.stdout.write(JSON.stringify(await (async () => { ${body} })()));`],
      {
        encoding: 'utf8',
        cwd: ROOT,
        env: { ...process.env, ...env },
      },
    ),
  ) as T;
}

test('the modules to mutate are those of src/ and client/src/, .tsx too, without the front doors that only re-export', () => {
  const modules = run<string[]>(
    `const { sourceModules } = await import(${JSON.stringify(urlOf('scripts/mutation/results.mjs'))}); return sourceModules();`,
  );
  expect(modules).toContain('src/server.ts');
  expect(modules).toContain('client/src/stream.ts');
  expect(modules).toContain('client/src/react/Composer.tsx');
  expect(modules).not.toContain('client/src/index.ts');
  expect(modules).not.toContain('client/src/react/index.ts');
  expect(modules.filter((m) => !m.startsWith('src/') && !m.startsWith('client/src/'))).toEqual([]);
});

test("a run holds one kind of module: the kit's are type-checked with client/tsconfig.json, the service's as built", () => {
  const out = run<{ groups: string[][]; client: string; service: string; mixed: string }>(
    `const { byKind, runConfigOf } = await import(${JSON.stringify(urlOf('scripts/mutation/run.mjs'))});
let mixed = '';
try { runConfigOf(['src/a.ts', 'client/src/b.ts']); } catch (error) { mixed = error.message; }
return {
  groups: byKind(['client/src/a.ts', 'src/b.ts', 'client/src/react/C.tsx', 'src/d.ts']),
  client: runConfigOf(['client/src/a.ts']).tsconfigFile,
  service: runConfigOf(['src/b.ts']).tsconfigFile,
  mixed,
};`,
  );
  expect(out.groups).toEqual([
    ['src/b.ts', 'src/d.ts'],
    ['client/src/a.ts', 'client/src/react/C.tsx'],
  ]);
  expect(out.client).toBe('client/tsconfig.json');
  expect(out.service).toBe('tsconfig.build.json');
  expect(out.mixed).toMatch(/one kind/);
});

test("the kit's modules are judged by its in-process suites, not by the one that installs from the registry", () => {
  const out = run<{ judges: string[] }>(
    `const record = await import(${JSON.stringify(urlOf('scripts/mutation/record.mjs'))});
return { judges: record.judgesOfAll(['client/src/react/Composer.tsx']) };`,
  );
  expect(out.judges).toContain('test/client/react/useChat.test.tsx');
  expect(out.judges).toContain('test/client/streamRetry.test.ts');
  expect(out.judges).not.toContain('test/client/packInstall.test.ts');
  expect(out.judges.every((suite) => suite.startsWith('test/client/'))).toBe(true);
});

test("in a Stryker worker the kit's jsdom environment carries Stryker's coverage and the mutation run's roles", () => {
  const chain = (env: Record<string, string>) =>
    execFileSync(
      process.execPath,
      [
        '-e',
        `const names = []; for (let c = require('./test/support/jsdomWithFetch.js'); c && c.name; c = Object.getPrototypeOf(c)) names.push(c.name);
process.stdout.write(JSON.stringify(names.slice(0, 3)));`,
      ],
      { encoding: 'utf8', cwd: ROOT, env: { ...process.env, STRYKER_MUTATOR_WORKER: '', ...env } },
    );
  expect(JSON.parse(chain({ STRYKER_MUTATOR_WORKER: '1' }))).toEqual([
    'StrykerJestEnvironment',
    'MutationTestEnvironment',
    'JsdomWithFetch',
  ]);
  expect(JSON.parse(chain({}))[0]).toBe('JsdomWithFetch');
});

test('a jest worker runs one mutant unless MUTATION_RUNNER_REUSE says more, and a value that is no count is refused', () => {
  const reuse = (value?: string) =>
    run<number | string>(
      `const { runConfigOf } = await import(${JSON.stringify(urlOf('scripts/mutation/run.mjs'))});
try { return runConfigOf(['src/a.ts']).maxTestRunnerReuse; } catch (error) { return error.message; }`,
      value === undefined ? {} : { MUTATION_RUNNER_REUSE: value },
    );
  expect(reuse()).toBe(1);
  expect(reuse('')).toBe(1);
  expect(reuse('4')).toBe(4);
  expect(reuse('999')).toBe(999);
  for (const bad of ['0', '1000', '2.5', 'four', '-1']) expect(reuse(bad)).toMatch(/MUTATION_RUNNER_REUSE must be/);
});
