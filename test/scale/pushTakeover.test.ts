import { startSimulator, type Simulator } from '../../simulator';
import { startInstance, type Instance } from '../support/instances';
import {
  browserKeys,
  decryptPush,
  startPushReceiver,
  vapidPair,
  verifyVapid,
  type PushReceiver,
} from '../support/pushReceiver';
import { startRedis, type RedisServer } from '../support/redis';
import { openStream } from '../support/sse';
import { guestTokenOf, PAGE_ORIGIN, simulatorEnv } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Web Push across instances, for real: two instances (each its own process) sharing a Redis, the strict
 * simulator, and a push service on loopback. The instance watching a chat nobody looks at is killed (SIGKILL):
 * the other takes the watch over once its lease lapses, and every reply still yields exactly one push, the one
 * that came while nobody watched included.
 *
 * @needs redis-server
 */

const WATCHING = 'watching a chat nobody is looking at, for replies to push';
/** How long the test waits for the watch to move: the 3 s lease, a scan interval, a socket and a history read. */
const TAKEOVER_WAIT_MS = 20_000;

const vapid = vapidPair();
let sim: Simulator;
let redis: RedisServer;
let receiver: PushReceiver;
let instances: Instance[] = [];

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { typingDelayMs: 5, replyDelayMs: 20 } });
  redis = await startRedis();
  receiver = await startPushReceiver();
  const env = simulatorEnv(sim, {
    REDIS_URL: redis.url,
    LOG_LEVEL: 'info',
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:ops@example.com',
    NOTIFY_AFTER_SECONDS: '1',
    NOTIFY_PREVIEW: 'on',
  });
  instances = await Promise.all([startInstance(env), startInstance(env)]);
}, 90_000);

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  await receiver?.close();
  await redis?.stop();
  await sim?.stop();
}, 60_000);

const watchesIn = (instance: Instance) => instance.output().split(WATCHING).length - 1;

test('the watch moves when its instance dies, and each reply is pushed exactly once', async () => {
  const [first] = instances;
  const before = sim.received.length;
  const started = await fetch(`${first!.url}/guest-session`, {
    method: 'POST',
    headers: { Origin: PAGE_ORIGIN, 'Content-Type': 'application/json' },
    body: '{}',
  });
  expect(started.status).toBe(201);
  const { sessionToken } = (await started.json()) as { sessionToken: string };
  const gt = guestTokenOf(sim, before);
  const auth = { Authorization: `Bearer ${sessionToken}`, Origin: PAGE_ORIGIN };

  const page = await openStream(`${first!.url}/messages/stream`, auth);
  await page.next((e) => e.event === 'session');
  const keys = browserKeys();
  const put = await fetch(`${first!.url}/notifications/push`, {
    method: 'PUT',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ endpoint: `${receiver.origin}/k`, keys: { p256dh: keys.p256dh, auth: keys.auth } }),
  });
  expect(put.status).toBe(204);
  page.close();

  // One instance takes the watch; the other does not.
  await waitFor(() => expect(instances.filter((i) => watchesIn(i) > 0)).toHaveLength(1), TAKEOVER_WAIT_MS);
  const watcher = instances.find((i) => watchesIn(i) > 0)!;
  const other = instances.find((i) => i !== watcher)!;
  const preview = async (n: number) => {
    const push = await receiver.nth('/k', n, TAKEOVER_WAIT_MS);
    await verifyVapid(push.headers, vapid.publicKey, receiver.origin);
    return JSON.parse(decryptPush(push.body, keys)).preview as string;
  };

  sim.agent.say(gt, 'Reply one');
  expect(await preview(1)).toBe('Reply one');

  await watcher.kill();
  // Said while nobody watches: the instance that takes over finds it in history.
  sim.agent.say(gt, 'Reply two');
  expect(await preview(2)).toBe('Reply two');
  expect(watchesIn(other)).toBeGreaterThan(0);

  sim.agent.say(gt, 'Reply three');
  expect(await preview(3)).toBe('Reply three');
  expect(receiver.received.filter((r) => r.path === '/k')).toHaveLength(3);
});
