const os = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts', '**/*.test.tsx'],
  setupFiles: ['<rootDir>/test/setup/env.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup/restoreNock.ts', '<rootDir>/test/setup/documentedAnswers.ts'],
  transform: {
    // jose 6 ships ES modules only; ts-jest turns them into CommonJS for the test runtime.
    '^.+\\.(tsx?|js)$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true, jsx: 'react-jsx' } }],
  },
  // The client package's ES modules import their siblings as `./x.js` (for browsers and bundlers); here they are `./x.ts`.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transformIgnorePatterns: ['/node_modules/(?!(jose|temporal-polyfill|temporal-utils)/)'],
  // Only bounds a hang: the machines that run this share their cores, and a test that takes
  // seconds alone can take several times that there. No verdict may depend on it.
  testTimeout: 60000,
  // Tests run in a worker that is replaced once it holds more than this after a file, rather than in band: on a
  // two-core machine Jest would run every file in one process, whose heap then grows until Node aborts.
  workerIdleMemoryLimit: '1GB',
  // Jest's default (one less than the cores) is one worker on a two-core machine: most suites wait on sockets,
  // browsers and timers rather than compute, so two files at a time nearly halve the run there and hold on it
  // (every suite waits on events, not time).
  maxWorkers: Math.max(2, os.availableParallelism() - 1),
};
