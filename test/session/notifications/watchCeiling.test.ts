import { GuestHistory } from '../../../src/genesys/guest/rest/history';
import { notifyHistoryReads, notifyWatchedChats } from '../../../src/observability/metrics';
import { openStream, type SseStream } from '../../support/sse';
import { bearer, type Stack } from '../../support/stack';
import { browserKeys, decryptPush, type BrowserKeys, type PushReceiver } from '../../support/pushReceiver';
import { closePushStack, startPushStack, type PushStack } from '../../support/pushStack';
import { waitFor } from '../../support/wait';

/**
 * NOTIFY_SOCKETS_MAX is a real ceiling on the sockets an instance keeps to watch chats for Web Push; past it (here
 * at 0, so always) a chat nobody looks at is watched by reading its newest history page, against the strict
 * simulator: its agent's reply is pushed once, a 429 from history is waited out and counted, no socket is kept,
 * and the live chat is untouched.
 */

let pushStack: PushStack;
let stack: Stack;
let receiver: PushReceiver;

beforeAll(async () => {
  pushStack = await startPushStack({
    NOTIFY_SOCKETS_MAX: '0',
    NOTIFY_POLL_SECONDS: '1',
    NOTIFY_POLL_MAX_SECONDS: '2',
  });
  ({ stack, receiver } = pushStack);
});

afterAll(async () => {
  await closePushStack(pushStack);
});

afterEach(() => jest.restoreAllMocks());

const readsBy = async (outcome: string) =>
  (await notifyHistoryReads.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
const watched = async (mode: string) =>
  (await notifyWatchedChats.get()).values.find((v) => v.labels.mode === mode)?.value ?? 0;
const historyWatchesStarted = () =>
  stack.log
    .lines()
    .filter((l) => l.msg === 'watching a chat nobody is looking at, for replies to push' && l.mode === 'history')
    .length;

function subscribe(token: string, path: string, keys: BrowserKeys) {
  return stack.http
    .put('/notifications/push')
    .set(bearer(token))
    .send({ endpoint: `${receiver.origin}${path}`, keys: { p256dh: keys.p256dh, auth: keys.auth } });
}

/** A chat whose page subscribed and left: resolves once this instance watches it by history reads. */
async function leftChat(path: string): Promise<{ token: string; gt: string; keys: BrowserKeys }> {
  const { token, gt } = await stack.newGuest();
  const stream: SseStream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && JSON.parse(e.data).state === 'open');
  const keys = browserKeys();
  expect((await subscribe(token, path, keys)).status).toBe(204);
  const before = historyWatchesStarted();
  stream.close();
  await waitFor(() => expect(historyWatchesStarted()).toBeGreaterThan(before));
  return { token, gt, keys };
}

// Two reads after the push may be most of a minute away: a history watch reads within the spare half of the session's
// budget (5 of Genesys's 10 a minute), which the reads before the push may have spent.
const SPARE_BUDGET_WAIT_MS = 90_000;

test('past the ceiling a chat nobody looks at is watched by history reads, and its reply is pushed once', async () => {
  const { token, gt, keys } = await leftChat('/polled');
  expect(await watched('history')).toBeGreaterThanOrEqual(1);
  expect(await watched('socket')).toBe(0);

  stack.sim.agent.say(gt, 'Found it by reading history');
  const push = await receiver.nth('/polled', 1);
  expect(JSON.parse(decryptPush(push.body, keys))).toMatchObject({
    type: 'reply',
    preview: 'Found it by reading history',
  });
  // Later reads see the same reply and push nothing more: wait for two reads that found nothing new (SPARE_BUDGET_WAIT_MS:
  // on a slow machine the reads before the reply can spend the watch's share of the minute).
  const quiet = await readsBy('nothing_new');
  await waitFor(
    async () => expect(await readsBy('nothing_new')).toBeGreaterThanOrEqual(quiet + 2),
    SPARE_BUDGET_WAIT_MS,
  );
  expect(receiver.received.filter((r) => r.path === '/polled')).toHaveLength(1);
  // The live chat itself is served as ever.
  expect((await stack.http.get('/capabilities').set(bearer(token))).status).toBe(200);
}, 180_000);

/** How many history reads of the chat whose guest token is `gt` Genesys answered, from now on. */
function answeredReadsOf(gt: string): () => number {
  let answered = 0;
  const newest = GuestHistory.prototype.newest;
  jest.spyOn(GuestHistory.prototype, 'newest').mockImplementation(async function (this: GuestHistory, ...args) {
    const page = await newest.apply(this, args);
    if (args[0].token === gt) answered += 1;
    return page;
  });
  return () => answered;
}

test(
  'a 429 from history is counted and waited out, and the reply still comes once',
  async () => {
    const { gt, keys } = await leftChat('/limited');
    const limitedBefore = await readsBy('rate_limited');
    stack.sim.faults.failRest('history', { status: 429, headers: { 'retry-after': '2' }, times: 1 });
    await waitFor(async () => expect(await readsBy('rate_limited')).toBeGreaterThan(limitedBefore));

    const answered = answeredReadsOf(gt);
    stack.sim.agent.say(gt, 'After the wait');
    const push = await receiver.nth('/limited', 1);
    expect(JSON.parse(decryptPush(push.body, keys)).preview).toBe('After the wait');
    // Later reads of this chat find the same reply on its newest page and push nothing more.
    const before = answered();
    await waitFor(() => expect(answered()).toBeGreaterThanOrEqual(before + 2), SPARE_BUDGET_WAIT_MS);
    expect(receiver.received.filter((r) => r.path === '/limited')).toHaveLength(1);
  },
  SPARE_BUDGET_WAIT_MS + 60_000,
);

test('a chat watched by history reads is no longer watched once it ends', async () => {
  const { token } = await leftChat('/ended');
  const before = await watched('history');
  expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
  await waitFor(async () => expect(await watched('history')).toBe(before - 1));
});
