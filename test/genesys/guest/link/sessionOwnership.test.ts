import { SessionOwnership, type OwnedSession } from '../../../../src/genesys/guest/link/sessionOwnership';
import { MemoryStore, sessionKeyOf, type SharedStore } from '../../../../src/store';
import { captureLogger } from '../../../support/app';

/**
 * One owner per guest session across instances (src/genesys/guest/link/sessionOwnership.ts), on the
 * memory store with its own clock: the scale suites show it with real instances and Redis; here
 * each rule is one test. Rounds run on jest's fake timers, one per `INTERVAL_MS`.
 */
const INTERVAL_MS = 500;
const TTL_MS = 5000;

let now = 0;
let ownerships: SessionOwnership[] = [];
beforeEach(() => {
  jest.useFakeTimers();
  now = 0;
});
afterEach(() => {
  for (const ownership of ownerships) ownership.close();
  ownerships = [];
  jest.useRealTimers();
});

const ownerKey = (token: string) => `owner:${sessionKeyOf(token)}`;

function session(token: string, state: { holdsSocket?: boolean; hasRequestsInFlight?: boolean } = {}) {
  const handedOver: string[] = [];
  const owned: OwnedSession & { handedOver: string[] } = {
    token,
    holdsSocket: state.holdsSocket ?? true,
    hasRequestsInFlight: state.hasRequestsInFlight ?? false,
    handOver: () => void handedOver.push(token),
    handedOver,
  };
  return owned;
}

function instance(store: SharedStore, instanceId: string, sessions: OwnedSession[]) {
  const captured = captureLogger('info');
  const ownership = new SessionOwnership({
    store,
    instanceId,
    logger: captured.logger,
    sessions: () => sessions,
    intervalMs: INTERVAL_MS,
    ttlMs: TTL_MS,
  });
  ownerships.push(ownership);
  return { ownership, captured };
}

/** Moves the store's clock and runs the rounds that fall due. */
async function elapse(ms: number) {
  now += ms;
  await jest.advanceTimersByTimeAsync(ms);
}

test('the instance that opens a session socket takes it, for the owner record lifetime', async () => {
  const store = new MemoryStore(1000, () => now);
  const { ownership } = instance(store, 'instance-a', []);
  ownership.take('guest-1');
  await Promise.resolve();
  expect(await store.get(ownerKey('guest-1'))).toBe('instance-a');
  now += TTL_MS;
  expect(await store.get(ownerKey('guest-1'))).toBeUndefined();
});

test('an owner renews the sessions whose socket it holds, so their record outlives its lifetime', async () => {
  const store = new MemoryStore(1000, () => now);
  const held = session('guest-1');
  const idle = session('guest-2', { holdsSocket: false });
  const { ownership } = instance(store, 'instance-a', [held, idle]);
  ownership.take('guest-1');
  ownership.take('guest-2');
  for (let i = 0; i < 3; i++) await elapse(TTL_MS / 2);
  expect(await store.get(ownerKey('guest-1'))).toBe('instance-a');
  // Not renewed: no socket, nothing to keep.
  expect(await store.get(ownerKey('guest-2'))).toBeUndefined();
  expect(held.handedOver).toEqual([]);
});

test('an owner that renews keeps the session past its first record lifetime; another instance holding it gives way', async () => {
  const store = new MemoryStore(1000, () => now);
  const other = session('guest-1');
  const owner = session('guest-1');
  // The other instance's rounds run first on each tick: had the owner's record lapsed, it would claim it.
  instance(store, 'instance-b', [other]);
  const a = instance(store, 'instance-a', [owner]);
  a.ownership.take('guest-1');
  for (let t = 0; t < TTL_MS * 2; t += INTERVAL_MS) await elapse(INTERVAL_MS);
  expect(owner.handedOver).toEqual([]);
  expect(other.handedOver.length).toBeGreaterThan(0);
  expect(await store.get(ownerKey('guest-1'))).toBe('instance-a');
});

test('a session with no owner record is claimed again by the instance holding its socket', async () => {
  const store = new MemoryStore(1000, () => now);
  const held = session('guest-1');
  instance(store, 'instance-a', [held]);
  await elapse(INTERVAL_MS);
  expect(await store.get(ownerKey('guest-1'))).toBe('instance-a');
  expect(held.handedOver).toEqual([]);
});

test('an instance that finds another owner hands the session over, once nothing is in flight', async () => {
  const store = new MemoryStore(1000, () => now);
  const busy = session('guest-1', { hasRequestsInFlight: true });
  const idle = session('guest-2');
  const a = instance(store, 'instance-a', [busy, idle]);
  const b = instance(store, 'instance-b', []);
  a.ownership.take('guest-1');
  a.ownership.take('guest-2');
  b.ownership.take('guest-1');
  b.ownership.take('guest-2');
  await elapse(INTERVAL_MS);
  expect(idle.handedOver).toEqual(['guest-2']);
  expect(busy.handedOver).toEqual([]);
  expect(a.captured.messages('info')).toEqual(['session moved to another instance; handing it over']);
  // The new owner's record stays as it was.
  expect(await store.get(ownerKey('guest-2'))).toBe('instance-b');
});

test('while the store does not answer, nothing is handed over', async () => {
  const memory = new MemoryStore(1000, () => now);
  let down = false;
  const failing = <T>(call: () => Promise<T>) => (down ? Promise.reject(new Error('store down')) : call());
  const store: SharedStore = Object.assign(Object.create(memory) as SharedStore, {
    swap: (...args: Parameters<SharedStore['swap']>) => failing(() => memory.swap(...args)),
    claim: (...args: Parameters<SharedStore['claim']>) => failing(() => memory.claim(...args)),
    get: (...args: Parameters<SharedStore['get']>) => failing(() => memory.get(...args)),
  });
  const first = session('guest-1');
  const second = session('guest-2');
  instance(store, 'instance-a', [first, second]);
  await memory.put(ownerKey('guest-1'), 'instance-b', TTL_MS);
  await memory.put(ownerKey('guest-2'), 'instance-b', TTL_MS);
  down = true;
  await elapse(INTERVAL_MS);
  expect([...first.handedOver, ...second.handedOver]).toEqual([]);
  down = false;
  await elapse(INTERVAL_MS);
  expect([...first.handedOver, ...second.handedOver]).toEqual(['guest-1', 'guest-2']);
});

test('a round still running when the next falls due is not run twice', async () => {
  const memory = new MemoryStore(1000, () => now);
  let swaps = 0;
  let release: () => void = () => undefined;
  const store: SharedStore = Object.assign(Object.create(memory) as SharedStore, {
    swap: async (...args: Parameters<SharedStore['swap']>) => {
      swaps++;
      await new Promise<void>((resolve) => (release = resolve));
      return memory.swap(...args);
    },
  });
  instance(store, 'instance-a', [session('guest-1')]);
  await elapse(INTERVAL_MS * 3);
  expect(swaps).toBe(1);
  release();
  await elapse(INTERVAL_MS);
  expect(swaps).toBe(2);
});

test('closed, it renews nothing', async () => {
  const store = new MemoryStore(1000, () => now);
  const { ownership } = instance(store, 'instance-a', [session('guest-1')]);
  ownership.close();
  await elapse(INTERVAL_MS * 2);
  expect(await store.get(ownerKey('guest-1'))).toBeUndefined();
});
