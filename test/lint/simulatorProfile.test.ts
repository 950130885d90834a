import fs from 'node:fs';
import path from 'node:path';

/**
 * Every suite that starts the simulator runs its strict profile (simulator/profile.ts), unless it says in one line
 * why it needs the kind one: `kindProfileBecause: '<reason>'` where it starts the stack, or a `@simulator kind
 * <reason>` docblock tag where it starts the simulator itself. `startStack` is strict unless told otherwise; a
 * `startSimulator` call is strict only with `profile: 'strict'` (or `profile: simProfile()`) in its arguments, and a
 * simulator run as its own process only with `SIM_PROFILE: 'strict'`. Like `grep -L`: the list must be empty.
 */
const ROOT = path.resolve(__dirname, '../..');
const rel = (file: string) => path.relative(ROOT, file);

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return /\.test\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

/** The text between the parentheses of each call of `name`. */
function callArguments(text: string, name: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(new RegExp(`\\b${name}\\(`, 'g'))) {
    let depth = 1;
    let i = match.index + match[0].length;
    const start = i;
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')') depth--;
    }
    out.push(text.slice(start, i - 1));
  }
  return out;
}

const STRICT = /profile:\s*(?:'strict'|simProfile\(\))/;
const KIND_TAG = /^\s*\*\s*@simulator kind\s+\S.*$/m;
const KIND_REASON = /kindProfileBecause:\s*(['`"]).{12,}?\1/;

/** Why a suite's simulator may run kind, or undefined when it starts none, or only strict ones. */
export function kindWithoutReason(text: string): string | undefined {
  if (KIND_TAG.test(text)) return undefined;
  const direct = callArguments(text, 'startSimulator').filter((args) => !STRICT.test(args));
  if (direct.length > 0)
    return `startSimulator(${direct[0]!.slice(0, 60).replace(/\s+/g, ' ')}) without the strict profile`;
  if (/kindProfileBecause/.test(text) && !KIND_REASON.test(text)) return 'kindProfileBecause without a one-line reason';
  if (/simulator\/main\.ts/.test(text) && !/SIM_PROFILE:\s*'strict'/.test(text))
    return 'runs simulator/main.ts without SIM_PROFILE=strict';
  return undefined;
}

describe('kindWithoutReason', () => {
  test.each([
    ['startStack()', undefined],
    ["startSimulator({ profile: 'strict', port: 0 })", undefined],
    ['startSimulator({ profile: simProfile(), port: 0 })', undefined],
    ['startSimulator({ port: 0 })', 'startSimulator({ port: 0 }) without the strict profile'],
    ["/**\n * @simulator kind it tests the default profile's own shapes\n */\nstartSimulator()", undefined],
    ["startStack({ kindProfileBecause: 'it counts replies that carry a tracingId' })", undefined],
    ["startStack({ kindProfileBecause: '' })", 'kindProfileBecause without a one-line reason'],
    ["spawn('tsx', ['simulator/main.ts'], { env: {} })", 'runs simulator/main.ts without SIM_PROFILE=strict'],
  ])('%s', (text, expected) => {
    expect(kindWithoutReason(text)).toBe(expected);
  });
});

test('no suite starts a kind simulator without saying why in one line', () => {
  const found = testFiles(path.join(ROOT, 'test'))
    .filter((file) => !file.endsWith('simulatorProfile.test.ts'))
    .flatMap((file) => {
      const why = kindWithoutReason(fs.readFileSync(file, 'utf8'));
      return why ? [`${rel(file)}: ${why}`] : [];
    });
  expect(found).toEqual([]);
});
