import type { NormalizedMessage } from '../../../src/domain/message';
import { GuestApiError, type NewestPage } from '../../../src/genesys/guest';
import { ChatWatch } from '../../../src/session/notifications/chatWatch';
import { recordKeys } from '../../../src/session/notifications/pushRecords';
import { sessionKeyOf } from '../../../src/store';
import { waitFor } from '../../support/wait';
import { watchedChat } from '../../support/watchedChat';

/**
 * A watch's catch-up: the read of the newest history page as the watch begins, which alone finds a reply that came
 * after the tab closed and before the watch had its socket (nothing heard it live). That read may be refused (the
 * session's budget of reads spent by the page that just left, Genesys slow or away): it is tried again after the
 * refusal's Retry-After, so the reply is still pushed, once. The Guest API session and the push service are
 * stand-ins; the store is the service's own in-memory store.
 */

const GT = 'guest-token-of-a-chat-just-left';
const sk = sessionKeyOf(GT);
const keys = recordKeys(sk);

const guestMessage = { id: 'g1', direction: 'inbound', type: 'text', text: 'hello' } as NormalizedMessage;
const replyInTheGap = {
  id: 'r1',
  direction: 'outbound',
  type: 'text',
  text: 'A reply while the tab was closing',
  originatingEntity: 'human',
  from: { name: 'Alex' },
} as NormalizedMessage;

/** A subscribed chat nobody looks at, whose history reads answer with `reads` in turn (the last one after that). */
const watched = (reads: (() => Promise<NewestPage>)[]) =>
  watchedChat({ gt: GT, newest: reads, instanceId: 'instance-a' });

let running: ChatWatch | undefined;
afterEach(() => running?.close());

const page: NewestPage = { messages: [guestMessage, replyInTheGap] } as NewestPage;
const refused = () =>
  Promise.reject(
    new GuestApiError('rate_limited', 'The history budget of this session is spent for now.', {
      retryAfterSeconds: 1,
    }),
  );

test('a catch-up read refused for now is tried again after its Retry-After, and the reply is pushed once', async () => {
  const { store, pushes, watch, reads } = await watched([refused, async () => page]);
  running = watch;
  await waitFor(() => expect(pushes).toHaveLength(1));
  expect(pushes[0]!.preview).toBe('A reply while the tab was closing');
  expect(reads()).toBe(2);
  await waitFor(async () => expect(await store.get(keys.message('r1'))).toBe('sent'));
});

test('a watch that ends stops trying its catch-up read', async () => {
  jest.useFakeTimers();
  try {
    const { watch, reads } = await watched([refused]);
    running = watch;
    // A scan (500 ms) takes the chat and reads once; bounded in fake time.
    for (let ms = 0; ms < 5000 && reads() === 0; ms += 100) await jest.advanceTimersByTimeAsync(100);
    expect(reads()).toBe(1);
    watch.close();
    // Past the refusal's Retry-After and every later wait: the ended watch reads nothing more.
    await jest.advanceTimersByTimeAsync(120_000);
    expect(reads()).toBe(1);
  } finally {
    jest.useRealTimers();
  }
});

test("a reply the page's socket heard and a newer one found in history are one push that previews the newer", async () => {
  // The page's socket heard r1 as the tab closed; r2 came later, while no socket was up, so only history has it.
  const later = {
    ...replyInTheGap,
    id: 'r2',
    text: 'A reply while Genesys refused new sockets',
  } as NormalizedMessage;
  const at = (m: NormalizedMessage, time: string) => ({ ...m, time });
  const { store, pushes, watch } = await watchedChat({
    gt: GT,
    heard: [at(guestMessage, '2026-11-28T10:00:00.000Z'), at(replyInTheGap, '2026-11-28T10:00:01.000Z')],
    newest: [async () => ({ messages: [guestMessage, replyInTheGap, later] }) as NewestPage],
    instanceId: 'instance-a',
  });
  running = watch;
  await waitFor(async () => expect(await store.get(keys.message('r2'))).toBe('sent'));
  expect(await store.get(keys.message('r1'))).toBe('sent');
  expect(pushes).toEqual([expect.objectContaining({ preview: 'A reply while Genesys refused new sockets' })]);
});

test('a reconnect during a catch-up read asks for one read after it, never a second at once', async () => {
  let answer!: (page: NewestPage) => void;
  const outstanding = () => new Promise<NewestPage>((resolve) => (answer = resolve));
  const chat = await watched([outstanding, async () => page]);
  running = chat.watch;
  await waitFor(() => expect(chat.reads()).toBe(1));
  // The socket dropped and came back twice while the first read was out: it may have gone out before the gap.
  chat.hear({ type: 'session', state: 'reconnected' });
  chat.hear({ type: 'session', state: 'reconnected' });
  answer({ messages: [guestMessage], receipts: [] });
  // One more read, which finds the reply that came in the gap.
  await waitFor(() => expect(chat.pushes).toHaveLength(1));
  expect(chat.reads()).toBe(2);
  // Done reading: the next reconnect reads again (and finds nothing new to push).
  chat.hear({ type: 'session', state: 'reconnected' });
  await waitFor(() => expect(chat.reads()).toBe(3));
  await waitFor(async () => expect(await chat.store.get(keys.message('r1'))).toBe('sent'));
  expect(chat.pushes).toHaveLength(1);
});

describe('what a catch-up read takes from the newest page, walking back from its newest message', () => {
  const older = { ...replyInTheGap, id: 'r0', text: 'An older reply' } as NormalizedMessage;
  const event = { id: 'e1', direction: 'outbound', type: 'event' } as NormalizedMessage;

  it('walks past events: the push previews the reply before them, and an event is never claimed', async () => {
    const { store, pushes, watch } = await watched([
      async () => ({ messages: [guestMessage, replyInTheGap, event], receipts: [] }),
    ]);
    running = watch;
    await waitFor(async () => expect(await store.get(keys.message('r1'))).toBe('sent'));
    expect(pushes).toEqual([expect.objectContaining({ preview: 'A reply while the tab was closing' })]);
    expect(await store.get(keys.message('e1'))).toBeUndefined();
  });

  it.each([
    ['pushed', 'sent'],
    ['claimed by this instance (an earlier watch of it is pushing it)', 'pending:instance-a'],
  ])('stops at a reply %s: what came before it was pushed with it', async (_, recorded) => {
    const chat = await watchedChat({
      gt: GT,
      newest: [async () => ({ messages: [guestMessage, older, replyInTheGap], receipts: [] })],
      instanceId: 'instance-a',
      before: (s) => s.put(keys.message('r1'), recorded, 60_000),
    });
    running = chat.watch;
    await waitFor(() => expect(chat.reads()).toBe(1));
    // A reply heard live after the read is pushed on its own: the older one was not taken with it.
    const live = { ...replyInTheGap, id: 'r2', text: 'A reply heard live' } as NormalizedMessage;
    chat.hear({ type: 'message', message: live });
    await waitFor(async () => expect(await chat.store.get(keys.message('r2'))).toBe('sent'));
    expect(chat.pushes).toEqual([expect.objectContaining({ preview: 'A reply heard live' })]);
    expect(await chat.store.get(keys.message('r0'))).toBeUndefined();
    expect(await chat.store.get(keys.message('r1'))).toBe(recorded);
  });
});

test('replies heard after the page left that cannot be read are said, and history read for them', async () => {
  const chat = await watchedChat({ gt: GT, heard: 'unreadable', newest: [async () => page], instanceId: 'instance-a' });
  running = chat.watch;
  await waitFor(() => expect(chat.pushes).toHaveLength(1));
  expect(chat.pushes[0]!.preview).toBe('A reply while the tab was closing');
  expect(
    chat.log.lines().find((l) => l.msg === 'could not read the replies heard after the page left; history has them'),
  ).toMatchObject({ err: { message: 'the record does not unseal' } });
});
