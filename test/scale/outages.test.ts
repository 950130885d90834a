import { randomBytes, randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { startInstance, type Instance } from '../support/instances';
import { startNginx, type Nginx } from '../support/nginx';
import { startRedis, type RedisServer } from '../support/redis';
import { dataOf, openStream, type SseStream } from '../support/sse';
import { PAGE_ORIGIN, simulatorEnv } from '../support/stack';
import { sleep, waitFor } from '../support/wait';

/**
 * Outages every instance shares, for real: four instances behind Debian's
 * nginx (deploy/nginx/bff.conf), Redis and the strict simulator. A 30 s
 * Redis outage (SIGSTOP: the connections stay up and nothing answers) and a
 * 30 s Genesys outage (handshakes refused, sockets dropped, REST failing)
 * each leave /readyz 200 on every instance, saying which dependency is down
 * (`degraded`), and the live streams open: no cascade takes every instance
 * out of rotation. While Redis is down, a request that needs it answers 503
 * with Retry-After within a second (the second only bounds the wait). While
 * Genesys is down, every instance finds out, also one no session met it on.
 *
 * @needs redis-server nginx
 */

const INSTANCES = 4;
const SESSIONS = 6;
const OUTAGE_MS = 30_000;

let sim: Simulator;
let redis: RedisServer;
let instances: Instance[] = [];
let proxy: Nginx;

interface Browser {
  routingKey: string;
  token: string;
  stream: SseStream;
}
let browsers: Browser[] = [];

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } });
  redis = await startRedis();
  const env = simulatorEnv(sim, {
    REDIS_URL: redis.url,
    TRUST_PROXY: '1',
    LOG_LEVEL: 'error',
    STREAMS_PER_IP: '1000',
    SESSIONS_PER_IP_PER_MINUTE: '1000',
  });
  instances = await Promise.all(Array.from({ length: INSTANCES }, () => startInstance(env)));
  proxy = await startNginx(instances.map((i) => i.url.replace('http://', '')));
  browsers = await Promise.all(
    Array.from({ length: SESSIONS }, async () => {
      const routingKey = randomBytes(18).toString('base64url');
      const res = await fetch(`${proxy.url}/guest-session?routingKey=${routingKey}`, {
        method: 'POST',
        headers: { Origin: PAGE_ORIGIN, 'Content-Type': 'application/json' },
        body: '{}',
      });
      const body = (await res.json()) as { sessionToken: string; streamPosition: string };
      const stream = await openStream(
        `${proxy.url}/messages/stream?routingKey=${routingKey}&lastEventId=${body.streamPosition}`,
        { Origin: PAGE_ORIGIN, Authorization: `Bearer ${body.sessionToken}` },
      );
      await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
      return { routingKey, token: body.sessionToken, stream };
    }),
  );
}, 90_000);

afterAll(async () => {
  for (const b of browsers) b.stream.close();
  redis?.resume();
  await proxy?.stop();
  await Promise.all(instances.map((i) => i.stop()));
  await redis?.stop();
  await sim?.stop();
}, 60_000);

const readyz = async (i: Instance) => {
  const res = await fetch(`${i.url}/readyz`);
  return {
    status: res.status,
    body: (await res.json()) as { status: string; checks: Record<string, { ok: boolean; affectsReadiness?: boolean }> },
  };
};

/** Every instance is in rotation (200) and reports `check` down without it counting against readiness. */
async function everyInstanceDegraded(check: string): Promise<void> {
  for (const instance of instances) {
    const { status, body } = await readyz(instance);
    expect([instance.url, status, body.status, body.checks[check]]).toEqual([
      instance.url,
      200,
      'degraded',
      expect.objectContaining({ ok: false, affectsReadiness: false }),
    ]);
  }
}

/**
 * Every instance is in rotation (200); each one that has noticed the outage (its sessions'
 * sockets failed to reconnect: an instance with no guest to serve does not try) reports
 * `check` down without it counting against readiness, and at least `noticed` have.
 */
async function everyInstanceInRotation(check: string, noticed: number): Promise<void> {
  let degraded = 0;
  for (const instance of instances) {
    const { status, body } = await readyz(instance);
    expect([instance.url, status]).toEqual([instance.url, 200]);
    if (body.checks[check]!.ok) continue;
    expect([instance.url, body.status, body.checks[check]]).toEqual([
      instance.url,
      'degraded',
      expect.objectContaining({ affectsReadiness: false }),
    ]);
    degraded += 1;
  }
  expect(degraded).toBeGreaterThanOrEqual(noticed);
}

const streamsEnded = () =>
  browsers.filter((b) => b.stream.events.some((e) => e.event === 'session' && dataOf(e).reconnect !== undefined))
    .length;

async function sendThroughProxy(b: Browser, text: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${proxy.url}/messages?routingKey=${b.routingKey}`, {
    method: 'POST',
    headers: {
      Origin: PAGE_ORIGIN,
      Authorization: `Bearer ${b.token}`,
      'Content-Type': 'application/json',
      'Idempotency-Key': randomUUID(),
    },
    body: JSON.stringify({ text }),
    signal,
  });
}

/** Holds the outage for OUTAGE_MS from `since`, checking every few seconds; `during` runs at each check. */
async function holdOutage(since: number, during: () => Promise<void>): Promise<number> {
  let checks = 0;
  while (Date.now() - since < OUTAGE_MS) {
    await during();
    checks += 1;
    await sleep(3000);
  }
  return checks;
}

test('a 30 s Redis outage (SIGSTOP) leaves every instance ready and degraded, streams open, and requests that need Redis answer 503 within a second', async () => {
  const since = Date.now();
  redis.pause();
  try {
    await waitFor(() => everyInstanceDegraded('redis'), 10_000, 200);
    const checks = await holdOutage(since, async () => {
      await everyInstanceDegraded('redis');
      // A send needs Redis (its Idempotency-Key record): refused at once, with when to retry.
      const res = await sendThroughProxy(browsers[0]!, 'while Redis hangs', AbortSignal.timeout(1000));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { code: string }).code).toBe('store_unavailable');
      expect(streamsEnded()).toBe(0);
    });
    expect(checks).toBeGreaterThanOrEqual(5);
  } finally {
    redis.resume();
  }
  await waitFor(
    async () => {
      for (const instance of instances) expect((await readyz(instance)).body.status).toBe('ready');
    },
    15_000,
    200,
  );
  expect(streamsEnded()).toBe(0);
  const after = await sendThroughProxy(browsers[0]!, 'Redis answers again');
  expect(after.status).toBe(201);
  await browsers[0]!.stream.next(
    (e) => e.event === 'message' && dataOf(e).text === 'You said: Redis answers again',
    15_000,
  );
}, 90_000);

test('a 30 s Genesys outage leaves every instance ready and degraded, and the streams open; they carry messages again afterwards', async () => {
  const since = Date.now();
  sim.faults.refuseHandshake(503);
  for (const target of ['config', 'history', 'deployment', 'token'] as const)
    sim.faults.failRest(target, { status: 503 });
  sim.faults.dropSocket();
  try {
    // Every instance, not only those whose sessions met the outage: an instance that finds it tells the others
    // through Redis, and each checks Genesys at once (the circuit per deployment, guestApiHealth.ts).
    await waitFor(() => everyInstanceInRotation('guestApi', INSTANCES), 20_000, 200);
    const checks = await holdOutage(since, async () => {
      await everyInstanceInRotation('guestApi', INSTANCES);
      expect(streamsEnded()).toBe(0);
    });
    expect(checks).toBeGreaterThanOrEqual(3);
  } finally {
    sim.faults.clear();
  }
  await waitFor(
    async () => {
      for (const instance of instances) expect((await readyz(instance)).body.checks.guestApi!.ok).toBe(true);
    },
    30_000,
    200,
  );
  expect(streamsEnded()).toBe(0);
  const after = await sendThroughProxy(browsers[1]!, 'Genesys is back');
  expect(after.status).toBe(201);
  await browsers[1]!.stream.next(
    (e) => e.event === 'message' && dataOf(e).text === 'You said: Genesys is back',
    15_000,
  );
}, 120_000);
