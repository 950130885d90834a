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
 * limiter's scripts loaded on every primary, a primary's evictions noticed, a
 * primary found beside the known ones not taken for a failover, and every loss
 * one look finds named in one warning.
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

test('a primary seen beside the known ones is a cluster discovered or grown, not a failover', async () => {
  const { store, captured } = clusterStore('c5:', 3_600_000);
  await store.durability;
  await waitFor(() => store['primaries'].size === cluster.nodes.length, 5000);
  await store['lossRounds'];
  const primaries = store['primaries'] as Map<string, { runId: string; evicted: number }>;
  const [newcomer] = [...primaries.keys()];
  // As if this look were the first to see it: the two other primaries are still there.
  primaries.delete(newcomer!);
  store['watchLossesNext']();
  await store['lossRounds'];
  expect([
    [...primaries.keys()].sort(),
    store.recordsLostSince(),
    captured.messages('warn').filter((m) => m.startsWith('The shared store may have lost some records')),
  ]).toEqual([[...cluster.nodes].sort(), undefined, []]);
}, 30_000);

test('every loss one look finds is named, and each primary of a failover by its own address', async () => {
  const { store, captured } = clusterStore('c6:', 3_600_000);
  await store.durability;
  await waitFor(() => store['primaries'].size === cluster.nodes.length, 5000);
  await store['lossRounds'];
  const primaries = store['primaries'] as Map<string, { runId: string; evicted: number }>;
  const [kept, ...replaced] = [...primaries.keys()];
  const seen = primaries.get(kept!)!;
  // One primary has evicted a key since the last look; the two others took over from two primaries now gone.
  primaries.set(kept!, { ...seen, evicted: seen.evicted - 1 });
  for (const a of replaced) primaries.delete(a);
  primaries.set('10.0.0.8:6379', { runId: 'r8', evicted: 0 });
  primaries.set('10.0.0.9:6379', { runId: 'r9', evicted: 0 });
  store['watchLossesNext']();
  await store['lossRounds'];
  // The primaries that took over are recorded after `kept`, in the order the cluster lists them, as the cause names them.
  const arrived = [...primaries.keys()].slice(1);
  expect([...arrived].sort()).toEqual([...replaced].sort());
  const losses = captured
    .lines()
    .filter((l) => String(l.msg).startsWith('The shared store may have lost some records'));
  expect(losses.map((l) => l.msg)).toEqual([
    `The shared store may have lost some records (Redis evicted 1 keys at ${kept}; ` +
      `${arrived[0]}, ${arrived[1]} took over from 10.0.0.8:6379, 10.0.0.9:6379 (a failover)): ` +
      'a retried send whose record is missing is checked against Genesys before it is sent again',
  ]);
  expect(store.recordsLostSince()).toBeDefined();
}, 30_000);
