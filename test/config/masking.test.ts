import { patternProblem } from '../../src/config/masking';
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
  ])('names what is wrong: %j', (env, problem) => {
    expect(problemsOf(env).join('\n')).toContain(problem);
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
    ['(', 'is not a regular expression'],
    ['x'.repeat(257), 'at most 256'],
  ])('refuses %s', (pattern, problem) => {
    expect(patternProblem(pattern)).toContain(problem);
  });

  it('refuses every pattern that backtracks exponentially on a short text', () => {
    // Each of these takes seconds on 30 characters when allowed: the rule must see all of them.
    const catastrophic = ['(a+)+$', '(a|a)*$', '(a|aa)+$', '(\\w+\\s?)*$', '(x+x+)+y', '(.*a){12}'];
    for (const pattern of catastrophic) expect(patternProblem(pattern)).toBeDefined();
  });
});
