import { z } from 'zod';
import { inWords, type Naming } from '../../src/config/deploymentProblems';

/**
 * A schema issue in the file author's words, for any shape of rules: the deployments file nests a mapping only one
 * level deep today (`availability`, an entry of `webhooks`), so these cases hold the words for rules nested deeper,
 * a required mapping and a type the words have no name for. deploymentsFile.test.ts holds them for the file's own rules.
 */

/** Problems named the way the file names them: the entry's place, then the key's path. */
const naming: Naming = {
  problem: (index, path, message) =>
    `[${index}]${path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('')}: ${message}`,
  key: (key) => key,
  settings: (deployment, keys) => `${deployment}: ${keys.join(', ')}`,
};

const entry = z.strictObject({
  outer: z.strictObject({ inner: z.strictObject({ leaf: z.string() }).optional() }).optional(),
  hooks: z.array(z.strictObject({ url: z.string(), auth: z.strictObject({ user: z.string(), key: z.string() }) })),
  when: z.date().optional(),
});

function problemsOf(value: unknown): string[] {
  const result = entry.safeParse(value);
  if (result.success) throw new Error('the value was expected to break a rule');
  return result.error.issues.flatMap((i) => inWords(i, 2, naming, entry));
}

it('names a mapping inside a mapping by its keys joined with dots', () => {
  expect(problemsOf({ outer: { inner: { leaf: 'x', leef: 'y' } }, hooks: [] })).toEqual([
    '[2].outer.inner.leef: is not a key of `outer.inner`; did you mean `leaf`?',
  ]);
});

it('names a mapping inside a list’s entry by its place and key, with the keys it takes', () => {
  expect(problemsOf({ hooks: [{ url: 'u', auth: { user: 'a', key: 'k', colour: 'red' } }] })).toEqual([
    '[2].hooks[0].auth.colour: is not a key of `hooks[0].auth`; its keys are user, key',
  ]);
});

it('says a required mapping is required, and a mapping given as something else must be one', () => {
  expect(problemsOf({ hooks: [{ url: 'u' }, { url: 'v', auth: 'token' }] })).toEqual([
    '[2].hooks[0].auth: is required: `hooks[0].auth` with user, key',
    '[2].hooks[1].auth: must be a mapping: `hooks[1].auth` with user, key',
  ]);
});

it('keeps the schema’s own words for a type it has no name for', () => {
  expect(problemsOf({ hooks: [], when: 'tomorrow' })).toEqual([
    '[2].when: Invalid input: expected date, received string',
  ]);
});
