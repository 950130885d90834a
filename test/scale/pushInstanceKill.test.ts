import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startSimulator, type Simulator } from '../../simulator';
import { sessionKeyOf } from '../../src/store';
import { startInstance, type Instance } from '../support/instances';
import { scrape } from '../support/metrics';
import { startNginx, type Nginx } from '../support/nginx';
import { freePort } from '../support/ports';
import {
  browserKeys,
  decryptPush,
  startPushReceiver,
  vapidPair,
  verifyVapid,
  type BrowserKeys,
  type PushReceiver,
} from '../support/pushReceiver';
import { startRedis, type RedisServer } from '../support/redis';
import { openStream } from '../support/sse';
import { guestTokenOf, PAGE_ORIGIN, simulatorEnv } from '../support/stack';
import { sleep, waitFor } from '../support/wait';

/**
 * Web Push through an instance's death, at scale, for real: four instances (each its own process) behind Debian's
 * nginx running deploy/nginx/bff.conf, one Redis, the strict simulator and a push service on loopback that decrypts
 * every push (RFC 8291) and checks its VAPID signature (RFC 8292). Fifty chats are started and subscribed through
 * the proxy and their page streams closed, so they are watched. The instance that watches the most of them is
 * SIGKILLed with agent replies arriving before, during (nobody watches its chats until its leases lapse) and after
 * the takeover.
 *
 * Promises checked (the acceptance criterion of Web Push across instances): every agent reply yields exactly one
 * push, none lost and none twice, the replies said while nobody watched included (the instance that takes over
 * reads them from history); and every chat the dead instance watched is watched again (its lease taken by a living
 * instance, which opened a socket of the chat) within 15 s of the kill, the bound operations.md states for a
 * takeover. NOTIFY_AFTER_SECONDS is 20: the lease and the scan interval are at their ceilings there, as with the
 * default 60, so the takeover runs on the shipped timing without a minute's wait for the first watches.
 *
 * @needs redis-server nginx
 * @lane full — four instances, nginx and Redis as processes of their own, fifty watched chats (about a minute and a half)
 */

const INSTANCES = 4;
const CHATS = 50;
const NOTIFY_AFTER_SECONDS = 20;
/** The takeover bound (docs/operations.md "Web Push"): from the kill until each orphaned chat is watched again. */
const TAKEOVER_BOUND_MS = 15_000;
/** How long a wait for the takeover may last before the test calls it a hang; the verdict is TAKEOVER_BOUND_MS. */
const TAKEOVER_WAIT_MS = 60_000;
/** How long the watches, pushes and records may take to appear: past NOTIFY_AFTER_SECONDS and a scan, on a busy machine. */
const WAIT_MS = 90_000;

const vapid = vapidPair();
let sim: Simulator;
let redis: RedisServer;
let admin: Redis;
let receiver: PushReceiver;
let proxy: Nginx;
const instances: { instance: Instance; metrics: string }[] = [];

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { typingDelayMs: 5, replyDelayMs: 20 } });
  redis = await startRedis();
  admin = new Redis(redis.url);
  receiver = await startPushReceiver();
  const env = simulatorEnv(sim, {
    REDIS_URL: redis.url,
    TRUST_PROXY: '1',
    LOG_LEVEL: 'warn',
    // Only bounds a hang: four processes on a busy machine can take seconds for what takes milliseconds alone.
    GENESYS_TIMEOUT_MS: '10000',
    STREAMS_PER_IP: '1000',
    SESSIONS_PER_IP_PER_MINUTE: '1000',
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:ops@example.com',
    NOTIFY_AFTER_SECONDS: String(NOTIFY_AFTER_SECONDS),
    NOTIFY_PREVIEW: 'on',
  });
  // One after another, each kept as it starts (afterAll stops what started): four processes starting at once on a
  // busy 2-core machine can each take longer than an instance's readiness wait.
  for (let i = 0; i < INSTANCES; i += 1) {
    const metricsPort = await freePort();
    const instance = await startInstance({ ...env, METRICS_PORT: String(metricsPort) });
    instances.push({ instance, metrics: `http://127.0.0.1:${metricsPort}/metrics` });
  }
  proxy = await startNginx(instances.map((i) => i.instance.url.replace('http://', '')));
}, 180_000);

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(instances.map((i) => i.instance.stop()));
  admin?.disconnect();
  await receiver?.close();
  await redis?.stop();
  await sim?.stop();
}, 60_000);

interface Chat {
  name: string;
  routingKey: string;
  token: string;
  /** The simulator's guest token of the chat. */
  gt: string;
  /** The chat's key in the shared store (sessionKeyOf). */
  sk: string;
  keys: BrowserKeys;
  /** The receiver's path the chat's pushes go to. */
  path: string;
  /** The page a push of the chat opens. */
  url: string;
}

const chats: Chat[] = [];

const routed = (c: Chat, path: string) => `${proxy.url}${path}?routingKey=${c.routingKey}`;
const auth = (token: string) => ({ Authorization: `Bearer ${token}`, Origin: PAGE_ORIGIN });
/** The store's key of the chat's watch lease (REDIS_KEY_PREFIX's default, the default deployment: no scope). */
const leaseKey = (c: Chat) => `genesys-bff:notify-lease:${c.sk}`;

/** A chat started through the proxy, one at a time: the simulator's next configureSession is its own. */
async function startChat(index: number): Promise<Chat> {
  const name = `c${String(index).padStart(2, '0')}`;
  const routingKey = randomBytes(18).toString('base64url');
  const before = sim.received.length;
  const res = await fetch(`${proxy.url}/guest-session?routingKey=${routingKey}`, {
    method: 'POST',
    headers: { Origin: PAGE_ORIGIN, 'Content-Type': 'application/json' },
    body: '{}',
  });
  const body = (await res.json()) as { sessionToken: string };
  if (res.status !== 201) throw new Error(`POST /guest-session: ${res.status} ${JSON.stringify(body)}`);
  const gt = guestTokenOf(sim, before);
  return {
    name,
    routingKey,
    token: body.sessionToken,
    gt,
    sk: sessionKeyOf(gt),
    keys: browserKeys(),
    path: `/${name}`,
    url: `${PAGE_ORIGIN}/chat/${name}`,
  };
}

/** What a page does: opens its stream, subscribes the chat to Web Push, and leaves (its stream closes). */
async function subscribeAndLeave(c: Chat): Promise<void> {
  const page = await openStream(routed(c, '/messages/stream'), auth(c.token));
  expect([c.name, page.status]).toEqual([c.name, 200]);
  await page.next((e) => e.event === 'session');
  const put = await fetch(routed(c, '/notifications/push'), {
    method: 'PUT',
    headers: { ...auth(c.token), 'Content-Type': 'application/json' },
    body: JSON.stringify({
      endpoint: `${receiver.origin}${c.path}`,
      keys: { p256dh: c.keys.p256dh, auth: c.keys.auth },
      url: c.url,
    }),
  });
  expect([c.name, put.status]).toEqual([c.name, 204]);
  page.close();
}

const pushesTo = (c: Chat) => receiver.received.filter((r) => r.path === c.path);

/** Every chat has had at least `n` pushes. */
function eachPushedAtLeast(n: number): void {
  const short = chats.filter((c) => pushesTo(c).length < n).map((c) => `${c.name} (${pushesTo(c).length})`);
  if (short.length > 0) throw new Error(`chats with fewer than ${n} pushes: ${short.join(', ')}`);
}

const repliesOf = (c: Chat) =>
  (sim.conversationMessages(c.gt) as { id: string; direction?: string; text?: string }[]).filter(
    (m) => m.direction === 'Outbound' && m.text,
  );

/** Every agent reply so far has its store record `sent` (`notify-msg:{sk}:<id>`). */
async function everyReplyRecordedSent(): Promise<void> {
  for (const c of chats) {
    for (const m of repliesOf(c)) {
      const record = await admin.get(`genesys-bff:notify-msg:${c.sk}:${m.id}`);
      expect([c.name, m.text, record]).toEqual([c.name, m.text, 'sent']);
    }
  }
}

/** The watched-chat gauge of each instance (the dead one's as it was). */
const watchedBy = async () =>
  Promise.all(instances.map(async (i) => (await scrape(i.metrics)).value('genesys_bff_notify_watched_chats')));

test('an instance watching chats is SIGKILLed: every reply pushed exactly once, its chats watched again within 15 s', async () => {
  for (let i = 0; i < CHATS; i += 1) chats.push(await startChat(i));
  for (let i = 0; i < CHATS; i += 10) await Promise.all(chats.slice(i, i + 10).map(subscribeAndLeave));

  // NOTIFY_AFTER_SECONDS after their pages left, every chat is watched by one instance.
  await waitFor(
    async () => {
      const leases = await admin.mget(chats.map(leaseKey));
      const unwatched = chats.filter((_, i) => leases[i] === null).map((c) => c.name);
      if (unwatched.length > 0) throw new Error(`chats nobody watches: ${unwatched.join(', ')}`);
      expect((await watchedBy()).reduce((a, b) => a + b, 0)).toBe(CHATS);
    },
    WAIT_MS,
    200,
  );

  // Before: each chat's reply is pushed once.
  for (const c of chats) sim.agent.say(c.gt, `${c.name} before`);
  await waitFor(() => eachPushedAtLeast(1), WAIT_MS, 100);
  // And recorded as sent: no instance is between a push and its record when one is killed (a death there leaves a
  // reply `pending` until its claim expires, which docs/operations.md states; that window is not this test's).
  await waitFor(everyReplyRecordedSent, WAIT_MS, 200);

  // The instance watching the most chats dies. Who watches what, from the store's leases, as it dies.
  const gauges = await watchedBy();
  const victimIndex = gauges.indexOf(Math.max(...gauges));
  const victim = instances[victimIndex]!.instance;
  const leasesAtKill = await admin.mget(chats.map(leaseKey));
  const socketsAtKill = chats.map((c) => sim.stats.connectionsBySession(c.gt));
  const killedAt = Date.now();
  await victim.kill();

  // During: said while the dead instance's chats have nobody watching them (its leases have not lapsed yet).
  for (const c of chats) sim.agent.say(c.gt, `${c.name} meanwhile`);

  // Each chat is watched again once its lease is another instance's, which opened a socket of the chat; the dead
  // instance's chats are those whose every lease moved so (a living instance renews its own).
  const movedAfter = new Map<string, number>();
  const ids = [...new Set(leasesAtKill)].filter((id): id is string => id !== null);
  let victimId: string | undefined;
  const deadline = killedAt + TAKEOVER_WAIT_MS;
  for (let round = 0; !victimId && Date.now() < deadline && round < 10_000; round += 1) {
    const now = await admin.mget(chats.map(leaseKey));
    chats.forEach((c, i) => {
      if (movedAfter.has(c.name) || now[i] === null || now[i] === leasesAtKill[i]) return;
      if (sim.stats.connectionsBySession(c.gt) <= socketsAtKill[i]!) return;
      movedAfter.set(c.name, Date.now() - killedAt);
    });
    victimId = ids.find((id) => chats.every((c, i) => leasesAtKill[i] !== id || movedAfter.has(c.name)));
    if (!victimId) await sleep(50);
  }
  if (!victimId) {
    const left = chats.flatMap((c, i) => (movedAfter.has(c.name) ? [] : [`${c.name}: ${leasesAtKill[i]}`]));
    throw new Error(`no instance's chats were all watched again; not moved: ${left.join(', ')}`);
  }
  const orphaned = chats.filter((_, i) => leasesAtKill[i] === victimId);
  // The instance whose chats moved is the one killed: it watched what its gauge said.
  expect(orphaned.length).toBe(gauges[victimIndex]);
  const times = orphaned.map((c) => movedAfter.get(c.name)!);
  const slowest = Math.max(...times);
  // The measurement, for the record of a run (the verdict is the bound below).
  process.stderr.write(
    `takeover of ${orphaned.length} chats after the kill: first ${Math.min(...times)} ms, last ${slowest} ms\n`,
  );
  expect(slowest).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);

  // What came while nobody watched is pushed once the watch moved; then after: each reply pushed once.
  await waitFor(() => eachPushedAtLeast(2), WAIT_MS, 100);
  for (const c of chats) sim.agent.say(c.gt, `${c.name} after`);
  await waitFor(() => eachPushedAtLeast(3), WAIT_MS, 100);

  // Every reply's record says it was pushed: a push only follows a claim of its record, so none can come later.
  await waitFor(everyReplyRecordedSent, WAIT_MS, 200);

  // Each reply (by id, in the chat's Genesys history) yields exactly one push, decrypted with the chat's keys.
  for (const c of chats) {
    const replies = repliesOf(c);
    expect([c.name, replies.map((m) => m.text)]).toEqual([
      c.name,
      [`${c.name} before`, `${c.name} meanwhile`, `${c.name} after`],
    ]);
    const payloads = await Promise.all(
      pushesTo(c).map(async (push) => {
        await verifyVapid(push.headers, vapid.publicKey, receiver.origin);
        return JSON.parse(decryptPush(push.body, c.keys)) as { type: string; preview?: string; url: string };
      }),
    );
    for (const m of replies) {
      const carrying = payloads.filter((p) => p.preview === m.text);
      expect([c.name, m.id, carrying.length]).toEqual([c.name, m.id, 1]);
    }
    expect([c.name, payloads.length]).toEqual([c.name, replies.length]);
    for (const p of payloads) expect([c.name, p.type, p.url]).toEqual([c.name, 'reply', c.url]);
  }
}, 300_000);
