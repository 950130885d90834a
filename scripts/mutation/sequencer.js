const Sequencer = require('@jest/test-sequencer').default;
const { recordedTests } = require('./environment');

/**
 * The test order of mutation testing (stryker.jest.config.js). Stryker runs a mutant's covering
 * tests by name (jest's testNamePattern), which still loads every test file to find them: 48 files
 * and 40 s for a module every request passes through, before a test runs. With the names each file
 * held in the initial run (scripts/mutation/environment.js), a mutant's run loads only the files
 * that hold one of its tests, the fastest first (the environment stops at the first failure).
 * A file the initial run did not record (Stryker's --testFiles left it out) holds none of them.
 * Without a record or a pattern (jest run by hand) nothing changes.
 */
class MutationSequencer extends Sequencer {
  constructor(options) {
    super(options);
    this.testNamePattern = options?.globalConfig?.testNamePattern;
  }

  sort(tests) {
    const pattern = this.testNamePattern;
    const recorded = pattern ? testsByFile(tests) : undefined;
    if (!recorded) return super.sort(tests);
    const wanted = new RegExp(pattern, 'i');
    const cost = new Map();
    for (const test of tests) {
      const matching = (recorded.get(test.path) ?? []).filter(({ name }) => wanted.test(name));
      if (matching.length > 0)
        cost.set(
          test,
          matching.reduce((sum, { ms }) => sum + ms, 0),
        );
    }
    return [...cost.keys()].sort((a, b) => cost.get(a) - cost.get(b));
  }
}

/** The initial run's record of the files' tests (scripts/mutation/environment.js), or undefined. */
function testsByFile(tests) {
  const rootDir = tests[0]?.context.config.rootDir;
  return rootDir ? recordedTests(rootDir) : undefined;
}

module.exports = MutationSequencer;
