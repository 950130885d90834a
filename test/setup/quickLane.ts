// Loaded by jest.quick.config.js only: test/support/programs.ts refuses Debian programs and root in this lane.
process.env.BFF_TEST_LANE = 'quick';
