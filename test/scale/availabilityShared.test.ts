import { availabilityEnvFor, startSimulator, type Simulator } from '../../simulator';
import { startRedis, type RedisServer } from '../support/redis';
import { PAGE_ORIGIN, simProfile, startStack, type Stack } from '../support/stack';

/**
 * Two instances sharing Redis read availability from Genesys once for both: one holds the refresh lease, the
 * other reads the answer it shares.
 *
 * @needs redis-server
 */
let redis: RedisServer;
let sim: Simulator;
const stacks: Stack[] = [];

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ profile: simProfile(), agent: { enabled: false } });
}, 30_000);
afterAll(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  await sim?.stop();
  await redis?.stop();
});

test('two instances on one Redis make one refresh for both, and give the same answer', async () => {
  const env = { ...availabilityEnvFor(sim), REDIS_URL: redis.url, AVAILABILITY_REFRESH_SECONDS: '3600' };
  const [a, b] = await Promise.all([startStack({ simulator: sim, env }), startStack({ simulator: sim, env })]);
  stacks.push(a!, b!);
  const [fromA, fromB] = await Promise.all([a!, b!].map((s) => s.http.get('/availability').set('Origin', PAGE_ORIGIN)));
  expect(fromA!.status).toBe(200);
  expect(fromA!.body).toMatchObject({ configured: true, open: true, estimatedWaitSeconds: 45, agentsAvailable: 2 });
  expect(fromB!.body).toEqual(fromA!.body);
  for (const target of ['estimatedWait', 'queueObservations', 'scheduleGroup', 'emergencyGroup'] as const) {
    expect([target, sim.availability.reads(target)]).toEqual([target, 1]);
  }
});
