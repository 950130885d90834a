import net from 'node:net';
import { recordKeys } from '../../../src/session/notifications/pushRecords';
import { sessionKeyOf } from '../../../src/store';
import { browserKeys } from '../../support/pushReceiver';
import { closePushStack, startPushStack, type PushStack } from '../../support/pushStack';
import { openStream } from '../../support/sse';
import { bearer } from '../../support/stack';
import { waitFor } from '../../support/wait';

/**
 * An instance told to stop (SIGTERM) hands the chats it watches for Web Push over as its drain begins, and takes no
 * more. A drain lasts up to SHUTDOWN_GRACE_MS (longer on a loaded host): a watch kept through it holds its lease,
 * so no living instance can take the chat, and a reply it claims meanwhile dies with the process at its exit, its
 * claim standing for a minute (the chaos soak's seed 2021917547: a reply 10 s after a SIGTERM never pushed).
 */

const WATCHING = 'watching a chat nobody is looking at, for replies to push';
const DRAINING = 'draining: no new connections, finishing in-flight work';

let push: PushStack;

beforeAll(async () => {
  // A drain held open by a request in flight lasts the grace: long enough to see what the instance does in it.
  push = await startPushStack({ SHUTDOWN_GRACE_MS: '6000' });
});

afterAll(async () => {
  await closePushStack(push);
});

test('a draining instance lets go of the chats it watches at once, and takes none while it drains', async () => {
  const { stack, receiver } = push;
  const store = stack.service.deployments.all[0]!.store;
  const { token, gt } = await stack.newGuest();
  const lease = recordKeys(sessionKeyOf(gt)).lease;
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && JSON.parse(e.data).state === 'open');
  const keys = browserKeys();
  const subscribed = await stack.http
    .put('/notifications/push')
    .set(bearer(token))
    .send({ endpoint: `${receiver.origin}/drain`, keys: { p256dh: keys.p256dh, auth: keys.auth } });
  expect(subscribed.status).toBe(204);
  stream.close();
  // The page left: after NOTIFY_AFTER_SECONDS this instance watches the chat.
  await waitFor(() => expect(stack.log.lines().some((l) => l.msg === WATCHING)).toBe(true));
  expect(await store.get(lease)).toBeDefined();

  // A request still arriving (its headers not all sent) keeps the drain going until the grace ends.
  const held = net.connect(Number(new URL(stack.service.url).port), '127.0.0.1');
  await new Promise<void>((resolve) => held.once('connect', () => resolve()));
  held.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const stopping = stack.service.stop();
  try {
    // Several of its lease renewals and scans later, still draining: the chat is free for a living instance.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const lines = stack.log.lines();
    expect(lines.some((l) => l.msg === 'stopped')).toBe(false);
    expect(await store.get(lease)).toBeUndefined();
    const drainBegan = lines.findIndex((l) => l.msg === DRAINING);
    expect(drainBegan).toBeGreaterThanOrEqual(0);
    expect(lines.slice(drainBegan).filter((l) => l.msg === WATCHING)).toEqual([]);
  } finally {
    held.destroy();
    await stopping;
  }
});
