import { createHash } from 'node:crypto';
import { buildTranscript, transcriptLabelsOf } from '../../client/src/transcript';
import { wordingFor } from '../../client/src/wording';
import { zonedTime } from '../../client/src/transcriptLocale';
import type { ChatMessage } from '../../client/src/types';
import { CONVERSATION_PAGE_SIZE, CONVERSATION_PAGES } from '../../src/genesys/guest/rest/history';
import { manualClock } from '../support/platform';
import { bearer, type Stack, startStack } from '../support/stack';
import { waitFor } from '../support/wait';

let stack: Stack;
/** The history budget's clock: it stands still unless a test moves it. */
const clock = manualClock(Date.now());
beforeAll(async () => {
  stack = await startStack({
    sim: { agent: { enabled: false }, messagesPerSecond: 5 },
    env: { GENESYS_MESSAGES_PER_SECOND: '5' },
    now: clock.now,
  });
});
afterAll(() => stack.close());
beforeEach(() => clock.advance(60_000));

const GUEST_MESSAGES = 6;
const TOTAL = 120;
const HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';

/** A conversation of 120 messages (more than one history page of 100): a few from the guest, the rest from the agent. */
async function longConversation() {
  const { token, gt } = await stack.newGuest();
  const texts: string[] = [];
  for (let i = 1; i <= GUEST_MESSAGES; i++) {
    const text = `guest message ${i}`;
    const sent = await stack.http.post('/messages').set(bearer(token)).send({ text });
    expect(sent.status).toBe(201);
    texts.push(text);
    clock.advance(1000);
  }
  for (let i = 1; i <= TOTAL - GUEST_MESSAGES; i++) {
    const text = i === 7 ? HOSTILE : `agent message ${i}`;
    stack.sim.agent.say(gt, text, { originatingEntity: 'Human' });
    texts.push(text);
  }
  return { token, gt, texts };
}

const historyReads = () => stack.sim.requests.filter((r) => r.target === 'history').length;

/** Each text found after the one before it. */
function expectInOrder(document: string, texts: string[]) {
  let from = 0;
  for (const text of texts) {
    const at = document.indexOf(text, from);
    expect({ text, found: at >= 0 }).toEqual({ text, found: true });
    from = at + text.length;
  }
}

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

describe('GET /messages/transcript', () => {
  test('plain text by default: every message of a 120-message conversation, oldest first, as an attachment', async () => {
    const { token, texts } = await longConversation();
    const before = historyReads();
    const res = await stack.http.get('/messages/transcript').set(bearer(token));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="chat-transcript-\d{4}-\d\d-\d\d\.txt"$/);
    expect(historyReads() - before).toBe(2);
    expectInOrder(res.text, texts);
    expect(res.text.match(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\] /gm)).toHaveLength(TOTAL);
    expect(res.text).toMatch(/^\[[^\]]+\] You: guest message 1$/m);
    expect(res.text).toContain(`${TOTAL} messages`);
    // A cache keeps one copy per format and per language asked; the text file keeps the service's own policy.
    expect(res.headers.vary!.split(/,\s*/)).toEqual(expect.arrayContaining(['Accept', 'Accept-Language']));
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'self';/);
  });

  test('HTML by ?format=html or by Accept: a self-contained page, every message escaped', async () => {
    const { token, texts } = await longConversation();
    const asked = await stack.http.get('/messages/transcript?format=html').set(bearer(token));
    const negotiated = await stack.http
      .get('/messages/transcript')
      .set({ ...bearer(token), Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    for (const res of [asked, negotiated]) {
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename="chat-transcript-[\d-]+\.html"$/);
      expect(res.headers['content-security-policy']).toMatch(
        /^default-src 'none'; style-src 'sha256-[^']+'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/,
      );
      const html = res.text;
      // The header's policy admits the page's one style by its hash, and nothing else.
      const style = /<style>(.*)<\/style>/.exec(html)![1]!;
      const hash = createHash('sha256').update(style).digest('base64');
      expect(res.headers['content-security-policy']).toContain(`style-src 'sha256-${hash}'`);
      expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
      expectInOrder(html, texts.map(escapeHtml));
      expect(html.match(/<li class="message (inbound|outbound)">/g)).toHaveLength(TOTAL);
      // Nothing runs and nothing loads: no script, no handler, no outside reference in any tag.
      const tags = new Set(html.match(/<[a-z][^>]*>/gi)!.map((tag) => tag.match(/^<(\w+)/)![1]!.toLowerCase()));
      expect([...tags].sort()).toEqual(
        ['body', 'h1', 'head', 'html', 'li', 'main', 'meta', 'ol', 'p', 'span', 'style', 'time', 'title'].sort(),
      );
      expect(html.match(/<[a-z][^>]*>/gi)!.filter((tag) => /\s(on\w+|src|href)=/i.test(tag))).toEqual([]);
      expect(html).not.toContain('url(');
    }
    expect(negotiated.headers.vary).toMatch(/Accept/);
  });

  test("the guest's answers to a quick reply and a date picker read as what they chose, not as an empty line", async () => {
    const { token, gt } = await stack.newGuest();
    stack.sim.agent.say(gt, 'Shall we book?', { quickReplies: ['Yes please', 'No'] });
    const shown = (await stack.http.get('/messages').set(bearer(token))).body.messages as ChatMessage[];
    const offer = shown.find((m) => m.quickReplies);
    const answers = [
      { quickReply: { text: 'Yes please', payload: 'payload-1', originatingMessageId: offer!.id } },
      {
        datePicker: { dateTime: '2026-12-01T10:00:00.000Z', originatingMessageId: offer!.id, text: 'Tue 1 Dec, 10:00' },
      },
    ];
    for (const answer of answers)
      expect((await stack.http.post('/messages').set(bearer(token)).send(answer)).status).toBe(201);
    const text = (await stack.http.get('/messages/transcript').set(bearer(token))).text;
    expect(text.split('\n').filter((line) => / You: /.test(line))).toEqual([
      expect.stringMatching(/ You: Yes please$/),
      expect.stringMatching(/ You: Tue 1 Dec, 10:00$/),
    ]);
    const html = (await stack.http.get('/messages/transcript?format=html').set(bearer(token))).text;
    expect(html).toContain('<p class="text" dir="auto">Yes please</p>');
    expect(html).toContain('<p class="text" dir="auto">Tue 1 Dec, 10:00</p>');
  });

  test("the service's file is byte for byte the one the browser kit builds from the same messages", async () => {
    const { token, gt } = await stack.newGuest();
    await stack.http.post('/messages').set(bearer(token)).send({ text: 'Where is my parcel?\nIt is late.' });
    stack.sim.agent.say(gt, HOSTILE, { originatingEntity: 'Human', quickReplies: ['Track', 'Call me'] });
    stack.sim.agent.say(gt, 'A bot speaks', { originatingEntity: 'Bot' });
    const offered = (await stack.http.get('/messages').set(bearer(token))).body.messages as ChatMessage[];
    const originatingMessageId = offered.find((m) => m.quickReplies)!.id;
    await stack.http
      .post('/messages')
      .set(bearer(token))
      .send({ quickReply: { text: 'Track', payload: 'payload-1', originatingMessageId } });
    const shown = (await stack.http.get('/messages?pageSize=100').set(bearer(token))).body.messages as ChatMessage[];
    // The moment the service read the conversation: to the millisecond in the page, to the second in the text.
    const text = (await stack.http.get('/messages/transcript?format=text').set(bearer(token))).text;
    const savedAt = new Date(`${/^Saved (\S+) (\S+) UTC/m.exec(text)!.slice(1).join('T')}Z`);
    expect(text).toBe(buildTranscript(shown, { format: 'text', readAt: savedAt }).content);
    const html = (await stack.http.get('/messages/transcript?format=html').set(bearer(token))).text;
    const readAt = new Date(/<p class="summary">[^<]*<time datetime="([^"]+)">/.exec(html)![1]!);
    expect(html).toBe(buildTranscript(shown, { format: 'html', readAt }).content);
    expect(html).toContain('<p class="text" dir="auto">Track</p>');
  });

  test('in the reader’s language and time zone (?lang, Accept-Language, ?timeZone), the file the kit would build', async () => {
    const { token } = await stack.newGuest();
    await stack.http.post('/messages').set(bearer(token)).send({ text: 'Hallo' });
    const shown = (await stack.http.get('/messages?pageSize=100').set(bearer(token))).body.messages as ChatMessage[];
    const german = (
      await stack.http.get('/messages/transcript?format=text&lang=de&timeZone=Europe/Berlin').set(bearer(token))
    ).text;
    expect(german).toMatch(/^Chatverlauf\n/);
    // The second the service read the conversation, as Berlin's clock shows it: the instant of that second is the
    // one, within the last minute, that the same clock shows the same.
    const saved = /^Gespeichert (.+?) ·/m.exec(german)![1]!;
    const berlin = zonedTime('Europe/Berlin');
    const now = Math.floor(Date.now() / 1000) * 1000;
    const second = Array.from({ length: 120 }, (_, i) => now - i * 1000).find((t) => berlin(new Date(t)) === saved)!;
    const readAt = new Date(second);
    const words = wordingFor('de');
    const built = buildTranscript(shown, {
      format: 'text',
      readAt,
      labels: transcriptLabelsOf(words),
      lang: 'de',
      dir: 'ltr',
      timeZone: 'Europe/Berlin',
    });
    expect(german).toBe(built.content);
    // Accept-Language chooses when ?lang is absent; an unknown zone is refused in words.
    const arabic = await stack.http
      .get('/messages/transcript?format=html')
      .set({ ...bearer(token), 'Accept-Language': 'ar-EG, en;q=0.5' });
    expect(arabic.text).toContain('<html lang="ar" dir="rtl">');
    expect(arabic.headers.vary).toMatch(/Accept-Language/);
    const refused = await stack.http.get('/messages/transcript?timeZone=Mars/Olympus').set(bearer(token));
    expect([refused.status, refused.body.code]).toEqual([400, 'validation_failed']);
  });

  test('served while the conversation is read-only after the agent left', async () => {
    const { token, gt, texts } = await longConversation();
    stack.sim.agent.disconnect(gt, { readOnly: true });
    await waitFor(async () => (await stack.http.get('/guest-session').set(bearer(token))).body.readOnly === true);
    const res = await stack.http.get('/messages/transcript').set(bearer(token));
    expect(res.status).toBe(200);
    expectInOrder(res.text, texts);
  });

  test('refused 410 once the guest ended the session', async () => {
    const { token } = await stack.newGuest();
    expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
    const res = await stack.http.get('/messages/transcript').set(bearer(token));
    expect(res.status).toBe(410);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('session_expired');
  });

  test('a format it does not make is a 400 problem naming the parameter, and reads nothing', async () => {
    const { token } = await stack.newGuest();
    const before = historyReads();
    for (const query of ['format=pdf', 'format=', 'style=html']) {
      const res = await stack.http.get(`/messages/transcript?${query}`).set(bearer(token));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('validation_failed');
    }
    const bad = await stack.http.get('/messages/transcript?format=pdf').set(bearer(token));
    expect(bad.body.detail).toMatch(/format/);
    expect(historyReads()).toBe(before);
  });

  test(`a conversation of exactly ${CONVERSATION_PAGES} pages: every message, not marked incomplete`, async () => {
    const held = CONVERSATION_PAGES * CONVERSATION_PAGE_SIZE;
    for (const total of [held - CONVERSATION_PAGE_SIZE + 1, held]) {
      const { token, gt } = await stack.newGuest();
      // Whatever Genesys keeps of a new conversation (a Join) counts in its total and pages like a message.
      const said = total - stack.sim.conversationMessages(gt).length;
      for (let i = 1; i <= said; i++) stack.sim.agent.say(gt, `agent message ${i}`);
      expect(stack.sim.conversationMessages(gt)).toHaveLength(total);
      const before = historyReads();
      const res = await stack.http.get('/messages/transcript').set(bearer(token));
      expect(res.status).toBe(200);
      expect({ total, reads: historyReads() - before }).toEqual({ total, reads: CONVERSATION_PAGES });
      expect({ total, incomplete: res.text.includes('The oldest messages are not included') }).toEqual({
        total,
        incomplete: false,
      });
      expect(res.text.match(/^\[[^\]]+\] /gm)).toHaveLength(said);
      expect(res.text).toMatch(/: agent message 1\n/);
      expect(res.text).toMatch(new RegExp(`: agent message ${said}\\n$`));
    }
  });

  test('a conversation longer than the spare reads hold: the newest five pages, saying the oldest are left out', async () => {
    const { token, gt } = await stack.newGuest();
    for (let i = 1; i <= 560; i++) stack.sim.agent.say(gt, `agent message ${i}`);
    const before = historyReads();
    const res = await stack.http.get('/messages/transcript').set(bearer(token));
    expect(res.status).toBe(200);
    expect(historyReads() - before).toBe(5);
    expect(res.text).toContain('The oldest messages are not included');
    expect(res.text.match(/^\[[^\]]+\] /gm)).toHaveLength(500);
    expect(res.text).toMatch(/: agent message 61\n/);
    expect(res.text).not.toMatch(/: agent message 60\n/);
    expect(res.text).toMatch(/: agent message 560\n$/);
  });

  test("takes only the half of the session's history reads that delivery proofs leave: then 429 with Retry-After", async () => {
    const { token } = await longConversation();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await stack.http.get('/messages/transcript').set(bearer(token))).status);
    // Two pages a transcript: two fit in the spare five reads of the minute, a third does not start its second page.
    expect(statuses).toEqual([200, 200, 429, 429]);
    const refused = await stack.http.get('/messages/transcript').set(bearer(token));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body.code).toBe('rate_limited');
    // The other half of the minute is still there for the reads that need it.
    const reads = [];
    for (let i = 0; i < 5; i++) reads.push((await stack.http.get('/messages').set(bearer(token))).status);
    expect(reads).toEqual([200, 200, 200, 200, 200]);
    clock.advance(60_000);
    expect((await stack.http.get('/messages/transcript').set(bearer(token))).status).toBe(200);
  });
});
