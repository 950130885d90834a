import { AppError } from '../../src/domain/errors';
import { Readiness } from '../../src/observability/readiness';
import { RedisStore } from '../../src/store/redisStore';
import { MemoryStore, type SharedStore } from '../../src/store/sharedStore';
import { captureLogger } from '../support/app';
import { manualClock } from '../support/platform';
import { startRedis, type RedisServer } from '../support/redis';
import { waitFor } from '../support/wait';

/** The same contract, in memory and in a real Redis (Debian's redis-server). */
let redis: RedisServer;
const opened: RedisStore[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await redis.stop();
});

async function redisStore(readiness?: Readiness): Promise<RedisStore> {
  const store = new RedisStore({ url: redis.url, keyPrefix: `t${opened.length}:`, commandTimeoutMs: 1000, logger: captureLogger().logger, readiness });
  opened.push(store);
  await waitFor(() => store.ping());
  return store;
}

/**
 * Each store, and how a test lets time pass for it: the memory store's clock is the test's (it
 * stands still until moved); Redis keeps its own, so time passes for it by waiting.
 */
const kinds: [string, () => Promise<{ store: SharedStore; after: (ms: number, check: () => Promise<boolean>) => Promise<void> }>][] = [
  [
    'memory',
    async () => {
      const clock = manualClock(Date.now());
      return {
        store: new MemoryStore(undefined, clock.now),
        after: async (ms, check) => {
          clock.advance(ms);
          expect(await check()).toBe(true);
        },
      };
    },
  ],
  ['redis', async () => ({ store: await redisStore(), after: (_ms, check) => waitFor(check) })],
];

describe.each(kinds)('%s store', (_kind, make) => {
  let store: SharedStore;
  let after: (ms: number, check: () => Promise<boolean>) => Promise<void>;
  beforeEach(async () => {
    ({ store, after } = await make());
  });

  test('claim sets a key only once; get reads it; remove forgets it', async () => {
    expect(await store.claim('k', 'first', 60_000)).toBe(true);
    expect(await store.claim('k', 'second', 60_000)).toBe(false);
    expect(await store.get('k')).toBe('first');
    await store.remove('k');
    expect(await store.get('k')).toBeUndefined();
    expect(await store.claim('k', 'third', 60_000)).toBe(true);
  });

  test('swap replaces (or deletes) only the value the caller read', async () => {
    await store.put('s', 'a', 60_000);
    expect(await store.swap('s', 'b', 'c', 60_000)).toBe(false);
    expect(await store.swap('s', 'a', 'c', 60_000)).toBe(true);
    expect(await store.get('s')).toBe('c');
    expect(await store.swap('s', 'c', undefined, 60_000)).toBe(true);
    expect(await store.get('s')).toBeUndefined();
    expect(await store.swap('absent', 'a', 'x', 60_000)).toBe(false);
  });

  test('values expire', async () => {
    await store.put('e', 'v', 30);
    await after(31, async () => (await store.get('e')) === undefined);
    expect(await store.claim('e', 'again', 60_000)).toBe(true);
  });

  test('take counts at most `limit` uses in the window and says how long to wait', async () => {
    const results = [];
    for (let i = 0; i < 4; i += 1) results.push(await store.take('w', 3, 60_000));
    expect(results.slice(0, 3)).toEqual([0, 0, 0]);
    expect(results[3]).toBeGreaterThan(0);
    expect(results[3]).toBeLessThanOrEqual(60_000);
    expect(await store.take('other', 3, 60_000)).toBe(0);
  });

  test('concurrent claims on one key: exactly one wins', async () => {
    const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claim('race', String(i), 60_000)));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });
});

test('a memory store is bounded: past its size the oldest keys go', async () => {
  const store = new MemoryStore(3);
  for (const k of ['a', 'b', 'c', 'd']) await store.put(k, k, 60_000);
  expect(await store.get('a')).toBeUndefined();
  expect(await store.get('d')).toBe('d');
});

test('Redis going away: operations fail at once with store_unavailable, readiness says so, and both recover', async () => {
  const readiness = new Readiness();
  const store = await redisStore(readiness);
  await waitFor(() => readiness.report().checks.redis?.ok === true);
  await redis.kill();
  const error = await store.claim('k', 'v', 60_000).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({ code: 'store_unavailable', status: 503, retryAfterSeconds: 1 });
  await waitFor(() => readiness.report().checks.redis?.ok === false);
  expect(readiness.report().ready).toBe(false);
  await redis.restart();
  await waitFor(() => store.ping(), 10_000, 50);
  expect(await store.claim('k', 'v', 60_000)).toBe(true);
  await waitFor(() => readiness.report().checks.redis?.ok === true);
}, 30_000);
