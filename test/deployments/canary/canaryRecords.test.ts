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
