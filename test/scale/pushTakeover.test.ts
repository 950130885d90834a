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
import { sessionKeyOf } from '../../src/store';
import { openStream } from '../support/sse';
import { guestTokenOf, PAGE_ORIGIN, simulatorEnv } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Web Push across instances, for real: two instances (each its own process) sharing a Redis, the strict
 * simulator, and a push service on loopback. The instance watching a chat nobody looks at is killed (SIGKILL):
 * the other takes the watch over once its lease lapses, and every reply still yields exactly one push, the one
 * that came while nobody watched included. First, as both live: a watch's socket takes no part in the live socket's
 * ownership (a send elsewhere does not end it), and the watch lets go before a page stream opens, or a page's resume
 * opens a socket.
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

/**
 * A chat started on the first instance whose page subscribed to pushes at `path`, then closed its stream: resolves
 * once one instance watches it. `linesSince` is an instance's log since this began, `chatLines` its lines naming
 * this chat.
 */
async function leftWithPushes(path: string) {
  const [first] = instances;
  const since = instances.map((i) => i.output().length);
  const linesSince = (instance: Instance) => instance.output().slice(since[instances.indexOf(instance)]);
  const before = sim.received.length;
  const started = await fetch(`${first!.url}/guest-session`, {
    method: 'POST',
    headers: { Origin: PAGE_ORIGIN, 'Content-Type': 'application/json' },
    body: '{}',
  });
  const { sessionToken } = (await started.json()) as { sessionToken: string };
  const gt = guestTokenOf(sim, before);
  const auth = { Authorization: `Bearer ${sessionToken}`, Origin: PAGE_ORIGIN };
  const chatLines = (instance: Instance) =>
    instance
      .output()
      .split('\n')
      .filter((line) => line.includes(sessionKeyOf(gt)))
      .join('\n');
  const page = await openStream(`${first!.url}/messages/stream`, auth);
  await page.next((e) => e.event === 'session');
  const keys = browserKeys();
  const put = await fetch(`${first!.url}/notifications/push`, {
    method: 'PUT',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ endpoint: `${receiver.origin}${path}`, keys: { p256dh: keys.p256dh, auth: keys.auth } }),
  });
  expect(put.status).toBe(204);
  page.close();
  await waitFor(
    () => expect(instances.filter((i) => chatLines(i).includes(WATCHING))).toHaveLength(1),
    TAKEOVER_WAIT_MS,
  );
  const watcher = instances.find((i) => chatLines(i).includes(WATCHING))!;
  return { gt, auth, keys, watcher, linesSince, chatLines };
}

test('a watch takes no part in the live socket’s ownership, and lets go before a page stream opens', async () => {
  const [first, second] = instances;
  const { gt, auth, keys, watcher, linesSince } = await leftWithPushes('/own');
  const other = watcher === first ? second! : first!;
  const preview = async (n: number) =>
    JSON.parse(decryptPush((await receiver.nth('/own', n, TAKEOVER_WAIT_MS)).body, keys)).preview as string;

  // The customer writes from another instance with no stream open (its live socket takes the chat's ownership
  // there): the watch goes on, on its own socket, and pushes the reply.
  // Sent as a page does: again with the same key after a 503's Retry-After (the chat's live socket moving).
  let sent: Response | undefined;
  for (let tries = 0; tries < 10 && sent?.status !== 201; tries++) {
    if (sent) await new Promise((resolve) => setTimeout(resolve, Number(sent!.headers.get('retry-after')) * 1000));
    sent = await fetch(`${other.url}/messages`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', 'Idempotency-Key': 'own-1' },
      body: JSON.stringify({ text: 'Written without a stream' }),
    });
    expect([201, 503]).toContain(sent.status);
  }
  expect(sent?.status).toBe(201);
  sim.agent.say(gt, 'Reply beside a send');
  // The bot answers the customer's message too, and either reply may be first: the watch heard one and pushed it.
  expect(['Reply beside a send', 'You said: Written without a stream']).toContain(await preview(1));
  expect(linesSince(watcher)).not.toContain('stopped watching a chat');
  const watchHandedOver = (i: Instance) =>
    linesSince(i)
      .split('\n')
      .some((line) => line.includes('handing it over') && line.includes('"hub":"watch"'));
  expect(instances.map(watchHandedOver)).toEqual([false, false]);

  // The page comes back on the other instance: its stream opens once the watch has let its lease go, which the
  // watch does after it has closed its socket.
  const back = await openStream(`${other.url}/messages/stream`, auth);
  await back.next((e) => e.event === 'session' && JSON.parse(e.data).state === 'open');
  await waitFor(() => expect(linesSince(watcher)).toContain('a page is open again'));
  expect(linesSince(other)).not.toContain('while another instance still watches the chat');
  expect(sim.stats.evictionsBySession(gt)).toBe(0);
  back.close();
});

test('a page that resumes the chat on an instance holding none of its sockets waits for the watch to let go', async () => {
  const [, second] = instances;
  const { gt, auth, watcher, linesSince, chatLines } = await leftWithPushes('/resumed');
  // The chat holds the idle live socket (on the first instance) and the watch's.
  expect(sim.stats.openConnectionsBySession(gt)).toBe(2);

  // The customer comes back through the second instance, whose live hub holds no socket of the chat (as when the
  // proxy sends the page elsewhere while the chat's instance is down or starved): the resume's socket opens only
  // once the watch has let its own go, so the chat never holds three (a reload elsewhere would be a fourth).
  const resumed = await fetch(`${second!.url}/guest-session`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: '{}',
  });
  expect(resumed.status).toBe(200);
  expect(sim.stats.peakConnectionsBySession(gt)).toBe(2);
  expect(sim.stats.evictionsBySession(gt)).toBe(0);
  await waitFor(() => expect(chatLines(watcher)).toContain('a page is open again'));
  expect(linesSince(second!)).not.toContain('while another instance still watches the chat');
});

test('the watch moves when its instance dies, and each reply is pushed exactly once', async () => {
  const [first] = instances;
  // The watches of this chat: those each instance started since this test began.
  const earlier = instances.map((i) => watchesIn(i));
  const watchesOf = (instance: Instance) => watchesIn(instance) - earlier[instances.indexOf(instance)]!;
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
  await waitFor(() => expect(instances.filter((i) => watchesOf(i) > 0)).toHaveLength(1), TAKEOVER_WAIT_MS);
  const watcher = instances.find((i) => watchesOf(i) > 0)!;
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
  expect(watchesOf(other)).toBeGreaterThan(0);

  sim.agent.say(gt, 'Reply three');
  expect(await preview(3)).toBe('Reply three');
  expect(receiver.received.filter((r) => r.path === '/k')).toHaveLength(3);
});
