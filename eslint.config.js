const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

/** An import of one of `folders` (a sibling folder of src/, reached by any number of `../`). */
const upward = (folders) => ({
  regex: `^(\\.\\./)+(${folders.join('|')})(/|$)`,
  message: 'Layers point downward: this module may not import from a higher layer (docs/architecture.md).',
});

/**
 * The browser client, reached from src/: only its transcript layout and locale (pure, compiled with the service into
 * dist/client/src/ with the word catalogues the locale reads, and shipped in its image); everything else in client/
 * needs a browser.
 */
const clientDoor = {
  regex: '^(\\.\\./)+client/(?!src/transcript(Layout|Locale)(\\.js)?$)',
  message:
    'The service takes two modules from the browser client, client/src/transcriptLayout and transcriptLocale, ' +
    'built with it and copied into its image (docs/architecture.md).',
};

function layerRules() {
  // Each layer, and the folders above it that it may never import.
  const above = {
    domain: [
      'config',
      'observability',
      'scheduling',
      'store',
      'webhooks',
      'genesys',
      'session',
      'http',
      'deployments',
      'tools',
      'demo',
      'top',
    ],
    config: [
      'observability',
      'scheduling',
      'store',
      'webhooks',
      'genesys',
      'session',
      'http',
      'deployments',
      'tools',
      'demo',
      'top',
    ],
    observability: [
      'scheduling',
      'store',
      'webhooks',
      'genesys',
      'session',
      'http',
      'deployments',
      'tools',
      'demo',
      'top',
    ],
    scheduling: ['store', 'webhooks', 'genesys', 'session', 'http', 'deployments', 'tools', 'demo', 'top'],
    // The shared store (memory or Redis) sits on the bottom layers: what any layer above may keep across instances.
    store: ['webhooks', 'genesys', 'session', 'http', 'deployments', 'tools', 'demo', 'top'],
    // Webhooks: chat events into the shared store's outbox and their delivery; below the Genesys side that tells them.
    webhooks: ['genesys', 'session', 'http', 'deployments', 'tools', 'demo', 'top'],
    genesys: ['session', 'http', 'deployments', 'tools', 'demo', 'top'],
    session: ['http', 'deployments', 'tools', 'demo', 'top'],
    http: ['deployments', 'tools', 'demo', 'top'],
    // The deployments: what the process builds once, each deployment's parts on it, and which a request is for.
    deployments: ['tools', 'demo', 'top'],
    // Operator tools talk to Genesys like the service does, beside it: never through its HTTP layer.
    tools: ['session', 'http', 'deployments', 'demo', 'top'],
  };
  // `top` stands for the process's life: the modules directly in src/ (server, processMain, main).
  const TOP = ['server', 'processMain', 'processFailures', 'main'];
  const patternsFor = (folders) => {
    const named = folders.filter((f) => f !== 'top');
    const patterns = [upward([...named, 'simulator']), clientDoor];
    if (folders.includes('top')) patterns.push(upward(TOP));
    return patterns;
  };
  return Object.entries(above)
    .map(([layer, folders]) => ({
      files: [`src/${layer}/**/*.ts`],
      rules: { 'no-restricted-imports': ['error', { patterns: patternsFor(folders) }] },
    }))
    .concat([
      {
        files: ['src/server.ts'],
        rules: {
          'no-restricted-imports': [
            'error',
            {
              patterns: [
                upward(['demo', 'simulator']),
                clientDoor,
                {
                  regex: '^\\./(demo|main|processMain)(/|$)',
                  message: 'server sits below main, processMain and the demo.',
                },
              ],
            },
          ],
        },
      },
    ]);
}

module.exports = tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'bench/results/**',
      'test-output/**',
      '.stryker-tmp/**',
      'reports/**',
      'examples/nextjs/.next/**',
      'examples/nextjs/node_modules/**',
      'examples/nextjs/next-env.d.ts',
      // A copy of client/sw.js (linted there) that the example's build puts in place (copy-service-worker.mjs).
      'examples/nextjs/public/chat-sw.js',
      'client/dist/**',
    ],
  },
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
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The demo page: a browser ES module, typechecked by examples/static-chat/tsconfig.json.
    files: ['examples/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'sessionStorage',
          'crypto',
          'btoa',
          'CSS',
          'TextEncoder',
          'URL',
          'URLSearchParams',
          'AbortController',
          'setTimeout',
          'clearTimeout',
          'console',
        ].map((name) => [name, 'readonly']),
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
    // Every module of src/ that no layer rule below covers (a later rule replaces this one's patterns).
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [clientDoor] }] },
  },
  {
    // Compiled into the service too: the locale reads the layout and the catalogues, nothing that needs a browser.
    files: ['client/src/transcriptLocale.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./transcriptLayout\\.js$|\\./wording/index\\.js$)',
              message: 'The transcript locale reads only the layout and the word catalogues: the service compiles it.',
            },
          ],
        },
      ],
    },
  },
  {
    // The catalogues the service compiles with the locale: they read nothing but each other.
    files: ['client/src/wording/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./[^/]+$)',
              message: 'A word catalogue reads only its sibling catalogues: the service compiles them.',
            },
          ],
        },
      ],
    },
  },
  {
    // Compiled into the service as well as the client: it stays self-contained, so the service takes nothing else.
    files: ['client/src/transcriptLayout.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '.', message: 'The transcript layout imports nothing: the service compiles it too.' }] },
      ],
    },
  },
  // Layers, from the bottom: domain, config, observability, scheduling, store; genesys; session;
  // http; then the composition root in src/. A module imports only from its own layer or below
  // (docs/architecture.md); only the demo may load the simulator.
  ...layerRules(),
  {
    // A folder with an index.ts is a unit: others import only its front door.
    files: ['src/**/*.ts'],
    plugins: { local: require('./scripts/eslint/frontDoors') },
    rules: { 'local/front-doors': 'error' },
  },
  {
    // A length limit is a ceiling, not a target: a file is split where a concept ends, so these
    // only warn. Width is a rule: Prettier wraps code at 120, and comments and strings follow.
    files: ['src/**/*.ts', 'simulator/**/*.ts', 'client/**/*.ts', 'client/**/*.tsx'],
    rules: {
      'max-lines': ['warn', { max: 500 }],
      'max-lines-per-function': ['warn', { max: 100, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // No line in src/ over 120 characters: Prettier wraps code, comments and strings are wrapped
    // by hand (a string cut into concatenated pieces keeps its value). A URL cannot be cut.
    files: ['src/**/*.ts'],
    rules: { 'max-len': ['error', { code: 120, ignoreUrls: true }] },
  },
  {
    // A React hook's body is one component's state and its callbacks, read top to bottom; the hooks
    // are split by concern into files (useChat, useUploads, conversation) rather than cut to 80 lines.
    files: ['client/src/react/use*.ts'],
    rules: { 'max-lines-per-function': ['warn', { max: 260 }] },
  },
  {
    files: ['bench/**', 'simulator/main.ts', 'src/main.ts', 'src/tools/*Main.ts'],
    rules: { 'no-console': 'off' },
  },
);
