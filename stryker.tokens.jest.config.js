// Mutation testing of the sealed tokens, idempotency and sends-in-doubt group (stryker.tokens.config.json):
// only the unit suites that judge those modules.
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/session'],
  testMatch: ['**/test/session/(sealing|sessionToken|idempotency|sendLedger).test.ts'],
};
