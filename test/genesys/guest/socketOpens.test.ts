import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../../simulator';
import { AppError } from '../../../src/domain/errors';
import type { SessionHub } from '../../../src/genesys/guest/sessionHub';
import { registry } from '../../../src/observability/metrics';
import { MemoryStore } from '../../../src/store';
import { hubFor } from '../../support/guestHub';

/** SOCKET_OPENS_PER_SESSION_PER_MINUTE counted in the shared store, on an injected clock. */
let sim: Simulator;
const hubs: SessionHub[] = [];
let clock = 1_000_000;

beforeAll(async () => {
  sim = await startSimulator({ agent: { enabled: false } });
});
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  clock = 1_000_000;
});
afterEach(() => {
  for (const hub of hubs.splice(0)) hub.close();
});

async function refusedByLimit(limit: string): Promise<number> {
  const metric = await registry.getSingleMetric('genesys_bff_limits_refused_total')!.get();
  return metric.values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

const hubOn = (store: MemoryStore, opensPerSessionPerMinute: number) => {
  const hub = hubFor(sim, { store, opensPerSessionPerMinute });
  hubs.push(hub);
  return hub;
};

test('two instances on one store share a session budget of socket opens; a minute later it is back', async () => {
  const store = new MemoryStore(100, () => clock);
  const [first, second, third] = [hubOn(store, 2), hubOn(store, 2), hubOn(store, 2)];
  const token = randomUUID();
  await first.session(token).ready();
  clock += 20_000;
  await second.session(token).ready();
  const counted = await refusedByLimit('socket_opens_per_session');
  const refused = await third
    .session(token)
    .ready()
    .catch((e: unknown) => e);
  // The budget's first use leaves the window 40 s on.
  expect(refused).toMatchObject({
    failure: 'rate_limited',
    code: 'rate_limited',
    status: 429,
    retryAfterSeconds: 40,
    message: 'This chat reconnected too often; wait a moment before trying again.',
  });
  expect(await refusedByLimit('socket_opens_per_session')).toBe(counted + 1);
  expect(sim.stats.connectionsBySession(token)).toBe(2);
  clock += 40_000;
  await third.session(token).ready();
  expect(sim.stats.connectionsBySession(token)).toBe(3);
});

test('the budget is per session: another session on the same store opens its own sockets', async () => {
  const store = new MemoryStore(100, () => clock);
  const hub = hubOn(store, 1);
  const [busy, other] = [randomUUID(), randomUUID()];
  await hub.session(busy).ready();
  await hub.session(other).ready();
  expect(sim.stats.connectionsBySession(other)).toBe(1);
});

/** A store whose Redis is away: every count fails as RedisStore's do. */
class UnreachableStore extends MemoryStore {
  asked = 0;
  override take(): Promise<number> {
    this.asked++;
    return Promise.reject(
      new AppError('store_unavailable', 'The shared store (Redis) did not answer.', { retryAfterSeconds: 1 }),
    );
  }
}

test('store away: no socket is opened, the request is refused with store_unavailable at once (not retried)', async () => {
  const store = new UnreachableStore();
  const hub = hubOn(store, 12);
  const token = randomUUID();
  const refused = await hub
    .session(token)
    .ready()
    .catch((e: unknown) => e);
  expect(refused).toMatchObject({
    code: 'store_unavailable',
    status: 503,
    retryAfterSeconds: 1,
    message: 'The shared store (Redis) did not answer, so no connection to Genesys was opened; retry shortly.',
  });
  expect(store.asked).toBe(1);
  expect(sim.stats.connectionsBySession(token)).toBe(0);
});

/** A store whose count answers only when the test says so (a slow Redis). */
class HeldStore extends MemoryStore {
  release: () => void = () => undefined;
  private markAsked: () => void = () => undefined;
  readonly asked = new Promise<void>((resolve) => (this.markAsked = resolve));
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));

  override async take(key: string, limit: number, windowMs: number): Promise<number> {
    this.markAsked();
    await this.gate;
    return super.take(key, limit, windowMs);
  }
}

test('a session taken out of service while its socket open was being counted opens no socket', async () => {
  const store = new HeldStore();
  const hub = hubOn(store, 12);
  const token = randomUUID();
  const ready = hub.session(token).ready();
  await store.asked;
  hub.close();
  store.release();
  await expect(ready).rejects.toMatchObject({ failure: 'unavailable' });
  expect(hub.socketsOpened).toBe(0);
  expect(sim.stats.connectionsBySession(token)).toBe(0);
});
