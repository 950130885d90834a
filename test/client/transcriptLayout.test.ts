import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { buildTranscript, transcriptLabelsOf } from '../../client/src/transcript';
import {
  ENGLISH_TRANSCRIPT_LOCALE,
  TRANSCRIPT_CSP,
  TRANSCRIPT_STYLE,
  transcriptHtml,
  transcriptText,
  type TranscriptLocale,
  type TranscriptMessage,
} from '../../client/src/transcriptLayout';
import { wordingFor } from '../../client/src/wording';
import { transcriptLocaleOf } from '../../client/src/transcriptLocale';
import type { NormalizedMessage } from '../../src/domain/message';
import { transcriptDocument } from '../../src/http/routes/transcriptDocument';

/**
 * The one transcript layout (client/src/transcriptLayout.ts): the service's file and the kit's fallback are the same
 * bytes for the same messages; what each message reads as; its words and its clock come from the locale.
 */

const readAt = new Date('2026-03-04T16:00:00.250Z');

/** Text as customers and agents write it: anything, with markup, line breaks of both kinds, and blanks. */
const writing = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('<b>"Tom" & \'Jerry\'</b>', 'line one\r\nline two\nthree', ' ', '', 'مرحبا'),
);
const time = fc.oneof(
  fc
    .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom('not a time', ''),
);
const titled = <T>(extra: fc.Arbitrary<T>) =>
  fc.array(fc.record({ title: writing, extra }, { requiredKeys: ['extra'] }), { maxLength: 2 });

/** Messages as Genesys's history gives them to the service and the stream gives them to the page. */
const message: fc.Arbitrary<NormalizedMessage> = fc.record(
  {
    id: fc.uuid(),
    direction: fc.constantFrom('inbound' as const, 'outbound' as const),
    type: fc.constantFrom('text' as const, 'structured' as const, 'event' as const),
    text: writing,
    time,
    originatingEntity: fc.constantFrom('human' as const, 'bot' as const),
    from: fc.record({ name: writing }, { requiredKeys: [] }),
    quickReplies: fc.array(fc.record({ text: writing, payload: fc.string() }), { maxLength: 3 }),
    cards: fc.array(
      fc.record(
        {
          title: writing,
          description: writing,
          actions: fc.array(fc.record({ text: writing, url: fc.webUrl() }, { requiredKeys: [] }), { maxLength: 3 }),
        },
        { requiredKeys: ['actions'] },
      ),
      { maxLength: 2 },
    ),
    datePickers: titled(fc.constant(null)).map((pickers) =>
      pickers.map(({ title }) => ({ title, availableTimes: [], originatingMessageId: 'p' })),
    ),
    listPickers: titled(fc.constant(null)).map((pickers) =>
      pickers.map(({ title }) => ({ title, sections: [], originatingMessageId: 'p' })),
    ),
    forms: titled(fc.constant(null)).map((forms) =>
      forms.map(({ title }) => ({ title, pages: [], originatingMessageId: 'p' })),
    ),
    attachments: fc.array(
      fc.record(
        { filename: writing, mediaType: fc.constantFrom('image/png', 'application/pdf') },
        { requiredKeys: [] },
      ),
      { maxLength: 2 },
    ),
    buttonResponse: fc.record(
      { text: writing, payload: fc.string(), type: fc.constantFrom('QuickReply', 'Button', 'DatePicker') },
      { requiredKeys: [] },
    ),
    events: fc.constant([{ type: 'Presence', value: 'Join' }]),
  },
  { requiredKeys: ['id', 'direction', 'type', 'time'] },
);

describe('the service and the kit write one file', () => {
  test('for any messages, the service’s transcript is byte for byte the kit’s fallback, in English or its words', () => {
    const english = wordingFor('en');
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 8 }),
        fc.boolean(),
        fc.constantFrom('text' as const, 'html' as const),
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
        (messages, complete, format, readAt) => {
          const served = transcriptDocument(format, { messages, complete, readAt });
          expect(buildTranscript(messages, { format, complete, readAt }).content).toBe(served);
          // What the kit's download button builds in English.
          const labels = transcriptLabelsOf(english);
          const button = buildTranscript(messages, { format, complete, readAt, labels, lang: 'en', dir: 'ltr' });
          expect(button.content).toBe(served);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('for the reader: the service writes in the kit’s words and the reader’s zone', () => {
  const zones = ['Europe/Berlin', 'America/Los_Angeles', 'Asia/Kolkata', 'UTC'];
  test('in each of the kit’s languages and a time zone, the service’s file is the fallback the kit’s button builds', () => {
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 6 }),
        fc.constantFrom('en', 'de', 'fr', 'es', 'ar'),
        fc.constantFrom(...zones),
        fc.constantFrom('text' as const, 'html' as const),
        (messages, lang, timeZone, format) => {
          const served = transcriptDocument(
            format,
            { messages, complete: true, readAt },
            transcriptLocaleOf(lang, timeZone),
          );
          const words = wordingFor(lang);
          const button = buildTranscript(messages, {
            format,
            readAt,
            labels: transcriptLabelsOf(words),
            lang: words.locale,
            dir: words.dir,
            timeZone,
          });
          expect(button.content).toBe(served);
        },
      ),
    );
  });

  test('a German transcript says Chatverlauf, each word of the kit’s, and local times named by their zone', () => {
    const messages = [
      { id: 'a', direction: 'inbound', type: 'text', text: 'Hallo', time: '2026-03-04T15:30:00.000Z' },
      {
        id: 'b',
        direction: 'outbound',
        type: 'structured',
        text: 'Was möchten Sie tun?',
        time: '2026-03-04T15:31:05.000Z',
        originatingEntity: 'bot',
        quickReplies: [{ text: 'Ja', payload: 'y' }],
      },
    ] as NormalizedMessage[];
    const text = transcriptDocument(
      'text',
      { messages, complete: true, readAt },
      transcriptLocaleOf('de', 'Europe/Berlin'),
    );
    expect(text).toMatch(/^Chatverlauf\n/);
    expect(text).toContain('2026-03-04 16:30:00 Europe/Berlin');
    expect(text).toContain('Sie: Hallo');
    expect(text).toContain('Schnellantworten');
    expect(text).not.toMatch(/\b(You|Agent|Quick replies|UTC)\b/);
  });

  test('without a language or a zone it is the service’s English in UTC; an unknown language is English', () => {
    expect(transcriptLocaleOf()).toBe(ENGLISH_TRANSCRIPT_LOCALE);
    expect(transcriptLocaleOf('tlh', undefined)).toBe(ENGLISH_TRANSCRIPT_LOCALE);
    expect(transcriptLocaleOf('de-AT', undefined).words.title).toBe('Chatverlauf');
    expect(transcriptLocaleOf(undefined, 'Mars/Olympus')).toBe(ENGLISH_TRANSCRIPT_LOCALE);
  });

  test('a language the kit does not ship with a zone it knows is English, its moments in that zone', () => {
    for (const language of ['tlh', undefined]) {
      const locale = transcriptLocaleOf(language, 'Asia/Kolkata');
      expect(locale).toMatchObject({ lang: 'en', dir: 'ltr', words: { title: ENGLISH_TRANSCRIPT_LOCALE.words.title } });
      expect(locale.time(new Date('2026-03-04T15:30:00Z'))).toBe('2026-03-04 21:00:00 Asia/Kolkata');
    }
  });
});

describe('what each message reads as', () => {
  const text = (messages: TranscriptMessage[]) =>
    transcriptText({ messages, complete: true, readAt }, ENGLISH_TRANSCRIPT_LOCALE).split('\n').slice(3, -1);
  const at = '2026-03-04T15:00:00Z';

  test('the guest’s answer to a quick reply or a date picker is what they chose (Genesys has its text empty)', () => {
    const messages: TranscriptMessage[] = [
      { direction: 'inbound', type: 'text', time: at, buttonResponse: { text: 'Yes please' } },
      { direction: 'inbound', type: 'text', time: at, text: '', buttonResponse: { text: 'Tue 1 Dec, 10:00' } },
      // A card's button goes with its text as well: said once.
      { direction: 'inbound', type: 'structured', time: at, text: 'Track', buttonResponse: { text: 'Track' } },
    ];
    expect(text(messages)).toEqual([
      '[2026-03-04 15:00:00 UTC] You: Yes please',
      '[2026-03-04 15:00:00 UTC] You: Tue 1 Dec, 10:00',
      '[2026-03-04 15:00:00 UTC] You: Track',
    ]);
    const html = transcriptHtml({ messages, complete: true, readAt }, ENGLISH_TRANSCRIPT_LOCALE);
    expect(html.match(/<p class="text" dir="auto">[^<]*<\/p>/g)).toEqual([
      '<p class="text" dir="auto">Yes please</p>',
      '<p class="text" dir="auto">Tue 1 Dec, 10:00</p>',
      '<p class="text" dir="auto">Track</p>',
    ]);
  });

  test('the HTML page admits its one style by its hash, and escapes every text', () => {
    const hash = createHash('sha256').update(TRANSCRIPT_STYLE).digest('base64');
    expect(TRANSCRIPT_CSP).toContain(`style-src 'sha256-${hash}'`);
    const html = transcriptHtml(
      {
        messages: [{ direction: 'outbound', type: 'text', time: at, text: 'Track it <b>now</b> & "then"' }],
        complete: true,
        readAt,
      },
      ENGLISH_TRANSCRIPT_LOCALE,
    );
    expect(/<style>(.*)<\/style>/.exec(html)![1]).toBe(TRANSCRIPT_STYLE);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${TRANSCRIPT_CSP}">`);
    expect(html).toContain('Track it &lt;b&gt;now&lt;/b&gt; &amp; &quot;then&quot;');
    expect(html).not.toContain('<b>');
  });
});

describe('its words and its clock are the locale’s', () => {
  /** Every word marked, so that one the layout wrote itself would show. */
  const marked: TranscriptLocale = {
    words: {
      title: '‹title›',
      you: '‹you›',
      agent: '‹agent›',
      bot: '‹bot›',
      saved: '‹saved›',
      messages: (count) => `‹${count} messages›`,
      incomplete: '‹incomplete›',
      list: '‹list›',
      card: '‹card›',
      quickReplies: '‹quick replies›',
      datePicker: '‹date picker›',
      listPicker: '‹list picker›',
      form: '‹form›',
      file: '‹file›',
      attachment: '‹attachment›',
      notDelivered: '‹not delivered›',
    },
    time: (at) => `‹${at.getTime()}›`,
    lang: 'ar',
    dir: 'rtl',
  };
  const messages: TranscriptMessage[] = [
    { direction: 'inbound', type: 'text', time: '2026-03-04T15:00:00Z', text: 'hello', status: 'failed' },
    {
      direction: 'outbound',
      type: 'structured',
      time: 'yesterday',
      from: { name: ' ' },
      cards: [{ title: 'Parcel', actions: [{ url: 'https://x' }] }],
      quickReplies: [{ text: 'Thanks' }],
      datePickers: [{ title: 'When?' }],
      listPickers: [{}],
      forms: [{ title: 'About you' }],
      attachments: [{ filename: 'a.pdf' }, {}],
    },
    { direction: 'outbound', type: 'text', time: '2026-03-04T15:00:01Z', text: 'bye', originatingEntity: 'bot' },
    { direction: 'outbound', type: 'event', time: '2026-03-04T15:00:02Z' },
  ];

  test('the text holds no word of its own, and every moment reads as the locale says (a time that is no date as written)', () => {
    expect(transcriptText({ messages, complete: false, readAt }, marked)).toBe(
      [
        '‹title›',
        `‹saved› ‹${readAt.getTime()}› · ‹3 messages›`,
        '‹incomplete›',
        '',
        `[‹${Date.parse('2026-03-04T15:00:00Z')}›] ‹you›: hello`,
        '    (‹not delivered›)',
        '[yesterday] ‹agent›: ‹card›: Parcel [https://x]',
        '    ‹quick replies›: Thanks',
        '    ‹date picker›: When?',
        '    ‹list picker›:',
        '    ‹form›: About you',
        '    ‹file›: a.pdf',
        '    ‹file›: ‹attachment›',
        `[‹${Date.parse('2026-03-04T15:00:01Z')}›] ‹bot›: bye`,
        '',
      ].join('\n'),
    );
  });

  test('the page is in the locale’s language and direction, its words and moments the locale’s', () => {
    const html = transcriptHtml({ messages, complete: false, readAt }, marked);
    expect(html).toContain('<html lang="ar" dir="rtl">');
    expect(html).toContain('<title>‹title›</title>');
    expect(html).toContain(
      `<p class="summary">‹saved› <time datetime="${readAt.toISOString()}">‹${readAt.getTime()}›</time> · ‹3 messages›</p>`,
    );
    expect(html).toContain('<p class="incomplete" role="note">‹incomplete›</p>');
    expect(html).toContain('<ol aria-label="‹list›">');
    expect(html).toContain('<time datetime="yesterday">yesterday</time>');
    // No English word of the layout's is left in it, the locale's taken out.
    const unmarked = html.replace(/‹[^›]*›/g, '');
    const { messages: count, ...english } = ENGLISH_TRANSCRIPT_LOCALE.words;
    for (const word of [...Object.values(english), count(3)])
      expect({ word, found: unmarked.includes(word) }).toEqual({ word, found: false });
  });
});

describe('the whole file, as a reader gets it', () => {
  /** One of each thing a message holds, among them the blanks: a button with no words, a picker with no title. */
  const messages: TranscriptMessage[] = [
    { direction: 'inbound', type: 'text', time: '2026-03-04T15:00:00Z', text: 'Where’s my "parcel"? It\'s <late>' },
    {
      direction: 'outbound',
      type: 'structured',
      time: '2026-03-04T15:00:05Z',
      from: { name: 'Ana' },
      text: 'Here it is',
      cards: [
        {
          title: 'Parcel',
          description: 'On its way',
          actions: [{ text: 'Track' }, { url: 'https://example.com/p' }, {}],
        },
        { title: 'Returns', actions: [] },
      ],
      quickReplies: [{ text: 'Yes' }, { text: 'No' }],
      datePickers: [{}],
      forms: [{}],
    },
    // Nothing to show but who wrote it and when.
    { direction: 'outbound', type: 'text', time: '2026-03-04T15:00:09Z', originatingEntity: 'bot', text: '' },
  ];
  const input = { messages, complete: true, readAt };

  test('the text: each content on a line of its own, a blank button or title left out, nothing made up', () => {
    const lines = transcriptText(input, ENGLISH_TRANSCRIPT_LOCALE).split('\n');
    expect(lines.map((line) => line.trimEnd())).toEqual([
      'Chat transcript',
      'Saved 2026-03-04 16:00:00 UTC · 3 messages',
      '',
      '[2026-03-04 15:00:00 UTC] You: Where’s my "parcel"? It\'s <late>',
      '[2026-03-04 15:00:05 UTC] Ana: Here it is',
      '    Card: Parcel: On its way [Track | https://example.com/p]',
      '    Card: Returns',
      '    Quick replies: Yes | No',
      '    Date picker:',
      '    Form:',
      '[2026-03-04 15:00:09 UTC] Bot:',
      '',
    ]);
  });

  test('the page, in English, left to right: every element where it belongs, one message a line', () => {
    const meta = (author: string, at: string, shown: string) =>
      `<p class="meta"><span class="author">${author}</span><time datetime="${at}">${shown}</time></p>`;
    expect(transcriptHtml(input, ENGLISH_TRANSCRIPT_LOCALE)).toBe(
      [
        '<!doctype html>',
        '<html lang="en">',
        '<head>',
        '<meta charset="utf-8">',
        `<meta http-equiv="Content-Security-Policy" content="${TRANSCRIPT_CSP}">`,
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        '<title>Chat transcript</title>',
        `<style>${TRANSCRIPT_STYLE}</style>`,
        '</head>',
        '<body>',
        '<main aria-labelledby="title"><h1 id="title">Chat transcript</h1>',
        '<p class="summary">Saved <time datetime="2026-03-04T16:00:00.250Z">2026-03-04 16:00:00 UTC</time> · 3 messages</p>',
        // Complete: no note that messages are missing.
        '',
        '<ol aria-label="Messages"><li class="message inbound">' +
          meta('You', '2026-03-04T15:00:00Z', '2026-03-04 15:00:00 UTC') +
          '<p class="text" dir="auto">Where’s my &quot;parcel&quot;? It&#39;s &lt;late&gt;</p></li>',
        '<li class="message outbound">' +
          meta('Ana', '2026-03-04T15:00:05Z', '2026-03-04 15:00:05 UTC') +
          '<p class="text" dir="auto">Here it is</p>' +
          '<ul><li dir="auto">Card: Parcel: On its way [Track | https://example.com/p]</li>' +
          '<li dir="auto">Card: Returns</li>' +
          '<li dir="auto">Quick replies: Yes | No</li>' +
          '<li dir="auto">Date picker:</li>' +
          '<li dir="auto">Form:</li></ul></li>',
        '<li class="message outbound">' + meta('Bot', '2026-03-04T15:00:09Z', '2026-03-04 15:00:09 UTC') + '</li></ol>',
        '</main>',
        '</body>',
        '</html>',
        '',
      ].join('\n'),
    );
  });

  test('for any text, the page shows it escaped: no markup of its own, and read back it is the text as written', () => {
    const named = { lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' };
    const unescape = (html: string) =>
      html.replace(/&(lt|gt|quot|#39|amp);/g, (_, name: keyof typeof named) => named[name]);
    fc.assert(
      fc.property(
        fc.oneof(writing, fc.string({ unit: fc.constantFrom('&', '<', '>', '"', "'", 'a', ';', '#') })),
        (said) => {
          fc.pre(said !== '');
          const html = transcriptHtml(
            {
              messages: [{ direction: 'inbound', type: 'text', time: readAt.toISOString(), text: said }],
              complete: true,
              readAt,
            },
            ENGLISH_TRANSCRIPT_LOCALE,
          );
          // No paragraph at all reads back as nothing, which is not what was said.
          const [, shown = ''] = /<p class="text" dir="auto">([^<]*)<\/p>/.exec(html) ?? [];
          expect(shown).not.toMatch(/[<>"']/);
          expect(unescape(shown)).toBe(said);
        },
      ),
    );
  });
});
