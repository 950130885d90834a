import { z } from 'zod';

/**
 * Masking sensitive data before Genesys (docs/api.md#masking): which detectors a deployment turns on, the extra
 * patterns it names, and what it does with a find. The rule a pattern must pass is here, so that a pattern that could
 * backtrack without end is refused at start, never met by a guest's message.
 */

/** The detectors the service has itself: payment card numbers (Luhn) and IBANs (mod 97). */
export const BUILT_IN_DETECTORS = ['card', 'iban'] as const;
export type BuiltInDetector = (typeof BUILT_IN_DETECTORS)[number];

export const MASKING_MODES = ['mask', 'refuse'] as const;
export type MaskingMode = (typeof MASKING_MODES)[number];

/** A named pattern's name: a metric label value and a word in a notice, so short and plain. */
export const PATTERN_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** How many named patterns a deployment may have, and how long each may be. */
export const MAX_PATTERNS = 16;
export const MAX_PATTERN_LENGTH = 256;
/** The largest count a pattern may give a repetition (`{2,100}`). */
export const MAX_REPEAT = 100;

export interface MaskingPattern {
  name: string;
  /** The regular expression's source and flags (`u`, with `i` when written `/…/i`). */
  source: string;
  flags: string;
}

/** A deployment's masking, when any detector is on. */
export interface MaskingConfig {
  mode: MaskingMode;
  builtIn: BuiltInDetector[];
  patterns: MaskingPattern[];
}

/** A pattern as written: its source, or `/source/i` for one that ignores case. */
export function readPattern(written: string): { source: string; flags: string } {
  const slashed = /^\/(.+)\/(i?)$/s.exec(written);
  return slashed ? { source: slashed[1]!, flags: `u${slashed[2]}` } : { source: written, flags: 'u' };
}

/**
 * What is wrong with a pattern, or undefined. Node has no linear-time regular expressions, so a pattern is held to a
 * shape that cannot backtrack exponentially: at most MAX_PATTERN_LENGTH characters; no backreference; no repeated
 * (`*`, `+`, `{n,}`, `{n,m}` with m > 1) group that holds a repetition or an alternative (`(a+)+`, `(\d{2,})*`,
 * `(a|ab)+`); repetition counts at most MAX_REPEAT; and it must not match empty text.
 */
export function patternProblem(written: string): string | undefined {
  const { source, flags } = readPattern(written);
  if (source.length > MAX_PATTERN_LENGTH) return `is ${source.length} characters; at most ${MAX_PATTERN_LENGTH}`;
  let compiled: RegExp;
  try {
    compiled = new RegExp(source, flags);
  } catch (error) {
    return `is not a regular expression (${(error as Error).message})`;
  }
  const shape = shapeProblem(source);
  if (shape) return shape;
  if (compiled.test('')) return 'matches empty text; it must match at least one character';
  return undefined;
}

/** A group is ambiguous when it can match one text more than one way: it holds a variable count or alternatives. */
interface Group {
  ambiguous: boolean;
}

/** The first shape of `source` (a valid `u` pattern) that could backtrack without end, or undefined. */
function shapeProblem(source: string): string | undefined {
  const groups: Group[] = [{ ambiguous: false }];
  /** The group that just closed, while a quantifier could still follow it. */
  let closed: Group | undefined;
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const top = groups[groups.length - 1]!;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'has a backreference; backreferences are not allowed';
      i += source[i + 2] === '{' && 'upP'.includes(next) ? source.indexOf('}', i) + 1 - i : 2;
      closed = undefined;
      continue;
    }
    if (c === '[') {
      i = classEnd(source, i);
      closed = undefined;
      continue;
    }
    if (c === '(') {
      groups.push({ ambiguous: false });
      const head = /^\(\?(?:[:=!]|<[=!]|<[A-Za-z_$][\w$]*>)/.exec(source.slice(i));
      i += head ? head[0].length : 1;
      closed = undefined;
      continue;
    }
    if (c === ')') {
      const group = groups.pop()!;
      const outer = groups[groups.length - 1]!;
      outer.ambiguous ||= group.ambiguous;
      closed = group;
      i += 1;
      continue;
    }
    if (c === '|') {
      top.ambiguous = true;
      closed = undefined;
      i += 1;
      continue;
    }
    const quantifier = /^(?:[*+?]|\{(\d+)(,(\d*))?\})\??/.exec(source.slice(i));
    if (quantifier) {
      const [, low, comma, high] = quantifier;
      const counts = [low, high].filter((n) => n !== undefined && n !== '').map(Number);
      if (counts.some((n) => n > MAX_REPEAT)) return `repeats more than ${MAX_REPEAT} times; at most ${MAX_REPEAT}`;
      const most = '*+'.includes(c) || (comma !== undefined && high === '') ? Infinity : Number(high ?? low ?? 1);
      const least = c === '{' ? Number(low) : c === '+' ? 1 : 0;
      if (most > 1 && closed?.ambiguous) {
        return (
          'repeats a group that holds a repetition or alternatives (such as (a+)+ or (a|ab)*), which can ' +
          'backtrack without end; write it without the nesting (e.g. [\\w.-]+ instead of (\\.[\\w-]+)+)'
        );
      }
      if (most > least) top.ambiguous = true;
      closed = undefined;
      i += quantifier[0].length;
      continue;
    }
    closed = undefined;
    i += 1;
  }
  return undefined;
}

/** The index after the character class that opens at `start`. */
function classEnd(source: string, start: number): number {
  let i = start + 1;
  while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
  return i + 1;
}

const text = z.string({ error: 'must be text' });

/** A deployment's `masking` as written: in a file, or from MASKING, MASKING_MODE and MASKING_PATTERNS. */
export const maskingSchema = z
  .strictObject({
    detectors: z.array(text.trim().min(1, 'may not be blank')).optional(),
    mode: text
      .trim()
      .toLowerCase()
      .pipe(z.enum(MASKING_MODES, { error: `must be ${MASKING_MODES.join(' or ')}` }))
      .optional(),
    // A variable gives the patterns as JSON text.
    patterns: z
      .preprocess(
        (v) => {
          if (typeof v !== 'string') return v;
          try {
            return JSON.parse(v) as unknown;
          } catch {
            return v;
          }
        },
        z.record(text, text, { error: 'must be an object of names to regular expressions, such as {"email": "…"}' }),
      )
      .optional(),
  })
  .superRefine((m, ctx) => {
    const patterns = Object.entries(m.patterns ?? {});
    if (patterns.length > MAX_PATTERNS)
      ctx.addIssue({
        code: 'custom',
        path: ['patterns'],
        message: `names ${patterns.length}; at most ${MAX_PATTERNS}`,
      });
    for (const [name, written] of patterns) {
      if (!PATTERN_NAME.test(name) || (BUILT_IN_DETECTORS as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['patterns'],
          message:
            `"${name}" is not a pattern name: lower-case letters, digits, - and _, a letter first, at most 32 ` +
            `characters, and not ${BUILT_IN_DETECTORS.join(' or ')}`,
        });
      }
      const problem = patternProblem(written);
      if (problem) ctx.addIssue({ code: 'custom', path: ['patterns'], message: `"${name}" ${problem}` });
    }
    const known = new Set<string>([...BUILT_IN_DETECTORS, ...patterns.map(([name]) => name)]);
    for (const detector of m.detectors ?? []) {
      if (!known.has(detector)) {
        ctx.addIssue({
          code: 'custom',
          path: ['detectors'],
          message:
            `names "${detector}", which is neither ${BUILT_IN_DETECTORS.join(' nor ')} nor a pattern it defines ` +
            `(${patterns.map(([name]) => name).join(', ') || 'none'})`,
        });
      }
    }
    for (const [name] of patterns) {
      if (!(m.detectors ?? []).includes(name))
        ctx.addIssue({
          code: 'custom',
          path: ['detectors'],
          message: `does not name "${name}": list it to turn it on`,
        });
    }
  });

/** The masking a valid `masking` entry describes: undefined when no detector is on. */
export function maskingOf(m: z.infer<typeof maskingSchema> | undefined): MaskingConfig | undefined {
  const detectors = [...new Set(m?.detectors ?? [])];
  if (detectors.length === 0) return undefined;
  const patterns = Object.entries(m?.patterns ?? {});
  return {
    mode: m?.mode ?? 'mask',
    builtIn: BUILT_IN_DETECTORS.filter((d) => detectors.includes(d)),
    patterns: patterns.map(([name, written]) => ({ name, ...readPattern(written) })),
  };
}
