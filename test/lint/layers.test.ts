import path from 'node:path';
import { ESLint } from 'eslint';

/** The layer rule in eslint.config.js refuses an upward import, so `npm test` (lint first) fails on one. */
// The project's own config, passed in (ESLint cannot load a config file by dynamic import under jest).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const config = require('../../eslint.config.js') as ESLint.Options['overrideConfig'];
const eslint = new ESLint({ cwd: path.join(__dirname, '../..'), overrideConfigFile: true, overrideConfig: config });

async function errorsOf(rule: string, file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(__dirname, '../..', file) });
  return result!.messages.filter((m) => m.ruleId === rule).map((m) => m.message);
}
const layerErrors = (file: string, code: string) => errorsOf('no-restricted-imports', file, code);
const doorErrors = (file: string, code: string) => errorsOf('local/front-doors', file, code);

test.each([
  ['src/session/anything.ts', "import '../http/app';\n"],
  ['src/genesys/guest/anything.ts', "import '../../session/guestChat';\n"],
  ['src/domain/anything.ts', "import '../config/schema';\n"],
  ['src/http/anything.ts', "import '../server';\n"],
  ['src/server.ts', "import './demo/demoServer';\n"],
  ['src/store/anything.ts', "import '../session/guestChat';\n"],
  ['src/scheduling/anything.ts', "import '../store';\n"],
  ['src/http/anything.ts', "import '../deployments';\n"],
  ['src/session/anything.ts', "import '../deployments/servedDeployment';\n"],
  ['src/deployments/anything.ts', "import '../server';\n"],
  ['src/deployments/anything.ts', "import '../demo/demoServer';\n"],
  ['src/tools/anything.ts', "import '../deployments';\n"],
])(
  '%s may not import upward: %s',
  async (file, code) => {
    expect(await layerErrors(file, code)).toHaveLength(1);
  },
  30_000,
);

test.each([
  ['src/http/anything.ts', "import '../session/guestChat';\n"],
  ['src/session/anything.ts', "import '../genesys/guest/sessionHub';\n"],
  ['src/genesys/guest/anything.ts', "import '../../domain/errors';\n"],
  ['src/session/anything.ts', "import '../store/sharedStore';\n"],
  ['src/deployments/anything.ts', "import '../http';\n"],
  ['src/deployments/anything.ts', "import '../session';\n"],
  ['src/server.ts', "import './deployments';\n"],
])(
  '%s may import downward: %s',
  async (file, code) => {
    expect(await layerErrors(file, code)).toEqual([]);
  },
  30_000,
);

describe('front doors', () => {
  test.each([
    ['src/session/anything.ts', "import '../genesys/guest/desk/requestDesk';\n", 'genesys/guest/'],
    ['src/genesys/guest/link/anything.ts', "import '../desk/requestDesk';\n", 'genesys/guest/desk/'],
    ['src/deployments/servedDeployment.ts', "import '../store/redis/redisStore';\n", 'store/'],
    ['src/server.ts', "import './deployments/reload';\n", 'deployments/'],
    ['src/http/app.ts', "import './middleware/cors';\n", 'http/middleware/'],
  ])(
    '%s may not reach past a unit folder: %s',
    async (file, code, door) => {
      const errors = await doorErrors(file, code);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(`front door of ${door}`);
    },
    30_000,
  );

  test.each([
    ['src/session/anything.ts', "import '../genesys/guest';\n"],
    ['src/genesys/guest/link/anything.ts', "import '../desk';\n"],
    ['src/genesys/guest/desk/anything.ts', "import './requestDesk';\n"],
    ['src/genesys/guest/guestSession.ts', "import './link';\n"],
    ['src/server.ts', "import './config/schema';\n"],
    ['src/deployments/reload.ts', "import './servedDeployments';\n"],
  ])(
    '%s goes through the front door or stays inside: %s',
    async (file, code) => {
      expect(await doorErrors(file, code)).toEqual([]);
    },
    30_000,
  );
});

describe('the browser client', () => {
  test.each([
    ['src/http/routes/anything.ts', "import '../../../client/src/transcript';\n"],
    ['src/session/anything.ts', "import '../../client/src/markdown';\n"],
    ['src/server.ts', "import '../client/src';\n"],
    ['src/main.ts', "import '../client/src/wording';\n"],
    ['src/demo/anything.ts', "import '../../client/src/react';\n"],
  ])(
    '%s takes nothing from client/ but the transcript layout: %s',
    async (file, code) => {
      expect(await layerErrors(file, code)).toEqual([expect.stringContaining('client/src/transcriptLayout')]);
    },
    30_000,
  );

  test.each([
    ['src/http/routes/anything.ts', "import '../../../client/src/transcriptLayout';\n"],
    ['src/main.ts', "import '../client/src/transcriptLayout.js';\n"],
    ['src/http/routes/anything.ts', "import '../../../client/src/transcriptLocale';\n"],
  ])(
    '%s may take the transcript layout and locale: %s',
    async (file, code) => {
      expect(await layerErrors(file, code)).toEqual([]);
    },
    30_000,
  );

  test.each([
    [
      'client/src/transcriptLocale.ts',
      "import './react/wording.js';\n",
      'reads only the layout and the word catalogues',
    ],
    ['client/src/transcriptLocale.ts', "import './types.js';\n", 'reads only the layout and the word catalogues'],
    ['client/src/wording/de.ts', "import '../transport.js';\n", 'reads only its sibling catalogues'],
  ])('%s, compiled into the service, takes nothing that needs a browser: %s', async (file, code, says) => {
    expect(await layerErrors(file, code)).toEqual([expect.stringContaining(says)]);
  });

  test('the transcript layout imports nothing, not even a type: the service compiles it too', async () => {
    const errors = await layerErrors(
      'client/src/transcriptLayout.ts',
      "import type { ChatMessage } from './types.js';\n",
    );
    expect(errors).toEqual([expect.stringContaining('imports nothing')]);
  });
});
