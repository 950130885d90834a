import type { NormalizedMessage } from '../../../src/domain/message';
import { GuestApiError, type NewestPage } from '../../../src/genesys/guest';
import type { ChatWatch } from '../../../src/session/notifications/chatWatch';
import { bucketOf, listed, recordKeys } from '../../../src/session/notifications/pushRecords';
import { sessionKeyOf } from '../../../src/store';
import { waitFor } from '../../support/wait';
import { type WatchedChatOptions, watchedChat } from '../../support/watchedChat';

/**
 * What a watch does with what the chat's socket tells it (src/session/notifications/watch.ts): the agent's and
 * bot's replies heard live are pushed, the guest's own messages and events never; the chat being over removes its
 * records, the socket ending lets the chat go to the next round, a reconnect reads history again; an e-mail
 * opt-in hears every reply. The Guest API session and the push service are stand-ins; the store is the service's
 * own in-memory store.
 */

const GT = 'guest-token-of-a-chat-heard-live';
const sk = sessionKeyOf(GT);
const keys = recordKeys(sk);

const message = (id: string, fields: Partial<NormalizedMessage> = {}) =>
  ({
    id,
    direction: 'outbound',
    type: 'text',
    text: `text of ${id}`,
    originatingEntity: 'human',
    from: { name: 'Alex' },
    ...fields,
  }) as NormalizedMessage;
const guest = (id: string) => message(id, { direction: 'inbound', originatingEntity: undefined, from: undefined });
const event = (id: string) => message(id, { type: 'event', text: undefined });

let running: ChatWatch | undefined;
afterEach(() => running?.close());

/** A watched chat whose history holds `history`, once its watch listens to the socket (its catch-up read went out). */
async function listening(history: NormalizedMessage[] = [guest('g0')], options: Partial<WatchedChatOptions> = {}) {
  const chat = await watchedChat({
    gt: GT,
    newest: [async () => ({ messages: history, receipts: [] }) as NewestPage],
    ...options,
  });
  running = chat.watch;
  await waitFor(() => expect(chat.reads()).toBe(1));
  return chat;
}
const stopReasons = (log: { lines: () => Record<string, unknown>[] }) =>
  log
    .lines()
    .filter((l) => l.msg === 'stopped watching a chat')
    .map((l) => l.reason);

test('replies heard live are one push previewing the newest; the guest’s own messages and events are not pushed', async () => {
  const { pushes, hear, store } = await listening();
  for (const m of [message('r1'), message('r2'), guest('g1'), event('e1')]) hear({ type: 'message', message: m });
  await waitFor(() => expect(pushes).toHaveLength(1));
  expect(pushes[0]!.preview).toBe('text of r2');
  await waitFor(async () => expect(await store.get(keys.message('r2'))).toBe('sent'));
  expect(await store.get(keys.message('r1'))).toBe('sent');
  expect(await store.get(keys.message('g1'))).toBeUndefined();
  expect(await store.get(keys.message('e1'))).toBeUndefined();
});

describe('the chat over, as the socket says, removes its records and its opt-ins', () => {
  it.each(['expired', 'signed_out', 'reauthentication_required'] as const)('%s', async (state) => {
    const { hear, store, log, also } = await listening([guest('g0')], { emailOptIn: true });
    hear({ type: 'session', state });
    await waitFor(async () => expect(await store.get(keys.record)).toBeUndefined());
    expect(stopReasons(log)).toEqual([`the chat is over (${state})`]);
    await waitFor(() => expect(also.over).toBe(1));
    await waitFor(async () => expect(await listed(store, bucketOf(sk))).not.toContain(sk));
  });
});

describe('the socket ending lets the chat go, its subscription kept, for the next round', () => {
  it.each(['unavailable', 'closed', 'signed_in_elsewhere'] as const)('%s', async (state) => {
    const { hear, store, log } = await listening();
    hear({ type: 'session', state });
    await waitFor(async () => expect(await store.get(keys.lease)).toBeUndefined());
    expect(stopReasons(log)).toEqual([`the chat's connection ended (${state})`]);
    expect(await store.get(keys.record)).toBeDefined();
  });
});

test('a socket reconnected reads the newest history page again, and pushes what came in the gap', async () => {
  let history: NormalizedMessage[] = [guest('g0')];
  const { hear, reads, pushes } = await listening(undefined, {
    newest: [async () => ({ messages: history, receipts: [] }) as NewestPage],
  });
  history = [guest('g0'), message('r1')];
  hear({ type: 'session', state: 'reconnected' });
  await waitFor(() => expect(reads()).toBe(2));
  await waitFor(() => expect(pushes).toHaveLength(1));
  expect(pushes[0]!.preview).toBe('text of r1');
});

test('an e-mail opt-in hears each reply after what the guest last wrote, and each heard live; not events', async () => {
  const { hear, also } = await listening([message('r0'), guest('g1'), message('r1'), event('e1'), message('r2')], {
    emailOptIn: true,
  });
  await waitFor(() => expect(also.replies).toEqual(['r2', 'r1']));
  hear({ type: 'message', message: message('r3') });
  hear({ type: 'message', message: guest('g2') });
  hear({ type: 'message', message: event('e2') });
  expect(also.replies).toEqual(['r2', 'r1', 'r3']);
});

test('a subscription the push service says is gone leaves an e-mail opt-in, and the chat listed for it', async () => {
  const { pushes, store, hear, also } = await listening([guest('g0')], { emailOptIn: true, outcome: 'gone' });
  hear({ type: 'message', message: message('r1') });
  await waitFor(() => expect(pushes).toHaveLength(1));
  await waitFor(async () => expect(await store.get(keys.record)).toBeUndefined());
  expect(also.over).toBe(0);
  expect(await listed(store, bucketOf(sk))).toContain(sk);
});

test('a subscription the push service says is gone, with no e-mail opt-in left either, unlists the chat', async () => {
  const { pushes, store, hear, also } = await listening([guest('g0')], { emailOptIn: true, outcome: 'gone' });
  also.kept = false;
  hear({ type: 'message', message: message('r1') });
  await waitFor(() => expect(pushes).toHaveLength(1));
  await waitFor(async () => expect(await listed(store, bucketOf(sk))).not.toContain(sk));
  expect(await store.get(keys.record)).toBeUndefined();
  // Not over: the opt-in was not told the chat ended.
  expect(also.over).toBe(0);
});

describe('a watch that cannot start', () => {
  const nothing = [async () => ({ messages: [], receipts: [] }) as NewestPage];

  it('for a chat ended meanwhile removes its records, and tells its e-mail opt-in the chat is over', async () => {
    const chat = await watchedChat({ gt: GT, newest: nothing, ended: () => true, emailOptIn: true });
    running = chat.watch;
    await waitFor(async () => expect(await chat.store.get(keys.record)).toBeUndefined());
    expect(stopReasons(chat.log)).toEqual(['the chat was ended']);
    await waitFor(() => expect(chat.also.over).toBe(1));
    expect(chat.reads()).toBe(0);
  });

  it('for a chat Genesys says expired removes its records, and tells its e-mail opt-in the chat is over', async () => {
    const chat = await watchedChat({
      gt: GT,
      newest: nothing,
      ready: () => Promise.reject(new GuestApiError('session_expired', 'expired')),
      emailOptIn: true,
    });
    running = chat.watch;
    await waitFor(async () => expect(await chat.store.get(keys.record)).toBeUndefined());
    expect(stopReasons(chat.log)).toEqual(['the chat expired at Genesys']);
    await waitFor(() => expect(chat.also.over).toBe(1));
  });

  it.each([
    ['a socket refused', new Error('handshake refused')],
    ['Genesys away', new GuestApiError('unavailable', 'Genesys is not answering')],
  ])(
    'for any other reason (%s) lets the chat go to the next round, its records kept, and says why',
    async (_, error) => {
      const chat = await watchedChat({ gt: GT, newest: nothing, ready: () => Promise.reject(error), emailOptIn: true });
      running = chat.watch;
      await waitFor(() => expect(stopReasons(chat.log)).toContain('it could not start'));
      expect(chat.log.lines().find((l) => l.msg.startsWith('could not watch a chat for replies'))).toMatchObject({
        err: { message: error.message },
      });
      // The lease goes at once (not when it lapses): the next round, here or elsewhere, may take the chat.
      expect(await chat.store.get(keys.lease)).toBeUndefined();
      expect(await chat.store.get(keys.record)).toBeDefined();
      expect(chat.also.over).toBe(0);
    },
  );

  it('for a chat let go while its socket opened neither says it watches nor reads', async () => {
    let open!: () => void;
    const chat = await watchedChat({ gt: GT, newest: nothing, ready: () => new Promise<void>((r) => (open = r)) });
    running = chat.watch;
    await waitFor(() => expect(open).toBeDefined());
    chat.hear({ type: 'session', state: 'closed' });
    expect(stopReasons(chat.log)).toEqual(["the chat's connection ended (closed)"]);
    open();
    // The socket's readiness and all that follows it in the same turn have run.
    await new Promise(setImmediate);
    expect(chat.log.lines().filter((l) => l.msg.startsWith('watching a chat nobody is looking at'))).toEqual([]);
    expect(chat.reads()).toBe(0);
  });
});

test('a stopped watch lets its socket go, saying why', async () => {
  const { hear, retired } = await listening();
  hear({ type: 'session', state: 'signed_in_elsewhere' });
  expect(retired).toEqual(['closed after watching for replies']);
});

test('a push answered "gone" after the watch stopped removes the records, and the watch stops once', async () => {
  let answer!: (outcome: 'gone') => void;
  const { hear, store, log, pushes } = await listening([guest('g0')], {
    outcome: () => new Promise((resolve) => (answer = resolve)),
  });
  hear({ type: 'message', message: message('r1') });
  await waitFor(() => expect(pushes).toHaveLength(1));
  hear({ type: 'session', state: 'closed' });
  answer('gone');
  await waitFor(async () => expect(await store.get(keys.record)).toBeUndefined());
  expect(stopReasons(log)).toEqual(["the chat's connection ended (closed)"]);
});
