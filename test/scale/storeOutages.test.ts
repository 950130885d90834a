import { Redis } from 'ioredis';
import { startSimulator, type Simulator } from '../../simulator';
import {
  chat,
  expectEndedStayEnded,
  expectRetriesSendNothing,
  newGuest,
  request,
  round,
  storedWrongly,
  textsArrived,
  type Scene,
} from '../support/guestLoad';
import { startInstance, type Instance } from '../support/instances';
import { startNginx, type Nginx } from '../support/nginx';
import { startComposeRedis, type RedisServer } from '../support/redis';
import { simulatorEnv } from '../support/stack';
import { sleep, waitFor } from '../support/wait';

/**
 * The shared store through the outages an operator meets, with the files the
 * project ships: four instances behind nginx running deploy/nginx/bff.conf, and
 * Redis started with deploy/docker-compose.scale.yml's own settings (read from
 * the file: append-only file, noeviction, a password). Redis restarted mid-load
 * (SIGTERM), killed after a second of quiet (SIGKILL), and emptied (FLUSHALL):
 * no retry of a delivered Idempotency-Key reaches Genesys twice, and no ended
 * chat comes back.
 *
 * @needs redis-server nginx
 */

const INSTANCES = 4;
const LIVE = 8;
const ENDED = 3;
const PACE_MS = 100;

let sim: Simulator;
let redis: RedisServer;
let instances: Instance[] = [];
let proxy: Nginx;

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } });
  redis = await startComposeRedis();
  const env = simulatorEnv(sim, {
    // As the compose file gives it: the address in REDIS_URL, the password beside it.
    REDIS_URL: `redis://127.0.0.1:${redis.port}`,
    REDIS_PASSWORD: redis.password,
    TRUST_PROXY: '1',
    LOG_LEVEL: 'warn',
    // Bounds a claim left pending by a send whose record could not be written while Redis was away (3 × this).
    GENESYS_TIMEOUT_MS: '3000',
    SESSIONS_PER_IP_PER_MINUTE: '10000',
  });
  instances = await Promise.all(Array.from({ length: INSTANCES }, () => startInstance(env)));
  proxy = await startNginx(instances.map((i) => i.url.replace('http://', '')));
}, 90_000);

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(instances.map((i) => i.stop()));
  await redis?.stop();
  await sim?.stop();
}, 60_000);

const scene = (): Scene => ({ sim, proxy: proxy.url, instances: instances.map((i) => i.url) });

test("the instances find nothing to warn about in the compose file's Redis", async () => {
  await sleep(100);
  for (const instance of instances)
    expect(instance.output()).not.toMatch(/can lose its records|Could not check whether the shared store/);
});

test('Redis restarted (SIGTERM) mid-load: every send delivered once, retries of delivered keys send nothing, ended chats stay 410', async () => {
  const r = await round(scene(), 't', LIVE, ENDED, PACE_MS);
  const load = Promise.all(r.live.map((g) => chat(proxy.url, g, 'during', 4, PACE_MS)));
  await waitFor(() => r.live.every((g) => textsArrived(sim, `${g.name} during 0`) > 0), 30_000, 20);
  await redis.kill('SIGTERM');
  await redis.restart();
  await load;
  await expectRetriesSendNothing(scene(), r, false);
  await expectEndedStayEnded(scene(), r);
}, 120_000);

test('Redis killed (SIGKILL) after a second of quiet: retries of delivered keys send nothing, ended chats stay 410', async () => {
  const r = await round(scene(), 'k', LIVE, ENDED, PACE_MS);
  // The append-only file is fsynced once a second (appendfsync everysec): what was acknowledged before the quiet is on disk.
  await sleep(1500);
  await redis.kill('SIGKILL');
  await redis.restart();
  await expectRetriesSendNothing(scene(), r, false);
  await expectEndedStayEnded(scene(), r);
}, 120_000);

test('Redis emptied (FLUSHALL): no retry reaches Genesys again, ended chats stay refused, and new chats work', async () => {
  const r = await round(scene(), 'f', LIVE, ENDED, PACE_MS);
  const admin = new Redis(redis.url);
  try {
    expect(await admin.flushall()).toBe('OK');
  } finally {
    admin.disconnect();
  }
  await expectRetriesSendNothing(scene(), r, true);
  await expectEndedStayEnded(scene(), r);
  // The live chats' records are gone too: whether they were ended is unknowable, so they are refused with a clear code.
  for (const g of r.live)
    expect([g.name, await request(proxy.url, g, 'GET', '/guest-session')]).toEqual([
      g.name,
      { status: 410, code: 'session_expired' },
    ]);
  const fresh = await newGuest(proxy.url, 'fresh');
  await chat(proxy.url, fresh, 'after-flush', 2, PACE_MS);
  expect(storedWrongly(sim, fresh)).toEqual([]);
}, 120_000);
