import { Router, type Request, type RequestHandler } from 'express';
import request from 'supertest';
import { rateLimits } from '../../../src/http/middleware/rateLimits';
import { limitsRefused } from '../../../src/observability/metrics';
import { sessionKeyOf } from '../../../src/store';
import { RedisStore } from '../../../src/store/redis/redisStore';
import { captureLogger, testApp, testConfig } from '../../support/app';
import { standInAuthentication } from '../../support/limits';
import { startRedis, type RedisServer } from '../../support/redis';
import { waitFor } from '../../support/wait';

/**
 * The service's own limits at the HTTP edge (src/http/middleware/rateLimits.ts).
 *
 * New sessions and conversation changes, on the real edge with stand-in routes wired as
 * src/http/routes/chat.ts wires them, in memory and in Redis. The limits there: 2 new sessions per
 * address, 3 conversation changes per address, 1 per session, per minute. Only Date is faked (the
 * limiter's window is read from it), so the verdicts never depend on how fast the machine is.
 *
 * The sign-in and attribute-write limits, per address and per session, each on an app built inside
 * its test (what a suite builds in beforeAll judges no mutant): what counts as a sign-in, which
 * requests each limiter skips, the words of each refusal and the series it counts under; and where
 * they keep their counts in Redis: each under the key prefix, in a key named for its limit, so that
 * no two limits share a count.
 *
 * @needs redis-server
 */

describe('new sessions and conversation changes', () => {
  const LIMIT_ENV = {
    SESSIONS_PER_IP_PER_MINUTE: '2',
    CONVERSATION_CHANGES_PER_IP_PER_MINUTE: '3',
    CONVERSATION_CHANGES_PER_SESSION_PER_MINUTE: '1',
    TRUST_PROXY: '1',
  };
  const T0 = new Date('2026-11-22T10:00:00.000Z');

  function limitedApp(redis?: RedisStore) {
    const config = testConfig(LIMIT_ENV);
    const limits = rateLimits(config.process.limits, redis);
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
});

describe('sign-ins and attribute writes', () => {
  function limitedApp(env: Record<string, string>) {
    const config = testConfig({ TRUST_PROXY: '1', ...env });
    const limits = rateLimits(config.process.limits);
    const router = Router();
    const ok: RequestHandler = (_req, res) => void res.status(200).json({ ok: true });
    // One route per path, as the service mounts them (src/http/spec/routeSpec.ts).
    for (const path of ['/guest-session', '/guest-session/sign-in', '/guest-session/sign-out', '/messages']) {
      router.post(path, limits.signInsPerIp, standInAuthentication, limits.signInsPerSession, ok);
    }
    router.put(
      '/guest-attributes',
      limits.attributeWritesPerIp,
      standInAuthentication,
      limits.attributeWritesPerSession,
      ok,
    );
    return testApp({ config, routers: [router] }).app;
  }
  type App = ReturnType<typeof limitedApp>;

  const post = (app: App, path: string, from: string, body: object = {}, token?: string) => {
    const req = request(app).post(path).set('X-Forwarded-For', from).send(body);
    return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
  };
  const putAttributes = (app: App, from: string, token: string) =>
    request(app)
      .put('/guest-attributes')
      .set('X-Forwarded-For', from)
      .set('Authorization', `Bearer ${token}`)
      .send({ attributes: { a: '1' } });

  const refusals = async (limit: string) =>
    (await limitsRefused.get()).values.find((v) => v.labels.limit === limit)?.value ?? 0;

  function expectRefused(res: request.Response, detail: string): void {
    expect({ status: res.status, code: res.body.code, detail: res.body.detail }).toEqual({
      status: 429,
      code: 'rate_limited',
      detail,
    });
  }

  describe('sign-ins per address', () => {
    const FROM_ADDRESS = 'Too many sign-in or sign-out attempts from this address; wait before trying again.';

    it('refuses the one over the limit in its words, counted under its own series', async () => {
      const app = limitedApp({ SIGN_INS_PER_IP_PER_MINUTE: '1' });
      const before = await refusals('sign_ins_per_ip');
      expect((await post(app, '/guest-session/sign-in', '203.0.113.10')).status).toBe(200);
      expectRefused(await post(app, '/guest-session/sign-out', '203.0.113.10'), FROM_ADDRESS);
      expect(await refusals('sign_ins_per_ip')).toBe(before + 1);
      expect((await post(app, '/guest-session/sign-in', '203.0.113.11')).status).toBe(200);
    });

    it('counts a session start with `auth` as a sign-in, and nothing else', async () => {
      const app = limitedApp({ SIGN_INS_PER_IP_PER_MINUTE: '1' });
      for (let i = 0; i < 3; i++) {
        expect((await post(app, '/guest-session', '203.0.113.12')).status).toBe(200);
        expect((await post(app, '/messages', '203.0.113.12', { text: 'hi' })).status).toBe(200);
        expect((await post(app, '/messages', '203.0.113.12', { text: 'hi', auth: { code: 'c' } })).status).toBe(200);
      }
      expect((await post(app, '/guest-session', '203.0.113.12', { auth: { code: 'c' } })).status).toBe(200);
      expectRefused(await post(app, '/guest-session', '203.0.113.12', { auth: { code: 'c' } }), FROM_ADDRESS);
    });

    it.each([
      ['a session start', '/GUEST-SESSION/', { auth: { code: 'c' } }],
      ['a sign-in', '/Guest-Session/Sign-In', {}],
      ['a sign-out', '/guest-session/sign-out/', {}],
    ])('counts %s however its path is spelled (%s): Express routes it all the same', async (_what, path, body) => {
      const app = limitedApp({ SIGN_INS_PER_IP_PER_MINUTE: '1' });
      expect((await post(app, path, '203.0.113.13', body)).status).toBe(200);
      expectRefused(await post(app, path, '203.0.113.13', body), FROM_ADDRESS);
    });
  });

  describe('sign-ins per session', () => {
    const IN_SESSION = 'Too many sign-in or sign-out attempts in this session; wait before trying again.';

    it('refuses the one over the limit in its words, from any address, counted under its own series', async () => {
      const app = limitedApp({ SIGN_INS_PER_SESSION_PER_MINUTE: '1' });
      const before = await refusals('sign_ins_per_session');
      expect((await post(app, '/guest-session/sign-in', '203.0.113.20', {}, 'guest-a')).status).toBe(200);
      expectRefused(await post(app, '/guest-session/sign-out', '203.0.113.21', {}, 'guest-a'), IN_SESSION);
      expect(await refusals('sign_ins_per_session')).toBe(before + 1);
      expect((await post(app, '/guest-session/sign-in', '203.0.113.22', {}, 'guest-b')).status).toBe(200);
    });

    it('skips a sign-in without a session, and whatever a session does that is not a sign-in', async () => {
      const app = limitedApp({ SIGN_INS_PER_SESSION_PER_MINUTE: '1' });
      for (let i = 0; i < 3; i++) {
        expect((await post(app, '/guest-session/sign-in', `203.0.113.${30 + i}`)).status).toBe(200);
        expect((await post(app, '/messages', `203.0.113.${40 + i}`, { text: 'hi' }, 'guest-c')).status).toBe(200);
      }
    });
  });

  describe('attribute writes', () => {
    it('per address: refuses the one over the limit in its words, counted under its own series', async () => {
      const app = limitedApp({ ATTRIBUTE_WRITES_PER_IP_PER_MINUTE: '1' });
      const before = await refusals('attribute_writes_per_ip');
      expect((await putAttributes(app, '203.0.113.50', 'guest-d')).status).toBe(200);
      expectRefused(
        await putAttributes(app, '203.0.113.50', 'guest-e'),
        'Too many attribute changes from this address; wait before trying again.',
      );
      expect(await refusals('attribute_writes_per_ip')).toBe(before + 1);
    });

    it('per session: refuses the one over the limit in its words, from any address, counted under its own series', async () => {
      const app = limitedApp({ ATTRIBUTE_WRITES_PER_SESSION_PER_MINUTE: '1' });
      const before = await refusals('attribute_writes_per_session');
      expect((await putAttributes(app, '203.0.113.60', 'guest-f')).status).toBe(200);
      expectRefused(
        await putAttributes(app, '203.0.113.61', 'guest-f'),
        'Too many attribute changes in this session; wait before trying again.',
      );
      expect(await refusals('attribute_writes_per_session')).toBe(before + 1);
      expect((await putAttributes(app, '203.0.113.62', 'guest-g')).status).toBe(200);
    });
  });

  describe('availability reads per address', () => {
    it('refuses the one over the limit in its words, counted under its own series', async () => {
      const config = testConfig({ TRUST_PROXY: '1', AVAILABILITY_READS_PER_IP_PER_MINUTE: '1' });
      const limits = rateLimits(config.process.limits);
      const router = Router();
      router.get('/availability', limits.availabilityReadsPerIp, (_req, res) => void res.status(200).end());
      const { app } = testApp({ config, routers: [router] });
      const read = (from: string) => request(app).get('/availability').set('X-Forwarded-For', from);
      const before = await refusals('availability_reads_per_ip');
      expect((await read('203.0.113.70')).status).toBe(200);
      expectRefused(
        await read('203.0.113.70'),
        'Too many availability reads from this address; wait before trying again.',
      );
      expect(await refusals('availability_reads_per_ip')).toBe(before + 1);
      expect((await read('203.0.113.71')).status).toBe(200);
    });
  });

  it('counts every request without an address (its socket already gone) under one key, `unknown`', () => {
    const limits = rateLimits(testConfig({}).process.limits);
    expect(limits.clientAddress({ ip: undefined } as unknown as Request)).toBe('unknown');
    expect(limits.clientAddress({ ip: '203.0.113.5' } as unknown as Request)).toBe('203.0.113.5');
  });

  it("leaves express-rate-limit's own checks off: the service keys each address itself, and nothing reaches the console", async () => {
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const app = limitedApp({ SIGN_INS_PER_IP_PER_MINUTE: '5' });
      expect((await post(app, '/guest-session/sign-in', '2001:db8::1')).status).toBe(200);
      expect(error).not.toHaveBeenCalled();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      error.mockRestore();
      warn.mockRestore();
    }
  });
});

describe('where the sign-in and attribute limits keep their counts in Redis', () => {
  let server: RedisServer;
  let store: RedisStore;

  beforeAll(async () => {
    server = await startRedis();
    store = new RedisStore({
      redis: { kind: 'single', url: server.url, keyPrefix: 'bff-k:', tls: false },
      keyPrefix: 'bff-k:',
      commandTimeoutMs: 2000,
      logger: captureLogger().logger,
    });
    await waitFor(() => store.ping(), 10_000);
  }, 30_000);

  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it('keeps each sign-in, attribute and availability limit in a key of its own, named for the limit', async () => {
    const config = testConfig({ TRUST_PROXY: '1' });
    const limits = rateLimits(config.process.limits, store);
    const router = Router();
    const ok: RequestHandler = (_req, res) => void res.status(200).end();
    router.post('/guest-session/sign-in', limits.signInsPerIp, standInAuthentication, limits.signInsPerSession, ok);
    router.put(
      '/guest-attributes',
      limits.attributeWritesPerIp,
      standInAuthentication,
      limits.attributeWritesPerSession,
      ok,
    );
    router.get('/availability', limits.availabilityReadsPerIp, ok);
    const { app } = testApp({ config, routers: [router] });

    await store.command('FLUSHDB');
    expect((await request(app).get('/availability').set('X-Forwarded-For', '203.0.113.9')).status).toBe(200);
    expect(
      (
        await request(app)
          .post('/guest-session/sign-in')
          .set('X-Forwarded-For', '203.0.113.7')
          .set('Authorization', 'Bearer guest-k')
          .send({})
      ).status,
    ).toBe(200);
    expect(
      (
        await request(app)
          .put('/guest-attributes')
          .set('X-Forwarded-For', '203.0.113.8')
          .set('Authorization', 'Bearer guest-k')
          .send({ attributes: { a: '1' } })
      ).status,
    ).toBe(200);

    const session = sessionKeyOf('guest-k');
    expect(((await store.command('KEYS', '*')) as string[]).sort()).toEqual(
      [
        'bff-k:limit:attribute-writes-per-ip:203.0.113.8',
        'bff-k:limit:availability-reads-per-ip:203.0.113.9',
        `bff-k:limit:attribute-writes-per-session:${session}`,
        'bff-k:limit:sign-ins-per-ip:203.0.113.7',
        `bff-k:limit:sign-ins-per-session:${session}`,
      ].sort(),
    );
  });
});
