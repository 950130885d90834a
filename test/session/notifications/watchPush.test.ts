import type { NormalizedMessage } from '../../../src/domain/message';
import type { NewestPage } from '../../../src/genesys/guest';
import { pushes as pushesCounted } from '../../../src/observability/metrics';
import type { ChatWatch } from '../../../src/session/notifications/chatWatch';
import { bucketOf, listed, recordKeys } from '../../../src/session/notifications/pushRecords';
import { sessionKeyOf } from '../../../src/store';
import { advanceFakeTimersUntil, waitFor } from '../../support/wait';
import { type WatchedChat, watchedChat } from '../../support/watchedChat';

/**
 * What a watch pushes for the replies it found (src/session/notifications/watch.ts, flush): the newest reply's
 * sender, its text cut to a preview of 120 characters, the page to open; and what a push service's "gone" does. The
 * Guest API session and the push service are stand-ins; the store is the service's own in-memory store.
 */

const GT = 'guest-token-of-a-pushed-chat';
const sk = sessionKeyOf(GT);
const keys = recordKeys(sk);

const guestMessage = { id: 'g1', direction: 'inbound', type: 'text', text: 'hello' } as NormalizedMessage;
const reply = (id: string, fields: Partial<NormalizedMessage>) =>
  ({ id, direction: 'outbound', type: 'text', text: 'Your parcel has shipped', ...fields }) as NormalizedMessage;

const pageOf = (...replies: NormalizedMessage[]): NewestPage => ({
  messages: [guestMessage, ...replies],
  receipts: [],
});

let running: ChatWatch | undefined;
afterEach(() => running?.close());

describe('a push names who wrote the newest reply', () => {
  it.each([
    ['by the name Genesys gives', { originatingEntity: 'human', from: { name: 'Alex' } }, 'Alex'],
    ['as the bot when a bot wrote it unnamed', { originatingEntity: 'bot' }, 'bot'],
    ['as the agent when an agent wrote it unnamed', { originatingEntity: 'human' }, 'agent'],
  ] as const)('%s', async (_, fields, from) => {
    const { pushes, watch } = await watchedChat({ gt: GT, newest: [async () => pageOf(reply('r1', fields))] });
    running = watch;
    await waitFor(() => expect(pushes).toHaveLength(1));
    expect(pushes[0]).toEqual({
      type: 'reply',
      from,
      preview: 'Your parcel has shipped',
      url: 'https://shop.example.com/chat',
    });
  });
});

test('a preview is the first 120 characters of the newest reply', async () => {
  const text = `${'a'.repeat(120)}${'b'.repeat(80)}`;
  const { pushes, watch } = await watchedChat({
    gt: GT,
    newest: [async () => pageOf(reply('r1', { text: 'older' }), reply('r2', { text }))],
  });
  running = watch;
  await waitFor(() => expect(pushes).toHaveLength(1));
  expect(pushes[0]!.preview).toBe('a'.repeat(120));
});

test('each push goes out under a request id of its own, which its log lines carry', async () => {
  const { pushes, watch, pushedUnder } = await watchedChat({
    gt: GT,
    newest: [async () => pageOf(reply('r1', {}))],
  });
  running = watch;
  await waitFor(() => expect(pushes).toHaveLength(1));
  expect(pushedUnder).toEqual([expect.stringMatching(/^push-[0-9a-f]{16}$/)]);
});

test('a subscription the push service says is gone is removed, its reply marked so, and the chat leaves the lists', async () => {
  const { pushes, watch, store, log } = await watchedChat({
    gt: GT,
    newest: [async () => pageOf(reply('r1', {}))],
    outcome: 'gone',
  });
  running = watch;
  await waitFor(() => expect(pushes).toHaveLength(1));
  await waitFor(async () => expect(await store.get(keys.record)).toBeUndefined());
  expect(await store.get(keys.message('r1'))).toBe('gone');
  await waitFor(async () => expect(await listed(store, bucketOf(sk))).not.toContain(sk));
  expect(
    log
      .lines()
      .filter((l) => l.msg === 'stopped watching a chat')
      .map((l) => l.reason),
  ).toEqual(['the push service says the subscription is gone']);
});

describe('replies are gathered into one push for a moment after the first (fake time)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => {
    running?.close();
    jest.clearAllTimers();
    jest.useRealTimers();
  });

  /** A watched chat listening to its socket, its catch-up read done, that gathers replies for `coalesceMs`. */
  async function listening(coalesceMs: number | null, found: NormalizedMessage[] = []) {
    const chat = await watchedChat({ gt: GT, newest: [async () => pageOf(...found)], coalesceMs });
    running = chat.watch;
    expect(await advanceFakeTimersUntil(() => chat.reads() > 0, 10_000, 1)).toBe(true);
    return chat;
  }

  it.each([
    ['as set', 200],
    ['3 s unless set', null],
  ])('%s: heard live', async (_, coalesceMs) => {
    const windowMs = coalesceMs ?? 3000;
    const { pushes, hear } = await listening(coalesceMs);
    hear({ type: 'message', message: reply('r1', { text: 'first' }) });
    await jest.advanceTimersByTimeAsync(windowMs / 2);
    hear({ type: 'message', message: reply('r2', { text: 'second' }) });
    await jest.advanceTimersByTimeAsync(windowMs / 2 - 1);
    expect(pushes).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(pushes).toEqual([expect.objectContaining({ preview: 'second' })]);
  });

  it.each([
    ['as set', 200],
    ['3 s unless set', null],
  ])('%s: found by the catch-up read', async (_, coalesceMs) => {
    const windowMs = coalesceMs ?? 3000;
    const { pushes } = await listening(coalesceMs, [reply('r1', { text: 'found' })]);
    await jest.advanceTimersByTimeAsync(windowMs - 1);
    expect(pushes).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(pushes).toEqual([expect.objectContaining({ preview: 'found' })]);
  });
});

describe('what a catch-up read finds, on fake time', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => {
    running?.close();
    jest.clearAllTimers();
    jest.useRealTimers();
  });

  /** The store's next claim is written, and its answer lost (a timeout after Redis wrote it). */
  function claimWrittenUnanswered(store: WatchedChat['store']) {
    const write = store.claim.bind(store);
    jest.spyOn(store, 'claim').mockImplementationOnce(async (key, value, ttlMs) => {
      await write(key, value, ttlMs);
      throw new Error('the answer timed out');
    });
  }

  /** A watched chat whose catch-up read is out until the test answers it. */
  async function readOut(heard?: NormalizedMessage[]) {
    let answer!: (page: NewestPage) => void;
    const chat = await watchedChat({
      gt: GT,
      newest: [() => new Promise<NewestPage>((resolve) => (answer = resolve))],
      ...(heard ? { heard } : {}),
    });
    running = chat.watch;
    expect(await advanceFakeTimersUntil(() => chat.reads() > 0, 10_000, 1)).toBe(true);
    return { ...chat, answer: (page: NewestPage) => answer(page) };
  }

  it('a reply heard live while the read was out is the newest: one push previews it', async () => {
    const { pushes, hear, answer } = await readOut();
    hear({ type: 'message', message: reply('r3', { text: 'heard live' }) });
    answer(pageOf(reply('r1', { text: 'found first' }), reply('r2', { text: 'found second' })));
    await jest.advanceTimersByTimeAsync(100);
    expect(pushes).toEqual([expect.objectContaining({ preview: 'heard live' })]);
  });

  it('a reply heard after the page left, older than a page of replies, comes before them', async () => {
    const { pushes, answer } = await readOut([
      reply('r1', { text: 'heard after the page left', time: '2026-11-28T10:00:00.000Z' }),
    ]);
    // The newest page holds only a later reply: the guest's message and r1 are on older pages.
    answer({ messages: [reply('r2', { text: 'the newest' })], receipts: [] });
    await jest.advanceTimersByTimeAsync(100);
    expect(pushes).toEqual([expect.objectContaining({ preview: 'the newest' })]);
  });

  it('a reply whose claim the store did not answer is claimed again a second later, and pushed once', async () => {
    const { pushes, hear, answer, store, log } = await readOut();
    answer(pageOf());
    const claim = jest.spyOn(store, 'claim').mockRejectedValueOnce(new Error('store down'));
    const retried = async () =>
      (await pushesCounted.get()).values.find((v) => v.labels.outcome === 'claim_retried')?.value ?? 0;
    const before = await retried();
    hear({ type: 'message', message: reply('r1', { text: 'heard live' }) });
    await jest.advanceTimersByTimeAsync(10);
    expect(claim).toHaveBeenCalledTimes(1);
    expect((await retried()) - before).toBe(1);
    expect(log.lines().find((l) => l.msg.startsWith('the store did not answer the claim'))).toMatchObject({
      replies: 1,
      component: 'push-watch',
      chat: sk,
    });
    await jest.advanceTimersByTimeAsync(999);
    expect(pushes).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(pushes).toEqual([expect.objectContaining({ preview: 'heard live' })]);
    expect(await store.get(keys.message('r1'))).toBe('sent');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(pushes).toHaveLength(1);
    // The claim that succeeded was not counted or logged as one unanswered.
    expect((await retried()) - before).toBe(1);
    expect(log.lines().filter((l) => l.msg.startsWith('the store did not answer the claim'))).toHaveLength(1);
  });

  it('a reply whose claim the store wrote before it failed to answer is still pushed, once', async () => {
    const { pushes, hear, answer, store } = await readOut();
    answer(pageOf());
    claimWrittenUnanswered(store);
    hear({ type: 'message', message: reply('r1', { text: 'heard live' }) });
    await jest.advanceTimersByTimeAsync(1010);
    expect(pushes).toEqual([expect.objectContaining({ preview: 'heard live' })]);
    expect(await store.get(keys.message('r1'))).toBe('sent');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(pushes).toHaveLength(1);
  });

  it('a claim the store did not answer twice, unwritten, is claimed a third time', async () => {
    const { pushes, hear, answer, store } = await readOut();
    answer(pageOf());
    jest
      .spyOn(store, 'claim')
      .mockRejectedValueOnce(new Error('store down'))
      .mockRejectedValueOnce(new Error('store down'));
    hear({ type: 'message', message: reply('r1', { text: 'heard live' }) });
    await jest.advanceTimersByTimeAsync(1010);
    expect(pushes).toEqual([]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(pushes).toEqual([expect.objectContaining({ preview: 'heard live' })]);
  });

  it('a written claim whose reading back fails too is read again a second later', async () => {
    const { pushes, hear, answer, store } = await readOut();
    answer(pageOf());
    claimWrittenUnanswered(store);
    const read = store.get.bind(store);
    let failed = false;
    jest.spyOn(store, 'get').mockImplementation(async (key) => {
      if (key !== keys.message('r1') || failed) return read(key);
      failed = true;
      throw new Error('store down');
    });
    hear({ type: 'message', message: reply('r1', { text: 'heard live' }) });
    await jest.advanceTimersByTimeAsync(1010);
    expect(pushes).toEqual([]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(pushes).toEqual([expect.objectContaining({ preview: 'heard live' })]);
  });

  it('a reply heard again while its push is out is pushed once', async () => {
    let send!: () => void;
    let answer!: (page: NewestPage) => void;
    const chat = await watchedChat({
      gt: GT,
      newest: [() => new Promise<NewestPage>((resolve) => (answer = resolve))],
      outcome: () => new Promise((resolve) => (send = () => resolve('sent'))),
    });
    running = chat.watch;
    expect(await advanceFakeTimersUntil(() => chat.reads() > 0, 10_000, 1)).toBe(true);
    answer(pageOf());
    chat.hear({ type: 'message', message: reply('r1', { text: 'heard live' }) });
    expect(await advanceFakeTimersUntil(() => chat.pushes.length > 0, 10_000, 10)).toBe(true);
    chat.hear({ type: 'message', message: reply('r1', { text: 'heard live' }) });
    await jest.advanceTimersByTimeAsync(5000);
    send();
    await jest.advanceTimersByTimeAsync(5000);
    expect(chat.pushes).toHaveLength(1);
  });

  it('a reply another instance claimed while this claim went unanswered is left to it', async () => {
    const { pushes, hear, answer, store } = await readOut();
    answer(pageOf());
    jest.spyOn(store, 'claim').mockImplementationOnce(async (key, _value, ttlMs) => {
      await store.put(key, 'pending:instance-a', ttlMs);
      throw new Error('the answer timed out');
    });
    hear({ type: 'message', message: reply('r1', { text: 'heard live' }) });
    await jest.advanceTimersByTimeAsync(5000);
    expect(pushes).toEqual([]);
    expect(await store.get(keys.message('r1'))).toBe('pending:instance-a');
  });

  it('a watch stopped while a claim went unanswered does not claim it again', async () => {
    const { pushes, hear, answer, store } = await readOut();
    answer(pageOf());
    let fail!: () => void;
    const claim = jest
      .spyOn(store, 'claim')
      .mockImplementationOnce(() => new Promise((_, reject) => (fail = () => reject(new Error('store down')))));
    hear({ type: 'message', message: reply('r1', { text: 'heard live' }) });
    await jest.advanceTimersByTimeAsync(10);
    expect(claim).toHaveBeenCalledTimes(1);
    hear({ type: 'session', state: 'closed' });
    fail();
    await jest.advanceTimersByTimeAsync(5000);
    // (A later round takes the chat again, claiming its lease: not the reply.)
    expect(claim.mock.calls.filter(([key]) => key === keys.message('r1'))).toHaveLength(1);
    expect(pushes).toEqual([]);
  });

  it('a reply another instance claimed first is not claimed again', async () => {
    const { pushes, hear, answer, store } = await readOut();
    answer(pageOf());
    await store.claim(keys.message('r1'), 'pending:instance-a', 60_000);
    const claim = jest.spyOn(store, 'claim');
    hear({ type: 'message', message: reply('r1', { text: 'heard live' }) });
    await jest.advanceTimersByTimeAsync(5000);
    expect(claim).toHaveBeenCalledTimes(1);
    expect(pushes).toEqual([]);
  });

  it('a read that comes back after the watch stopped pushes nothing (the next watch reads again)', async () => {
    const { pushes, hear, answer, store } = await readOut();
    hear({ type: 'session', state: 'closed' });
    answer(pageOf(reply('r1', { text: 'found' })));
    await jest.advanceTimersByTimeAsync(5000);
    expect(pushes).toEqual([]);
    expect(await store.get(keys.message('r1'))).toBeUndefined();
  });
});
