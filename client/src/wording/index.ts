import { ar } from './ar.js';
import { de } from './de.js';
import { en, type Catalogue, type Phrase, type WordKey } from './en.js';
import { es } from './es.js';
import { fr } from './fr.js';

/**
 * The kit's words in several languages: a catalogue per language, plurals
 * and dates through `Intl`. The service's own problem titles stay English
 * (they are an API); the kit words a failure by its problem `code`.
 */

export type { Catalogue, Phrase, WordKey };

export const catalogues: Readonly<Record<string, Catalogue>> = { en, de, fr, es, ar };

/** The languages the kit ships, by their primary subtag. */
export const shippedLanguages = Object.keys(catalogues);

const RIGHT_TO_LEFT = new Set(['ar', 'he', 'fa', 'ur']);

export interface Wording {
  /** The language the words are in (`en`, `de`…). */
  locale: string;
  /** `rtl` for Arabic: set it as `dir` on the chat's root. */
  dir: 'ltr' | 'rtl';
  /** The phrase for `key`, `{name}` slots filled; with a `count`, the plural form `Intl.PluralRules` picks. */
  t(key: WordKey, values?: Record<string, string | number>): string;
  /** A message's time of day (hours and minutes). */
  time(iso: string): string;
  /** A date and time to pick (a date picker's slot). */
  dateTime(iso: string): string;
  /**
   * When something happens next (a centre opening), in the reader's time zone: the time alone today, the weekday and
   * time within the week ahead, else the date and time.
   */
  when(iso: string, now?: Date): string;
}

/** The catalogue's language for a tag (`de-AT` → `de`), or undefined when the kit does not have it. */
export function shippedLanguage(tag: string | null | undefined): string | undefined {
  const primary = tag?.trim().toLowerCase().split(/[-_]/)[0];
  return primary && primary in catalogues ? primary : undefined;
}

/**
 * The language to speak: the one asked for, else the page's `<html lang>`, else the
 * deployment's `defaultLanguage` (GET /capabilities), each only when the kit has it; else English.
 */
export function chooseLanguage(choices: {
  locale?: string;
  pageLanguage?: string | null;
  defaultLanguage?: string | null;
}): string {
  // undefined: read the page's; null: the page's is not known (yet), as while a server-rendered page hydrates.
  // Through globalThis: the service compiles these catalogues too, without the DOM's types.
  const page =
    choices.pageLanguage !== undefined
      ? choices.pageLanguage
      : (globalThis as { document?: { documentElement: { lang: string } } }).document?.documentElement.lang;
  return shippedLanguage(choices.locale) ?? shippedLanguage(page) ?? shippedLanguage(choices.defaultLanguage) ?? 'en';
}

/**
 * `text` set apart from the phrase it is put into (U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE), so
 * it is laid out in its own direction: a name such as "Alex (EU)" in an Arabic line keeps its closing parenthesis at
 * its own end, and an Arabic name in an English line does not pull the words after it. For a name or a file name put
 * into a `{name}` slot of a line the page shows (`t('isTyping', { name: isolate(name) })`); the marks are invisible.
 */
export function isolate(text: string): string {
  return `\u2068${text}\u2069`;
}

const cache = new Map<string, Wording>();

/** The words of a shipped language (English for one the kit does not have). */
export function wordingFor(locale: string | undefined): Wording {
  const language = shippedLanguage(locale) ?? 'en';
  const known = cache.get(language);
  if (known) return known;
  const catalogue = catalogues[language]!;
  const plural = new Intl.PluralRules(language);
  const clock = new Intl.DateTimeFormat(language, { hour: '2-digit', minute: '2-digit' });
  const calendar = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' });
  const weekday = new Intl.DateTimeFormat(language, { weekday: 'long', hour: '2-digit', minute: '2-digit' });
  const number = new Intl.NumberFormat(language, { useGrouping: false });
  const pick = (phrase: Phrase, count: number | undefined): string =>
    typeof phrase === 'string'
      ? phrase
      : ((count === undefined ? undefined : phrase[plural.select(count)]) ?? phrase.other);
  const format = (format: Intl.DateTimeFormat, iso: string) => {
    const when = new Date(iso);
    return Number.isNaN(when.getTime()) ? iso : format.format(when);
  };
  const wording: Wording = {
    locale: language,
    dir: RIGHT_TO_LEFT.has(language) ? 'rtl' : 'ltr',
    t(key, values = {}) {
      const count = typeof values.count === 'number' ? values.count : undefined;
      return pick(catalogue[key] ?? en[key], count).replace(/\{(\w+)\}/g, (slot, name: string) => {
        const value = values[name];
        if (value === undefined) return slot;
        return typeof value === 'number' ? number.format(value) : value;
      });
    },
    time: (iso) => format(clock, iso),
    dateTime: (iso) => format(calendar, iso),
    when(iso, now = new Date()) {
      const at = new Date(iso).getTime();
      // Local midnights, so a daylight-saving change does not move a day's edge.
      const day = (n: number) => new Date(now.getFullYear(), now.getMonth(), now.getDate() + n).getTime();
      if (Number.isNaN(at) || at < day(0)) return format(calendar, iso);
      if (at < day(1)) return clock.format(at);
      return (at < day(7) ? weekday : calendar).format(at);
    },
  };
  cache.set(language, wording);
  return wording;
}
