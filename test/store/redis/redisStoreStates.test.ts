import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { Redis } from 'ioredis';
import { AppError } from '../../../src/domain/errors';
import { Readiness } from '../../../src/observability/readiness';
import { flushTracing, startTracing } from '../../../src/observability/tracing';
import { StoreRevocations } from '../../../src/session/tokens/revocations';
import { RedisStore } from '../../../src/store/redis/redisStore';
import { captureLogger } from '../../support/app';
import { startComposeRedis, startRedis, type RedisServer } from '../../support/redis';
import { waitFor } from '../../support/wait';

/**
 * What src/store/redis/redisStore.ts tells an operator and its callers as Redis comes and goes: the
 * readiness detail (with what the durability check found), the lines logged when the connection
 * closes, fails or stops answering, the raw commands of the rate limiter (its script loads wait
 * for the first connection, NOSCRIPT reaches it as it is), and one span per command.
 *
 * @needs redis-server
 */
const stores: RedisStore[] = [];
const servers: RedisServer[] = [];

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(servers.map((s) => s.stop()));
});

async function server(start: () => Promise<RedisServer> = () => startRedis()): Promise<RedisServer> {
  const s = await start();
  servers.push(s);
  return s;
}

function storeOn(
  redis: RedisServer,
  options: { readiness?: Readiness; pingIntervalMs?: number; pingTimeoutMs?: number } = {},
) {
  const captured = captureLogger();
  const store = new RedisStore({
    redis: {
      kind: 'single',
      url: `redis://127.0.0.1:${redis.port}`,
      password: redis.password || undefined,
      keyPrefix: 's:',
      tls: false,
    },
    keyPrefix: 's:',
    commandTimeoutMs: 1000,
    logger: captured.logger,
    ...options,
  });
  stores.push(store);
  return { store, captured };
}

describe('readiness says what the durability check found', () => {
  test('a Redis that can lose records: answering, with the problems named', async () => {
    const readiness = new Readiness();
    const { store } = storeOn(await server(), { readiness });
    await store.durability;
    await waitFor(() => readiness.report().checks.redis?.durability !== undefined);
    expect(readiness.report().checks.redis).toMatchObject({
      ok: true,
      detail: 'Redis answers.',
      durability: [expect.stringMatching(/^appendonly is no and save is ""/)],
    });
  }, 20_000);

  test('one that keeps them: answering, nothing more to say', async () => {
    const readiness = new Readiness();
    const { store } = storeOn(await server(() => startComposeRedis()), { readiness });
    await store.durability;
    await waitFor(() => readiness.report().checks.redis?.ok === true);
    expect(readiness.report().checks.redis).toEqual({ ok: true, detail: 'Redis answers.' });
  }, 20_000);

  test('one that refuses CONFIG: answering, not checked', async () => {
    const readiness = new Readiness();
    const { store } = storeOn(
      await server(() => startRedis({ args: ['--save', '', '--appendonly', 'yes', '--rename-command', 'CONFIG', ''] })),
      { readiness },
    );
    await store.durability;
    await waitFor(() => readiness.report().checks.redis?.durability !== undefined);
    expect(readiness.report().checks.redis).toMatchObject({
      ok: true,
      durability: ['not checked: CONFIG GET refused'],
    });
  }, 20_000);
});

test('a Redis that dies is logged as an error with what the connection saw, and readiness follows it down and up', async () => {
  const redis = await server();
  const readiness = new Readiness();
  const { store, captured } = storeOn(redis, { readiness });
  await store.durability;
  await redis.kill();
  // The connection may report the reset, or only close and then fail to connect again.
  await waitFor(() => captured.messages('error').some((m) => m.startsWith('Redis is unavailable: ')), 10_000);
  expect(captured.messages('error').find((m) => m.startsWith('Redis is unavailable: '))).toMatch(
    /(ECONNRESET|ECONNREFUSED)/,
  );
  expect(readiness.report().checks.redis).toMatchObject({ ok: false });
  await redis.restart();
  await waitFor(() => readiness.report().checks.redis?.ok === true, 10_000);
}, 30_000);

test('a connection Redis closes without an error is logged as closed, and made again', async () => {
  const redis = await server();
  const readiness = new Readiness();
  const { store, captured } = storeOn(redis, { readiness });
  await store.durability;
  const admin = new Redis(redis.url);
  try {
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
  } finally {
    admin.disconnect();
  }
  await waitFor(() => captured.messages('error').includes('The connection to Redis closed; reconnecting.'), 10_000);
  await waitFor(() => readiness.report().checks.redis?.ok === true, 10_000);
  expect(await store.claim('after', 'v', 1000)).toBe(true);
}, 30_000);

test('a Redis that stops answering (SIGSTOP) is down once a PING goes unanswered for its bound, and up again once one is answered', async () => {
  const redis = await server();
  const readiness = new Readiness();
  const { store, captured } = storeOn(redis, { readiness, pingIntervalMs: 50, pingTimeoutMs: 200 });
  await store.durability;
  redis.pause();
  try {
    await waitFor(() => readiness.report().checks.redis?.ok === false, 5000);
    expect(readiness.report().checks.redis!.detail).toBe('Redis does not answer: no answer to PING within 200 ms');
    await expect(store.get('k')).rejects.toMatchObject({
      code: 'store_unavailable',
      retryAfterSeconds: 1,
      message: 'The shared store (Redis) did not answer, so nothing was done; retry shortly.',
    });
  } finally {
    redis.resume();
  }
  await waitFor(() => readiness.report().checks.redis?.ok === true, 5000);
  expect(readiness.report().checks.redis!.detail).toBe('Redis answers.');
  expect(captured.messages('error')).toContain('Redis does not answer: no answer to PING within 200 ms');
}, 30_000);

describe("the rate limiter's raw commands", () => {
  test('a script load made before Redis answers waits for it', async () => {
    const { store } = storeOn(await server());
    await expect(store.command('SCRIPT', 'LOAD', "return 'ok'")).resolves.toMatch(/^[0-9a-f]{40}$/);
  }, 20_000);

  test('NOSCRIPT reaches the limiter as Redis said it (it reloads its script); other failures are store_unavailable', async () => {
    const { store } = storeOn(await server());
    await store.durability;
    const noScript = await store.command('EVALSHA', 'f'.repeat(40), '0').catch((e: unknown) => e);
    expect(noScript).not.toBeInstanceOf(AppError);
    expect((noScript as Error).message).toMatch(/^NOSCRIPT/);
    await expect(store.command('NO-SUCH-COMMAND')).rejects.toMatchObject({ code: 'store_unavailable' });
  }, 20_000);

  test('while Redis is down every other command is refused at once', async () => {
    const redis = await server();
    const { store } = storeOn(redis);
    await store.durability;
    await redis.kill();
    await waitFor(() => !store.up, 5000);
    await expect(store.command('INCR', 'k')).rejects.toMatchObject({
      code: 'store_unavailable',
      message: expect.stringContaining('did not answer'),
    });
  }, 20_000);
});

test('each operation is one client span named after its Redis command, never after a key', async () => {
  const exporter = new InMemorySpanExporter();
  const stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'store-spans', exporter });
  try {
    const { store } = storeOn(await server());
    await store.durability;
    await store.get('k');
    await store.claim('k', 'v', 1000);
    await store.swap('k', 'v', 'w', 1000);
    await store.put('k', 'v', 1000);
    await store.getRenewing('k', 1000, 500);
    await store.remove('k');
    await store.take('r', 1, 1000);
    await store.record('r', 1000);
    await store.ping();
    await store.command('incr', 'c');
    await flushTracing();
    const spans = exporter
      .getFinishedSpans()
      .map((s) => [s.name, s.attributes['db.system.name'], s.attributes['db.operation.name']]);
    expect(spans).toEqual([
      ['redis GET', 'redis', 'GET'],
      ['redis SET', 'redis', 'SET'],
      ['redis EVALSHA', 'redis', 'EVALSHA'],
      ['redis SET', 'redis', 'SET'],
      ['redis EVALSHA', 'redis', 'EVALSHA'],
      ['redis DEL', 'redis', 'DEL'],
      ['redis EVALSHA', 'redis', 'EVALSHA'],
      ['redis EVALSHA', 'redis', 'EVALSHA'],
      ['redis PING', 'redis', 'PING'],
      ['redis INCR', 'redis', 'INCR'],
    ]);
  } finally {
    await stopTracing();
  }
}, 20_000);

test('a Redis without persistence restarted in place has lost everything: noticed, named, and shared through the store', async () => {
  const redis = await server();
  const captured = captureLogger();
  const store = new RedisStore({
    redis: { kind: 'single', url: redis.url, keyPrefix: 'lost:', tls: false },
    keyPrefix: 'lost:',
    commandTimeoutMs: 1000,
    logger: captured.logger,
    lossCheckMs: 50,
  });
  stores.push(store);
  await store.durability;
  await waitFor(() => store['primaries'].size === 1, 5000);
  expect(store.recordsLostSince()).toBeUndefined();
  await redis.kill();
  await redis.restart();
  await waitFor(() => store.recordsLostSince() !== undefined, 10_000);
  expect(captured.messages('warn')).toContainEqual(
    expect.stringMatching(
      /^The shared store may have lost some records \(Redis at 127\.0\.0\.1:\d+ restarted without keeping its records\)/,
    ),
  );
}, 30_000);

describe('the durability check reads each setting it judges from Redis', () => {
  test.each([
    [
      'snapshots only',
      ['--save', '3600 1', '--appendonly', 'no'],
      /^appendonly is no: only snapshots \(save "3600 1"\)/,
    ],
    [
      'an append-only file flushed when the kernel likes',
      ['--save', '', '--appendonly', 'yes', '--appendfsync', 'no'],
      /^appendfsync is no/,
    ],
    [
      'eviction',
      ['--save', '', '--appendonly', 'yes', '--maxmemory-policy', 'allkeys-lru'],
      /^maxmemory-policy is allkeys-lru/,
    ],
  ])(
    '%s',
    async (_case, args, problem) => {
      const { store } = storeOn(await server(() => startRedis({ args })));
      await expect(store.durability).resolves.toEqual({ checked: true, problems: [expect.stringMatching(problem)] });
    },
    20_000,
  );
});

test('Redis is asked whether it answers once a second by default, or as often as configured', async () => {
  const redis = await server();
  const admin = new Redis(redis.url);
  const pings = async () => Number(/cmdstat_ping:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
  try {
    const quiet = storeOn(redis).store;
    await quiet.durability;
    await admin.config('RESETSTAT');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await pings()).toBeLessThanOrEqual(3);
    await quiet.close();

    const busy = storeOn(redis, { pingIntervalMs: 50 }).store;
    await busy.durability;
    await admin.config('RESETSTAT');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await pings()).toBeGreaterThanOrEqual(5);
  } finally {
    admin.disconnect();
  }
}, 20_000);

test('until Redis first answers, readiness says it is connecting; once it answers, its primary is known without waiting for the next loss check', async () => {
  const readiness = new Readiness();
  const { store } = storeOn(await server(), { readiness });
  expect(readiness.report().checks.redis).toMatchObject({ ok: false, detail: 'Connecting to Redis (REDIS_URL).' });
  await store.durability;
  await waitFor(() => store['primaries'].size === 1, 2000); // the loss check's own round is every 10 s
}, 20_000);

test('its log lines name the component, and a session Redis has never heard of is lost, not live (the store is shared)', async () => {
  const redis = await server();
  const { store, captured } = storeOn(redis);
  await store.durability;
  expect(store.shared).toBe(true);
  const revocations = new StoreRevocations(store, 60_000);
  expect((await revocations.standing('never-seen', 'an-anchor')).state).toBe('lost');
  await redis.kill();
  await waitFor(() => captured.lines().some((l) => l.level === 50), 10_000);
  expect(captured.lines().filter((l) => l.level === 50)[0]).toMatchObject({ component: 'shared-store' });
}, 20_000);
