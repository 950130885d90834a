const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**', 'test-output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The demo page: a browser ES module, typechecked by examples/static-chat/tsconfig.json.
    files: ['examples/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'CSS', 'TextEncoder', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'console'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // pino-http's per-request loggers redact the exact paths only (src/http/app.ts): the service logs through its logger.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'req', property: 'log', message: 'Log through the service logger, which redacts every path.' },
        { object: 'res', property: 'log', message: 'Log through the service logger, which redacts every path.' },
      ],
    },
  },
  {
    files: ['scripts/**', 'bench/**', 'simulator/main.ts', 'src/main.ts'],
    rules: { 'no-console': 'off' },
  },
);
