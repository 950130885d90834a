import type { z } from 'zod';

/**
 * A deployment's problems in the words of whoever wrote it (docs/configuration.md#the-deployments-file): where a
 * key is, what it most likely meant, what a mapping holds. The rules themselves are deploymentRules.ts.
 */

/** How problems name what they are about: the file's keys, or the variables that stand for them. */
export interface Naming {
  /** A problem with the key at `path` of entry `index` (the whole entry when `path` is empty). */
  problem(index: number, path: readonly PropertyKey[], message: string): string;
  /** A key (`clientSecret`, `identity.jwksUrl`) as a message names it. */
  key(key: string): string;
  /** Keys of the deployment called `deployment`, as a message about the running deployment names them together. */
  settings(deployment: string, keys: readonly string[]): string;
}

/** A schema node as far as walking it goes: a mapping's keys, a list's element, or a wrapper's inner type. */
interface SchemaNode {
  shape?: Record<string, unknown>;
  _zod?: { def?: { innerType?: unknown; element?: unknown } };
}

/** `schema` without its wrappers (optional, default, prefault): the mapping or list they hold. */
function unwrapped(schema: unknown): SchemaNode | undefined {
  let at = schema as SchemaNode | undefined;
  while (at && !at.shape && at._zod?.def?.innerType) at = at._zod.def.innerType as SchemaNode;
  return at;
}

/** What a mapping at `path` of an entry is called in a problem (`webhooks[0]`), and the keys it takes. */
function mappingAt(entry: z.ZodType, path: readonly PropertyKey[]): { what: string; keys: string[] } {
  let schema: unknown = entry;
  for (const key of path) {
    const at = unwrapped(schema);
    schema = typeof key === 'number' ? at?._zod?.def?.element : at?.shape?.[String(key)];
  }
  const keys = Object.keys(unwrapped(schema)?.shape ?? {});
  const written = path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`));
  return { what: path.length === 0 ? 'a deployment' : `\`${written.join('')}\``, keys };
}

/** What a value of each type is called in a problem. */
const KINDS: Partial<Record<string, string>> = {
  array: 'a list',
  string: 'text',
  number: 'a number',
  boolean: 'true or false',
};

/** The key of `keys` a mistyped `key` most likely meant: same letters but for case, or one or two edits away. */
export function likelyMeant(key: string, keys: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const distance = (a: string, b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++)
        next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  const scored = keys.map((k) => ({ k, d: distance(lower, k.toLowerCase()) })).sort((a, b) => a.d - b.d);
  const best = scored[0];
  return best && best.d <= Math.min(2, Math.floor(key.length / 3)) ? best.k : undefined;
}

/**
 * A schema issue of an entry (its schema: `entry`) in the file author's words: an unknown key is named where it
 * is, with the key it most likely meant or the keys that belong there; a mapping given as something else says what
 * it should hold.
 */
export function inWords(i: z.core.$ZodIssue, index: number, naming: Naming, entry: z.ZodType): string[] {
  if (i.code === 'unrecognized_keys') {
    const { what, keys } = mappingAt(entry, i.path);
    return i.keys.map((key) => {
      const meant = likelyMeant(key, keys);
      const hint = meant ? `did you mean \`${meant}\`?` : `its keys are ${keys.join(', ')}`;
      return naming.problem(index, [...i.path, key], `is not a key of ${what}; ${hint}`);
    });
  }
  if (i.code === 'invalid_type' && i.message.startsWith('Invalid input')) {
    const missing = /received undefined/.test(i.message);
    if (i.expected === 'object') {
      const { what, keys } = mappingAt(entry, i.path);
      const held = i.path.length === 0 ? 'name, region, deploymentId and origins' : keys.join(', ');
      return [naming.problem(index, i.path, `${missing ? 'is required' : 'must be a mapping'}: ${what} with ${held}`)];
    }
    const kind = KINDS[i.expected];
    if (kind) return [naming.problem(index, i.path, missing ? `is required: ${kind}` : `must be ${kind}`)];
  }
  return [naming.problem(index, i.path, i.message)];
}
