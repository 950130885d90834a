/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/setup/env.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup/restoreNock.ts', '<rootDir>/test/setup/documentedAnswers.ts'],
  transform: {
    // jose 6 ships ES modules only; ts-jest turns them into CommonJS for the test runtime.
    '^.+\\.(ts|js)$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  // Only bounds a hang: the machines that run this share their cores, and a test that takes
  // seconds alone can take several times that there. No verdict may depend on it.
  testTimeout: 60000,
};
