import type { NormalizedMessage } from '../../../src/domain/message';
import { GuestApiError, type NewestPage, type SessionHub } from '../../../src/genesys/guest';
import type { PushSender } from '../../../src/session/notifications';
import { ChatWatch, type WatchedAlso } from '../../../src/session/notifications/chatWatch';
import type { HeardReplies } from '../../../src/session/notifications/heardReplies';
import type { HistoryWatchParts } from '../../../src/session/notifications/historyWatch';
import {
  INDEX_BUCKETS,
  bucketOf,
  changeIndex,
  indexKey,
  listed,
  recordKeys,
} from '../../../src/session/notifications/pushRecords';
import { ReadPacer } from '../../../src/session/notifications/readPacer';
import type { Sealer } from '../../../src/session/tokens';
import { MemoryStore, sessionKeyOf, type SharedStore } from '../../../src/store';
import { captureLogger } from '../../support/app';
import { advanceFakeTimersUntil } from '../../support/wait';

/**
 * One instance's ChatWatch on fake time, the shared store in memory and stand-ins for the Guest API (src/session/
 * notifications/chatWatch.ts): which listed chats a scan takes and which it leaves, what ends a watch here, and
 * how a chat watched by history reads moves to a socket's place when one frees. The sockets' ceiling is one socket
 * here, so the chat on it and the chats waiting in history mode are told apart.
 */

const AFTER_MS = 1000;
/** The scan interval at NOTIFY_AFTER_SECONDS of 1 s (half of it, at least 500 ms). */
const SCAN_MS = 500;
const RECORD_MS = 3_600_000;
const STEP_MS = 50;

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
});

const skOf = (gt: string) => sessionKeyOf(gt);

async function subscribe(store: SharedStore, gt: string): Promise<string> {
  const sk = skOf(gt);
  const record = { v: 1, chat: `sealed:${gt}`, endpoint: 'https://push.example/x', p256dh: 'p', auth: 'a', url: '/' };
  await store.put(recordKeys(sk).record, JSON.stringify({ ...record, since: 0 }), RECORD_MS);
  await changeIndex(store, sk, true, RECORD_MS);
  return sk;
}

interface Harness {
  watch: ChatWatch;
  log: ReturnType<typeof captureLogger>;
  /** Each socket opened, by guest token, in order; and those let go. */
  opened: string[];
  retired: string[];
  /** Why each socket was let go, in order. */
  retiredFor: string[];
  /** Sockets open now. */
  sockets: () => number;
  /** The hub's ceiling of sockets, which the test may move. */
  ceiling: { max: number };
}

/**
 * An instance whose hub holds at most `socketsMax` sockets open (its room), whose sockets open when `ready` says
 * (at once by default), and whose history reads find nothing new.
 */
function instance(
  store: SharedStore,
  options: {
    socketsMax?: number;
    ready?: (gt: string) => Promise<void>;
    afterMs?: number;
    /** Whether the chat was ended (its standing record, which every renewal reads). */
    ended?: () => boolean;
    also?: WatchedAlso;
    /** What the chat's socket heard after its page left (heardReplies.ts), read when a watch starts. */
    heard?: (sk: string) => Promise<NormalizedMessage[]>;
    /** A history read's answer (default: nothing new). */
    newest?: (gt: string) => Promise<NewestPage>;
  } = {},
): Harness {
  const opened: string[] = [];
  const retired: string[] = [];
  const retiredFor: string[] = [];
  const sockets = () => opened.length - retired.length;
  const hub = {
    session: (gt: string) => {
      opened.push(gt);
      let gone = false;
      return {
        subscribe: () => () => undefined,
        ready: () => (options.ready ?? (async () => undefined))(gt),
        retire: (why: string) => {
          if (gone) return;
          retired.push(gt);
          retiredFor.push(why);
          gone = true;
        },
      };
    },
    history: {
      newest: (session: { token: string }) =>
        options.newest ? options.newest(session.token) : Promise.resolve({ messages: [], receipts: [] }),
    },
  };
  const ceiling = { max: options.socketsMax ?? 1 };
  const room = () => sockets() < ceiling.max;
  const log = captureLogger('debug');
  const history: HistoryWatchParts = {
    hub: hub as unknown as SessionHub,
    room: () => true,
    pacer: new ReadPacer(1000),
    pollMs: 1000,
    pollMaxMs: 2000,
  };
  const watch = new ChatWatch({
    store,
    hub: hub as unknown as SessionHub,
    sealer: {
      unseal: async (sealed: string) => ({ typ: 'watch', gt: sealed.replace('sealed:', '') }),
    } as unknown as Sealer,
    sender: { send: async () => 'sent' } as unknown as PushSender,
    revocations: { isEnded: async () => options.ended?.() ?? false },
    ...(options.also ? { also: options.also } : {}),
    ...(options.heard ? { heard: { read: options.heard } as unknown as HeardReplies } : {}),
    instanceId: 'here',
    afterMs: options.afterMs ?? AFTER_MS,
    preview: false,
    recordMs: RECORD_MS,
    room,
    history,
    logger: log.logger,
    now: () => Date.now(),
  });
  return { watch, log, opened, retired, retiredFor, sockets, ceiling };
}

const advanceUntil = (done: () => boolean, ms: number) => advanceFakeTimersUntil(done, ms, STEP_MS);

/** The store as this instance reaches it, counting each call by method and key. */
function counted(store: MemoryStore) {
  const calls: string[] = [];
  const reached = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(`${String(prop)} ${String(args[0])}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { reached, calls, count: (call: string) => calls.filter((c) => c === call).length };
}

const stops = (h: Harness) => h.log.lines().filter((l) => l.msg === 'stopped watching a chat');
/** A page of the chat opens here: it says so in the store (as ChatNotifications.pageOpened does), then the watch hears. */
async function pageOpens(store: SharedStore, h: Harness, sk: string): Promise<void> {
  await store.put(recordKeys(sk).seen, '1', RECORD_MS);
  h.watch.pageOpened(sk);
}
const moves = (h: Harness) =>
  h.log.lines().filter((l) => l.msg === 'a chat watched by history reads moved to a socket');
const watchesIn = (h: Harness, mode: string) =>
  h.log.lines().filter((l) => l.msg === 'watching a chat nobody is looking at, for replies to push' && l.mode === mode);

test('the lease and the scan interval follow NOTIFY_AFTER_SECONDS, within their bounds', () => {
  for (const [afterMs, leaseMs, scanMs, renewMs] of [
    [1000, 3000, 500, 1000],
    [4000, 4000, 2000, 1333],
    [60_000, 6000, 3000, 2000],
  ] as const) {
    const { watch } = instance(new MemoryStore(), { afterMs });
    expect({ leaseMs: watch.leaseMs, scanMs: watch.scanMs, renewMs: watch.renewMs }).toEqual({
      leaseMs,
      scanMs,
      renewMs,
    });
    watch.close();
  }
});

describe('what ends a watch here at once, letting its lease go', () => {
  for (const [name, end, reason] of [
    ['a page of the chat opened here', (h: Harness, sk: string) => h.watch.pageOpened(sk), 'a page is open again'],
    ['its subscription was removed', (h: Harness, sk: string) => h.watch.forget(sk), 'the subscription was removed'],
    ['the instance closes', (h: Harness) => h.watch.close(), 'this instance is shutting down'],
  ] as const) {
    test(name, async () => {
      const store = new MemoryStore(undefined, () => Date.now());
      const sk = await subscribe(store, 'gt-1');
      const h = instance(store);
      expect(await advanceUntil(() => h.opened.length > 0, 5000)).toBe(true);
      expect(await store.get(recordKeys(sk).lease)).toBe('here');
      end(h, sk);
      expect(h.retired).toEqual(['gt-1']);
      expect(h.watch.size).toBe(0);
      await jest.advanceTimersByTimeAsync(0);
      expect(await store.get(recordKeys(sk).lease)).toBeUndefined();
      expect(stops(h).map((l) => l.reason)).toEqual([reason]);
      h.watch.close();
    });
  }
});

/** A watch renews its lease every third of it: at NOTIFY_AFTER_SECONDS of 1 s, a lease of 3 s. */
const RENEW_MS = 1000;

describe('what a watch finds at its next renewal, a third of a lease on', () => {
  /** A chat watched here on its socket; `reach` is the store as this instance reaches it. */
  async function watchedHere(
    options: Parameters<typeof instance>[1] = {},
    reach: (store: MemoryStore) => SharedStore = (store) => store,
  ) {
    const store = new MemoryStore(undefined, () => Date.now());
    const sk = await subscribe(store, 'gt-1');
    const h = instance(reach(store), options);
    expect(await advanceUntil(() => h.opened.length > 0, 5000)).toBe(true);
    return { store, sk, h };
  }
  /** An e-mail opt-in of the chat that stays; the chats it is told are over go in `over`. */
  const optedIn = (over: string[] = []): WatchedAlso => ({
    sealedChat: async () => 'sealed:gt-1',
    reply: () => undefined,
    chatOver: async (sk) => void over.push(sk),
  });

  for (const [name, happen, reason, leaseAfter] of [
    [
      'a page of the chat opened there: the lease goes at once',
      (store: SharedStore, sk: string) => store.put(recordKeys(sk).seen, '1', RECORD_MS),
      'a page is open again',
      undefined,
    ],
    [
      'the subscription was removed there: the lease goes at once',
      (store: SharedStore, sk: string) => store.remove(recordKeys(sk).record),
      'the subscription was removed',
      undefined,
    ],
    [
      'it took the lease (this one lapsed): its lease stands',
      (store: SharedStore, sk: string) => store.put(recordKeys(sk).lease, 'elsewhere', RECORD_MS),
      'another instance watches it now',
      'elsewhere',
    ],
  ] as const) {
    test(name, async () => {
      const { store, sk, h } = await watchedHere();
      await happen(store, sk);
      expect(await advanceUntil(() => h.retired.length > 0, RENEW_MS + STEP_MS)).toBe(true);
      await jest.advanceTimersByTimeAsync(0);
      expect(stops(h).map((l) => l.reason)).toEqual([reason]);
      expect(h.watch.size).toBe(0);
      expect(await store.get(recordKeys(sk).lease)).toBe(leaseAfter);
      h.watch.close();
    });
  }

  test('the chat was ended: its subscription and its other opt-ins go, and it leaves the lists', async () => {
    let ended = false;
    const over: string[] = [];
    const { store, sk, h } = await watchedHere({ ended: () => ended, also: optedIn(over) });
    ended = true;
    expect(await advanceUntil(() => h.retired.length > 0, RENEW_MS + STEP_MS)).toBe(true);
    await jest.advanceTimersByTimeAsync(0);
    expect(stops(h).map((l) => l.reason)).toEqual(['the chat was ended']);
    expect(over).toEqual([sk]);
    expect(await store.get(recordKeys(sk).record)).toBeUndefined();
    expect(await store.get(recordKeys(sk).lease)).toBeUndefined();
    expect(await listed(store, bucketOf(sk))).not.toContain(sk);
    h.watch.close();
  });

  test('a subscription removed while the chat keeps another opt-in is watched on', async () => {
    const { store, sk, h } = await watchedHere({ also: optedIn() });
    await store.remove(recordKeys(sk).record);
    await jest.advanceTimersByTimeAsync(RENEW_MS * 3);
    expect(h.retired).toEqual([]);
    expect(await store.get(recordKeys(sk).lease)).toBe('here');
    h.watch.close();
  });

  test('a store that refuses every renewal: the watch lets its socket go within a lease, its lease left to lapse', async () => {
    let refusing = false;
    const refused = (store: MemoryStore) =>
      new Proxy(store, {
        get(target, prop, receiver) {
          const value: unknown = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          if (prop !== 'swap') return (value as (...a: unknown[]) => unknown).bind(target);
          return async (...args: Parameters<MemoryStore['swap']>) => {
            if (refusing) throw new Error('store down');
            return target.swap(...args);
          };
        },
      });
    const { store, sk, h } = await watchedHere({}, refused);
    refusing = true;
    expect(await advanceUntil(() => h.retired.length > 0, 3000)).toBe(true);
    expect(stops(h).map((l) => l.reason)).toEqual(['its lease could not be renewed in time']);
    refusing = false;
    await jest.advanceTimersByTimeAsync(0);
    expect(await store.get(recordKeys(sk).lease)).toBe('here');
    h.watch.close();
  });
});

test('a chat another instance watches, or whose page is open, is left alone', async () => {
  const store = new MemoryStore(undefined, () => Date.now());
  const leased = await subscribe(store, 'gt-leased');
  const seen = await subscribe(store, 'gt-seen');
  await store.put(recordKeys(leased).lease, 'elsewhere', RECORD_MS);
  await store.put(recordKeys(seen).seen, '1', RECORD_MS);
  const { reached, count } = counted(store);
  const h = instance(reached, { socketsMax: 5 });
  await jest.advanceTimersByTimeAsync(SCAN_MS * 6);
  expect(h.opened).toEqual([]);
  expect(await store.get(recordKeys(leased).lease)).toBe('elsewhere');
  expect(await store.get(recordKeys(seen).lease)).toBeUndefined();
  // Not even briefly: no claim of either lease goes out.
  expect(count(`claim ${recordKeys(leased).lease}`) + count(`claim ${recordKeys(seen).lease}`)).toBe(0);
  h.watch.close();
});

test('a page that opens while the scan takes the lease keeps the watch from starting, and the lease goes', async () => {
  const store = new MemoryStore(undefined, () => Date.now());
  const sk = await subscribe(store, 'gt-1');
  // The page writes `notify-seen` just after this instance took the lease.
  const racing = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'claim') return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: Parameters<MemoryStore['claim']>) => {
        const took = await target.claim(...args);
        await target.put(recordKeys(sk).seen, '1', RECORD_MS);
        return took;
      };
    },
  });
  const h = instance(racing);
  await jest.advanceTimersByTimeAsync(SCAN_MS * 3);
  expect(h.opened).toEqual([]);
  expect(await store.get(recordKeys(sk).lease)).toBeUndefined();
  h.watch.close();
});

test('a listed chat whose subscription expired drops off its list at the next scan', async () => {
  const store = new MemoryStore(undefined, () => Date.now());
  const kept = await subscribe(store, 'gt-kept');
  const lapsed = await subscribe(store, 'gt-lapsed');
  await store.remove(recordKeys(lapsed).record);
  const h = instance(store, { socketsMax: 5 });
  await jest.advanceTimersByTimeAsync(SCAN_MS * 2);
  expect(await listed(store, bucketOf(lapsed))).not.toContain(lapsed);
  expect(await listed(store, bucketOf(kept))).toContain(kept);
  expect(h.opened).toEqual(['gt-kept']);
  h.watch.close();
});

test('a scan the store fails is logged, and the next scan runs', async () => {
  const store = new MemoryStore(undefined, () => Date.now());
  await subscribe(store, 'gt-1');
  let failing = true;
  const flaky = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'get') return (value as (...a: unknown[]) => unknown).bind(target);
      return async (key: string) => {
        if (failing && key.startsWith('notify-index:')) throw new Error('store down');
        return target.get(key);
      };
    },
  });
  const h = instance(flaky);
  await jest.advanceTimersByTimeAsync(SCAN_MS);
  const failed = h.log.lines().filter((l) => l.msg === 'push watch scan stopped; the shared store did not answer');
  expect(failed).toHaveLength(1);
  expect(failed[0]).toMatchObject({ level: 20, err: { message: 'store down' } });
  failing = false;
  expect(await advanceUntil(() => h.opened.length > 0, SCAN_MS * 2)).toBe(true);
  h.watch.close();
});

test('a scan walks each of the lists once, one scan at a time, and passes over the chats it watches', async () => {
  const store = new MemoryStore(undefined, () => Date.now());
  const sk = await subscribe(store, 'gt-1');
  const { reached, calls, count } = counted(store);
  // The first scan's read of the last list waits while three more scans come due.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let holding = true;
  const slow = new Proxy(reached, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop !== 'get') return value;
      return async (key: string) => {
        if (holding && key === indexKey(INDEX_BUCKETS - 1)) await held;
        return (value as (k: string) => Promise<string | undefined>)(key);
      };
    },
  });
  const h = instance(slow);
  await jest.advanceTimersByTimeAsync(SCAN_MS * 4);
  expect(count(`get ${indexKey(0)}`)).toBe(1);
  holding = false;
  release();
  await jest.advanceTimersByTimeAsync(0);
  expect(h.opened).toEqual(['gt-1']);
  const walked = calls.filter((c) => c.startsWith('get notify-index:'));
  expect(walked).toEqual(Array.from({ length: INDEX_BUCKETS }, (_, b) => `get ${indexKey(b)}`));
  // Scans while the chat is watched here read no record of it to decide whether to take it.
  const leaseReads = count(`get ${recordKeys(sk).lease}`);
  await jest.advanceTimersByTimeAsync(SCAN_MS * 4);
  expect(count(`get ${indexKey(0)}`)).toBeGreaterThanOrEqual(4);
  expect(count(`get ${recordKeys(sk).lease}`)).toBe(leaseReads);
  h.watch.close();
});

test('an instance closed during a scan takes no chat the rest of the walk finds', async () => {
  const store = new MemoryStore(undefined, () => Date.now());
  const sk = await subscribe(store, 'gt-1');
  const { reached, count } = counted(store);
  let close = (): void => undefined;
  const closing = new Proxy(reached, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop !== 'get') return value;
      return async (key: string) => {
        const answer = await (value as (k: string) => Promise<string | undefined>)(key);
        if (key === indexKey(bucketOf(sk))) close();
        return answer;
      };
    },
  });
  const h = instance(closing);
  close = () => h.watch.close();
  await jest.advanceTimersByTimeAsync(SCAN_MS * 3);
  expect(count(`claim ${recordKeys(sk).lease}`)).toBe(0);
  expect(h.opened).toEqual([]);
});

describe('a chat waiting in history mode for a socket', () => {
  /** `first` watched on the one socket, then `waiting` by history reads. */
  async function twoChats(options: Parameters<typeof instance>[1] = {}) {
    const store = new MemoryStore(undefined, () => Date.now());
    const first = await subscribe(store, 'gt-first');
    const h = instance(store, options);
    expect(await advanceUntil(() => watchesIn(h, 'socket').length === 1, 5000)).toBe(true);
    await subscribe(store, 'gt-waiting');
    expect(await advanceUntil(() => watchesIn(h, 'history').length === 1, 5000)).toBe(true);
    expect(h.opened).toEqual(['gt-first']);
    return { store, h, first };
  }

  test('moves to the socket as soon as the chat on it stops, before the next scan', async () => {
    const { store, h, first } = await twoChats();
    // Just after a scan: the next is SCAN_MS away.
    await jest.advanceTimersByTimeAsync(SCAN_MS - (Date.now() % SCAN_MS));
    await pageOpens(store, h, first);
    await jest.advanceTimersByTimeAsync(1);
    expect(h.opened).toEqual(['gt-first', 'gt-waiting']);
    expect(moves(h)).toEqual([expect.objectContaining({ mode: 'socket' })]);
    h.watch.close();
  });

  /**
   * `gt-first` on the one socket, `gt-a` and `gt-b` waiting in history mode; then the hub has room for every socket,
   * a socket opens only when the test calls its `opening` entry, and `gt-first`'s page opens.
   */
  async function twoWaiting() {
    const store = new MemoryStore(undefined, () => Date.now());
    let open = true;
    /** Each socket opening: called, it opens; called with an error, it fails. */
    const opening: ((failure?: Error) => void)[] = [];
    const h = instance(store, {
      ready: () =>
        open
          ? Promise.resolve()
          : new Promise<void>((resolve, reject) => opening.push((failure) => (failure ? reject(failure) : resolve()))),
    });
    const first = await subscribe(store, 'gt-first');
    expect(await advanceUntil(() => watchesIn(h, 'socket').length === 1, 5000)).toBe(true);
    await subscribe(store, 'gt-a');
    await subscribe(store, 'gt-b');
    expect(await advanceUntil(() => watchesIn(h, 'history').length === 2, 5000)).toBe(true);
    open = false;
    h.ceiling.max = 10;
    await pageOpens(store, h, first);
    return { store, h, opening, openNow: () => void (open = true) };
  }

  test('the next waiting chat moves right after the first one moved, one move at a time', async () => {
    const { h, opening } = await twoWaiting();
    // Scans come and go while the first move's socket opens: no second move starts beside it.
    await jest.advanceTimersByTimeAsync(SCAN_MS * 4);
    expect(h.opened.slice(1)).toHaveLength(1);
    expect(opening).toHaveLength(1);
    opening[0]!();
    // The next moves at once, not at the next scan.
    await jest.advanceTimersByTimeAsync(1);
    expect(h.opened.slice(1)).toHaveLength(2);
    expect(new Set(h.opened.slice(1))).toEqual(new Set(['gt-a', 'gt-b']));
    opening[1]!();
    await jest.advanceTimersByTimeAsync(1);
    h.watch.close();
  });

  test.each([
    ['its socket opens', undefined],
    ['its socket fails (not the 30 s wait of a socket that did not open)', new Error('handshake refused')],
  ])(
    'a move whose chat stopped meanwhile holds up no other when %s: the next moves at the next scan',
    async (_, failure) => {
      const { store, h, opening, openNow } = await twoWaiting();
      await jest.advanceTimersByTimeAsync(1);
      expect(opening).toHaveLength(1);
      const moving = h.opened[h.opened.length - 1]!;
      // The moving chat's subscription goes while its socket opens (DELETE removes its records, then tells the watch).
      await store.remove(recordKeys(skOf(moving)).record);
      await changeIndex(store, skOf(moving), false, RECORD_MS);
      h.watch.forget(skOf(moving));
      openNow();
      opening[0]!(failure);
      await jest.advanceTimersByTimeAsync(SCAN_MS + 1);
      expect(h.opened.slice(1)).toEqual([moving, moving === 'gt-a' ? 'gt-b' : 'gt-a']);
      // The stopped one neither moved nor failed to: only the next moved.
      expect(moves(h)).toHaveLength(1);
      expect(h.log.lines().filter((l) => l.msg.startsWith('a chat watched by history reads could not move'))).toEqual(
        [],
      );
      h.watch.close();
    },
  );

  test('after a socket that did not open, no move is tried for 30 s, then one is', async () => {
    const { store, h, first } = await twoChats({
      ready: async (gt) => {
        if (gt === 'gt-waiting') throw new Error('handshake refused');
      },
    });
    await pageOpens(store, h, first);
    await jest.advanceTimersByTimeAsync(1);
    expect(h.opened).toEqual(['gt-first', 'gt-waiting']);
    expect(h.retired).toEqual(['gt-first', 'gt-waiting']);
    expect(h.retiredFor).toEqual([
      'closed after watching for replies',
      'closed: it could not take over watching from history reads',
    ]);
    expect(
      h.log.lines().find((l) => l.msg === 'a chat watched by history reads could not move to a socket; it reads on'),
    ).toMatchObject({ err: { message: 'handshake refused' } });
    // Scans every 500 ms for 29 s: none tries again.
    await jest.advanceTimersByTimeAsync(29_000);
    expect(h.opened).toEqual(['gt-first', 'gt-waiting']);
    await jest.advanceTimersByTimeAsync(1000 + SCAN_MS);
    expect(h.opened).toEqual(['gt-first', 'gt-waiting', 'gt-waiting']);
    h.watch.close();
  });
});

describe('a chat watched by history reads, before and while it reads', () => {
  /** `gt-first` on the one socket; `gt-waiting` in history mode, whose heard replies are read until `heardNow`. */
  async function waitingOnHeard(options: Parameters<typeof instance>[1] = {}) {
    const store = new MemoryStore(undefined, () => Date.now());
    let heardNow!: () => void;
    const heardRead = new Promise<NormalizedMessage[]>((resolve) => (heardNow = () => resolve([])));
    const reads: string[] = [];
    const h = instance(store, {
      heard: (sk) => (sk === skOf('gt-waiting') ? heardRead : Promise.resolve([])),
      newest: async (gt) => (reads.push(gt), { messages: [], receipts: [] }),
      ...options,
    });
    const first = await subscribe(store, 'gt-first');
    expect(await advanceUntil(() => watchesIn(h, 'socket').length === 1, 5000)).toBe(true);
    const waiting = await subscribe(store, 'gt-waiting');
    expect(await advanceUntil(() => h.watch.size === 2, 5000)).toBe(true);
    return { store, h, first, waiting, heardNow, reads: () => reads.filter((gt) => gt === 'gt-waiting').length };
  }

  test('moves to a free socket only once its history reads began', async () => {
    const { store, h, first, heardNow } = await waitingOnHeard();
    await pageOpens(store, h, first);
    await jest.advanceTimersByTimeAsync(SCAN_MS * 3);
    expect(h.opened).toEqual(['gt-first']);
    heardNow();
    expect(await advanceUntil(() => h.opened.length === 2, SCAN_MS * 3)).toBe(true);
    expect(h.opened).toEqual(['gt-first', 'gt-waiting']);
    h.watch.close();
  });

  test('stopped before its history reads began, it never begins them', async () => {
    const { store, h, waiting, heardNow, reads } = await waitingOnHeard();
    // Its subscription goes (DELETE removes its records, then tells the watch).
    await store.remove(recordKeys(waiting).record);
    await changeIndex(store, waiting, false, RECORD_MS);
    h.watch.forget(waiting);
    heardNow();
    await jest.advanceTimersByTimeAsync(SCAN_MS * 4);
    expect(watchesIn(h, 'history')).toEqual([]);
    expect(reads()).toBe(0);
    h.watch.close();
  });

  test('a history read that finds the chat over removes its records and tells its e-mail opt-in', async () => {
    const over: string[] = [];
    const { store, h, waiting, heardNow } = await waitingOnHeard({
      newest: async (gt) => {
        if (gt === 'gt-waiting') throw new GuestApiError('session_expired', 'the session is gone');
        return { messages: [], receipts: [] };
      },
      also: { sealedChat: async () => undefined, reply: () => undefined, chatOver: async (sk) => void over.push(sk) },
    });
    heardNow();
    expect(await advanceUntil(() => over.length > 0, 10_000)).toBe(true);
    expect(over).toEqual([waiting]);
    expect(stops(h).map((l) => l.reason)).toEqual(['the chat is over at Genesys']);
    expect(await store.get(recordKeys(waiting).record)).toBeUndefined();
    h.watch.close();
  });
});
