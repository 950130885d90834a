import fc from 'fast-check';
import { changeRecord, MemoryStore, type SharedStore } from '../../src/store';

/**
 * One record changed by compare-and-swap (src/store/changeRecord.ts): a decision holds only on the value it was made
 * from, so writers racing on one record never lose each other's change, and a writer that keeps losing gives up
 * after its tries rather than loop.
 */

/** A store whose reads are paused, in an order fast-check picks: the writers' reads and writes interleave. */
function interleaved(store: SharedStore, scheduler: fc.Scheduler): SharedStore {
  return Object.assign(Object.create(store) as SharedStore, {
    get: (key: string) => scheduler.schedule(store.get(key)),
  });
}

const increment = (current: string | undefined) => {
  const n = current === undefined ? 0 : Number(current);
  return { write: String(n + 1), answer: n + 1 };
};

test('racing writers: every change answered as done is in the record, none twice', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 4 }),
      async (s, writers, tries) => {
        const store = new MemoryStore();
        const raced = interleaved(store, s);
        const runs = Array.from({ length: writers }, () => changeRecord(raced, 'counter', 60_000, increment, tries));
        const outcomes = await s.waitFor(Promise.all(runs));
        const done = outcomes.filter((o) => o !== undefined);
        // The oracle: a counter. Each change that held added one; each answer is the value it wrote, so no two agree.
        expect(Number((await store.get('counter')) ?? 0)).toBe(done.length);
        expect(new Set(done.map((o) => o.answer)).size).toBe(done.length);
        // With as many tries as writers, a writer loses at most once to each other writer and still gets through.
        if (tries >= writers) expect(done).toHaveLength(writers);
      },
    ),
    { numRuns: 200 },
  );
});

test('an async decision (a record unsealed first) holds only on the value it was made from', async () => {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 5 }), async (s, writers) => {
      const store = new MemoryStore();
      const raced = interleaved(store, s);
      // The decision itself waits, as unsealing does: other writers may write meanwhile.
      const slowIncrement = (current: string | undefined) => s.schedule(Promise.resolve(increment(current)));
      const runs = Array.from({ length: writers }, () =>
        changeRecord(raced, 'counter', 60_000, slowIncrement, writers),
      );
      const outcomes = await s.waitFor(Promise.all(runs));
      expect(outcomes.every((o) => o !== undefined)).toBe(true);
      expect(Number(await store.get('counter'))).toBe(writers);
      expect(new Set(outcomes.map((o) => o!.answer)).size).toBe(writers);
    }),
    { numRuns: 100 },
  );
});

test('a record created or removed between the read and the write counts as changed', async () => {
  const store = new MemoryStore();
  let reads = 0;
  const meddled = Object.assign(Object.create(store) as SharedStore, {
    get: async (key: string) => {
      const value = await store.get(key);
      // After the first read, another writer creates the record; after the second, it removes it.
      if (reads === 0) await store.put(key, 'theirs', 60_000);
      if (reads === 1) await store.remove(key);
      reads++;
      return value;
    },
  });
  const seen: (string | undefined)[] = [];
  const outcome = await changeRecord(meddled, 'k', 60_000, (current) => {
    seen.push(current);
    return { write: current === undefined ? 'mine' : undefined, answer: seen.length };
  });
  // Read 1: none, so 'mine' is claimed, but 'theirs' came first. Read 2: 'theirs', so it is removed, but it was
  // gone already: removing what is gone does not hold either. Read 3: none, and 'mine' is claimed.
  expect(seen).toEqual([undefined, 'theirs', undefined]);
  expect(outcome).toEqual({ answer: 3 });
  expect(await store.get('k')).toBe('mine');
});

test('a decision to leave the record writes nothing, and one that throws is thrown with nothing written', async () => {
  const store = new MemoryStore();
  await store.put('k', 'v', 60_000);
  expect(await changeRecord(store, 'k', 60_000, () => ({ answer: 'left' }))).toEqual({ answer: 'left' });
  await expect(
    changeRecord(store, 'k', 60_000, () => {
      throw new Error('refused');
    }),
  ).rejects.toThrow('refused');
  expect(await store.get('k')).toBe('v');
  // No record and nothing to write: done at once.
  expect(await changeRecord(store, 'none', 60_000, () => ({ write: undefined, answer: 'gone' }))).toEqual({
    answer: 'gone',
  });
  expect(await store.get('none')).toBeUndefined();
});

test('a writer that loses every race gives up after its tries', async () => {
  const store = new MemoryStore();
  let reads = 0;
  const busy = Object.assign(Object.create(store) as SharedStore, {
    get: async (key: string) => {
      const value = await store.get(key);
      reads++;
      await store.put(key, `theirs-${reads}`, 60_000);
      return value;
    },
  });
  expect(await changeRecord(busy, 'k', 60_000, (c) => ({ write: `${c}+mine`, answer: 'done' }), 5)).toBeUndefined();
  expect(reads).toBe(5);
  expect(await store.get('k')).toBe('theirs-5');
});
