import fc from 'fast-check';
import { CanaryRecords, type CanaryRecord } from '../../../src/deployments/canary/canaryRecords';
import { MemoryStore } from '../../../src/store';

/** How `GET /canary` lists a deployment's runs (canaryRecords.ts), whichever order they end in. */

const run = (slot: number): CanaryRecord => ({
  slot,
  outcome: 'ok',
  steps: [],
  durationMs: 1,
  startedAt: new Date(slot * 60_000).toISOString(),
  traceId: '0'.repeat(32),
  instance: 'i',
});

test('a run that outlasts its interval is listed behind the next interval’s run, not before it', async () => {
  const records = new CanaryRecords(new MemoryStore(), 10, 60_000);
  await records.add(run(7));
  // The run for interval 8 is slow: the run for 9 ends first.
  await records.add(run(9));
  await records.add(run(8));
  expect((await records.recent()).map((r) => r.slot)).toEqual([9, 8, 7]);
});

test('after the interval is raised, new runs are listed first, though their slots count longer intervals', async () => {
  const records = new CanaryRecords(new MemoryStore(), 3, 60_000);
  const at = (minute: number, intervalMs: number): CanaryRecord => ({
    ...run(Math.floor((minute * 60_000) / intervalMs) + 1),
    startedAt: new Date(minute * 60_000).toISOString(),
  });
  // Every minute, then every five: the later slots are smaller numbers.
  for (const minute of [100, 101, 102]) await records.add(at(minute, 60_000));
  await records.add(at(105, 300_000));
  await records.add(at(110, 300_000));
  expect((await records.recent()).map((r) => r.startedAt)).toEqual(
    [110, 105, 102].map((m) => new Date(m * 60_000).toISOString()),
  );
});

test('in any order of ending, the list holds the newest intervals, newest first, at most `keep`', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 1, max: 12 }),
      async (ended, keep) => {
        const records = new CanaryRecords(new MemoryStore(), keep, 60_000);
        for (const slot of ended) await records.add(run(slot));
        // The oracle: every slot that ended, newest first, the first `keep`.
        const expected = [...ended].sort((a, b) => b - a).slice(0, keep);
        expect((await records.recent()).map((r) => r.slot)).toEqual(expected);
      },
    ),
  );
});

/** A store on which another instance writes the list between this one's read and its write, `times` times. */
function overtaken(times: number) {
  const store = new MemoryStore();
  const other = new CanaryRecords(store, 10, 60_000);
  let left = times;
  let otherSlot = 100;
  let reads = 0;
  const overtake = async () => {
    if (left-- > 0) await other.add(run(otherSlot++));
  };
  const racing = {
    get: (key: string) => (reads++, store.get(key)),
    claim: async (key: string, value: string, ttlMs: number) => (await overtake(), store.claim(key, value, ttlMs)),
    swap: async (key: string, expected: string, value: string | undefined, ttlMs: number) => (
      await overtake(),
      store.swap(key, expected, value, ttlMs)
    ),
  };
  return { store, racing, reads: () => reads };
}

test('a write another instance overtook is tried again over what it wrote: both runs are listed', async () => {
  for (const times of [1, 2]) {
    const { store, racing } = overtaken(times);
    // The first try finds no list (claim), a second finds the other's (swap).
    await new CanaryRecords(racing, 10, 60_000).add(run(7));
    const slots = (await new CanaryRecords(store, 10, 60_000).recent()).map((r) => r.slot);
    expect(slots).toEqual([...Array.from({ length: times }, (_, i) => 100 + times - 1 - i), 7]);
  }
});

test('overtaken on every try, a run is given up after five tries: the list is left as the others wrote it', async () => {
  const { store, racing, reads } = overtaken(Infinity);
  await new CanaryRecords(racing, 10, 60_000).add(run(7));
  expect(reads()).toBe(5);
  const slots = (await new CanaryRecords(store, 10, 60_000).recent()).map((r) => r.slot);
  expect(slots).toEqual([104, 103, 102, 101, 100]);
});
