import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { startRedis, type RedisServer } from '../support/redis';
import { bearer, guestTokenOf, simProfile, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Two instances with one Redis, as when a session's requests land on another
 * instance (an instance died, or the proxy's view changed): Genesys's per-session
 * budgets (10 history reads a minute, SOCKET_OPENS_PER_SESSION_PER_MINUTE) are
 * spent once between them, not once on each.
 *
 * The window is a minute of Redis's clock; each test's timeout is shorter, so
 * no verdict depends on how fast the machine is.
 *
 * @needs redis-server
 */
let redis: RedisServer;
let sim: Simulator;
const stacks: Stack[] = [];

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ agent: { enabled: false }, profile: simProfile() });
}, 30_000);

afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await sim?.stop();
  await redis?.stop();
});

async function instances(env: Record<string, string> = {}): Promise<[Stack, Stack]> {
  for (let i = 0; i < 2; i++) stacks.push(await startStack({ simulator: sim, env: { REDIS_URL: redis.url, ...env } }));
  for (const s of stacks) await waitFor(async () => (await s.http.get('/readyz')).status === 200, 10_000);
  return [stacks[0]!, stacks[1]!];
}

test('history reads: 10 a minute for a session across both instances; the 11th is refused with 429 and Retry-After on either, and Genesys saw 10', async () => {
  const [a, b] = await instances();
  const { token } = await a.newSession();
  const readsBefore = sim.stats.historyRequests;
  const answers: number[] = [];
  for (let i = 0; i < 5; i++) {
    answers.push((await a.http.get('/messages').set(bearer(token))).status);
    answers.push((await b.http.get('/messages').set(bearer(token))).status);
  }
  expect(answers).toEqual(Array(10).fill(200));
  for (const instance of [a, b]) {
    const refused = await instance.http.get('/messages').set(bearer(token));
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
  }
  expect(sim.stats.historyRequests - readsBefore).toBe(10);
}, 30_000);

test('socket opens: a session that spent its SOCKET_OPENS_PER_SESSION_PER_MINUTE on one instance opens none on the other (429 with Retry-After)', async () => {
  const [a, b] = await instances({ SOCKET_OPENS_PER_SESSION_PER_MINUTE: '1' });
  const before = sim.received.length;
  const { token } = await a.newSession();
  const guestToken = guestTokenOf(sim, before);
  expect(sim.stats.connectionsBySession(guestToken)).toBe(1);
  const refused = await b.http
    .post('/messages')
    .set(bearer(token))
    .set('Idempotency-Key', randomUUID())
    .send({ text: 'through the other instance' });
  expect(refused.status).toBe(429);
  expect(refused.body.code).toBe('rate_limited');
  expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  expect(sim.stats.connectionsBySession(guestToken)).toBe(1);
  // The instance that holds the session's socket still sends on it: only new sockets were refused.
  const sent = await a.http
    .post('/messages')
    .set(bearer(token))
    .set('Idempotency-Key', randomUUID())
    .send({ text: 'on the open socket' });
  expect(sent.status).toBe(201);
  expect(sim.stats.connectionsBySession(guestToken)).toBe(1);
}, 30_000);
