import path from 'node:path';
import { ESLint } from 'eslint';

/** The layer rule in eslint.config.js refuses an upward import, so `npm test` (lint first) fails on one. */
// The project's own config, passed in (ESLint cannot load a config file by dynamic import under jest).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const config = require('../../eslint.config.js') as ESLint.Options['overrideConfig'];
const eslint = new ESLint({ cwd: path.join(__dirname, '../..'), overrideConfigFile: true, overrideConfig: config });

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(__dirname, '../..', file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test.each([
  ['src/session/anything.ts', "import '../http/app';\n"],
  ['src/genesys/guest/anything.ts', "import '../../session/guestChat';\n"],
  ['src/domain/anything.ts', "import '../config/schema';\n"],
  ['src/http/anything.ts', "import '../server';\n"],
  ['src/server.ts', "import './demo/demoServer';\n"],
  ['src/store/anything.ts', "import '../session/guestChat';\n"],
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
])(
  '%s may import downward: %s',
  async (file, code) => {
    expect(await layerErrors(file, code)).toEqual([]);
  },
  30_000,
);
