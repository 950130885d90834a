import type { NormalizedMessage } from '../../../src/domain/message';
import { GuestApiError, type GuestSession, type NewestPage, type SessionHub } from '../../../src/genesys/guest';
import { ChatWatch } from '../../../src/session/notifications/chatWatch';
import type { HistoryWatchParts } from '../../../src/session/notifications/historyWatch';
import { changeIndex, recordKeys, type PushRecord } from '../../../src/session/notifications/pushRecords';
import type { PushSender } from '../../../src/session/notifications/pushSender';
import { Sealer, deriveKeys } from '../../../src/session/tokens';
import { MemoryStore, sessionKeyOf } from '../../../src/store';
import { captureLogger } from '../../support/app';
import { waitFor } from '../../support/wait';

/**
 * A watch's catch-up: the read of the newest history page as the watch begins, which alone finds a reply that came
 * after the tab closed and before the watch had its socket (nothing heard it live). That read may be refused (the
 * session's budget of reads spent by the page that just left, Genesys slow or away): it is tried again after the
 * refusal's Retry-After, so the reply is still pushed, once. The Guest API session and the push service are
 * stand-ins; the store is the service's own in-memory store.
 */

const RECORD_MS = 60_000;
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
async function watched(reads: (() => Promise<NewestPage>)[]) {
  const store = new MemoryStore();
  const sealer = new Sealer(deriveKeys(['watch-catch-up-secret-0123456789abcdef']));
  const record: PushRecord = {
    v: 1,
    chat: await sealer.seal({ typ: 'watch', gt: GT }),
    endpoint: 'https://push.example.com/sub',
    p256dh: 'p256dh',
    auth: 'auth',
    url: 'https://shop.example.com/chat',
    since: Date.now(),
  };
  await store.put(keys.record, JSON.stringify(record), RECORD_MS);
  await changeIndex(store, sk, true, RECORD_MS);
  const session = {
    subscribe: () => () => undefined,
    ready: async () => ({}),
    retire: () => undefined,
  } as unknown as GuestSession;
  let read = 0;
  const hub = {
    session: () => session,
    history: { newest: () => reads[Math.min(read++, reads.length - 1)]!() },
  } as unknown as SessionHub;
  const pushes: { preview?: string }[] = [];
  const sender = {
    send: async (_target: unknown, payload: { preview?: string }) => {
      pushes.push(payload);
      return 'sent';
    },
  } as unknown as PushSender;
  const watch = new ChatWatch({
    store,
    hub,
    sealer,
    sender,
    revocations: { isEnded: async () => false },
    instanceId: 'instance-a',
    afterMs: 1000,
    preview: true,
    recordMs: RECORD_MS,
    room: () => true,
    // Every watch here has a socket (room): the history-read parts are never reached.
    history: {} as HistoryWatchParts,
    logger: captureLogger('info').logger,
    coalesceMs: 10,
  });
  return { store, pushes, watch, reads: () => read };
}

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
