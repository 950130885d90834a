/**
 * BffClient.catchUp: what a stream's replay could not give, read from history. With the place the gap began at
 * (`after`: a message id, or a time position reaching back 5 s for Genesys's clock), older pages are read too until
 * one reaches it, up to CATCH_UP_PAGES; without it, the newest page alone.
 */
import { BffClient, type ChatMessage } from '../../client/src';
import { CATCH_UP_PAGES } from '../../client/src/messages';

const T0 = Date.parse('2026-11-27T10:00:00.000Z');
const position = (ms: number) => `t-${String(ms).padStart(13, '0')}`;

/** A conversation of `count` messages ten seconds apart, served oldest first within pages, page 1 the newest. */
function served(count: number) {
  const messages: ChatMessage[] = Array.from({ length: count }, (_, i) => ({
    id: `m${i}`,
    direction: 'outbound',
    type: 'text',
    text: `message ${i}`,
    time: new Date(T0 + i * 10_000).toISOString(),
  }));
  const pagesRead: number[] = [];
  const fetchImpl: typeof fetch = async (input) => {
    const url = new URL(String(input));
    const page = Number(url.searchParams.get('page') ?? '1');
    const pageSize = Number(url.searchParams.get('pageSize') ?? '25');
    pagesRead.push(page);
    const end = Math.max(0, messages.length - (page - 1) * pageSize);
    const body = { messages: messages.slice(Math.max(0, end - pageSize), end), page, pageSize, total: messages.length };
    return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
  };
  const client = new BffClient({ baseUrl: 'http://bff.test', fetch: fetchImpl });
  return { client, pagesRead };
}

const ids = (messages: ChatMessage[]) => messages.map((m) => m.id);

test('without a place: the newest page alone', async () => {
  const { client, pagesRead } = served(12);
  expect(ids(await client.catchUp({ pageSize: 3 }))).toEqual(['m9', 'm10', 'm11']);
  expect(pagesRead).toEqual([1]);
});

test('after a message id: back to the page that holds it, oldest first, and no further', async () => {
  const { client, pagesRead } = served(12);
  expect(ids(await client.catchUp({ pageSize: 3, after: 'm7' }))).toEqual(['m6', 'm7', 'm8', 'm9', 'm10', 'm11']);
  expect(pagesRead).toEqual([1, 2]);
  // On the newest page: that page alone.
  const newest = served(12);
  expect(ids(await newest.client.catchUp({ pageSize: 3, after: 'm10' }))).toEqual(['m9', 'm10', 'm11']);
  expect(newest.pagesRead).toEqual([1]);
});

test('after a time position: back to a page holding a message from more than 5 s before it', async () => {
  // m5 is at the position, m4 10 s before it (before the reach), m6 10 s after.
  const { client, pagesRead } = served(12);
  const caught = ids(await client.catchUp({ pageSize: 3, after: position(T0 + 50_000) }));
  expect(caught).toEqual(['m3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11']);
  expect(pagesRead).toEqual([1, 2, 3]);
  // The newest page's oldest message (m9) 4 s before the position is within the reach: that page does not end it.
  const near = served(12);
  await near.client.catchUp({ pageSize: 3, after: position(T0 + 94_000) });
  expect(near.pagesRead).toEqual([1, 2]);
  // 6 s before it is not.
  const beyond = served(12);
  await beyond.client.catchUp({ pageSize: 3, after: position(T0 + 96_000) });
  expect(beyond.pagesRead).toEqual([1]);
});

test('a place no page holds: at most CATCH_UP_PAGES pages (or `pages`), never past the conversation', async () => {
  const { client, pagesRead } = served(3 * (CATCH_UP_PAGES + 2));
  await client.catchUp({ pageSize: 3, after: 'gone' });
  expect(pagesRead).toEqual(Array.from({ length: CATCH_UP_PAGES }, (_, i) => i + 1));
  const capped = served(30);
  await capped.client.catchUp({ pageSize: 3, after: 'gone', pages: 2 });
  expect(capped.pagesRead).toEqual([1, 2]);
  const short = served(5);
  expect(ids(await short.client.catchUp({ pageSize: 3, after: 'gone' }))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  expect(short.pagesRead).toEqual([1, 2]);
});
