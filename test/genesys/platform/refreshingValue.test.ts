import { NothingShared, RefreshingValue } from '../../../src/genesys/platform';
import { MemoryStore, type SharedStore } from '../../../src/store';
import { manualClock } from '../../support/platform';
import { waitFor } from '../../support/wait';

describe('RefreshingValue', () => {
  let value: RefreshingValue<number> | undefined;
  afterEach(() => value?.close());

  /** A load that counts calls and answers from a script (a number, or an Error to throw). */
  function scripted(...answers: Array<number | Error>) {
    let calls = 0;
    const load = async () => {
      const answer = answers[Math.min(calls, answers.length - 1)]!;
      calls++;
      await new Promise((resolve) => setImmediate(resolve));
      if (answer instanceof Error) throw answer;
      return answer;
    };
    return { load, calls: () => calls };
  }

  it('loads once for any number of concurrent callers', async () => {
    const source = scripted(1);
    value = new RefreshingValue({ load: source.load, ttlMs: 60_000, retryMs: 1_000 });

    const results = await Promise.all(Array.from({ length: 50 }, () => value!.get()));

    expect(new Set(results)).toEqual(new Set([1]));
    expect(source.calls()).toBe(1);
  });

  it('re-loads in the background every TTL', async () => {
    const source = scripted(1, 2, 3, 4);
    value = new RefreshingValue({ load: source.load, ttlMs: 20, retryMs: 20 });
    value.refresh();

    await waitFor(() => expect(value!.peek()).toBe(4));
    expect(source.calls()).toBeGreaterThanOrEqual(4);
  });

  it('serves a stale value at once and refreshes it behind the caller', async () => {
    const clock = manualClock();
    const source = scripted(1, 2);
    value = new RefreshingValue({ load: source.load, ttlMs: 60_000, retryMs: 1_000, now: clock.now });
    await value.get();

    clock.advance(60_000);
    await expect(value.get()).resolves.toBe(1);
    await waitFor(() => expect(value!.peek()).toBe(2));
    expect(source.calls()).toBe(2);
  });

  it('keeps the last good value when a re-load fails, and reports the failure', async () => {
    const clock = manualClock();
    const failures: Array<[unknown, number | undefined]> = [];
    const source = scripted(1, new Error('Genesys hiccup'));
    value = new RefreshingValue({
      load: source.load,
      ttlMs: 1_000,
      retryMs: 500,
      now: clock.now,
      onFailed: (e, stale) => failures.push([e, stale]),
    });
    await value.get();

    clock.advance(1_000);
    await value.get();
    await waitFor(() => expect(failures).toHaveLength(1));

    expect(failures[0]![1]).toBe(1);
    await expect(value.get()).resolves.toBe(1);
    expect(source.calls()).toBe(2);
  });

  it('after a failed first load, fails fast until the retry time instead of loading per caller', async () => {
    const clock = manualClock();
    const source = scripted(new Error('unreachable'), 7);
    value = new RefreshingValue({ load: source.load, ttlMs: 60_000, retryMs: 30_000, now: clock.now });

    await expect(value.get()).rejects.toThrow('unreachable');
    for (let i = 0; i < 10; i++) await expect(value.get()).rejects.toThrow('unreachable');
    expect(source.calls()).toBe(1);

    clock.advance(30_000);
    await expect(value.get()).resolves.toBe(7);
    expect(source.calls()).toBe(2);
  });

  it('with a per-value lifetime, never serves a value past its expiry and waits for the next one instead', async () => {
    const clock = manualClock();
    const source = scripted(1, new Error('hiccup'), 3);
    const failures: unknown[] = [];
    value = new RefreshingValue({
      load: source.load,
      lifetime: (_value, loadedAt) => ({ refreshAt: loadedAt + 1_000, expiresAt: loadedAt + 2_000 }),
      retryMs: (error) => ((error as Error).message === 'hiccup' ? 500 : 60_000),
      now: clock.now,
      onFailed: (error) => failures.push(error),
    });
    await value.get();

    // Past the refresh point the value is still served while the re-load fails behind the caller.
    clock.advance(1_000);
    await expect(value.get()).resolves.toBe(1);
    await waitFor(() => expect(failures).toHaveLength(1));

    // Expired: the caller waits for a load (the failure's own 500 ms retry time has passed).
    clock.advance(1_000);
    await expect(value.get()).resolves.toBe(3);
    expect(source.calls()).toBe(3);
  });

  it('after reset, loads at once: neither the value nor a failure it is cooling down from is kept', async () => {
    const clock = manualClock();
    const source = scripted(1, new Error('refused'), 3);
    value = new RefreshingValue({ load: source.load, ttlMs: 60_000, retryMs: 60_000, now: clock.now });
    await value.get();
    value.discard();
    await expect(value.get()).rejects.toThrow('refused');

    value.reset();

    await expect(value.get()).resolves.toBe(3);
    expect(source.calls()).toBe(3);
  });
});

describe('RefreshingValue on its own schedule (fake timers)', () => {
  let value: RefreshingValue<number> | undefined;
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    value?.close();
    jest.useRealTimers();
  });

  /** A load the test answers by hand: each call waits until the test resolves or rejects it. */
  function manual() {
    const calls: Array<{ resolve(v: number): void; reject(e: Error): void }> = [];
    const load = () => new Promise<number>((resolve, reject) => void calls.push({ resolve, reject }));
    return { load, calls };
  }

  /** `value`, loaded once (with 1) and holding it for `ttlMs`, with its source for the loads that follow. */
  async function loadedOnce(ttlMs: number) {
    const source = manual();
    value = new RefreshingValue({ load: source.load, ttlMs, retryMs: 1_000, now: () => Date.now() });
    value.refresh();
    source.calls[0]!.resolve(1);
    await jest.advanceTimersByTimeAsync(0);
    return { source, loaded: value };
  }

  it('tries a failed load again after the retry time with no caller asking', async () => {
    const source = manual();
    value = new RefreshingValue({ load: source.load, ttlMs: 60_000, retryMs: 5_000, now: () => Date.now() });
    value.refresh();
    source.calls[0]!.reject(new Error('down'));

    await jest.advanceTimersByTimeAsync(4_999);
    expect(source.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(source.calls).toHaveLength(2);
    source.calls[1]!.resolve(9);
    await jest.advanceTimersByTimeAsync(0);
    expect(value.peek()).toBe(9);
  });

  it('lets a caller in a cool-down join a load already running instead of failing', async () => {
    const source = manual();
    value = new RefreshingValue({ load: source.load, ttlMs: 60_000, retryMs: 30_000, now: () => Date.now() });
    const first = value.get();
    source.calls[0]!.reject(new Error('down'));
    await expect(first).rejects.toThrow('down');

    value.refresh(); // an explicit start, e.g. the readiness check's
    const joined = value.get();
    source.calls[1]!.resolve(4);
    await expect(joined).resolves.toBe(4);
    expect(source.calls).toHaveLength(2);
  });

  it('after close, neither refresh() nor a load that finishes later starts another', async () => {
    const source = manual();
    value = new RefreshingValue({ load: source.load, ttlMs: 1_000, retryMs: 1_000, now: () => Date.now() });
    value.refresh();
    value.close();
    source.calls[0]!.resolve(1);
    await jest.advanceTimersByTimeAsync(10_000);
    value.refresh();

    expect(source.calls).toHaveLength(1);
    expect(value.peek()).toBe(1);
  });

  it('after close, the background re-load already scheduled does not happen', async () => {
    const { source, loaded } = await loadedOnce(1_000);

    loaded.close();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(source.calls).toHaveLength(1);
  });

  it('forgets a discarded value: the next caller waits for a new one', async () => {
    const { source, loaded } = await loadedOnce(60_000);

    loaded.discard();
    expect(loaded.peek()).toBeUndefined();
    const next = loaded.get();
    source.calls[1]!.resolve(2);
    await expect(next).resolves.toBe(2);
  });
});

describe('RefreshingValue shared between instances (a shared store and a lease)', () => {
  const KEYS = { value: 'shared:value', lease: 'shared:lease' };
  const values: RefreshingValue<Stamped>[] = [];
  afterEach(() => values.splice(0).forEach((v) => v.close()));

  /** A value that says when it was loaded and by whom, as the shared store keeps it (JSON). */
  interface Stamped {
    by: string;
    at: number;
  }

  /** `store`, counting its reads of `key`. */
  function readsOf(store: SharedStore, key: string) {
    let reads = 0;
    const counted = Object.assign(Object.create(store) as SharedStore, {
      get: (k: string) => {
        if (k === key) reads++;
        return store.get(k);
      },
    });
    return { store: counted, reads: () => reads };
  }

  /** An instance of the value over `store`, loading through `load` (which counts its calls). */
  function instance(
    by: string,
    store: SharedStore,
    clock: { now: () => number },
    options: { leaseMs?: number; load?: () => Promise<Stamped>; onStoreAway?: (e: unknown) => void } = {},
  ) {
    let loads = 0;
    const value = new RefreshingValue<Stamped>({
      load: async () => {
        loads++;
        return options.load ? options.load() : { by, at: clock.now() };
      },
      ttlMs: 60_000,
      retryMs: 50,
      now: clock.now,
      shared: {
        store,
        keys: KEYS,
        leaseMs: options.leaseMs ?? 5_000,
        keepMs: 600_000,
        loadedAt: (v) => v.at,
        onStoreAway: options.onStoreAway,
      },
    });
    values.push(value);
    return { value, loads: () => loads };
  }

  it('one instance loads for all: another reads the value it shared until that is due, then loads for all', async () => {
    const clock = manualClock();
    const store = new MemoryStore();
    const claims: string[] = [];
    const counted = Object.assign(Object.create(store) as SharedStore, {
      claim: (key: string, value: string, ttlMs: number) => {
        claims.push(key);
        return store.claim(key, value, ttlMs);
      },
    });
    const a = instance('a', store, clock);
    const b = instance('b', counted, clock);

    await expect(a.value.get()).resolves.toEqual({ by: 'a', at: clock.now() });
    await expect(b.value.get()).resolves.toEqual({ by: 'a', at: clock.now() });
    expect([a.loads(), b.loads()]).toEqual([1, 0]);
    expect(claims).toEqual([]); // a fresh shared value is read without asking for the lease

    clock.advance(60_000);
    await b.value.get(); // due: b refreshes behind the caller, for both
    await waitFor(() => expect(b.value.peek()).toEqual({ by: 'b', at: clock.now() }));
    a.value.refresh();
    await waitFor(() => expect(a.value.peek()).toEqual({ by: 'b', at: clock.now() }));
    expect([a.loads(), b.loads()]).toEqual([1, 1]);
    expect(await store.get(KEYS.lease)).toBeUndefined();
  });

  it('an instance that does not win the lease waits for the value the winner shares, loading nothing', async () => {
    const clock = manualClock();
    const store = new MemoryStore();
    let release!: (v: Stamped) => void;
    const a = instance('a', store, clock, { load: () => new Promise<Stamped>((resolve) => (release = resolve)) });
    const b = instance('b', store, clock);

    const first = a.value.get();
    await waitFor(async () => expect(await store.get(KEYS.lease)).toBeDefined());
    const waiting = b.value.get();
    release({ by: 'a', at: clock.now() });
    await expect(first).resolves.toEqual({ by: 'a', at: clock.now() });
    await expect(waiting).resolves.toEqual({ by: 'a', at: clock.now() });
    expect(b.loads()).toBe(0);
  });

  it('when the lease ends with nothing shared, the waiting instance fails that load and tries again itself', async () => {
    const clock = manualClock();
    const store = new MemoryStore();
    await store.claim(KEYS.lease, 'an instance that stopped', 300);
    const b = instance('b', store, clock, { leaseMs: 300 });

    await expect(b.value.get()).rejects.toMatchObject({
      name: 'NothingShared',
      message: 'the instance that held the lease shared no newer value',
    });
    await waitFor(() => expect(b.value.peek()).toEqual({ by: 'b', at: clock.now() }));
    expect(b.loads()).toBe(1);
  });

  it('a lease let go before its time with nothing shared ends the wait then, not at the lease time', async () => {
    const clock = manualClock();
    const store = new MemoryStore();
    await store.claim(KEYS.lease, 'an instance that gave up', 60_000);
    const lease = readsOf(store, KEYS.lease);
    // Waiting out this lease would outlast the test's own timeout.
    const b = instance('b', lease.store, clock, { leaseMs: 600_000 });

    const waiting = b.value.get();
    await waitFor(() => expect(lease.reads()).toBeGreaterThan(0));
    await store.swap(KEYS.lease, 'an instance that gave up', undefined, 60_000);

    await expect(waiting).rejects.toBeInstanceOf(NothingShared);
  });

  it("a holder that keeps the lease past this instance's lease time is waited for no longer than that", async () => {
    const clock = manualClock();
    const store = new MemoryStore();
    await store.claim(KEYS.lease, 'a stuck instance', 600_000);
    const b = instance('b', store, clock, { leaseMs: 300 });

    await expect(b.value.get()).rejects.toBeInstanceOf(NothingShared);
  });

  it('a shared value older than its own is not taken for fresh: the instance loads for all instead', async () => {
    const clock = manualClock();
    const store = new MemoryStore();
    const a = instance('a', store, clock);
    await a.value.get();
    clock.advance(1_000);
    // Another instance's value from before a's, still inside its time to live.
    await store.put(KEYS.value, JSON.stringify({ by: 'older', at: clock.now() - 5_000 }), 600_000);

    a.value.refresh();

    await waitFor(() => expect(a.value.peek()).toEqual({ by: 'a', at: clock.now() }));
    expect(a.loads()).toBe(2);
  });

  it('waiting for the holder, an instance whose value expired takes only a newer one, never its own again', async () => {
    const clock = manualClock();
    const store = new MemoryStore();
    const shared = readsOf(store, KEYS.value);
    const b = new RefreshingValue<Stamped>({
      load: async () => ({ by: 'b', at: clock.now() }),
      lifetime: (_v, loadedAt) => ({ refreshAt: loadedAt + 1_000, expiresAt: loadedAt + 2_000 }),
      retryMs: 50,
      now: clock.now,
      shared: { store: shared.store, keys: KEYS, leaseMs: 30_000, keepMs: 600_000, loadedAt: (v) => v.at },
    });
    values.push(b);
    const first = await b.get();
    clock.advance(2_000);
    await store.claim(KEYS.lease, 'the holder', 30_000);

    const waiting = b.get();
    // The stored value is b's own, now expired: it is read and passed over while the holder loads.
    const readsBefore = shared.reads();
    await waitFor(() => expect(shared.reads()).toBeGreaterThan(readsBefore + 1));
    const newer = { by: 'holder', at: clock.now() };
    await store.put(KEYS.value, JSON.stringify(newer), 600_000);

    await expect(waiting).resolves.toEqual(newer);
    expect(first).toEqual({ by: 'b', at: clock.now() - 2_000 });
  });

  it('lets the lease go after a load that failed', async () => {
    const clock = manualClock();
    const store = new MemoryStore();
    const a = instance('a', store, clock, { load: async () => Promise.reject(new Error('Genesys down')) });
    await expect(a.value.get()).rejects.toThrow('Genesys down');
    expect(await store.get(KEYS.lease)).toBeUndefined();
  });

  it('a store that does not answer: the instance loads alone after a few tries, and says so', async () => {
    const clock = manualClock();
    const store = new MemoryStore();
    const claims: number[] = [];
    const away = Object.assign(Object.create(store) as SharedStore, {
      claim: async () => {
        claims.push(Date.now());
        return Promise.reject(new Error('store away'));
      },
    });
    const told: unknown[] = [];
    const a = instance('a', away, clock, { onStoreAway: (e) => told.push(e) });
    await expect(a.value.get()).resolves.toEqual({ by: 'a', at: clock.now() });
    expect(told).toEqual([new Error('store away')]);
    // Five tries, 200 ms apart (a wait that only a slow machine lengthens).
    expect(claims).toHaveLength(5);
    expect(claims.at(-1)! - claims[0]!).toBeGreaterThanOrEqual(4 * 200 - 5);
  });
});
