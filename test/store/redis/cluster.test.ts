import { Redis } from 'ioredis';
import { RedisStore } from '../../../src/store/redis/redisStore';
import { sessionKeyOf } from '../../../src/store';
import { captureLogger } from '../../support/app';
import { startRedisCluster, type RedisCluster } from '../../support/redis';
import { waitFor } from '../../support/wait';

/**
 * The shared store on a Redis Cluster (REDIS_CLUSTER_NODES), in this process:
 * three primaries of Debian's redis-server with the compose file's settings and
 * a password. What only a cluster asks of src/store/redis/redisStore.ts: records
 * spread over every primary, each primary's durability checked, the rate
 * limiter's scripts loaded on every primary, and a primary's evictions noticed.
 * (test/scale/storeCluster.test.ts runs four instances behind nginx on one.)
 *
 * @needs redis-server
 */
let cluster: RedisCluster;
const opened: RedisStore[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster(3);
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await cluster?.stop();
});

const nodes = () => cluster.nodes.map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) }));

function clusterStore(prefix: string, lossCheckMs = 10_000) {
  const captured = captureLogger();
  const store = new RedisStore({
    redis: { kind: 'cluster', nodes: nodes(), password: cluster.password, keyPrefix: prefix, tls: false },
    keyPrefix: prefix,
    commandTimeoutMs: 2000,
    logger: captured.logger,
    lossCheckMs,
  });
  opened.push(store);
  return { store, captured };
}

/** A client of one primary alone (no redirections). */
function primary(node: string): Redis {
  const [host, port] = node.split(':');
  return new Redis({
    host,
    port: Number(port),
    password: cluster.password,
    lazyConnect: false,
    maxRetriesPerRequest: 1,
  });
}

test("every session's records live on the primary of its slot, and all of them work through one store", async () => {
  const { store } = clusterStore('c1:');
  await store.durability;
  const sessions = Array.from({ length: 12 }, (_, i) => sessionKeyOf(`guest-${i}`));
  for (const s of sessions) expect(await store.claim(`send:${s}:m`, 'pending', 60_000)).toBe(true);
  for (const s of sessions) expect(await store.swap(`send:${s}:m`, 'pending', 'done', 60_000)).toBe(true);
  expect(await Promise.all(sessions.map((s) => store.get(`send:${s}:m`)))).toEqual(sessions.map(() => 'done'));
  // Spread over the primaries: each holds some of them.
  const held = await Promise.all(
    cluster.nodes.map(async (node) => {
      const client = primary(node);
      try {
        return (await client.keys('c1:send:*')).length;
      } finally {
        client.disconnect();
      }
    }),
  );
  expect(held.every((n) => n > 0)).toBe(true);
  expect(held.reduce((a, b) => a + b, 0)).toBe(sessions.length);
}, 30_000);

test('each primary is asked how it keeps its data, and one that can lose records is named', async () => {
  const weak = primary(cluster.nodes[1]!);
  await weak.config('SET', 'appendonly', 'no');
  try {
    const { store, captured } = clusterStore('c2:');
    const outcome = await store.durability;
    expect(outcome).toEqual({ checked: true, problems: [expect.stringMatching(/^appendonly is no/)] });
    const warnings = captured.lines().filter((l) => l.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({ redisNode: cluster.nodes[1], problems: [expect.stringMatching(/^appendonly is no/)] }),
    ]);
  } finally {
    await weak.config('SET', 'appendonly', 'yes');
    weak.disconnect();
  }
}, 30_000);

test("the rate limiter's scripts are loaded on every primary (a script runs where its key is)", async () => {
  const { store } = clusterStore('c3:');
  await store.durability;
  const script = "return redis.call('GET', KEYS[1])";
  const sha = await store.command('SCRIPT', 'LOAD', script);
  expect(sha).toMatch(/^[0-9a-f]{40}$/);
  for (const node of cluster.nodes) {
    const client = primary(node);
    try {
      expect([node, await client.script('EXISTS', sha as string)]).toEqual([node, [1]]);
    } finally {
      client.disconnect();
    }
  }
}, 30_000);

test("a primary's evictions are noticed, naming it", async () => {
  const { store, captured } = clusterStore('c4:', 50);
  await store.durability;
  await waitFor(() => store['primaries'].size === cluster.nodes.length, 5000);
  const node = cluster.nodes[2]!;
  const client = primary(node);
  try {
    await client.config('SET', 'maxmemory-policy', 'allkeys-random');
    // Fill this primary (the keys of other primaries' slots are refused with MOVED), then give it less memory than it holds.
    const pipeline = client.pipeline();
    for (let i = 0; i < 15_000; i += 1) pipeline.set(`junk:{${i}}`, 'x'.repeat(500));
    const mine = (await pipeline.exec())!.flatMap(([error], i) => (error === null ? [`junk:{${i}}`] : []));
    expect(mine.length).toBeGreaterThan(3000);
    const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
    await client.config('SET', 'maxmemory', String(used - 1024 * 1024));
    await client.set(mine[0]!, 'x');
    await waitFor(() => store.recordsLostSince() !== undefined, 10_000);
    expect(captured.messages('warn')).toContainEqual(expect.stringContaining(`keys at ${node}`));
  } finally {
    await client.config('SET', 'maxmemory', '0');
    await client.config('SET', 'maxmemory-policy', 'noeviction');
    client.disconnect();
  }
}, 60_000);
