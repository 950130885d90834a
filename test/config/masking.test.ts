import { patternProblem, readPattern } from '../../src/config/masking';
import { ConfigError, loadConfig } from '../../src/config/schema';
import { testEnv } from '../support/app';

/** MASKING, MASKING_MODE and MASKING_PATTERNS (docs/configuration.md#masking), and the rule a pattern must pass. */

function problemsOf(overrides: Record<string, string>): string[] {
  try {
    loadConfig(testEnv(overrides));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('the deployment masking', () => {
  it('is off by default, and a mode alone turns nothing on', () => {
    expect(loadConfig(testEnv()).deployments[0]!.masking).toBeUndefined();
    expect(loadConfig(testEnv({ MASKING_MODE: 'refuse' })).deployments[0]!.masking).toBeUndefined();
  });

  it('masks with the detectors named, once each, in the built-in order', () => {
    const masking = loadConfig(testEnv({ MASKING: 'iban, card,card' })).deployments[0]!.masking;
    expect(masking).toEqual({ mode: 'mask', builtIn: ['card', 'iban'], patterns: [] });
  });

  it('refuses when told, and takes named patterns with their flags', () => {
    const masking = loadConfig(
      testEnv({
        MASKING: 'card,de-tax-id,email',
        MASKING_MODE: 'Refuse',
        MASKING_PATTERNS: JSON.stringify({ 'de-tax-id': '\\b\\d{11}\\b', email: '/[\\w.+-]+@[\\w-]+\\.[a-z.]+/i' }),
      }),
    ).deployments[0]!.masking;
    expect(masking).toEqual({
      mode: 'refuse',
      builtIn: ['card'],
      patterns: [
        { name: 'de-tax-id', source: '\\b\\d{11}\\b', flags: 'u' },
        { name: 'email', source: '[\\w.+-]+@[\\w-]+\\.[a-z.]+', flags: 'ui' },
      ],
    });
  });

  it.each([
    [{ MASKING: 'card,visa' }, 'MASKING names "visa", which is neither card nor iban nor a pattern it defines (none)'],
    [{ MASKING: 'card', MASKING_MODE: 'hide' }, 'MASKING_MODE must be mask or refuse'],
    [{ MASKING: 'card', MASKING_PATTERNS: '{"email":"@"}' }, 'MASKING: does not name "email": list it to turn it on'],
    [
      { MASKING: 'card', MASKING_PATTERNS: 'email=@' },
      'MASKING_PATTERNS must be an object of names to regular expressions, such as {"email": "…"}',
    ],
    [{ MASKING: 'Bad', MASKING_PATTERNS: '{"Bad":"x"}' }, 'MASKING_PATTERNS: "Bad" is not a pattern name'],
    [{ MASKING: 'card', MASKING_PATTERNS: '{"card":"x"}' }, 'MASKING_PATTERNS: "card" is not a pattern name'],
    [{ MASKING: 'nested', MASKING_PATTERNS: '{"nested":"(a+)+b"}' }, 'MASKING_PATTERNS: "nested" repeats a group'],
    [
      { MASKING: 'card,visa', MASKING_PATTERNS: '{"email":"@","phone":"\\\\d{9}"}' },
      'MASKING names "visa", which is neither card nor iban nor a pattern it defines (email, phone)',
    ],
    [
      { MASKING: 'x', MASKING_PATTERNS: '{"X":"x"}' },
      'MASKING_PATTERNS: "X" is not a pattern name: lower-case letters, digits, - and _, a letter first, at most 32 ' +
        'characters, and not card or iban',
    ],
    // Patterns none of which MASKING lists: each is named.
    [{ MASKING_PATTERNS: '{"email":"@"}' }, 'MASKING: does not name "email": list it to turn it on'],
  ])('names what is wrong: %j', (env, problem) => {
    expect(problemsOf(env).join('\n')).toContain(problem);
  });
});

describe('patterns, as many as allowed', () => {
  const env = (count: number) => {
    const names = Array.from({ length: count }, (_, i) => `p${i}`);
    return {
      MASKING: names.join(','),
      MASKING_PATTERNS: JSON.stringify(Object.fromEntries(names.map((name) => [name, `${name}x`]))),
    };
  };

  it('takes 16 named patterns', () => {
    expect(loadConfig(testEnv(env(16))).deployments[0]!.masking!.patterns).toHaveLength(16);
  });

  it('refuses 17, saying how many it names', () => {
    expect(problemsOf(env(17))).toContain('MASKING_PATTERNS names 17; at most 16');
  });
});

describe('a pattern as written', () => {
  it.each([
    ['/ab/i', { source: 'ab', flags: 'ui' }],
    ['/ab/', { source: 'ab', flags: 'u' }],
    // Only `i` follows the closing slash: any other text after it is part of the pattern itself.
    ['/ab/g', { source: '/ab/g', flags: 'u' }],
    ['/ab/ix', { source: '/ab/ix', flags: 'u' }],
    ['a/b', { source: 'a/b', flags: 'u' }],
    // The slashes must hold the whole pattern: one that only ends in /…/i is read as written.
    ['x/ab/i', { source: 'x/ab/i', flags: 'u' }],
  ])('%s is %j', (written, read) => {
    expect(readPattern(written)).toEqual(read);
  });
});

describe('the rule a pattern must pass', () => {
  it.each([
    ['\\b\\d{11}\\b'],
    ['[\\w.+-]+@[\\w-]+\\.[\\w.-]+'],
    ['\\+?\\d[\\d ]{6,14}\\d'],
    ['(?:AB|CD)\\d{6}'],
    ['(?:\\d{3})+x'],
    ['(a?)b'],
    ['/[a-z]{2}\\d{4}/i'],
    ['(?<year>\\d{4})-\\d{2}'],
    ['[(+*]{2}x'],
    // A character class is one character, whatever it holds: parentheses, quantifiers or an escaped bracket.
    ['[(a+)+]x'],
    ['[\\](a+)+]x'],
    ['(?:[ab+]x)+'],
    ['[a][b]x'],
    // A Unicode escape or property is one character, its braces no repetition count.
    ['\\u{101}'],
    // Lookbehinds and named groups are groups, their `?` no quantifier.
    ['(?:(?<=a)b)+'],
    ['(?:(?<!a)b)+'],
    ['(?:(?<year>\\d{4})-)+'],
    ['x(?:ab)+'],
    // A group with alternatives or a variable count, quantified at most once; a repeated group of a fixed count.
    ['(?:a{2})+'],
    ['(?:a{2,2})+'],
    ['(a|b)?c'],
    ['(a|b){1}c'],
    ['(a|b){1,1}c'],
    // The bounds themselves.
    ['a{100}'],
    ['a{1,100}'],
    ['x'.repeat(256)],
  ])('takes %s', (pattern) => {
    expect(patternProblem(pattern)).toBeUndefined();
  });

  it.each([
    ['(a+)+b', 'repeats a group'],
    ['(a*)*b', 'repeats a group'],
    ['(\\.[\\w-]+)+', 'repeats a group'],
    ['(a|ab)+c', 'repeats a group'],
    ['((a)+x)*', 'repeats a group'],
    ['(a?){5}', 'repeats a group'],
    ['(?:\\d{2,4})+', 'repeats a group'],
    ['(a)\\1', 'backreference'],
    ['(?<x>a)\\k<x>', 'backreference'],
    ['a{1,1000}', 'at most 100'],
    ['a*', 'matches empty text'],
    ['^$', 'matches empty text'],
    // Refused by their shape (a repeated group holding alternatives or a variable count), though these alternatives
    // cannot overlap: the rule judges the shape, not the text.
    ['(?:(?:a|b)c)+', 'repeats a group'],
    ['(a|b)+(?:c)', 'repeats a group'],
    ['(a|b){2,}', 'repeats a group'],
    ['(a|b){1,}', 'repeats a group'],
    ['(a|b){0,2}', 'repeats a group'],
    ['\\.(a+)+x{2}', 'repeats a group'],
    ['x\\u{101}(a+)+', 'repeats a group'],
    // `\u` without braces is four hex digits, however far off the next closing brace is.
    ['\\u0041(a+)+x{2}', 'repeats a group'],
    ['a{101}', 'repeats more than 100 times; at most 100'],
    ['a{2,101}', 'repeats more than 100 times; at most 100'],
    ['(', 'is not a regular expression'],
    ['x'.repeat(257), 'at most 256'],
  ])('refuses %s', (pattern, problem) => {
    expect(patternProblem(pattern)).toContain(problem);
  });

  it('says how to write a repeated group without the nesting', () => {
    expect(patternProblem('(a+)+b')).toBe(
      'repeats a group that holds a repetition or alternatives (such as (a+)+ or (a|ab)*), which can backtrack ' +
        'without end; write it without the nesting (e.g. [\\w.-]+ instead of (\\.[\\w-]+)+)',
    );
  });

  it('refuses every pattern that backtracks exponentially on a short text', () => {
    // Each of these takes seconds on 30 characters when allowed: the rule must see all of them.
    const catastrophic = ['(a+)+$', '(a|a)*$', '(a|aa)+$', '(\\w+\\s?)*$', '(x+x+)+y', '(.*a){12}'];
    for (const pattern of catastrophic) expect(patternProblem(pattern)).toBeDefined();
  });
});
