import { Router, type RequestHandler } from 'express';
import request from 'supertest';
import { rateLimits } from '../../../src/http/middleware/rateLimits';
import { RedisStore } from '../../../src/store/redis/redisStore';
import { sessionKeyOf } from '../../../src/store';
import { captureLogger, testApp, testConfig } from '../../support/app';
import { startRedis, type RedisServer } from '../../support/redis';
import { waitFor } from '../../support/wait';
import { standInAuthentication } from '../../support/limits';

/**
 * Where the sign-in and attribute-write limits keep their counts in Redis (src/http/middleware/rateLimits.ts):
 * each under the key prefix, in a key named for its limit, so that no two limits share a count.
 * rateLimits.test.ts shows the same for the session and conversation limits.
 *
 * @needs redis-server
 */

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

it('keeps each sign-in and attribute limit in a key of its own, named for the limit', async () => {
  const config = testConfig({ TRUST_PROXY: '1' });
  const limits = rateLimits(config.limits, store);
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
  const { app } = testApp({ config, routers: [router] });

  await store.command('FLUSHDB');
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
      `bff-k:limit:attribute-writes-per-session:${session}`,
      'bff-k:limit:sign-ins-per-ip:203.0.113.7',
      `bff-k:limit:sign-ins-per-session:${session}`,
    ].sort(),
  );
});
