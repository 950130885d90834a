const fs = require('node:fs');
const path = require('node:path');
const base = require('./jest.config.js');

/**
 * The jest configuration for mutation testing (stryker.config.json; docs/testing.md#mutation-testing):
 * the suites that can judge src/ in this process. A run takes those of them that judge the modules it
 * mutates (scripts/mutation/judges.js, as Stryker's --testFiles), and runs for each mutant only the
 * tests that covered it in the initial run (`coverageAnalysis: perTest`), loading only the files
 * that hold them and stopping at the first failure (scripts/mutation/).
 *
 * Left out, the suites that cannot judge a mutant or would cost minutes each:
 * - any suite that starts a Debian program other than redis-server (`@needs`), or costs minutes by
 *   design (`@lane full`). A suite that needs only redis-server runs the service in this process
 *   beside a Redis child (test/support/redis.ts), so it judges the store and the limits on Redis:
 *   those run where redis-server is installed, as in CI after `npm test`;
 * - the suites that judge something other than src/ and client/src/: the browser (the built kit in
 *   Chromium), the deployment files, the docs, lint rules, scripts, the simulator and the test helpers;
 * - the suites that only run the service as its own process (busyPort, shutdown), and the README
 *   walk-throughs that run shell and curl: a child's coverage is not seen per test;
 * - the stream fuzz loop (one test of seconds that covers the whole stream path) and the event
 *   loop check (a verdict on timing).
 */
const TEST_ROOT = path.join(__dirname, 'test');
/** The one Debian program a judging suite may start: the service stays in this process. */
const IN_PROCESS_WITH = ['redis-server'];

const NOT_OF_SRC = ['browser', 'deploy', 'docs', 'lint', 'scripts', 'simulator', 'support'];
const LEFT_OUT = [
  'server/busyPort.test.ts',
  'hostile/shutdown.test.ts',
  'api/readmeCurl.test.ts',
  'api/readmeIdentity.test.ts',
  'hostile/streamFuzz.test.ts',
  'observability/eventLoopCheck.test.ts',
];

function testFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return /\.test\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

function judges(file) {
  const relative = path.relative(TEST_ROOT, file).split(path.sep).join('/');
  if (NOT_OF_SRC.includes(relative.split('/')[0]) || LEFT_OUT.includes(relative)) return false;
  const text = fs.readFileSync(file, 'utf8');
  const needs = [...text.matchAll(/^\s*\*\s*@needs\s+([^\n*]+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/));
  return needs.every((need) => IN_PROCESS_WITH.includes(need)) && !/^\s*\*\s*@lane full\b/m.test(text);
}

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch: testFiles(TEST_ROOT)
    .filter(judges)
    .map((file) => `<rootDir>/${path.relative(__dirname, file).split(path.sep).join('/')}`)
    .sort(),
  // Stops a mutant's run at its first failing test, and records each file's tests for the sequencer.
  testEnvironment: path.join(__dirname, 'scripts/mutation/environment.js'),
  // Loads only the files that hold a mutant's covering tests, fastest first.
  testSequencer: path.join(__dirname, 'scripts/mutation/sequencer.js'),
};
