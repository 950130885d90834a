import { notifyWatchedChats } from '../../../src/observability/metrics';
import { openStream } from '../../support/sse';
import { bearer, startStack, type Stack } from '../../support/stack';
import { browserKeys, vapidPair } from '../../support/pushReceiver';
import { waitFor } from '../../support/wait';

/**
 * NOTIFY_HISTORY_READS_PER_SECOND is a ceiling on the history reads that watch chats past the socket ceiling, for
 * the whole instance: with many chats each wanting a read every second, the strict simulator receives no more
 * than the ceiling allows over the measured stretch (T seconds: at most T × rate + 1 turns, one more for a read
 * under way when the stretch began). The stretch ends on an event (the simulator has seen enough reads), so a slow
 * machine only makes it longer; the bound is arithmetic on the time it took, not a deadline.
 */

const CHATS = 24;
const READS = 20;
let stack: Stack;

beforeAll(async () => {
  const vapid = vapidPair();
  stack = await startStack({
    env: {
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:ops@example.com',
      NOTIFY_AFTER_SECONDS: '1',
      NOTIFY_SOCKETS_MAX: '0',
      // Each chat would read every second; its session's budget alone lets it read 5 times a minute: 24 chats
      // would make 2 reads a second without the instance's ceiling of 1.
      NOTIFY_POLL_SECONDS: '1',
      NOTIFY_POLL_MAX_SECONDS: '1',
      NOTIFY_HISTORY_READS_PER_SECOND: '1',
    },
  });
});
afterAll(() => stack?.close());

const watchedByHistory = async () =>
  (await notifyWatchedChats.get()).values.find((v) => v.labels.mode === 'history')?.value ?? 0;

test('many chats watched by history reads never read faster than the instance ceiling', async () => {
  const runStart = Date.now();
  const runBefore = stack.sim.stats.historyRequests;
  for (let i = 0; i < CHATS; i++) {
    const { token } = await stack.newSession();
    const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
    await stream.next((e) => e.event === 'session');
    const keys = browserKeys();
    const put = await stack.http
      .put('/notifications/push')
      .set(bearer(token))
      .send({ endpoint: 'https://push.example.com/x', keys: { p256dh: keys.p256dh, auth: keys.auth } });
    expect(put.status).toBe(204);
    stream.close();
  }
  await waitFor(async () => expect(await watchedByHistory()).toBe(CHATS));

  // The stretch measured: from every chat watched until the simulator has seen READS more history reads.
  const start = Date.now();
  const before = stack.sim.stats.historyRequests;
  await waitFor(() => expect(stack.sim.stats.historyRequests).toBeGreaterThanOrEqual(before + READS), 120_000);
  const seconds = (Date.now() - start) / 1000;
  const read = stack.sim.stats.historyRequests - before;
  expect(read).toBeLessThanOrEqual(Math.floor(seconds * 1) + 2);
  // And over the whole run, the chats' creation included.
  const runSeconds = (Date.now() - runStart) / 1000;
  expect(stack.sim.stats.historyRequests - runBefore).toBeLessThanOrEqual(Math.floor(runSeconds * 1) + 1);
}, 240_000);
