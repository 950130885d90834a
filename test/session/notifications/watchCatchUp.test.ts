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
