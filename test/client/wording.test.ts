import type * as WordingModule from '../../client/src/wording';

/**
 * The kit's words outside React (client/src/wording): which language it speaks, how it writes a number, and which
 * form `when` gives a moment by where it falls from now. The components' use of them is test/client/react/wording.test.tsx.
 */

// A fresh module for each test: wordingFor keeps each language's formatters once made, and a test should see its own.
let wording: typeof WordingModule;
beforeEach(() => {
  jest.isolateModules(() => {
    wording = jest.requireActual<typeof WordingModule>('../../client/src/wording');
  });
});

describe('the language', () => {
  test('a language the kit does not have, or none, is English', () => {
    expect(wording.wordingFor('sw-KE').locale).toBe('en');
    expect(wording.wordingFor(undefined).t('send')).toBe(wording.catalogues.en!.send);
  });

  test('Arabic is written right to left, the other shipped languages left to right', () => {
    expect(wording.shippedLanguages.map((l) => [l, wording.wordingFor(l).dir])).toEqual([
      ['en', 'ltr'],
      ['de', 'ltr'],
      ['fr', 'ltr'],
      ['es', 'ltr'],
      ['ar', 'rtl'],
    ]);
  });

  test("without a page language given, the page's <html lang> is read", () => {
    const runtime = globalThis as { document?: unknown };
    runtime.document = { documentElement: { lang: 'de-AT' } };
    try {
      expect(wording.chooseLanguage({})).toBe('de');
      expect(wording.chooseLanguage({ pageLanguage: null, defaultLanguage: 'fr' })).toBe('fr');
    } finally {
      delete runtime.document;
    }
  });
});

test('a number in a phrase is written without grouping', () => {
  expect(wording.wordingFor('en').t('messageTooLong', { count: 12000 })).toBe(
    'That message is too long (at most 12000 bytes). Please shorten it.',
  );
});

describe('when: by where the moment falls from now, in local days', () => {
  // Tuesday 24 November 2026, noon, in whatever zone the tests run in.
  const now = new Date(2026, 10, 24, 12, 0);
  const at = (days: number, hours = 0, minutes = 0) => new Date(2026, 10, 24 + days, hours, minutes);
  const clock = new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit' });
  const weekday = new Intl.DateTimeFormat('en', { weekday: 'long', hour: '2-digit', minute: '2-digit' });
  const calendar = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });
  const when = (moment: Date) => wording.wordingFor('en').when(moment.toISOString(), now);

  test('earlier than today: the date and time', () => {
    expect(when(at(-1, 23, 59))).toBe(calendar.format(at(-1, 23, 59)));
  });

  test('today, from its first minute: the time alone', () => {
    expect(when(at(0))).toBe(clock.format(at(0)));
    expect(when(at(0, 23, 59))).toBe(clock.format(at(0, 23, 59)));
  });

  test('from tomorrow to the end of the sixth day: the weekday and time', () => {
    expect(when(at(1))).toBe(weekday.format(at(1)));
    expect(when(at(1))).toMatch(/^Wednesday/);
    expect(when(at(6, 23, 59))).toBe(weekday.format(at(6, 23, 59)));
  });

  test('from the seventh day on: the date and time', () => {
    expect(when(at(7))).toBe(calendar.format(at(7)));
  });
});
