import fc from 'fast-check';
import type { SessionHub } from '../../../src/genesys/guest';
import { ChatWatch } from '../../../src/session/notifications/chatWatch';
import type { HistoryWatchParts } from '../../../src/session/notifications/historyWatch';
import { changeIndex, recordKeys } from '../../../src/session/notifications/pushRecords';
import type { PushSender } from '../../../src/session/notifications';
import type { Sealer } from '../../../src/session/tokens';
import { MemoryStore, type SharedStore } from '../../../src/store';
import { captureLogger } from '../../support/app';
import { advanceFakeTimersUntil } from '../../support/wait';

/**
 * The takeover of a watched chat whose instance dies, on the lease and scan timing alone (fake time, the shared
 * store in memory, no sockets): with the default NOTIFY_AFTER_SECONDS (60), a living instance takes the chat and
 * opens its socket within a lease and a scan interval of the death, whenever the death and the survivor's scans
 * fall. 9 s leaves the 15 s a takeover is promised (docs/operations.md) 6 s for the walk of the lists and the
 * socket. And while the watching instance lives, nobody else takes the chat.
 */

const DEFAULT_AFTER_MS = 60_000;
/** The lease plus the scan interval, at their ceilings. */
const LEASE_AND_SCAN_MS = 9000;
const SK = '{chat-under-watch}';
const RECORD_MS = 3_600_000;
const STEP_MS = 100;

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
});

/** One instance's watch of the chats: its store calls never answer once it is dead, as a killed process's. */
function instance(store: SharedStore, id: string) {
  let dead = false;
  const reached = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        dead ? new Promise(() => undefined) : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
  /** When this instance opened the chat's socket, and when it let it go. */
  const opened: number[] = [];
  const retired: number[] = [];
  const session = {
    subscribe: () => () => undefined,
    ready: async () => undefined,
    retire: () => void retired.push(Date.now()),
  };
  const hub = {
    session: () => {
      opened.push(Date.now());
      return session;
    },
    history: { newest: async () => ({ messages: [] }) },
  };
  const watch = new ChatWatch({
    store: reached,
    hub: hub as unknown as SessionHub,
    sealer: { unseal: async () => ({ typ: 'watch', gt: 'guest-token' }) } as unknown as Sealer,
    sender: { send: async () => 'sent' } as unknown as PushSender,
    revocations: { isEnded: async () => false },
    instanceId: id,
    afterMs: DEFAULT_AFTER_MS,
    preview: false,
    recordMs: RECORD_MS,
    room: () => true,
    // Every watch here has a socket (room): the history-read parts are never reached.
    history: {} as HistoryWatchParts,
    logger: captureLogger('warn').logger,
    now: () => Date.now(),
  });
  return { watch, opened, retired, die: () => void (dead = true) };
}

async function subscribed(): Promise<MemoryStore> {
  const store = new MemoryStore(undefined, () => Date.now());
  const record = {
    v: 1,
    chat: 'sealed',
    endpoint: 'https://push.example/x',
    p256dh: 'p',
    auth: 'a',
    url: '/',
    since: 0,
  };
  await store.put(recordKeys(SK).record, JSON.stringify(record), RECORD_MS);
  await changeIndex(store, SK, true, RECORD_MS);
  return store;
}

const advanceUntil = (done: () => boolean, ms: number) => advanceFakeTimersUntil(done, ms, STEP_MS);

test('the lease and scan fit the takeover bound at the default NOTIFY_AFTER_SECONDS', () => {
  const { watch } = instance(new MemoryStore(), 'a');
  expect(watch.leaseMs + watch.scanMs).toBeLessThanOrEqual(LEASE_AND_SCAN_MS);
  watch.close();
});

test('a living instance takes the chat within a lease and a scan of its watcher’s death, never before', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 2999 }),
      fc.integer({ min: 0, max: 12_000 }),
      async (survivorPhaseMs, livesOnMs) => {
        const store = await subscribed();
        const watcher = instance(store, 'watcher');
        expect(await advanceUntil(() => watcher.opened.length > 0, 10_000)).toBe(true);
        // The survivor's scans fall anywhere in the interval.
        await jest.advanceTimersByTimeAsync(survivorPhaseMs);
        const survivor = instance(store, 'survivor');
        // While the watcher lives and renews its lease, the survivor leaves the chat alone.
        await advanceUntil(() => survivor.opened.length > 0, livesOnMs);
        expect(survivor.opened).toEqual([]);
        watcher.die();
        const diedAt = Date.now();
        expect(await advanceUntil(() => survivor.opened.length > 0, 30_000)).toBe(true);
        expect(survivor.opened[0]! - diedAt).toBeLessThanOrEqual(LEASE_AND_SCAN_MS);
        expect(await store.get(recordKeys(SK).lease)).toBe('survivor');
        survivor.watch.close();
        jest.clearAllTimers();
      },
    ),
    { numRuns: 25 },
  );
});

test('a watcher whose store goes silent lets its socket go before another instance can take the chat', async () => {
  const store = await subscribed();
  const watcher = instance(store, 'watcher');
  expect(await advanceUntil(() => watcher.opened.length > 0, 10_000)).toBe(true);
  const survivor = instance(store, 'survivor');
  // From now the watcher's store calls never answer (Redis paused for it), while its timers run on.
  watcher.die();
  expect(await advanceUntil(() => survivor.opened.length > 0, 30_000)).toBe(true);
  expect(watcher.retired).toHaveLength(1);
  expect(watcher.retired[0]!).toBeLessThan(survivor.opened[0]!);
  survivor.watch.close();
  watcher.watch.close();
});

test('an instance closed (draining) while it takes a chat starts no watch of it, and lets the lease go', async () => {
  const store = await subscribed();
  let closeNow = (): void => undefined;
  // The instance closes between taking the chat's lease and starting its watch.
  const closing = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'claim') return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: Parameters<MemoryStore['claim']>) => {
        const took = await target.claim(...args);
        closeNow();
        return took;
      };
    },
  });
  const watcher = instance(closing, 'watcher');
  closeNow = () => watcher.watch.close();
  await jest.advanceTimersByTimeAsync(10_000);
  expect(watcher.opened).toEqual([]);
  expect(await store.get(recordKeys(SK).lease)).toBeUndefined();
});
