// Working config for the Guest API errors, correlation and token-cache group (stryker.genesys.config.json):
// only the unit suites that exercise those modules.
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/genesys'],
  testMatch: [
    '<rootDir>/test/genesys/guest/*.test.ts',
    '<rootDir>/test/genesys/platform/refreshingValue.test.ts',
    '<rootDir>/test/genesys/platform/tokenCache.test.ts',
    '<rootDir>/test/genesys/platform/tokenCacheAnswers.test.ts',
  ],
  // The 100-session load test adds nothing these modules' unit suites do not, and is slow.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/genesys/guest/sessionHub\\.test\\.ts$'],
};
