import path from 'node:path';
import { ESLint } from 'eslint';

/**
 * The length rules in eslint.config.js: a file past 500 lines is a warning (a file ends where its concept ends, not at a
 * number), a line in src/ past 120 characters an error.
 */
// The project's own config, passed in (ESLint cannot load a config file by dynamic import under jest).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const config = require('../../eslint.config.js') as ESLint.Options['overrideConfig'];
const eslint = new ESLint({ cwd: path.join(__dirname, '../..'), overrideConfigFile: true, overrideConfig: config });

async function findingsOf(rule: string, file: string, code: string): Promise<{ severity: number }[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(__dirname, '../..', file) });
  return result!.messages.filter((m) => m.ruleId === rule).map((m) => ({ severity: m.severity }));
}
const ERROR = 2;
const WARNING = 1;

const linesOf = (count: number) => Array.from({ length: count }, (_, i) => `export const v${i} = ${i};\n`).join('');
const wideLine = `export const wide = '${'x'.repeat(110)}';\n`;

test.each([
  ['src/session/anything.ts', 500, []],
  ['src/session/anything.ts', 501, [{ severity: WARNING }]],
  ['src/anything.ts', 501, [{ severity: WARNING }]],
  ['simulator/anything.ts', 401, []],
  ['simulator/anything.ts', 501, [{ severity: WARNING }]],
])(
  '%s with %i lines: %j',
  async (file, count, expected) => {
    expect(await findingsOf('max-lines', file, linesOf(count))).toEqual(expected);
  },
  30_000,
);

test.each([
  ['src/session/anything.ts', wideLine, [{ severity: ERROR }]],
  ['src/session/anything.ts', `// ${'word '.repeat(24)}\n`, [{ severity: ERROR }]],
  ['src/session/anything.ts', `// https://example.com/${'a'.repeat(110)}\n`, []],
  ['src/session/anything.ts', `export const fits = '${'x'.repeat(96)}';\n`, []],
])(
  'a line in %s: %j',
  async (file, code, expected) => {
    expect(await findingsOf('max-len', file, code)).toEqual(expected);
  },
  30_000,
);
