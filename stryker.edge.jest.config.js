// Working config for the "edge" mutation group (origins, CORS, rate limits, identity, attributes):
// only the unit suites that judge those modules.
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch: [
    '<rootDir>/test/config/originAllowlist.test.ts',
    '<rootDir>/test/http/cors.test.ts',
    '<rootDir>/test/http/rateLimits.test.ts',
    '<rootDir>/test/identity/identityVerifier.test.ts',
    '<rootDir>/test/session/attributes.test.ts',
  ],
};
