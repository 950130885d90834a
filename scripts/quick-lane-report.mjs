#!/usr/bin/env node
// What `npm run test:quick` prints when a suite failed: which suites, how to run just them, and how to tell a
// failure of timing (the lane's workers on a loaded machine) from a real one. Reads jest's --json results.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

/** The failed suites of a jest --json result, each with its failed tests' names, in the order jest ran them. */
export function failedSuites(results, root = process.cwd()) {
  return results.testResults
    .filter((suite) => suite.status === 'failed')
    .map((suite) => ({
      file: path.relative(root, suite.name),
      failed: suite.assertionResults.filter((t) => t.status === 'failed').map((t) => t.fullName),
      // A suite that failed before any test ran (it did not compile, a beforeAll threw) names no test.
      message: suite.failureMessage ?? '',
    }));
}

/** The lines printed after a failed run. */
export function report(suites) {
  if (suites.length === 0) return [];
  const lines = [
    '',
    `npm run test:quick: ${suites.length} suite${suites.length === 1 ? '' : 's'} failed:`,
    ...suites.flatMap((s) => [
      `  ${s.file}`,
      ...(s.failed.length > 0 ? s.failed.map((name) => `      ${name}`) : ['      (before any of its tests ran)']),
    ]),
    '',
    'Run each again alone, one worker, nothing beside it:',
    `  npx jest ${suites.map((s) => s.file).join(' ')} --maxWorkers=1`,
    'or, for the failures of the last run, as jest remembers them:',
    '  npx jest -c jest.quick.config.js --onlyFailures --maxWorkers=1',
    '',
    'A suite that fails again alone is a real failure. One that passes alone failed on timing: the lane runs four',
    'workers beside lint, and on a machine whose cores are busy a wait can overrun a bound meant for a hang, or a',
    "timing suite's bound. Say which suite and test in the report; a test should wait on an event, not a clock",
    '(docs/testing.md, "Waiting in a test").',
    '',
  ];
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  const results = JSON.parse(fs.readFileSync(file, 'utf8'));
  process.stderr.write(report(failedSuites(results)).join('\n'));
}
