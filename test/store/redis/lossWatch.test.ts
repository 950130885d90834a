import { RedisStore } from '../../../src/store/redis/redisStore';
import { captureLogger } from '../../support/app';
import { startRedis, type RedisServer } from '../../support/redis';
import { waitFor } from '../../support/wait';

/**
 * The store's watch for lost records (src/store/redis/redisStore.ts, watchLosses) when it cannot write what it
 * found: a restart seen while the new connection is still being made (INFO is answered then, a script is not) is
 * found again by the next round, not forgotten.
 *
 * @needs redis-server
 */

const stores: RedisStore[] = [];
const servers: RedisServer[] = [];

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(servers.map((s) => s.stop()));
});

test('a restart found while the store refuses its record is found again by the next round, and recorded', async () => {
  const redis = await startRedis();
  servers.push(redis);
  const captured = captureLogger();
  const store = new RedisStore({
    redis: { kind: 'single', url: redis.url, keyPrefix: 'watch:', tls: false },
    keyPrefix: 'watch:',
    commandTimeoutMs: 1000,
    logger: captured.logger,
    lossCheckMs: 50,
  });
  stores.push(store);
  await store.durability;
  await waitFor(() => store['primaries'].size === 1, 5000);

  // The first attempts to record the loss fail, as a script does on a connection not yet ready.
  const connection = store['redis'] as unknown as { bffRaise(...args: unknown[]): Promise<unknown> };
  const raise = connection.bffRaise.bind(connection);
  let refused = 0;
  connection.bffRaise = (...args) => (refused++ < 3 ? Promise.reject(new Error('not ready')) : raise(...args));

  await redis.kill();
  await redis.restart();
  await waitFor(() => store.recordsLostSince() !== undefined, 10_000);
  expect(refused).toBeGreaterThan(3);
  expect(captured.messages('warn')).toContainEqual(
    expect.stringMatching(/^The shared store may have lost some records \(Redis at .* restarted without keeping/),
  );
}, 30_000);
