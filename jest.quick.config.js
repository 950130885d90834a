const fs = require('node:fs');
const path = require('node:path');
const base = require('./jest.config');
const programs = require('./test/support/debianPrograms.json');

/**
 * The quick lane, `npm run test:quick`: every suite that runs as any user on a machine with
 * none of the Debian packages `npm test` installs. A suite that starts one of them (or must run
 * as root) says so in its docblock with `@needs <package|root> ...` and is left out here; the
 * helpers that start those programs (test/support/programs.ts) refuse to in this lane, and
 * test/lint/quickLane.test.ts checks that every suite reaching one carries the mark. A suite
 * that costs minutes of CPU by design (a load loop, a full build) says `@lane full <why>`:
 * `npm test` runs it, this lane does not, so that it stays within two minutes.
 */
const TEST_ROOT = path.join(__dirname, 'test');

/** What a test file's `@needs` lines name, in order. */
function needsOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*\*\s*@needs\s+([^\n*]+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/));
}

function testFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const fullLaneOnly = (file) => /^\s*\*\s*@lane full\b/m.test(fs.readFileSync(file, 'utf8'));
const leftOut = testFiles(TEST_ROOT).filter((file) => needsOf(file).length > 0 || fullLaneOnly(file));

// The lane behaves the same on a machine that has the packages as on one that has none: each
// program's variable names a path that does not exist, for the suites and any process they start.
// Set here, in the process that starts the workers, so that they and their children inherit it.
process.env.BFF_TEST_LANE = 'quick';
for (const [pkg, { variable }] of Object.entries(programs))
  process.env[variable] = `/nonexistent/not-in-the-quick-lane/${pkg}`;

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/', ...leftOut.map((file) => `^${escapeRegExp(file)}$`)],
  // Most suites wait on sockets and timers rather than compute: four workers keep two cores busy.
  maxWorkers: 4,
};
