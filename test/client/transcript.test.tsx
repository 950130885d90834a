/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { act, cleanup, fireEvent, render, screen } from '../support/dom';
import {
  BffClient,
  BffError,
  buildTranscript,
  saveTranscript,
  transcriptLabelsOf,
  type ChatMessage,
  type Transcript,
} from '../../client/src';
import { MessageList, TranscriptButton, wordingFor } from '../../client/src/react';

/**
 * A transcript from the service, or built on the page in the same layout (its layout and its sameness to the
 * service's file: transcriptLayout.test.ts); and agent Markdown in the list.
 */

const readAt = new Date('2026-03-04T16:00:00Z');
const conversation: ChatMessage[] = [
  { id: 'm1', direction: 'inbound', type: 'text', text: 'Where is my parcel?', time: '2026-03-04T15:00:00Z' },
  {
    id: 'm2',
    direction: 'outbound',
    type: 'structured',
    text: 'It left **today**.\nTrack it below <b>now</b>.',
    time: '2026-03-04T15:00:05Z',
    originatingEntity: 'human',
    from: { name: 'Alex' },
    cards: [
      { title: 'Parcel', description: 'In transit', actions: [{ type: 'Link', text: 'Track', url: 'https://x' }] },
    ],
    quickReplies: [{ text: 'Thanks', payload: 't' }],
  },
  { id: 'e1', direction: 'outbound', type: 'event', time: '2026-03-04T15:00:06Z', events: [{ type: 'Presence' }] },
  {
    id: 'm3',
    direction: 'inbound',
    type: 'text',
    time: '2026-03-04T15:00:07Z',
    attachments: [{ filename: 'receipt.pdf', mediaType: 'application/pdf' }],
  },
  {
    id: 'm4',
    direction: 'outbound',
    type: 'text',
    text: 'Bye',
    time: '2026-03-04T15:00:09Z',
    originatingEntity: 'bot',
  },
];

afterEach(cleanup);

describe('built on the page', () => {
  test('its layout: every message once, events left out, its lines and contents below it', () => {
    const built = buildTranscript(conversation, { readAt });
    expect(built).toMatchObject({
      format: 'text',
      mediaType: 'text/plain;charset=utf-8',
      fileName: 'chat-transcript-2026-03-04.txt',
      source: 'page',
    });
    expect(built.content).toBe(
      [
        'Chat transcript',
        'Saved 2026-03-04 16:00:00 UTC · 4 messages',
        '',
        '[2026-03-04 15:00:00 UTC] You: Where is my parcel?',
        '[2026-03-04 15:00:05 UTC] Alex: It left **today**.',
        '    Track it below <b>now</b>.',
        '    Card: Parcel: In transit [Track]',
        '    Quick replies: Thanks',
        '[2026-03-04 15:00:07 UTC] You: File: receipt.pdf',
        '[2026-03-04 15:00:09 UTC] Bot: Bye',
        '',
      ].join('\n'),
    );
  });

  test('as HTML: its media type and file name, in English (left to right: no dir) unless told otherwise', () => {
    const built = buildTranscript(conversation, { readAt, format: 'html' });
    expect(built).toMatchObject({
      format: 'html',
      mediaType: 'text/html;charset=utf-8',
      fileName: 'chat-transcript-2026-03-04.html',
      source: 'page',
    });
    expect(built.content).toContain('<html lang="en">');
    expect(built.content).toContain('<title>Chat transcript</title>');
  });

  test('the file is named by the day it was read, and says when the oldest messages are missing', () => {
    const late = buildTranscript(conversation, { readAt: new Date('2026-03-05T00:00:01Z') });
    expect(late.fileName).toBe('chat-transcript-2026-03-05.txt');
    const complete = buildTranscript(conversation, { readAt }).content;
    const partial = buildTranscript(conversation, { readAt, complete: false }).content;
    expect(complete).not.toContain('The oldest messages are not included');
    expect(partial.split('\n').slice(0, 3)).toEqual([
      'Chat transcript',
      'Saved 2026-03-04 16:00:00 UTC · 4 messages',
      expect.stringContaining('The oldest messages are not included'),
    ]);
  });

  test('a time zone the browser does not know writes every moment in UTC, as none does', () => {
    const unknown = buildTranscript(conversation, { readAt, timeZone: 'Mars/Olympus_Mons' });
    expect(unknown.content).toBe(buildTranscript(conversation, { readAt }).content);
    expect(unknown.content).toContain('[2026-03-04 15:00:00 UTC] You: Where is my parcel?');
  });

  test('in the kit’s language, right to left for Arabic', () => {
    const wording = wordingFor('ar');
    const html = buildTranscript(conversation, {
      readAt,
      format: 'html',
      labels: transcriptLabelsOf(wording),
      lang: wording.locale,
      dir: wording.dir,
    }).content;
    expect(html).toContain('<html lang="ar" dir="rtl">');
    expect(html).toContain(`<title>${wording.t('transcriptTitle')}</title>`);
    expect(html).toContain(`<span class="author">${wording.t('you')}</span>`);
    expect(html).toContain(wording.t('transcriptMessages', { count: 4 }));
  });
});

describe('client.transcript()', () => {
  function clientAnswering(status: number, body: string, headers: Record<string, string>) {
    const calls: { url: string; accept: string | null }[] = [];
    const client = new BffClient({
      baseUrl: 'http://bff.test',
      fetch: async (input, init) => {
        calls.push({ url: String(input), accept: new Headers(init?.headers).get('accept') });
        return new Response(body, { status, headers });
      },
    });
    return { client, calls };
  }

  test('asks for the format, and keeps the file name the service gave', async () => {
    const { client, calls } = clientAnswering(200, '<!doctype html>', {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Disposition': 'attachment; filename="chat-transcript-2026-03-04.html"',
    });
    const transcript = await client.transcript({ format: 'html' });
    expect(calls).toEqual([{ url: 'http://bff.test/messages/transcript?format=html', accept: 'text/html' }]);
    expect(transcript).toEqual({
      format: 'html',
      mediaType: 'text/html;charset=utf-8',
      fileName: 'chat-transcript-2026-03-04.html',
      content: '<!doctype html>',
      source: 'service',
    });
  });

  test('asks for the reader’s language and time zone, each only when given', async () => {
    const { client, calls } = clientAnswering(200, 'Chatverlauf', { 'Content-Type': 'text/plain; charset=utf-8' });
    await client.transcript({ lang: 'de', timeZone: 'Europe/Berlin' });
    await client.transcript({ timeZone: 'Asia/Kolkata' });
    await client.transcript({ lang: 'ar' });
    expect(calls).toEqual([
      { url: 'http://bff.test/messages/transcript?format=text&lang=de&timeZone=Europe%2FBerlin', accept: 'text/plain' },
      { url: 'http://bff.test/messages/transcript?format=text&timeZone=Asia%2FKolkata', accept: 'text/plain' },
      { url: 'http://bff.test/messages/transcript?format=text&lang=ar', accept: 'text/plain' },
    ]);
  });

  test('without a plain file name from the service, names the file by today', async () => {
    const today = `chat-transcript-${new Date().toISOString().slice(0, 10)}`;
    const dispositions = [
      undefined,
      'attachment',
      'attachment; filename="../evil/chat.txt"',
      'attachment; filename="chat transcript.txt"',
    ];
    const names: string[] = [];
    for (const disposition of dispositions) {
      const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8' };
      if (disposition !== undefined) headers['Content-Disposition'] = disposition;
      names.push((await clientAnswering(200, 'text', headers).client.transcript()).fileName);
    }
    // Read again after: a run across midnight names the file by the later day.
    const now = `chat-transcript-${new Date().toISOString().slice(0, 10)}`;
    expect(names).toHaveLength(dispositions.length);
    for (const name of names) expect([`${today}.txt`, `${now}.txt`]).toContain(name);
  });

  test('a refusal is a BffError with its code', async () => {
    const { client } = clientAnswering(410, JSON.stringify({ status: 410, code: 'session_expired', title: 'Gone' }), {
      'Content-Type': 'application/problem+json',
    });
    await expect(client.transcript()).rejects.toMatchObject({ status: 410, code: 'session_expired' });
  });
});

/** What the page offered for download: the blob behind each object URL, and the file name of the link clicked. */
function captureDownloads() {
  const saved: { fileName: string; content: Promise<string> }[] = [];
  const blobs = new Map<string, Blob>();
  Object.assign(URL, {
    createObjectURL: (blob: Blob) => {
      const url = `blob:test/${blobs.size}`;
      blobs.set(url, blob);
      return url;
    },
    revokeObjectURL: () => undefined,
  });
  jest.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
    saved.push({ fileName: this.download, content: blobs.get(this.href)!.text() });
  });
  return saved;
}

describe('saveTranscript', () => {
  afterEach(() => jest.restoreAllMocks());

  test('clicks a hidden link to a blob of the content, typed, then removes the link and revokes the URL by the next task', async () => {
    const blobs: Blob[] = [];
    const revoked: string[] = [];
    Object.assign(URL, {
      createObjectURL: (blob: Blob) => {
        blobs.push(blob);
        return 'blob:test/saved';
      },
      revokeObjectURL: (url: string) => void revoked.push(url),
    });
    const clicked: { href: string; download: string; hidden: boolean; inDocument: boolean }[] = [];
    jest.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push({ href: this.href, download: this.download, hidden: this.hidden, inDocument: this.isConnected });
    });
    saveTranscript(buildTranscript(conversation, { readAt, format: 'html' }));
    expect(clicked).toEqual([
      { href: 'blob:test/saved', download: 'chat-transcript-2026-03-04.html', hidden: true, inDocument: true },
    ]);
    expect(blobs.map((blob) => blob.type)).toEqual(['text/html;charset=utf-8']);
    expect(await blobs[0]!.text()).toContain('Where is my parcel?');
    expect(document.querySelectorAll('a')).toHaveLength(0);
    // The download takes the data before the URL goes.
    expect(revoked).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(revoked).toEqual(['blob:test/saved']);
  });
});

describe('TranscriptButton', () => {
  afterEach(() => jest.restoreAllMocks());

  test('offers the service’s transcript', async () => {
    const saved = captureDownloads();
    const fromService: Transcript = {
      format: 'html',
      mediaType: 'text/html;charset=utf-8',
      fileName: 'chat-transcript-2026-03-04.html',
      content: 'the whole conversation',
      source: 'service',
    };
    const onSaved = jest.fn();
    render(<TranscriptButton client={{ transcript: async () => fromService }} messages={[]} onSaved={onSaved} />);
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Download transcript' })));
    expect(onSaved).toHaveBeenCalledWith(fromService);
    expect(saved).toHaveLength(1);
    expect(saved[0]!.fileName).toBe('chat-transcript-2026-03-04.html');
    expect(await saved[0]!.content).toBe('the whole conversation');
  });

  test('refused 410 after the guest ended the chat, builds the same file from the messages on the page', async () => {
    const saved = captureDownloads();
    const gone = new BffError({ status: 410, code: 'session_expired', message: 'ended' });
    const onSaved = jest.fn();
    render(
      <TranscriptButton
        client={{ transcript: () => Promise.reject(gone) }}
        messages={conversation}
        format="text"
        onSaved={onSaved}
      />,
    );
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Download transcript' })));
    expect(onSaved.mock.calls[0]![0]).toMatchObject({ source: 'page', format: 'text' });
    const content = await saved[0]!.content;
    for (const line of ['You: Where is my parcel?', 'Alex: It left **today**.', 'Bot: Bye']) {
      expect(content).toContain(line);
    }
    expect(saved[0]!.fileName).toMatch(/^chat-transcript-\d{4}-\d\d-\d\d\.txt$/);
  });
});

describe('TranscriptButton for its reader', () => {
  afterEach(() => jest.restoreAllMocks());

  /** The browser's time zone, as the button reads it, set to `zone`. */
  function browserZone(zone: string): void {
    const real = Intl.DateTimeFormat.prototype.resolvedOptions;
    jest.spyOn(Intl.DateTimeFormat.prototype, 'resolvedOptions').mockImplementation(function (
      this: Intl.DateTimeFormat,
    ) {
      return { ...real.call(this), timeZone: zone };
    });
  }

  test('asks the service in the kit’s language and the browser’s time zone', async () => {
    captureDownloads();
    browserZone('Europe/Berlin');
    const transcript = jest.fn(async (): Promise<Transcript> => ({
      format: 'html',
      mediaType: 'text/html;charset=utf-8',
      fileName: 'chat-transcript-2026-03-04.html',
      content: 'Chatverlauf',
      source: 'service',
    }));
    render(<TranscriptButton client={{ transcript }} messages={[]} wording={wordingFor('de')} />);
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Verlauf herunterladen' })));
    expect(transcript).toHaveBeenCalledWith({ format: 'html', lang: 'de', timeZone: 'Europe/Berlin' });
  });

  test('refused, builds the file on the page in the same language and zone', async () => {
    const saved = captureDownloads();
    browserZone('Europe/Berlin');
    const gone = new BffError({ status: 410, code: 'session_expired', message: 'ended' });
    render(
      <TranscriptButton
        client={{ transcript: () => Promise.reject(gone) }}
        messages={conversation}
        format="text"
        wording={wordingFor('de')}
      />,
    );
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Verlauf herunterladen' })));
    const content = await saved[0]!.content;
    expect(content.startsWith('Chatverlauf\n')).toBe(true);
    // 15:00 UTC is 16:00 in Berlin in March.
    expect(content).toContain('[2026-03-04 16:00:00 Europe/Berlin] Sie: Where is my parcel?');
  });
});

describe('MessageList with markdown', () => {
  test('agent text formatted, the guest’s left as typed, hostile markup inert', async () => {
    const messages: ChatMessage[] = [
      { id: 'g', direction: 'inbound', type: 'text', text: 'is **this** bold?', time: '2026-03-04T15:00:00Z' },
      {
        id: 'a',
        direction: 'outbound',
        type: 'text',
        text: '**Yes.** Steps:\n\n- one\n- two\n\n[help](https://example.com) [bad](javascript:alert(1)) <img src=x onerror=alert(1)>',
        time: '2026-03-04T15:00:01Z',
      },
    ];
    const { container } = render(<MessageList messages={messages} onAnswer={() => undefined} markdown />);
    const bold = await screen.findByText('Yes.');
    expect(bold.tagName).toBe('STRONG');
    expect(Array.from(container.querySelectorAll('.markdown li')).map((li) => li.textContent)).toEqual(['one', 'two']);
    const link = screen.getByRole('link', { name: 'help (opens in a new tab)' });
    expect(link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(container.querySelectorAll('a')).toHaveLength(1);
    expect(container.querySelector('img, [onerror]')).toBeNull();
    expect(screen.getByText('is **this** bold?').tagName).toBe('P');
  });

  test('without markdown, the text is shown as written', () => {
    const messages: ChatMessage[] = [
      { id: 'a', direction: 'outbound', type: 'text', text: '**Yes.**', time: '2026-03-04T15:00:01Z' },
    ];
    const { container } = render(<MessageList messages={messages} onAnswer={() => undefined} />);
    expect(screen.getByText('**Yes.**').tagName).toBe('P');
    expect(container.querySelector('strong')).toBeNull();
  });
});
