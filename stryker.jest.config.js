// The jest configuration for mutation testing (stryker.config.json): the project's own, without the
// suites that test processes, browsers and deployment files rather than the mutated modules (they
// would only make each mutant slower to judge).
const base = require('./jest.config.js');

module.exports = {
  ...base,
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/browser/',
    '<rootDir>/test/scale/',
    '<rootDir>/test/demo/',
    '<rootDir>/test/deploy/',
    '<rootDir>/test/scripts/',
    '<rootDir>/test/lint/',
    '<rootDir>/test/hostile/(load|fuzz|uploadMemory|shutdown)\\.test\\.ts$',
    '<rootDir>/test/simulator/main\\.test\\.ts$',
  ],
};
