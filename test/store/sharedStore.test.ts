import { Redis } from 'ioredis';
import { AppError } from '../../src/domain/errors';
import { registry } from '../../src/observability/metrics';
import { Readiness } from '../../src/observability/readiness';
import { SECURITY_RECORD_PREFIXES, StoreRevocations } from '../../src/session/tokens/revocations';
import { MemoryStore, type SharedStore } from '../../src/store';
import { RedisStore } from '../../src/store/redis/redisStore';
import { captureLogger } from '../support/app';
import { manualClock } from '../support/platform';
import { startRedis, type RedisServer } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * The shared store's contract (src/store/sharedStore.ts), the same in memory and in a real Redis
 * (Debian's redis-server); and genesys_bff_shared_store_up
 * (docs/operations.md#genesysbffsharedstoredown), which follows Redis: 1 while it answers, 0 while
 * it is away. The gauge's block comes first: it reads the gauge as no store has set it yet.
 *
 * @needs redis-server
 */

describe('genesys_bff_shared_store_up follows Redis', () => {
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
    // The gauge is set with the store's own verdict: each wait is on the verdict, then the gauge must agree.
    await waitFor(() => store!.up, 10_000);
    expect(await up()).toBe(1);
    await redis.kill();
    await waitFor(() => !store!.up, 10_000);
    expect(await up()).toBe(0);
    await redis.restart();
    await waitFor(() => store!.up, 10_000, 50);
    expect(await up()).toBe(1);
  }, 30_000);
});

describe('the same contract, in memory and in Redis', () => {
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
    const store = new RedisStore({
      redis: { kind: 'single', url: redis.url, keyPrefix: '', tls: false },
      keyPrefix: `t${opened.length}:`,
      commandTimeoutMs: 1000,
      logger: captureLogger().logger,
      readiness,
    });
    opened.push(store);
    await waitFor(() => store.ping());
    return store;
  }

  /**
   * Each store, and how a test lets time pass for it: the memory store's clock is the test's (it
   * stands still until moved); Redis keeps its own, so time passes for it by waiting.
   */
  const kinds: [
    string,
    () => Promise<{ store: SharedStore; after: (ms: number, check: () => Promise<boolean>) => Promise<void> }>,
  ][] = [
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

    test('record counts a use whatever the window holds; takes with any limit see it', async () => {
      expect([await store.take('r', 2, 60_000), await store.take('r', 2, 60_000)]).toEqual([0, 0]);
      await store.record('r', 60_000);
      // Three uses now: a take allowing three is refused, one allowing four is counted.
      expect(await store.take('r', 3, 60_000)).toBeGreaterThan(0);
      expect(await store.take('r', 4, 60_000)).toBe(0);
      // A lower limit on the same key is refused while the higher one still has room.
      expect(await store.take('r', 2, 60_000)).toBeGreaterThan(0);
      expect(await store.take('r', 5, 60_000)).toBe(0);
    });

    test('concurrent takes on one key: exactly `limit` are counted', async () => {
      const waits = await Promise.all(Array.from({ length: 20 }, () => store.take('crowd', 10, 60_000)));
      expect(waits.filter((w) => w === 0)).toHaveLength(10);
    });

    test('concurrent claims on one key: exactly one wins', async () => {
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claim('race', String(i), 60_000)));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });
  });

  test('a memory store is bounded, and never drops a record before its expiry: when full it refuses new ones (503) until some expire', async () => {
    let clock = 1_000_000;
    const store = new MemoryStore(3, () => clock);
    for (const k of ['a', 'b', 'c']) await store.put(k, k, 60_000);
    await expect(store.put('d', 'd', 60_000)).rejects.toMatchObject({
      code: 'store_unavailable',
      status: 503,
      retryAfterSeconds: 1,
    });
    await expect(store.claim('d', 'd', 60_000)).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(await store.get('a')).toBe('a');
    // A key it holds can still be rewritten.
    await store.put('a', 'a2', 60_000);
    expect(await store.get('a')).toBe('a2');
    clock += 60_001;
    await store.put('d', 'd', 60_000);
    expect(await store.get('d')).toBe('d');
  });

  test('a flood of other records never pushes an ended session out of the memory store, nor keeps one from being written', async () => {
    let clock = 1_000_000;
    const store = new MemoryStore(3, () => clock, { protectedPrefixes: SECURITY_RECORD_PREFIXES });
    const revocations = new StoreRevocations(store, 3_600_000, () => clock);
    await revocations.markEnded('guest-token-ended', clock + 3_600_000);
    for (let i = 0; i < 10; i++) await store.claim(`idempotency:${i}`, 'x', 60_000).catch(() => false);
    expect(await revocations.isEnded('guest-token-ended')).toBe(true);
    // The flood filled the other records' bound, not the security records'.
    await revocations.markEnded('guest-token-later', clock + 3_600_000);
    await revocations.cutOff('guest-token-signed-in', clock, 3_600_000);
    expect(await revocations.standing('guest-token-later', undefined)).toEqual({ state: 'ended', cutOffMs: 0 });
    expect(await revocations.standing('guest-token-signed-in', undefined)).toEqual({ state: 'live', cutOffMs: clock });
    // Kept a minute past the last token's expiry (revocations.ts), then gone.
    clock += 3_600_000 + 60_001;
    expect(await revocations.isEnded('guest-token-ended')).toBe(false);
  });

  test('a memory store waits, past the limit, until enough uses leave the window (recorded ones included)', async () => {
    let clock = 1_000_000;
    const store = new MemoryStore(100, () => clock);
    expect(await store.take('w', 2, 60_000)).toBe(0);
    clock += 10_000;
    await store.record('w', 60_000);
    clock += 10_000;
    await store.record('w', 60_000);
    // Three uses at 0, 10 and 20 s; two fit: one more fits once the first two have left, at 70 s.
    expect(await store.take('w', 2, 60_000)).toBe(50_000);
    clock += 40_000;
    expect(await store.take('w', 2, 60_000)).toBe(10_000);
    clock += 10_000;
    expect(await store.take('w', 2, 60_000)).toBe(0);
  });

  test('Redis waits, past the limit, until enough uses leave the window, on its own clock', async () => {
    const store = await redisStore();
    const raw = new Redis(redis.url);
    try {
      const [seconds, micros] = (await raw.time()).map(Number) as [number, number];
      const now = seconds * 1000 + Math.floor(micros / 1000);
      // Two uses, 59 s and 1 s ago: with one allowed, the wait is for the newer one (about 59 s), not the older (about 1 s).
      await raw.zadd(`${store.prefix}w`, now - 59_000, 'older', now - 1_000, 'newer');
      const wait = await store.take('w', 1, 60_000);
      expect(wait).toBeGreaterThan(30_000);
      expect(wait).toBeLessThanOrEqual(59_000);
    } finally {
      raw.disconnect();
    }
  });

  test('Redis going away: operations fail at once with store_unavailable, readiness reports it (degraded, still ready: every instance shares the outage), and both recover', async () => {
    const readiness = new Readiness();
    const store = await redisStore(readiness);
    await waitFor(() => readiness.report().checks.redis?.ok === true);
    await redis.kill();
    const error = await store.claim('k', 'v', 60_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'store_unavailable', status: 503, retryAfterSeconds: 1 });
    await waitFor(() => readiness.report().checks.redis?.ok === false);
    expect(readiness.report()).toMatchObject({
      ready: true,
      status: 'degraded',
      checks: { redis: { ok: false, affectsReadiness: false } },
    });
    await redis.restart();
    await waitFor(() => store.ping(), 10_000, 50);
    expect(await store.claim('k', 'v', 60_000)).toBe(true);
    await waitFor(() => readiness.report().checks.redis?.ok === true);
  }, 30_000);

  test('a Redis that never answered since start keeps the instance not ready (a wrong REDIS_URL stops a rollout)', async () => {
    const readiness = new Readiness();
    const store = new RedisStore({
      redis: { kind: 'single', url: 'redis://127.0.0.1:1', keyPrefix: 'never:', tls: false },
      keyPrefix: 'never:',
      commandTimeoutMs: 500,
      logger: captureLogger().logger,
      readiness,
    });
    opened.push(store);
    expect(readiness.report()).toMatchObject({ ready: false, status: 'not_ready', checks: { redis: { ok: false } } });
    expect(readiness.report().checks.redis!.affectsReadiness).toBeUndefined();
  });
});
