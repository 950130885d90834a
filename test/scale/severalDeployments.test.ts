import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import request from 'supertest';
import { deploymentEntryFor, startSimulator, type Simulator } from '../../simulator';
import { readConfig } from '../../src/config/schema';
import { startService, type RunningService } from '../../src/server';
import { captureLogger, deploymentsFileEnv } from '../support/app';
import { startRedis, type RedisServer } from '../support/redis';
import { simProfile } from '../support/stack';

/**
 * Two instances serving two deployments from one file, sharing one Redis (src/deployments/): idempotency records
 * and ended chats hold across the instances within a deployment and never across deployments; a per-address limit
 * holds across both instances and both deployments; every key of a deployment is under its name, and the process's
 * own (rate windows, the store's loss marker) under none.
 *
 * @needs redis-server
 */
jest.setTimeout(60_000);

const SHOP = 'https://shop.example';
const CLINIC = 'https://clinic.example';
const PREFIX = 'genesys-bff:';
/** Sessions a minute per address, whichever deployment each is for. */
const SESSIONS_PER_MINUTE = 4;

let redis: RedisServer;
let shopSim: Simulator;
let clinicSim: Simulator;
let dir: string;
const instances: RunningService[] = [];

beforeAll(async () => {
  redis = await startRedis();
  shopSim = await startSimulator({ profile: simProfile(), agent: { enabled: false } });
  clinicSim = await startSimulator({
    profile: simProfile(),
    agent: { enabled: false },
    deploymentId: '0f1e2d3c-4b5a-4697-8877-665544332211',
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'several-deployments-redis-'));
  const file = path.join(dir, 'deployments.json');
  const deployments = [deploymentEntryFor(shopSim, 'shop', [SHOP]), deploymentEntryFor(clinicSim, 'clinic', [CLINIC])];
  fs.writeFileSync(file, JSON.stringify({ deployments }));
  const env = deploymentsFileEnv(file, {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: PREFIX,
    SESSIONS_PER_IP_PER_MINUTE: String(SESSIONS_PER_MINUTE),
  });
  for (let i = 0; i < 2; i++) instances.push(await startService(await readConfig(env), captureLogger().logger));
}, 30_000);

afterAll(async () => {
  for (const instance of instances) await instance.stop();
  await shopSim?.stop();
  await clinicSim?.stop();
  await redis?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const on = (i: number) => request(instances[i]!.url);

async function start(i: number, origin: string) {
  return on(i).post('/guest-session').set('Origin', origin).send({});
}

const sentTexts = (sim: Simulator, text: string) =>
  sim.received.filter((r) => (r.frame as { message?: { text?: string } }).message?.text === text).length;

test('a retry on the other instance replays its deployment’s record; the same key on another deployment is its own', async () => {
  const shop = (await start(0, SHOP)).body.sessionToken as string;
  const clinic = (await start(1, CLINIC)).body.sessionToken as string;
  const send = (i: number, origin: string, token: string, text: string) =>
    on(i)
      .post('/messages')
      .set('Origin', origin)
      .set('Authorization', `Bearer ${token}`)
      .set('Idempotency-Key', 'one-key-for-both-deployments')
      .send({ text });
  const first = await send(0, SHOP, shop, 'shop once');
  const retried = await send(1, SHOP, shop, 'shop once');
  expect([first.status, retried.status]).toEqual([201, 201]);
  expect(retried.body.message.id).toBe(first.body.message.id);
  expect(sentTexts(shopSim, 'shop once')).toBe(1);
  const clinicSend = await send(1, CLINIC, clinic, 'clinic once');
  expect(clinicSend.status).toBe(201);
  expect(clinicSend.body.message.id).not.toBe(first.body.message.id);
  expect(sentTexts(clinicSim, 'clinic once')).toBe(1);
});

test('a chat ended on one instance is ended on the other, and only in its deployment', async () => {
  const shop = (await start(0, SHOP)).body.sessionToken as string;
  const clinic = (await start(0, CLINIC)).body.sessionToken as string;
  expect((await on(0).delete('/guest-session').set('Origin', SHOP).set('Authorization', `Bearer ${shop}`)).status).toBe(
    204,
  );
  const after = await on(1)
    .post('/messages')
    .set('Origin', SHOP)
    .set('Authorization', `Bearer ${shop}`)
    .send({ text: 'x' });
  expect(after.status).toBe(410);
  const clinicStill = await on(1)
    .post('/messages')
    .set('Origin', CLINIC)
    .set('Authorization', `Bearer ${clinic}`)
    .send({ text: 'clinic goes on' });
  expect(clinicStill.status).toBe(201);
});

test('a per-address limit spent on one deployment across both instances holds for the other deployment too', async () => {
  // Whatever the earlier tests started counts too: start until refused, alternating instances.
  const shopAnswers: number[] = [];
  for (let i = 0; i < SESSIONS_PER_MINUTE + 2 && !shopAnswers.includes(429); i++)
    shopAnswers.push((await start(i % 2, SHOP)).status);
  expect(shopAnswers).toContain(429);
  expect(shopAnswers.filter((s) => s === 201).length).toBeLessThanOrEqual(SESSIONS_PER_MINUTE);
  // The address has had its sessions: choosing the other deployment's origin gives it none more, on either instance.
  expect([(await start(0, CLINIC)).status, (await start(1, CLINIC)).status]).toEqual([429, 429]);
});

test('every key in Redis is under its deployment’s name, or is one of the process’s own', async () => {
  const client = new Redis(redis.url);
  try {
    const keys: string[] = [];
    let cursor = '0';
    for (let round = 0; round < 1000; round++) {
      const [next, batch] = await client.scan(cursor, 'COUNT', 500);
      keys.push(...batch);
      cursor = next;
      if (cursor === '0') break;
    }
    expect(keys.length).toBeGreaterThan(0);
    const outside = keys.filter((k) => !k.startsWith(`${PREFIX}shop:`) && !k.startsWith(`${PREFIX}clinic:`));
    // The process's own: the rate windows of its per-address and per-session limits, the store's loss marker.
    expect(outside.filter((k) => !/^genesys-bff:(limit|store):/.test(k))).toEqual([]);
    // Both deployments wrote some.
    expect(keys.some((k) => k.startsWith(`${PREFIX}shop:`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${PREFIX}clinic:`))).toBe(true);
  } finally {
    client.disconnect();
  }
});
