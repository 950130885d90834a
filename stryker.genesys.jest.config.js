// Working config for the Guest API errors, correlation and token-cache group (stryker.genesys.config.json):
// only the unit suites that exercise those modules.
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/genesys'],
  // The suites that judge these modules on their own; the GuestSession suites kill nothing more (measured).
  testMatch: [
    '<rootDir>/test/genesys/guest/errors.test.ts',
    '<rootDir>/test/genesys/guest/pendingRequests.test.ts',
    '<rootDir>/test/genesys/guest/correlation.test.ts',
    '<rootDir>/test/genesys/platform/refreshingValue.test.ts',
    '<rootDir>/test/genesys/platform/tokenCache.test.ts',
    '<rootDir>/test/genesys/platform/tokenCacheAnswers.test.ts',
  ],
};
