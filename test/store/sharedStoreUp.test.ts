import { registry } from '../../src/observability/metrics';
import { RedisStore } from '../../src/store/redis/redisStore';
import { captureLogger } from '../support/app';
import { startRedis, type RedisServer } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * genesys_bff_shared_store_up (docs/operations.md#genesysbffsharedstoredown) follows Redis: 1 while it answers, 0 while it is away.
 *
 * @needs redis-server
 */
let redis: RedisServer;
let store: RedisStore | undefined;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await store?.close();
  await redis.stop();
});

async function up(): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('genesys_bff_shared_store_up')!.get();
  return metric.values[0]?.value;
}

test('the gauge is 1 without Redis, 0 until Redis answers and while it is away, 1 again once it is back', async () => {
  expect(await up()).toBe(1);
  store = new RedisStore({
    redis: { kind: 'single', url: redis.url, keyPrefix: 'up:', tls: false },
    keyPrefix: 'up:',
    commandTimeoutMs: 1000,
    logger: captureLogger().logger,
  });
  // Before its connection is ready (no I/O has run yet).
  expect(await up()).toBe(0);
  await waitFor(async () => (await up()) === 1);
  await redis.kill();
  await waitFor(async () => (await up()) === 0);
  await redis.restart();
  await waitFor(async () => (await up()) === 1, 10_000, 50);
}, 30_000);
