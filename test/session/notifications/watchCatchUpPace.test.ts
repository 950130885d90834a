import { GuestApiError, type NewestPage } from '../../../src/genesys/guest';
import type { ChatWatch } from '../../../src/session/notifications/chatWatch';
import { recordKeys } from '../../../src/session/notifications/pushRecords';
import { sessionKeyOf } from '../../../src/store';
import { advanceFakeTimersUntil } from '../../support/wait';
import { watchedChat } from '../../support/watchedChat';

/**
 * The pace of a watch's catch-up read when history refuses it (src/session/notifications/watch.ts, catchUp), on
 * fake time: tried again after 1 s, doubling to 30 s at most, or after the refusal's Retry-After (seconds) when that
 * is longer; 20 tries in all, then the watch says it gave up. The Guest API session and the push service are
 * stand-ins; the store is the service's own in-memory store.
 */

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
let running: ChatWatch | undefined;
afterEach(() => {
  running?.close();
  jest.clearAllTimers();
  jest.useRealTimers();
});

/** The gaps between a refused chat's catch-up reads, and its log, once the watch gave up or ten minutes passed. */
async function refusedReads(retryAfterSeconds?: number) {
  const at: number[] = [];
  const refuse = (): Promise<NewestPage> => {
    at.push(Date.now());
    return Promise.reject(
      new GuestApiError('rate_limited', 'the session’s reads are spent', {
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      }),
    );
  };
  const gt = `gt-refused-${retryAfterSeconds ?? 'plain'}`;
  const record = recordKeys(sessionKeyOf(gt)).record;
  const chat = await watchedChat({
    gt,
    newest: [refuse],
    // The subscription outlives the tries (the harness's lives a minute).
    before: async (store) => store.put(record, (await store.get(record))!, 3_600_000),
  });
  running = chat.watch;
  const gaveUp = () => chat.log.lines().filter((l) => l.msg.startsWith('gave up reading what came'));
  await advanceFakeTimersUntil(() => gaveUp().length > 0, 600_000, 500);
  // Nothing more is read after it gave up.
  await jest.advanceTimersByTimeAsync(60_000);
  const said = chat.log.lines().filter((l) => l.msg === 'could not read what came while nobody watched yet');
  return { gaps: at.slice(1).map((t, i) => t - at[i]!), gaveUp: gaveUp(), said: said.map((l) => l.retryInMs) };
}

test('a refused read is tried again after 1 s, doubling to 30 s, 20 tries in all; then the watch says it gave up', async () => {
  const { gaps, gaveUp, said } = await refusedReads();
  expect(gaps).toEqual([1000, 2000, 4000, 8000, 16_000, ...Array<number>(14).fill(30_000)]);
  // Each wait is said, with its length.
  expect(said).toEqual(gaps);
  expect(gaveUp).toHaveLength(1);
  expect(gaveUp[0]).toMatchObject({ level: 40, err: { message: 'the session’s reads are spent' } });
});

test('a refusal’s Retry-After, in seconds, is waited out when it is longer than the backoff', async () => {
  const { gaps } = await refusedReads(5);
  expect(gaps.slice(0, 5)).toEqual([5000, 5000, 5000, 8000, 16_000]);
});

test('a read refused because the session is over at Genesys is not tried again', async () => {
  const chat = await watchedChat({
    gt: 'gt-refused-for-good',
    newest: [() => Promise.reject(new GuestApiError('session_expired', 'the session is gone'))],
  });
  running = chat.watch;
  expect(await advanceFakeTimersUntil(() => chat.reads() > 0, 10_000, 100)).toBe(true);
  // Past every wait a refusal for now would have had (1 s, 2 s, 4 s, ...) while the subscription lives.
  await jest.advanceTimersByTimeAsync(50_000);
  expect(chat.reads()).toBe(1);
  expect(chat.log.lines().filter((l) => l.msg === 'could not read what came while nobody watched yet')).toEqual([]);
});
