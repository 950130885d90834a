import fc from 'fast-check';
import { GuestInputMask, HIDDEN } from '../../../src/session/masking';

/**
 * The card and IBAN detectors against oracles written apart from them: a Luhn check digit from the doubling table,
 * an IBAN's check digits from BigInt arithmetic. Valid numbers, however grouped and wherever in a text, are masked
 * to the documented form; numbers that fail the check are left as they are.
 */

const cards = new GuestInputMask({ mode: 'mask', builtIn: ['card'], patterns: [] });
const ibans = new GuestInputMask({ mode: 'mask', builtIn: ['iban'], patterns: [] });

/** What doubling a digit gives, its digits summed. */
const DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];

/** The check digit that makes `payload` + it pass Luhn: the payload's rightmost digit is doubled. */
function luhnCheckDigit(payload: string): string {
  const sum = [...payload].reverse().reduce((acc, d, i) => acc + (i % 2 === 0 ? DOUBLED[Number(d)]! : Number(d)), 0);
  return String((10 - (sum % 10)) % 10);
}

const oracleLuhn = (digits: string) => luhnCheckDigit(digits.slice(0, -1)) === digits.slice(-1);

/** An IBAN's letters as numbers (A = 10 … Z = 35), the whole as one BigInt. */
const asNumber = (s: string) =>
  BigInt([...s].map((c) => (/[A-Z]/.test(c) ? String(c.charCodeAt(0) - 55) : c)).join(''));

function ibanCheckDigits(country: string, bban: string): string {
  return String(98n - (asNumber(bban + country + '00') % 97n)).padStart(2, '0');
}

const oracleIban = (compact: string) =>
  /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact) && asNumber(compact.slice(4) + compact.slice(0, 4)) % 97n === 1n;

const digit = fc.constantFrom(...'0123456789');
const digits = (min: number, max: number) => fc.array(digit, { minLength: min, maxLength: max }).map((d) => d.join(''));

/** Text around a number that holds no digit (so no other number), and does not run into it. */
const around = fc
  .array(fc.constantFrom(...'abcxyz ABC.,!?:()é€ß', 'über', 'ref', '\n'), { maxLength: 12 })
  .map((p) => p.join(''));
const before = around.map((p) => (p === '' ? p : `${p} `));
const after = around.map((s) => `.${s}`);

/** `compact` cut into groups of the sizes given, joined by the separators given. */
function grouped(compact: string, sizes: number[], separators: string[]): string {
  const parts: string[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= compact.length) break;
    parts.push(compact.slice(at, at + size));
    at += size;
  }
  if (at < compact.length) parts.push(compact.slice(at));
  return parts.map((p, i) => (i === 0 ? p : `${separators[i % separators.length]}${p}`)).join('');
}

/** Every letter or digit except those kept, hidden. */
function hiddenExcept(written: string, keepFirst: number, keepLast: number): string {
  const positions = [...written].flatMap((c, i) => (/[A-Za-z0-9]/.test(c) ? [i] : []));
  const kept = new Set([...positions.slice(0, keepFirst), ...positions.slice(positions.length - keepLast)]);
  return [...written].map((c, i) => (/[A-Za-z0-9]/.test(c) && !kept.has(i) ? HIDDEN : c)).join('');
}

const validCard = digits(12, 18).map((payload) => payload + luhnCheckDigit(payload));
const groupings = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 19 }),
  separators: fc.array(fc.constantFrom(' ', '-'), { minLength: 1, maxLength: 4 }),
  spaced: fc.boolean(),
});

describe('card numbers', () => {
  it('that pass Luhn are masked to their last four digits, in any grouping, anywhere in a text', () => {
    fc.assert(
      fc.property(validCard, groupings, before, after, (card, g, pre, post) => {
        const written = g.spaced ? grouped(card, g.sizes, g.separators) : card;
        const masked = cards.text(`${pre}${written}${post}`);
        expect(masked).toEqual({ value: `${pre}${hiddenExcept(written, 0, 4)}${post}`, detectors: ['card'] });
      }),
    );
  });

  it('that fail Luhn are left as they are', () => {
    const failing = digits(13, 19).filter((d) => !oracleLuhn(d));
    fc.assert(
      fc.property(failing, before, after, (number, pre, post) => {
        const text = `${pre}${number}${post}`;
        expect(cards.text(text)).toEqual({ value: text, detectors: [] });
      }),
    );
  });

  it('of a digit too few or too many are left as they are, valid or not', () => {
    const outOfRange = fc.oneof(digits(1, 11), digits(19, 30)).map((p) => p + luhnCheckDigit(p));
    fc.assert(
      fc.property(outOfRange, before, after, (number, pre, post) => {
        const text = `${pre}${number}${post}`;
        expect(cards.text(text).value).toBe(text);
      }),
    );
  });
});

const upper = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
const alnum = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
const validIban = fc
  .record({
    country: fc.array(upper, { minLength: 2, maxLength: 2 }).map((c) => c.join('')),
    bban: fc.array(alnum, { minLength: 11, maxLength: 30 }).map((c) => c.join('')),
  })
  .map(({ country, bban }) => `${country}${ibanCheckDigits(country, bban)}${bban}`);
const ibanWriting = fc.record({ spaced: fc.boolean(), lower: fc.boolean() });
const written = (compact: string, w: { spaced: boolean; lower: boolean }) => {
  const cased = w.lower ? compact.toLowerCase() : compact;
  return w.spaced ? cased.replace(/(.{4})(?=.)/g, '$1 ') : cased;
};

describe('IBANs', () => {
  it('that pass mod 97 are masked to their country code and last four characters, spaced or not, any case', () => {
    fc.assert(
      fc.property(validIban, ibanWriting, before, after, (iban, w, pre, post) => {
        expect(oracleIban(iban)).toBe(true);
        const text = written(iban, w);
        const masked = ibans.text(`${pre}${text}${post}`);
        expect(masked).toEqual({ value: `${pre}${hiddenExcept(text, 2, 4)}${post}`, detectors: ['iban'] });
      }),
    );
  });

  it('with one digit changed are left as they are', () => {
    const changed = fc.tuple(validIban, fc.nat(), fc.integer({ min: 1, max: 9 })).map(([iban, at, by]) => {
      const places = [...iban].flatMap((c, i) => (i >= 2 && /\d/.test(c) ? [i] : []));
      const i = places[at % places.length]!;
      return iban.slice(0, i) + String((Number(iban[i]) + by) % 10) + iban.slice(i + 1);
    });
    fc.assert(
      fc.property(changed, ibanWriting, before, after, (iban, w, pre, post) => {
        const text = written(iban, w);
        // Spaced, a shorter run of its groups (from any group on: an IBAN is read from a word that starts with its
        // code and check digits) could pass the check by chance: then it is an IBAN of its own.
        const groups = text.toUpperCase().split(' ');
        const runs = groups.flatMap((_, from) =>
          groups.slice(from).map((__, n) => groups.slice(from, from + n + 1).join('')),
        );
        fc.pre(!runs.some(oracleIban));
        const whole = `${pre}${text}${post}`;
        expect(ibans.text(whole)).toEqual({ value: whole, detectors: [] });
      }),
    );
  });
  it('are read only from a word that starts with its country code and check digits: prose after a code is none', () => {
    // Words written after a code such as AB12 whose letters and digits pass mod 97 (once in 97) are not an IBAN:
    // one is written from its country code and check digits on (DE89 3704 …), so prose is left as it is.
    const lower = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz');
    const word = (min: number, max: number) =>
      fc.array(lower, { minLength: min, maxLength: max }).map((c) => c.join(''));
    const prose = fc
      .record({
        code: fc.tuple(fc.array(upper, { minLength: 2, maxLength: 2 }), digits(2, 2)),
        first: word(2, 2),
        words: fc.array(word(1, 8), { minLength: 2, maxLength: 6 }),
      })
      .filter(({ words }) => words.join('').length >= 11 && words.join('').length <= 30)
      .map(({ code, first, words }) => {
        const check = ibanCheckDigits(first.toUpperCase(), words.join('').toUpperCase());
        return `${code[0].join('')}${code[1]} ${first} ${check} ${words.join(' ')}`;
      });
    fc.assert(
      fc.property(prose, before, after, (text, pre, post) => {
        const groups = text.toUpperCase().split(' ');
        // From its second word on, the text passes mod 97; from its first it must not, or it is an IBAN of its own.
        expect(oracleIban(groups.slice(1).join(''))).toBe(true);
        fc.pre(!groups.some((_, n) => oracleIban(groups.slice(0, n + 1).join(''))));
        const whole = `${pre}${text}${post}`;
        expect(ibans.text(whole)).toEqual({ value: whole, detectors: [] });
      }),
    );
  });
});
