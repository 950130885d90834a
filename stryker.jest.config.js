// The jest configuration for mutation testing (stryker.config.json): the unit suites that judge the
// mutated modules on their own. The API, browser and process suites exercise the same code too, but
// at seconds per mutant; these settle every mutant in milliseconds (RELIABILITY.md#mutation-testing).
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch: [
    // Origins, CORS, rate limits, identity, attributes.
    '<rootDir>/test/config/originAllowlist.test.ts',
    '<rootDir>/test/http/cors.test.ts',
    '<rootDir>/test/http/rateLimits.test.ts',
    '<rootDir>/test/identity/identityVerifier.test.ts',
    '<rootDir>/test/session/attributes.test.ts',
    // Sealed tokens, idempotency, sends in doubt.
    '<rootDir>/test/session/sealing.test.ts',
    '<rootDir>/test/session/sessionToken.test.ts',
    '<rootDir>/test/session/rememberedTokens.test.ts',
    '<rootDir>/test/session/idempotency.test.ts',
    '<rootDir>/test/session/sendLedger.test.ts',
    // Guest API errors and correlation, the Platform token.
    '<rootDir>/test/genesys/guest/errors.test.ts',
    '<rootDir>/test/genesys/guest/pendingRequests.test.ts',
    '<rootDir>/test/genesys/guest/correlation.test.ts',
    '<rootDir>/test/genesys/platform/refreshingValue.test.ts',
    '<rootDir>/test/genesys/platform/tokenCache.test.ts',
    '<rootDir>/test/genesys/platform/tokenCacheAnswers.test.ts',
  ],
};
