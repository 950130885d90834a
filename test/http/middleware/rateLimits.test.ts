import { Router } from 'express';
import request from 'supertest';
import { rateLimits } from '../../../src/http/middleware/rateLimits';
import { RedisStore } from '../../../src/store/redis/redisStore';
import { sessionKeyOf } from '../../../src/store';
import { captureLogger, testApp, testConfig } from '../../support/app';
import { startRedis, type RedisServer } from '../../support/redis';
import { waitFor } from '../../support/wait';
import { standInAuthentication } from '../../support/limits';

/**
 * The service's own limits at the HTTP edge (src/http/middleware/rateLimits.ts), on the real edge with
 * stand-in routes wired as src/http/routes/chat.ts wires them. The limits here: 2 new sessions
 * per address, 3 conversation changes per address, 1 per session, per minute. Only Date is faked
 * (the limiter's window is read from it), so the verdicts never depend on how fast the machine is.
 *
 * @needs redis-server
 */

const LIMIT_ENV = {
  SESSIONS_PER_IP_PER_MINUTE: '2',
  CONVERSATION_CHANGES_PER_IP_PER_MINUTE: '3',
  CONVERSATION_CHANGES_PER_SESSION_PER_MINUTE: '1',
  TRUST_PROXY: '1',
};
const T0 = new Date('2026-11-22T10:00:00.000Z');

function limitedApp(redis?: RedisStore) {
  const config = testConfig(LIMIT_ENV);
  const limits = rateLimits(config.limits, redis);
  const router = Router();
  router.post(
    '/guest-session',
    limits.newSessions,
    limits.conversationChangesPerIp,
    standInAuthentication,
    limits.conversationChangesPerSession,
    (_req, res) => {
      res.status(201).end();
    },
  );
  router.delete(
    '/guest-session',
    limits.conversationChangesPerIp,
    standInAuthentication,
    limits.conversationChangesPerSession,
    (_req, res) => {
      res.status(204).end();
    },
  );
  return testApp({ config, routers: [router] }).app;
}

type App = ReturnType<typeof limitedApp>;

const start = (app: App, from = '203.0.113.5', body?: object) => {
  const req = request(app).post('/guest-session').set('X-Forwarded-For', from);
  return body ? req.send(body) : req;
};
const end = (app: App, token: string, from = '203.0.113.5') =>
  request(app).delete('/guest-session').set('X-Forwarded-For', from).set('Authorization', `Bearer ${token}`);
const startNew = (app: App, token: string, from = '203.0.113.5') =>
  start(app, from, { startNew: true }).set('Authorization', `Bearer ${token}`);

function expectLimited(res: request.Response, detail: string, retryAfter: string): void {
  expect({
    status: res.status,
    code: res.body.code,
    detail: res.body.detail,
    retryAfter: res.headers['retry-after'],
  }).toEqual({
    status: 429,
    code: 'rate_limited',
    detail,
    retryAfter,
  });
}

const SESSIONS = 'Too many new chat sessions from this address; wait before trying again.';
const CHANGES_PER_IP = 'Too many new or ended conversations from this address; wait before trying again.';
const CHANGES_PER_SESSION = 'Too many new or ended conversations in this session; wait before trying again.';

describe('rate limits in memory', () => {
  beforeEach(() => {
    jest.useFakeTimers({
      now: T0,
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('allows 2 new sessions per address a minute, then answers 429 with the seconds left in the window', async () => {
    const app = limitedApp();
    expect((await start(app)).status).toBe(201);
    expect((await start(app)).status).toBe(201);
    expectLimited(await start(app), SESSIONS, '60');
    jest.setSystemTime(T0.getTime() + 30_500);
    expectLimited(await start(app), SESSIONS, '30');
    jest.setSystemTime(T0.getTime() + 60_000);
    expect((await start(app)).status).toBe(201);
  });

  it('counts each address on its own', async () => {
    const app = limitedApp();
    for (let i = 0; i < 2; i += 1) expect((await start(app)).status).toBe(201);
    expect((await start(app)).status).toBe(429);
    expect((await start(app, '198.51.100.7')).status).toBe(201);
  });

  it('does not count resumes (requests with a session token) as new sessions', async () => {
    const app = limitedApp();
    for (let i = 0; i < 3; i += 1) {
      expect((await start(app).set('Authorization', `Bearer resume-${i}`)).status).toBe(201);
    }
    expect((await start(app)).status).toBe(201);
    expect((await start(app)).status).toBe(201);
  });

  it('allows 3 conversation changes (ends and startNew) per address, whichever sessions make them', async () => {
    const app = limitedApp();
    expect((await end(app, 'a')).status).toBe(204);
    expect((await startNew(app, 'b')).status).toBe(201);
    expect((await end(app, 'c')).status).toBe(204);
    expectLimited(await end(app, 'd'), CHANGES_PER_IP, '60');
    expectLimited(await startNew(app, 'e'), CHANGES_PER_IP, '60');
    expect((await end(app, 'f', '198.51.100.7')).status).toBe(204);
  });

  it.each<[string, object | undefined]>([
    ['no body', undefined],
    ['startNew false', { startNew: false }],
    ['startNew "true" (a string)', { startNew: 'true' }],
    ['other fields', { firstName: 'Ada' }],
  ])('does not count a POST with %s as a conversation change', async (_why, body) => {
    const app = limitedApp();
    for (let i = 0; i < 4; i += 1) {
      const req = request(app)
        .post('/guest-session')
        .set('X-Forwarded-For', '203.0.113.5')
        .set('Authorization', `Bearer s-${i}`);
      expect((await (body ? req.send(body) : req)).status).toBe(201);
    }
  });

  it('allows 1 conversation change per session, counted by its guest token', async () => {
    const app = limitedApp();
    expect((await end(app, 'a', '203.0.113.5')).status).toBe(204);
    expectLimited(await startNew(app, 'a', '198.51.100.7'), CHANGES_PER_SESSION, '60');
    expect((await end(app, 'b', '203.0.113.5')).status).toBe(204);
  });

  it('does not count a startNew without a session token per session (there is none to count)', async () => {
    const app = limitedApp();
    // The stand-in route answers 201; the real one refuses a bare startNew itself.
    expect((await start(app, '203.0.113.5', { startNew: true })).status).toBe(201);
    expect((await start(app, '203.0.113.6', { startNew: true })).status).toBe(201);
  });

  it('sends no RateLimit headers: Retry-After on a refusal is the whole contract', async () => {
    const app = limitedApp();
    const answers = [await start(app), await start(app), await start(app)];
    expect(answers.map((r) => r.status)).toEqual([201, 201, 429]);
    for (const res of answers) expect(Object.keys(res.headers).filter((h) => /ratelimit/i.test(h))).toEqual([]);
  });
});

describe('rate limits in Redis (REDIS_URL)', () => {
  let server: RedisServer;
  const opened: RedisStore[] = [];

  beforeAll(async () => {
    server = await startRedis();
  }, 30_000);

  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await server?.stop();
  });

  async function instance(keyPrefix: string): Promise<{ app: App; store: RedisStore }> {
    const store = new RedisStore({
      redis: { kind: 'single', url: server.url, keyPrefix, tls: false },
      keyPrefix,
      commandTimeoutMs: 2000,
      logger: captureLogger().logger,
    });
    opened.push(store);
    await waitFor(() => store.ping(), 10_000);
    return { app: limitedApp(store), store };
  }

  it('counts once for every instance, and keeps each counter under the key prefix, named for its limit', async () => {
    const one = await instance('bff-a:');
    const two = await instance('bff-a:');
    expect((await start(one.app)).status).toBe(201);
    expect((await start(two.app)).status).toBe(201);
    const refused = await start(one.app);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await end(two.app, 'a')).status).toBe(204);
    expect((await startNew(one.app, 'a')).status).toBe(429);
    const keys = (await one.store.command('KEYS', '*')) as string[];
    // The session's counter is named by a hash of its guest token, never the token itself.
    expect(keys.sort()).toEqual([
      'bff-a:limit:conversation-changes-per-ip:203.0.113.5',
      `bff-a:limit:conversation-changes-per-session:${sessionKeyOf('a')}`,
      'bff-a:limit:sessions-per-ip:203.0.113.5',
    ]);
    expect(sessionKeyOf('a')).not.toBe('a');
  });

  it('keeps the counts of deployments with other prefixes apart', async () => {
    const one = await instance('bff-b:');
    const other = await instance('bff-c:');
    for (let i = 0; i < 2; i += 1) expect((await start(one.app, '192.0.2.1')).status).toBe(201);
    expect((await start(one.app, '192.0.2.1')).status).toBe(429);
    expect((await start(other.app, '192.0.2.1')).status).toBe(201);
  });
});
