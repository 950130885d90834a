import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { Redis } from 'ioredis';
import { Readiness } from '../../../src/observability/readiness';
import { flushTracing, startTracing } from '../../../src/observability/tracing';
import { RedisStore } from '../../../src/store/redis/redisStore';
import { captureLogger } from '../../support/app';
import { startRedis, type RedisServer } from '../../support/redis';
import { waitFor } from '../../support/wait';

/**
 * What src/store/redis/redisStore.ts says beyond up and down: what a refusal carries for the log, how
 * many spans a failed command makes, the lines of the durability check, how many keys an eviction
 * report names, that PINGs neither pile up nor run on a connection that is gone, and that a
 * durability finding outlives the PINGs after it.
 *
 * @needs redis-server
 */
const stores: RedisStore[] = [];
const servers: RedisServer[] = [];

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(servers.map((s) => s.stop()));
});

async function server(args?: string[]): Promise<RedisServer> {
  const s = await startRedis(args ? { args } : {});
  servers.push(s);
  return s;
}

function storeOn(
  redis: RedisServer,
  options: { readiness?: Readiness; pingIntervalMs?: number; pingTimeoutMs?: number; lossCheckMs?: number } = {},
) {
  const captured = captureLogger();
  const store = new RedisStore({
    redis: { kind: 'single', url: redis.url, keyPrefix: 'o:', tls: false },
    keyPrefix: 'o:',
    commandTimeoutMs: 1000,
    logger: captured.logger,
    ...options,
  });
  stores.push(store);
  return { store, captured };
}

async function admin<T>(redis: RedisServer, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(redis.url);
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

const infoField = (info: string, name: string) =>
  [...info.matchAll(/^(\w+):(.*)$/gm)].find((m) => m[1] === name)?.[2]?.trim();

test('a durability finding stays in readiness while the PINGs after it are answered', async () => {
  const readiness = new Readiness();
  const { store } = storeOn(await server(), { readiness, pingIntervalMs: 20 });
  await store.durability;
  await waitFor(() => readiness.report().checks.redis?.durability !== undefined);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(readiness.report().checks.redis).toMatchObject({
    ok: true,
    detail: 'Redis answers.',
    durability: [expect.stringMatching(/^appendonly is no/)],
  });
}, 20_000);

test('a command refused while Redis is down says why for the log, without asking Redis; a failed command is one span', async () => {
  const exporter = new InMemorySpanExporter();
  const stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'store-outcomes', exporter });
  try {
    const redis = await server();
    const { store } = storeOn(redis);
    await store.durability;
    await expect(store.command('NO-SUCH-COMMAND')).rejects.toMatchObject({
      code: 'store_unavailable',
      logDetail: { storeError: expect.stringMatching(/unknown command/i) },
    });
    await flushTracing();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['redis NO-SUCH-COMMAND']);
    exporter.reset();

    await redis.kill();
    await waitFor(() => !store.up, 5000);
    const down = { code: 'store_unavailable', logDetail: { storeError: 'Redis did not answer the last PING' } };
    await expect(store.get('k')).rejects.toMatchObject(down);
    await expect(store.command('INCR', 'k')).rejects.toMatchObject(down);
    await flushTracing();
    expect(exporter.getFinishedSpans()).toEqual([]);
  } finally {
    await stopTracing();
  }
}, 20_000);

test('ping() asks Redis: a Redis that stopped answering fails it even before the next PING check', async () => {
  const redis = await server();
  const { store } = storeOn(redis, { pingIntervalMs: 60_000 });
  await store.durability;
  await expect(store.ping()).resolves.toBeUndefined();
  redis.pause();
  try {
    await expect(store.ping()).rejects.toMatchObject({ code: 'store_unavailable' });
  } finally {
    redis.resume();
  }
}, 20_000);

test('the durability warning names the node, its settings and every problem; a refused CONFIG GET names the node and what Redis said', async () => {
  const lossy = await server(['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']);
  const { store, captured } = storeOn(lossy);
  const { problems } = await store.durability;
  expect(problems).toHaveLength(2);
  const warning = captured
    .lines()
    .find((l) => String(l.msg).startsWith('The shared store (Redis) can lose its records: '));
  expect(warning).toMatchObject({
    msg: `The shared store (Redis) can lose its records: ${problems[0]}; ${problems[1]}`,
    redisNode: `127.0.0.1:${lossy.port}`,
    redisSettings: { appendonly: 'no', save: '', 'maxmemory-policy': 'allkeys-lru', appendfsync: 'everysec' },
    problems,
  });

  const closed = await server(['--save', '', '--appendonly', 'yes', '--rename-command', 'CONFIG', '']);
  const refused = storeOn(closed);
  await expect(refused.store.durability).resolves.toEqual({ checked: false, problems: [] });
  expect(
    refused.captured.lines().find((l) => String(l.msg).startsWith('Could not check whether the shared store')),
  ).toMatchObject({
    redisNode: `127.0.0.1:${closed.port}`,
    storeError: expect.stringMatching(/unknown command/i),
  });
}, 20_000);

test("an eviction report names as many keys as Redis evicted since the last look, and the primary's run_id is Redis's own", async () => {
  const redis = await server(['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']);
  const fill = (from: number) =>
    admin(redis, async (client) => {
      await client.config('SET', 'maxmemory', '3mb');
      const value = 'x'.repeat(10_000);
      const batch = client.pipeline();
      for (let i = from; i < from + 600; i++) batch.set(`fill:${i}`, value);
      await batch.exec();
      // No limit between fills: Redis evicts nothing the test did not cause, while the store connects and looks.
      await client.config('SET', 'maxmemory', '0');
      return client.info();
    });
  const before = await fill(0);
  const evictedBefore = Number(infoField(before, 'evicted_keys'));
  expect(evictedBefore).toBeGreaterThanOrEqual(10);

  const { store, captured } = storeOn(redis, { lossCheckMs: 50 });
  await store.durability;
  await waitFor(() => store['primaries'].size === 1, 5000);
  expect([...store['primaries'].values()][0]).toEqual({ runId: infoField(before, 'run_id'), evicted: evictedBefore });
  expect(infoField(before, 'run_id')).toMatch(/^[0-9a-f]{40}$/);

  const evictedAfter = Number(infoField(await fill(600), 'evicted_keys'));
  expect(evictedAfter).toBeGreaterThan(evictedBefore);
  const reported = () =>
    captured
      .lines()
      .filter((l) => String(l.msg).startsWith('The shared store may have lost some records'))
      .flatMap((l) =>
        (l.causes as string[]).map((cause) =>
          Number(/^Redis evicted (\d+) keys at 127\.0\.0\.1:\d+$/.exec(cause)?.[1]),
        ),
      );
  await waitFor(() => reported().reduce((a, b) => a + b, 0) >= evictedAfter - evictedBefore, 5000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(reported().reduce((a, b) => a + b, 0)).toBe(evictedAfter - evictedBefore);
  expect(store.recordsLostSince()).toBeDefined();
}, 30_000);

test('while the connection is gone no PING is sent, and its closing is logged once however often reconnecting fails', async () => {
  const redis = await server();
  const { store, captured } = storeOn(redis, { pingIntervalMs: 20 });
  await store.durability;
  await redis.kill();
  // Reconnecting waits 200, 400, 600, 800 ms…: a few attempts fail in two seconds.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const errors = captured.messages('error');
  expect(errors.filter((m) => m === 'The connection to Redis closed; reconnecting.').length).toBeLessThanOrEqual(1);
  expect(errors.filter((m) => m.startsWith('Redis does not answer'))).toEqual([]);
  expect(errors.filter((m) => m.startsWith('Redis is unavailable: ')).length).toBeGreaterThanOrEqual(1);
}, 20_000);

test('a PING that goes unanswered is not joined by others: at most one is in flight at a time', async () => {
  const redis = await server();
  const { store } = storeOn(redis, { pingIntervalMs: 20, pingTimeoutMs: 500 });
  await store.durability;
  const pings = () =>
    admin(redis, async (c) => Number(/cmdstat_ping:calls=(\d+)/.exec(await c.info('commandstats'))?.[1] ?? 0));
  await admin(redis, (c) => c.config('RESETSTAT'));
  redis.pause();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  redis.resume();
  await waitFor(() => store.up, 5000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  // One PING per 500 ms bound while paused, one every 20 ms around it: a few, where sixty would pile up unguarded.
  expect(await pings()).toBeLessThan(20);
}, 20_000);
