import { RedisStore } from '../../src/store/redis/redisStore';
import { captureLogger } from '../support/app';
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from '../support/redis';

/**
 * Two edges of src/store/redis/redisStore.ts's life: closing the store is not a lost connection (no
 * error is logged for it), and on a Redis Cluster the rate limiter's raw commands go to the node
 * that holds their key (only its script loads go to every primary).
 *
 * @needs redis-server
 */
let redis: RedisServer | undefined;
let cluster: RedisCluster | undefined;
const stores: RedisStore[] = [];

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await redis?.stop();
  await cluster?.stop();
});

test('closing the store logs no lost connection', async () => {
  redis = await startRedis();
  const captured = captureLogger();
  const store = new RedisStore({
    redis: { kind: 'single', url: redis.url, keyPrefix: 'l:', tls: false },
    keyPrefix: 'l:',
    commandTimeoutMs: 1000,
    logger: captured.logger,
  });
  await store.durability;
  await store.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(
    captured
      .lines()
      .filter((l) => l.level >= 40)
      .map((l) => l.msg),
  ).toEqual([expect.stringMatching(/^The shared store \(Redis\) can lose its records/)]);
}, 20_000);

test('on a cluster, a raw command runs on the node that holds its key', async () => {
  cluster = await startRedisCluster(3);
  const nodes = cluster.nodes.map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) }));
  const store = new RedisStore({
    redis: { kind: 'cluster', nodes, password: cluster.password, keyPrefix: 'c:', tls: false },
    keyPrefix: 'c:',
    commandTimeoutMs: 2000,
    logger: captureLogger().logger,
  });
  stores.push(store);
  await store.durability;
  // Keys over every slot range: some live on a primary other than the first.
  const keys = Array.from({ length: 12 }, (_, i) => `limit:${i}`);
  for (const key of keys) await store.command('INCR', key);
  expect(await Promise.all(keys.map((key) => store.command('INCR', key)))).toEqual(keys.map(() => 2));
}, 60_000);
