/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { act, cleanup, fireEvent, render, renderHook, screen } from '../../support/dom';
import { hydrateRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { BffClient, BffError, memoryTokenStore, type ChatMessage } from '../../../client/src';
import {
  AvailabilityNotice,
  ChatWording,
  Composer,
  MessageList,
  TranscriptButton,
  catalogues,
  chooseLanguage,
  describeAvailability,
  describeError,
  describeStatus,
  isolate,
  presenceEntry,
  presenceLine,
  useChat,
  wordingFor,
  type WordKey,
} from '../../../client/src/react';

/** The kit's words: every language has every phrase, the components speak the chosen one, and Arabic reads right to left. */

const english = catalogues.en!;
const keys = Object.keys(english) as WordKey[];
const slots = (phrase: unknown) => new Set(JSON.stringify(phrase).match(/\{\w+\}/g) ?? []);
/** Phrases the components show (the rest are describeError's). */
const componentKeys = keys.filter(
  (k) => !/Error|session|rateLimited|TooLong|Unavailable|Required|Cancelled|Wrong/.test(k),
);

afterEach(() => {
  cleanup();
  document.documentElement.lang = '';
});

describe('the catalogues', () => {
  test.each(Object.keys(catalogues))(
    '%s has every English phrase, with its slots and an `other` plural',
    (language) => {
      const catalogue = catalogues[language]!;
      expect(Object.keys(catalogue).sort()).toEqual([...keys].sort());
      for (const key of keys) {
        const phrase = catalogue[key];
        if (typeof phrase !== 'string') expect(phrase.other).toEqual(expect.any(String));
        // A translation may spell a count in words (Arabic's one and two), never name a slot English lacks.
        for (const slot of slots(phrase)) expect(slots(english[key])).toContain(slot);
      }
    },
  );

  test('German, French, Spanish and Arabic translate each phrase but the ones that read the same', () => {
    const same: Record<string, WordKey[]> = {
      de: ['bot'],
      fr: ['conversation', 'bot', 'image', 'transcriptMessages', 'transcriptList'],
      es: ['bot'],
      ar: [],
    };
    for (const [language, alike] of Object.entries(same)) {
      const untranslated = keys.filter((k) => JSON.stringify(catalogues[language]![k]) === JSON.stringify(english[k]));
      expect([language, untranslated]).toEqual([language, alike]);
    }
  });

  test('plurals and dates go through Intl', () => {
    expect(wordingFor('de').t('newMessages', { count: 1 })).toBe('1 neue Nachricht');
    expect(wordingFor('de').t('newMessages', { count: 3 })).toBe('3 neue Nachrichten');
    expect(wordingFor('ar').t('newMessages', { count: 2 })).toBe('رسالتان جديدتان');
    expect(wordingFor('ar').t('newMessages', { count: 5 })).toBe('5 رسائل جديدة');
    expect(wordingFor('en').t('newMessages', { count: 2 })).toBe('2 new messages');
    const at = '2026-03-04T15:07:00Z';
    expect(wordingFor('de').time(at)).toBe(
      new Intl.DateTimeFormat('de', { hour: '2-digit', minute: '2-digit' }).format(new Date(at)),
    );
    expect(wordingFor('fr').dateTime(at)).toBe(
      new Intl.DateTimeFormat('fr', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(at)),
    );
  });
});

describe('a name in a line', () => {
  const FSI = '\u2068';
  const PDI = '\u2069';
  const arabic = wordingFor('ar');
  const at = new Date('2026-03-04T15:00:00Z');

  test('isolate sets the text apart with FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE', () => {
    expect(isolate('Alex (EU)')).toBe(`${FSI}Alex (EU)${PDI}`);
  });

  test('in Arabic, "Alex (EU)" joins and leaves isolated, so its parenthesis stays at its own end', () => {
    const joined = presenceEntry({ presence: 'join', name: 'Alex (EU)' }, at)!;
    const left = presenceEntry({ presence: 'disconnect', name: 'Alex (EU)' }, at)!;
    expect(presenceLine(joined, arabic)).toBe(`انضم ${FSI}Alex (EU)${PDI} إلى الدردشة`);
    expect(presenceLine(left, arabic)).toBe(`غادر ${FSI}Alex (EU)${PDI} الدردشة`);
    expect(presenceLine(left)).toBe(`${FSI}Alex (EU)${PDI} left the chat`);
  });

  test('a presence without a name reads the catalogue’s own word, with nothing to isolate', () => {
    expect(presenceLine(presenceEntry({ presence: 'join' }, at)!, arabic)).toBe(
      arabic.t('agentJoined', { name: arabic.t('someAgent') }),
    );
  });

  test('the typing line, as the demo and the Next.js example word it: the name isolated in its slot', () => {
    expect(arabic.t('isTyping', { name: isolate('Alex (EU)') })).toBe(`${FSI}Alex (EU)${PDI} يكتب…`);
  });
});

describe('choosing the language', () => {
  test('the prop, else the page’s <html lang> the kit has, else the deployment’s defaultLanguage, else English', () => {
    expect(chooseLanguage({ locale: 'fr-CA', pageLanguage: 'de', defaultLanguage: 'es' })).toBe('fr');
    expect(chooseLanguage({ locale: 'xx', pageLanguage: 'de-AT', defaultLanguage: 'es' })).toBe('de');
    expect(chooseLanguage({ pageLanguage: 'ja', defaultLanguage: 'es-mx' })).toBe('es');
    expect(chooseLanguage({ pageLanguage: 'ja', defaultLanguage: 'ja' })).toBe('en');
    expect(chooseLanguage({})).toBe('en');
  });

  test('useChat takes its locale from the prop, or the page, and says Arabic is right to left', () => {
    const client = new BffClient({ baseUrl: 'http://chat.example', tokenStore: memoryTokenStore() });
    const arabic = renderHook(() => useChat({ client, autoStart: false, locale: 'ar' }));
    expect([arabic.result.current.wording.locale, arabic.result.current.wording.dir]).toEqual(['ar', 'rtl']);
    document.documentElement.lang = 'es';
    const page = renderHook(() => useChat({ client, autoStart: false }));
    expect([page.result.current.wording.locale, page.result.current.wording.dir]).toEqual(['es', 'ltr']);
  });

  test('a server-rendered page hydrates in the words it was rendered in, then speaks the page’s language', async () => {
    const client = new BffClient({ baseUrl: 'http://chat.example', tokenStore: memoryTokenStore() });
    function Page() {
      return <p>{useChat({ client, autoStart: false }).wording.t('send')}</p>;
    }
    const container = document.createElement('div');
    container.innerHTML = renderToString(<Page />);
    document.body.append(container);
    expect(container.textContent).toBe('Send');
    document.documentElement.lang = 'de';
    const mismatches: unknown[] = [];
    await act(async () => void hydrateRoot(container, <Page />, { onRecoverableError: (e) => mismatches.push(e) }));
    expect(mismatches).toEqual([]);
    expect(container.textContent).toBe('Senden');
    container.remove();
  });
});

const at = '2026-03-04T15:07:00Z';
const conversation: ChatMessage[] = [
  { id: 'm1', direction: 'inbound', type: 'text', text: 'hello', time: at },
  {
    id: 'm2',
    direction: 'outbound',
    type: 'structured',
    time: '2026-03-04T15:08:00Z',
    originatingEntity: 'human',
    attachments: [
      { id: 'a1', url: 'https://chat.example/a1', mediaType: 'Image' },
      { id: 'a2', url: 'https://chat.example/a2', mediaType: 'File' },
    ],
    cards: [
      { title: 'One', actions: [{ type: 'Postback', text: 'Pick', payload: 'p' }] },
      { title: 'Two', actions: [{ type: 'Postback', text: 'Pick', payload: 'q' }] },
    ],
  },
  {
    id: 'm3',
    direction: 'outbound',
    type: 'structured',
    time: '2026-03-04T15:09:00Z',
    originatingEntity: 'bot',
    datePickers: [{ originatingMessageId: 'm3', availableTimes: [{ dateTime: '2026-03-05T09:00:00Z' }] }],
    quickReplies: [{ text: 'Yes', payload: 'yes' }],
  },
] as ChatMessage[];

/** Every phrase a reader or a screen reader meets, whole: text, labels and alternative text. */
function everyPhrase(): Set<string> {
  const phrases = new Set<string>();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) phrases.add(node.textContent!.trim());
  for (const element of Array.from(document.querySelectorAll('[aria-label], [alt]')))
    for (const name of ['aria-label', 'alt']) if (element.hasAttribute(name)) phrases.add(element.getAttribute(name)!);
  return phrases;
}

function renderKit(language: string): void {
  const wording = wordingFor(language);
  render(
    <div dir={wording.dir} lang={wording.locale}>
      <ChatWording wording={wording}>
        <MessageList messages={conversation} onAnswer={() => undefined} />
        <TranscriptButton client={{ transcript: () => Promise.reject(new Error('unused')) }} messages={conversation} />
        <Composer
          onSubmit={async () => true}
          attachments={{ enabled: true }}
          uploads={[
            { key: 'u1', fileName: 'a.png', progress: 0.5, state: 'uploading' },
            { key: 'u2', fileName: 'b.png', progress: 1, state: 'failed' },
            { key: 'u3', fileName: 'c.png', progress: 1, state: 'done' },
          ]}
        />
      </ChatWording>
    </div>,
  );
}

describe('the components speak the chosen language', () => {
  test.each(['de', 'ar'])('%s: no English phrase left, each translated one shown', (language) => {
    renderKit(language);
    const { t } = wordingFor(language);
    const phrases = everyPhrase();
    const shown: string[] = [
      t('conversation'),
      t('you'),
      t('agent'),
      t('bot'),
      t('yourMessage'),
      t('send'),
      t('attachFile'),
      t('fileToAttach'),
      t('filesToSend'),
      t('uploading', { file: 'a.png' }),
      t('notUploaded'),
      t('cancel'),
      t('cancelFile', { file: 'a.png' }),
      t('remove'),
      t('removeFile', { file: 'c.png' }),
      t('quickReplies'),
      t('carousel'),
      t('pickTime'),
      t('image'),
      t('download', { file: t('theFile') }),
      t('downloadTranscript'),
      wordingFor(language).time(at),
      wordingFor(language).dateTime('2026-03-05T09:00:00Z'),
    ];
    for (const phrase of shown) expect([phrase, phrases.has(phrase)]).toEqual([phrase, true]);
    const english = wordingFor('en');
    for (const key of componentKeys.filter((k) => k !== 'newMessages' && k !== 'bot')) {
      expect([key, phrases.has(english.t(key, { file: 'a.png' }))]).toEqual([key, false]);
    }
  });

  test.each(['de', 'ar'])('%s: the jump to new messages', async (language) => {
    const wording = wordingFor(language);
    const kit = (messages: ChatMessage[]) => (
      <ChatWording wording={wording}>
        <MessageList messages={messages} onAnswer={() => undefined} />
      </ChatWording>
    );
    const { rerender } = render(kit(conversation));
    const log = screen.getByRole('log');
    // jsdom has no layout: give the list a height, at its end, then scroll it up as a reader does.
    Object.defineProperty(log, 'scrollHeight', { value: 1000 });
    Object.defineProperty(log, 'clientHeight', { value: 100 });
    Object.defineProperty(log, 'scrollTop', { value: 900, writable: true });
    fireEvent.scroll(log);
    log.scrollTop = 0;
    fireEvent.scroll(log);
    rerender(kit([...conversation, { ...conversation[0]!, id: 'm4', time: '2026-03-04T16:00:00Z' }]));
    await screen.findByRole('button', { name: wording.t('newMessages', { count: 1 }) });
  });

  test.each(['de', 'ar'])("%s: describeStatus words each of a chat's statuses", (language) => {
    const { t } = wordingFor(language);
    const statuses = ['idle', 'connecting', 'open', 'reconnecting', 'ended', 'failed'] as const;
    expect(statuses.map((status) => describeStatus(status, wordingFor(language)))).toEqual([
      t('notConnected'),
      t('connecting'),
      t('connected'),
      t('reconnecting'),
      t('chatEnded'),
      t('notConnected'),
    ]);
    expect(describeStatus('open')).toBe('Connected');
  });

  test.each(['de', 'ar'])('%s: describeError words each failure by its code', (language) => {
    const wording = wordingFor(language);
    const failure = (code: string, extra: object = {}) =>
      describeError(
        new BffError({ status: 0, code, message: 'English detail', ...extra }),
        { maxTextBytes: 4096 },
        wording,
      );
    expect(failure('network_error')).toBe(wording.t('networkError'));
    expect(failure('session_expired')).toBe(wording.t('sessionExpired'));
    expect(failure('unauthorized')).toBe(wording.t('sessionExpired'));
    expect(failure('rate_limited', { retryAfterSeconds: 3 })).toBe(wording.t('rateLimited', { count: 3 }));
    expect(failure('rate_limited')).toBe(wording.t('rateLimitedBriefly'));
    expect(failure('message_too_long')).toContain('4096');
    expect(failure('upstream_unavailable')).toBe(wording.t('upstreamUnavailable'));
    expect(failure('reauthentication_required')).toBe(wording.t('reauthenticationRequired'));
    expect(failure('cannot_downgrade')).toBe(wording.t('signInToContinue'));
    expect(failure('aborted')).toBe(wording.t('uploadCancelled'));
    // A refused origin is the page's developer's to fix (the console says how): the customer reads it in words.
    expect(failure('cors_refused', { origin: 'https://shop.example.com' })).toBe(wording.t('chatUnavailableHere'));
    // The service's own detail is English: another language words it generically, by code.
    expect(failure('something_new')).toBe(wording.t('somethingWentWrong'));
    expect(describeError(new BffError({ status: 400, code: 'x', message: 'English detail' }))).toBe('English detail');
    expect(
      describeError(new BffError({ status: 0, code: 'cors_refused', message: 'add it to CORS_ALLOWED_ORIGINS' })),
    ).toBe(wordingFor('en').t('chatUnavailableHere'));
  });
});

describe('availability in the chosen language', () => {
  // A Friday morning, local time: the centre opens again at 17:30 today, Monday 09:00, or in two weeks.
  const now = new Date(2026, 2, 6, 10, 0);
  const today = new Date(2026, 2, 6, 17, 30).toISOString();
  const monday = new Date(2026, 2, 9, 9, 0).toISOString();
  const later = new Date(2026, 2, 20, 9, 0).toISOString();

  test.each(['en', 'de', 'fr', 'es', 'ar'])(
    '%s: when the centre opens: the time today, the weekday this week, else the date',
    (language) => {
      const { when } = wordingFor(language);
      const clock = new Intl.DateTimeFormat(language, { hour: '2-digit', minute: '2-digit' });
      expect(when(today, now)).toBe(clock.format(new Date(today)));
      const weekday = new Intl.DateTimeFormat(language, { weekday: 'long', hour: '2-digit', minute: '2-digit' });
      expect(when(monday, now)).toBe(weekday.format(new Date(monday)));
      expect(when(monday, now)).toContain(
        new Intl.DateTimeFormat(language, { weekday: 'long' }).format(new Date(monday)),
      );
      const calendar = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' });
      expect(when(later, now)).toBe(calendar.format(new Date(later)));
      expect(when('not a date', now)).toBe('not a date');
    },
  );

  test('German: closed, back on Monday; busy for about a minute or four; an agent is available', () => {
    const de = wordingFor('de');
    expect(describeAvailability({ state: 'closed', reason: 'closed', backAt: monday }, de, now)).toBe(
      `Geschlossen, wieder da ab ${de.when(monday, now)}`,
    );
    expect(describeAvailability({ state: 'closed', reason: 'closed', backAt: monday }, de, now)).toMatch(
      /^Geschlossen, wieder da ab Montag/,
    );
    expect(describeAvailability({ state: 'closed', reason: 'holiday' }, de)).toBe('Feiertags geschlossen');
    expect(describeAvailability({ state: 'closed', reason: 'emergency' }, de)).toBe(de.t('emergencyClosed'));
    expect(describeAvailability({ state: 'closed', reason: 'no_agents' }, de)).toBe(
      'Gerade ist kein Mitarbeiter verfügbar',
    );
    expect(describeAvailability({ state: 'busy', waitMinutes: 1 }, de)).toBe(
      'Alle Leitungen sind belegt (etwa 1 Minute)',
    );
    expect(describeAvailability({ state: 'busy', waitMinutes: 4 }, de)).toBe(
      'Alle Leitungen sind belegt (etwa 4 Minuten)',
    );
    expect(describeAvailability({ state: 'busy' }, de)).toBe('Alle Leitungen sind belegt');
    expect(describeAvailability({ state: 'open' }, de)).toBe('Ein Mitarbeiter ist verfügbar');
    expect(describeAvailability({ state: 'unknown' }, de)).toBe('');
  });

  test('German: a holiday says when the centre opens again as a closed centre does; an emergency or no agents never', () => {
    const de = wordingFor('de');
    expect(describeAvailability({ state: 'closed', reason: 'holiday', backAt: monday }, de, now)).toBe(
      `Feiertags geschlossen, wieder da ab ${de.when(monday, now)}`,
    );
    expect(describeAvailability({ state: 'closed', reason: 'closed' }, de)).toBe(de.t('closedNow'));
    expect(describeAvailability({ state: 'closed', reason: 'emergency', backAt: monday }, de, now)).toBe(
      de.t('emergencyClosed'),
    );
    expect(describeAvailability({ state: 'closed', reason: 'no_agents', backAt: monday }, de, now)).toBe(
      de.t('noAgents'),
    );
  });

  test('Arabic: the minutes take the plural form Intl.PluralRules picks', () => {
    const ar = wordingFor('ar');
    const busy = (waitMinutes: number) => describeAvailability({ state: 'busy', waitMinutes }, ar);
    expect(busy(1)).toBe('جميع الخطوط مشغولة (نحو دقيقة واحدة)');
    expect(busy(2)).toBe('جميع الخطوط مشغولة (نحو دقيقتين)');
    expect(busy(4)).toBe('جميع الخطوط مشغولة (نحو 4 دقائق)');
    expect(busy(11)).toBe('جميع الخطوط مشغولة (نحو 11 دقيقة)');
    expect(describeAvailability({ state: 'closed', reason: 'closed', backAt: today }, ar, now)).toBe(
      `مغلق، نعود في ${ar.when(today, now)}`,
    );
    expect(describeAvailability({ state: 'open' }, ar)).toBe('يوجد موظف متاح');
  });

  test.each(['de', 'ar'])(
    '%s: AvailabilityNotice is a status line in ChatWording’s words, empty while unknown',
    (language) => {
      const wording = wordingFor(language);
      const notice = (status: Parameters<typeof describeAvailability>[0]) => (
        <div dir={wording.dir} lang={wording.locale}>
          <ChatWording wording={wording}>
            <AvailabilityNotice status={status} />
          </ChatWording>
        </div>
      );
      const { rerender } = render(notice({ state: 'unknown' }));
      const line = screen.getByRole('status');
      expect(line.textContent).toBe('');
      // The styling hooks (styles.css): its class, and data-state.
      expect([line.className, line.dataset.state]).toEqual(['availability', 'unknown']);
      rerender(notice({ state: 'busy', waitMinutes: 3 }));
      // The same live region, so a screen reader hears the change.
      expect(screen.getByRole('status')).toBe(line);
      expect(line.textContent).toBe(wording.t('linesBusy', { count: 3 }));
      expect(line.dataset.state).toBe('busy');
      rerender(notice({ state: 'closed', reason: 'closed' }));
      expect(line.textContent).toBe(wording.t('closedNow'));
      expect(line.textContent).not.toBe(wordingFor('en').t('closedNow'));
    },
  );
});
