/**
 * Keys that would reach an object's prototype if anyone ever assigned them: refused in every body and attribute set.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Cyrillic and Greek letters (and the digits and Latin letters that pass
 * for one another) mapped to the Latin letter they look like: a small,
 * hand-picked part of Unicode's confusables table (UTS #39), enough to
 * catch a look-alike of an ASCII attribute key. NFKC alone maps none of
 * them (Cyrillic і stays і).
 */
const LOOK_ALIKES: Record<string, string> = {
  // Cyrillic, capital and small
  А: 'a',
  а: 'a',
  В: 'b',
  в: 'b',
  Ь: 'b',
  ь: 'b',
  С: 'c',
  с: 'c',
  ҫ: 'c',
  ԁ: 'd',
  Е: 'e',
  е: 'e',
  Ё: 'e',
  ё: 'e',
  ɡ: 'g',
  Н: 'h',
  н: 'h',
  һ: 'h',
  І: 'i',
  і: 'i',
  Ї: 'i',
  ї: 'i',
  ӏ: 'i',
  Ј: 'j',
  ј: 'j',
  К: 'k',
  к: 'k',
  М: 'm',
  м: 'm',
  О: 'o',
  о: 'o',
  п: 'n',
  Р: 'p',
  р: 'p',
  ԛ: 'q',
  Ѕ: 's',
  ѕ: 's',
  Т: 't',
  т: 't',
  У: 'y',
  у: 'y',
  Ү: 'y',
  ү: 'y',
  ԝ: 'w',
  Х: 'x',
  х: 'x',
  // Greek, capital and small
  Α: 'a',
  α: 'a',
  Β: 'b',
  β: 'b',
  Ε: 'e',
  ε: 'e',
  Η: 'h',
  η: 'n',
  Ι: 'i',
  ι: 'i',
  Κ: 'k',
  κ: 'k',
  Μ: 'm',
  Ν: 'n',
  ν: 'v',
  Ο: 'o',
  ο: 'o',
  Ρ: 'p',
  ρ: 'p',
  Τ: 't',
  τ: 't',
  Υ: 'y',
  υ: 'u',
  Χ: 'x',
  χ: 'x',
  Ζ: 'z',
  ω: 'w',
  // Latin and digits that read as one another once case is gone (I, l, 1; O, 0)
  l: 'i',
  '1': 'i',
  '0': 'o',
};

/**
 * A key as a reader takes it in, for comparing keys that must not be
 * mistaken for one another (the keys reserved for a verified identity):
 * Unicode-normalised (NFKC: full-width and other compatibility forms
 * folded), Cyrillic and Greek look-alikes mapped to Latin, and case-folded.
 * Two keys with the same form are one key to a person reading them.
 */
export function keyForm(key: string): string {
  let out = '';
  for (const ch of key.normalize('NFKC')) out += LOOK_ALIKES[ch] ?? ch.toLowerCase();
  // After folding, an I is an i (and so is an l): map again what lower-casing produced.
  let folded = '';
  for (const ch of out.normalize('NFKC')) folded += LOOK_ALIKES[ch] ?? ch;
  return folded;
}
