import { startSimulator, type Simulator } from '../../simulator';
import { RedisStore } from '../../src/store/redis/redisStore';
import { sessionKeyOf } from '../../src/store';
import { captureLogger } from '../support/app';
import {
  expectEndedStayEnded,
  expectRetriesSendNothing,
  guestHeaders,
  newGuest,
  request,
  round,
  simTokenOf,
  type Scene,
} from '../support/guestLoad';
import { startInstance, type Instance } from '../support/instances';
import { startNginx, type Nginx } from '../support/nginx';
import { startRedisCluster, type RedisCluster } from '../support/redis';
import { PAGE_ORIGIN, simulatorEnv } from '../support/stack';
import { sleep } from '../support/wait';

/**
 * The shared store as managed Redis offerings run it: a Redis Cluster of three
 * primaries (Debian's redis-server, the compose file's persistence and memory
 * settings, a password), with four instances (REDIS_CLUSTER_NODES) behind nginx
 * running deploy/nginx/bff.conf. Each session's keys share one hash slot, and
 * idempotency, ended sessions, rate limits and stream tickets hold across
 * instances and nodes, through a primary's restart and through every
 * primary being emptied.
 *
 * @needs redis-server redis-tools nginx
 */

const INSTANCES = 4;
const PACE_MS = 100;

let sim: Simulator;
let cluster: RedisCluster;
let instances: Instance[] = [];
let proxy: Nginx;

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } });
  cluster = await startRedisCluster(3);
  const env = simulatorEnv(sim, {
    REDIS_CLUSTER_NODES: cluster.nodes.join(','),
    REDIS_PASSWORD: cluster.password,
    TRUST_PROXY: '1',
    LOG_LEVEL: 'warn',
    GENESYS_TIMEOUT_MS: '3000',
  });
  instances = await Promise.all(Array.from({ length: INSTANCES }, () => startInstance(env)));
  proxy = await startNginx(instances.map((i) => i.url.replace('http://', '')));
}, 90_000);

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(instances.map((i) => i.stop()));
  await cluster?.stop();
  await sim?.stop();
}, 60_000);

const scene = (): Scene => ({ sim, proxy: proxy.url, instances: instances.map((i) => i.url) });

/** The primaries that hold keys of this session (its hash tag), by address. */
async function nodesHolding(simToken: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const node of cluster.nodes) {
    const keys = (await cluster.cli(node, '--scan', '--pattern', `*${sessionKeyOf(simToken)}*`))
      .split('\n')
      .filter(Boolean);
    if (keys.length > 0) found.set(node, keys);
  }
  return found;
}

test("every session's keys lie on one primary (one hash slot), sessions spread over the primaries; ids and ended sessions hold across instances and nodes", async () => {
  for (const instance of instances)
    expect(instance.output()).not.toMatch(/can lose its records|Could not check whether the shared store/);
  const r = await round(scene(), 'c', 9, 3, PACE_MS);
  const used = new Set<string>();
  for (const g of [...r.live, ...r.ended]) {
    const holding = await nodesHolding(simTokenOf(sim, g));
    expect([g.name, holding.size]).toEqual([g.name, 1]);
    const [node, keys] = [...holding][0]!;
    used.add(node);
    const slots = new Set(
      await Promise.all(keys.map(async (key) => (await cluster.cli(node, 'CLUSTER', 'KEYSLOT', key)).trim())),
    );
    expect([g.name, slots.size]).toEqual([g.name, 1]);
    // Its standing record and its keyed sends' records at least.
    expect(keys.some((k) => k.includes('standing:'))).toBe(true);
    expect(keys.some((k) => k.includes('send:'))).toBe(true);
  }
  expect(used.size).toBeGreaterThanOrEqual(2);
  await expectRetriesSendNothing(scene(), r, false);
  await expectEndedStayEnded(scene(), r);
}, 120_000);

test("rate limits count once across instances and nodes: history reads (the store's own window) and ends per session (express-rate-limit's)", async () => {
  const g = await newGuest(proxy.url, 'limits');
  const reads: number[] = [];
  for (let i = 0; i < 11; i += 1)
    reads.push((await request(instances[i % INSTANCES]!.url, g, 'GET', '/messages')).status);
  // 10 reads a minute per session, wherever they land.
  expect(reads.slice(0, 10)).toEqual(Array(10).fill(200));
  expect(reads[10]).toBe(429);
  const ends: number[] = [];
  for (let i = 0; i < 7; i += 1)
    ends.push((await request(instances[i % INSTANCES]!.url, g, 'DELETE', '/guest-session')).status);
  // CONVERSATION_CHANGES_PER_SESSION_PER_MINUTE, 6 by default: the first ends the chat, repeats answer 204, the seventh is refused.
  expect(ends).toEqual([204, 204, 204, 204, 204, 204, 429]);
}, 60_000);

test("express-rate-limit's scripts are loaded on every primary, since each runs where its key lives; the cluster is checked for durability", async () => {
  const { logger, messages } = captureLogger();
  const store = new RedisStore({
    redis: {
      kind: 'cluster',
      nodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
      password: cluster.password,
      keyPrefix: 't:',
      tls: false,
    },
    keyPrefix: 't:',
    commandTimeoutMs: 2000,
    logger,
  });
  try {
    const sha = String(await store.command('SCRIPT', 'LOAD', 'return "loaded everywhere"'));
    for (const node of cluster.nodes)
      expect([node, (await cluster.cli(node, 'SCRIPT', 'EXISTS', sha)).trim()]).toEqual([node, '1']);
    expect(await store.durability).toEqual({ checked: true, problems: [] });
    expect(messages('warn')).toEqual([]);
  } finally {
    await store.close();
  }
}, 30_000);

test('a stream ticket opens one stream: used on one instance, refused on another', async () => {
  const g = await newGuest(proxy.url, 'ticket');
  const res = await fetch(`${proxy.url}/messages/stream-ticket`, { method: 'POST', headers: guestHeaders(g) });
  const { ticket } = (await res.json()) as { ticket: string };
  const first = await fetch(`${instances[0]!.url}/messages/stream?ticket=${encodeURIComponent(ticket)}`, {
    headers: { Origin: PAGE_ORIGIN },
  });
  expect(first.status).toBe(200);
  await first.body?.cancel();
  const second = await fetch(`${instances[1]!.url}/messages/stream?ticket=${encodeURIComponent(ticket)}`, {
    headers: { Origin: PAGE_ORIGIN },
  });
  expect(second.status).toBe(401);
  await second.body?.cancel();
}, 30_000);

test('a primary killed (SIGKILL) after a second of quiet and restarted: retries of delivered keys send nothing, ended chats stay 410', async () => {
  const r = await round(scene(), 'k', 6, 3, PACE_MS);
  await sleep(1500);
  for (const node of cluster.nodes) await cluster.restart(node, 'SIGKILL');
  await expectRetriesSendNothing(scene(), r, false);
  await expectEndedStayEnded(scene(), r);
}, 120_000);

test('every primary emptied (FLUSHALL): no retry reaches Genesys again, ended chats stay refused', async () => {
  const r = await round(scene(), 'f', 6, 3, PACE_MS);
  for (const node of cluster.nodes) expect((await cluster.cli(node, 'FLUSHALL')).trim()).toBe('OK');
  await expectRetriesSendNothing(scene(), r, true);
  await expectEndedStayEnded(scene(), r);
}, 120_000);
