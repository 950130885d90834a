const fs = require('node:fs');
const path = require('node:path');
const { TestEnvironment } = require('jest-environment-node');

/**
 * The test environment of mutation testing (stryker.jest.config.js), in two roles Stryker's jest
 * runner does not play itself:
 *
 * - In the initial run (no active mutant) it records which tests each file holds and how long they
 *   took, for the sequencer (scripts/mutation/sequencer.js) to run only the files that hold a
 *   mutant's covering tests, fastest first.
 * - In a mutant's run it stops at the first failing test: the mutant is killed, and the rest of its
 *   covering tests (often hundreds of API tests for a module every request passes through) would
 *   only repeat the verdict. Stryker's jest runner cannot bail (jest offers no bail to runCLI).
 *
 * Stryker wraps this class with its own (per-test coverage), which calls this one's handler first.
 */
const ACTIVE_MUTANT = '__STRYKER_ACTIVE_MUTANT__';
/** The file the initial run writes, one JSON line per test file: { file, tests: [{ name, ms }] }. */
const TEST_NAMES_FILE = '.mutation-test-names.jsonl';

/** The mutant whose run saw a failing test (module state: every test file of a run shares it). */
let killedMutant;

const fullName = (test) => {
  const names = [];
  for (let block = test.parent; block?.parent; block = block.parent) names.unshift(block.name);
  return [...names, test.name].join(' ');
};

/**
 * A mutant's test may take this long: five times what it took in the initial run, plus 2 s, and at
 * least 5 s. A test that hangs under a mutant then fails in jest (killed), instead of waiting for
 * Stryker's timeout of the whole run (twice its tests' time plus timeoutMS) and a worker restart:
 * either way the mutant is detected, and the time saved is most of a run's. A test the initial run
 * did not record keeps its own timeout.
 */
const boundFor = (ms) => Math.max(5000, 5 * ms + 2000);

/** The initial run's record, file by file ({ name, ms } each), or undefined when there is none. */
function recordedTests(rootDir) {
  let text;
  try {
    text = fs.readFileSync(path.join(rootDir, TEST_NAMES_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const byFile = new Map();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const { file, tests } = JSON.parse(line);
    byFile.set(file, [...(byFile.get(file) ?? []), ...tests]);
  }
  return byFile;
}

/** The initial run's durations, by file and test name (read once per worker). */
let recordedMs;

function boundTest(rootDir, testPath, test) {
  if (!recordedMs) {
    recordedMs = new Map();
    // No record (jest run by hand): every test keeps its own timeout.
    for (const [file, tests] of recordedTests(rootDir) ?? []) {
      for (const { name, ms } of tests) recordedMs.set(`${file}\0${name}`, ms);
    }
  }
  const ms = recordedMs.get(`${testPath}\0${fullName(test)}`);
  if (ms === undefined) return;
  const bound = boundFor(ms);
  if (test.timeout === undefined || test.timeout > bound) test.timeout = bound;
}

/** `Base` with the two roles above: stryker.jest.config.js's environment for Node; jsdom's for the kit's suites. */
function withMutationRoles(Base) {
  return class MutationTestEnvironment extends Base {
    constructor(config, context) {
      super(config, context);
      this.testPath = context.testPath;
      this.rootDir = config.projectConfig.rootDir;
      this.tests = [];
    }

    async handleTestEvent(event) {
      const mutant = process.env[ACTIVE_MUTANT];
      if (mutant === undefined) {
        if (event.name === 'test_done') this.tests.push({ name: fullName(event.test), ms: event.test.duration ?? 0 });
        else if (event.name === 'run_finish') {
          const line = JSON.stringify({ file: this.testPath, tests: this.tests });
          fs.appendFileSync(path.join(this.rootDir, TEST_NAMES_FILE), `${line}\n`);
        }
        return;
      }
      if (event.name === 'test_start') boundTest(this.rootDir, this.testPath, event.test);
      if (event.name === 'test_done' && event.test.errors.length > 0) killedMutant = mutant;
      if (killedMutant !== mutant) return;
      // Killed already: the rest of this run is skipped. A block not yet started skips its hooks too
      // (the servers a file starts); one already started still runs its afterAll.
      if (event.name === 'run_describe_start') event.describeBlock.mode = 'skip';
      else if (event.name === 'test_start') event.test.mode = 'skip';
    }
  };
}

module.exports = withMutationRoles(TestEnvironment);
module.exports.withMutationRoles = withMutationRoles;
module.exports.TEST_NAMES_FILE = TEST_NAMES_FILE;
module.exports.recordedTests = recordedTests;
