import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  commitOrTimeSeed,
  drawSeeds,
  keepRegression,
  planRuns,
  readRegressions,
  REGRESSIONS_FILE,
  pushCustomers,
  replayCommand,
  seedOfCommit,
  seedRange,
  type RegressionCase,
  type SeedSources,
} from './seeds';

/**
 * Which seeds a soak command runs (test/soak/seeds.ts): the seed CI derives from the commit, seeds drawn at run
 * time, ranges, and the regression cases a failing seed is kept as.
 */

const SHA = '9f3a06c2d1e8b7a4c5d6e7f8091a2b3c4d5e6f70';
const NOW = Date.parse('2026-11-26T12:00:00Z');

function sources(change: Partial<SeedSources> = {}): SeedSources {
  let next = 1000;
  return { head: () => SHA, now: () => NOW, draw: () => (next += 7), regressions: () => [], ...change };
}

describe('the seed of a commit', () => {
  test.each([
    [SHA, 0x9f3a06c2],
    ['00000000ffff', 0],
    ['ffffffff', 0xffffffff],
    ['ABCDEF01', 0xabcdef01],
  ])('%s gives %i', (sha, seed) => {
    expect(seedOfCommit(sha)).toBe(seed);
  });

  test.each(['', '9f3a06', 'not-a-sha', 'g0000000'])('%j is refused', (sha) => {
    expect(() => seedOfCommit(sha)).toThrow('not a commit id');
  });

  test.each<[string, string | undefined, number, string]>([
    ['the commit, as git prints it', `${SHA}\n`, 0x9f3a06c2, 'commit 9f3a06c2'],
    ['the time without git', undefined, Math.floor(NOW / 1000), 'the time (no commit): 2026-11-26T12:00:00.000Z'],
    ['the time when git prints nothing useful', 'fatal: not a git repository', Math.floor(NOW / 1000), 'the time'],
  ])('%s', (_, head, seed, origin) => {
    const derived = commitOrTimeSeed(head, NOW);
    expect(derived.seed).toBe(seed);
    expect(derived.origin.startsWith(origin)).toBe(true);
  });

  test('a time-derived seed stays a 32-bit number', () => {
    expect(commitOrTimeSeed(undefined, 2 ** 33 * 1000 + 5000).seed).toBe(5);
  });
});

describe('seeds drawn at run time', () => {
  test('are distinct, however the source repeats itself', () => {
    const values = [5, 5, 9, 5, 9, 12];
    expect(drawSeeds(3, () => values.shift()!)).toEqual([5, 9, 12]);
  });

  test('come from a fresh random source by default, as 32-bit numbers', () => {
    const seeds = drawSeeds(20);
    expect(new Set(seeds).size).toBe(20);
    for (const seed of seeds) expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32).toBe(true);
    expect(drawSeeds(20)).not.toEqual(seeds);
  });
});

describe('a seed range', () => {
  test.each<[string, number[] | undefined]>([
    ['3..5', [3, 4, 5]],
    ['7..7', [7]],
    ['0..99', Array.from({ length: 100 }, (_, i) => i)],
    ['0..100', undefined],
    ['5..3', undefined],
    ['3-5', undefined],
    ['a..b', undefined],
  ])('%s', (value, seeds) => {
    expect(seedRange(value)).toEqual(seeds);
  });
});

describe('the runs a command line asks for', () => {
  const settings = { minutes: 10, instances: 4, sessions: 24 };
  test.each<[string, string[], { choice: string; seeds: number[]; minutes?: number; origin?: string }]>([
    ['no seed: one drawn', [], { choice: 'single', seeds: [1007], origin: 'drawn at run time' }],
    ['a seed given', ['--seed', '123', '--minutes', '2'], { choice: 'single', seeds: [123], minutes: 2 }],
    ['seed 0', ['--seed', '0'], { choice: 'single', seeds: [0] }],
    ['the commit', ['--seed', 'commit'], { choice: 'single', seeds: [0x9f3a06c2], origin: 'commit 9f3a06c2' }],
    ['N drawn', ['--seeds', '3', '--minutes', '5'], { choice: 'seeds', seeds: [1007, 1014, 1021], minutes: 5 }],
    ['a range', ['--seeds', '10..12'], { choice: 'seeds', seeds: [10, 11, 12], origin: 'the range 10..12' }],
  ])('%s', (_, argv, expected) => {
    const plan = planRuns(argv, sources());
    expect(plan.choice).toBe(expected.choice);
    expect(plan.runs).toEqual(
      expected.seeds.map((seed) => ({ ...settings, seed, minutes: expected.minutes ?? settings.minutes })),
    );
    if (expected.origin) expect(plan.origin).toBe(expected.origin);
  });

  test('the regression cases run at the settings each failed at', () => {
    const cases: RegressionCase[] = [
      { seed: 4, minutes: 2, instances: 4, sessions: 24, failedWith: ['stuck'], found: '2026-11-26' },
      { seed: 9, minutes: 5, instances: 3, sessions: 12, failedWith: ['slow'], found: '2026-11-27', commit: 'abc' },
    ];
    const plan = planRuns(['--regressions'], sources({ regressions: () => cases }));
    expect(plan).toMatchObject({ choice: 'regressions', origin: 'the seeds that once failed' });
    expect(plan.runs).toEqual([
      { seed: 4, minutes: 2, instances: 4, sessions: 24 },
      { seed: 9, minutes: 5, instances: 3, sessions: 12 },
    ]);
  });

  test('--out is resolved', () => {
    expect(planRuns(['--out', 'soak-out'], sources()).out).toBe(path.resolve('soak-out'));
  });

  test.each<[string, string[], string]>([
    ['two ways of choosing seeds', ['--seed', '1', '--seeds', '3'], 'choose the seeds twice'],
    ['a seed and the regressions', ['--regressions', '--seed', '1'], 'choose the seeds twice'],
    ['a seed past 32 bits', ['--seed', String(2 ** 32)], '--seed takes'],
    ['a negative seed', ['--seed', '-1'], '--seed takes'],
    ['no seeds', ['--seeds', '0'], '--seeds takes'],
    ['too many seeds', ['--seeds', '101'], '--seeds takes'],
    ['a backward range', ['--seeds', '9..3'], '--seeds takes'],
    ['a flag without its value', ['--minutes'], '--minutes needs a value'],
    ['an unknown flag', ['--hours', '2'], 'bad argument --hours 2'],
    ['minutes out of bounds', ['--minutes', '0'], 'bad argument --minutes 0'],
    ['no regression case yet', ['--regressions'], 'no seed has failed yet'],
  ])('refuses %s', (_, argv, message) => {
    expect(() => planRuns(argv, sources())).toThrow(message);
  });

  test('each run is replayed by one command', () => {
    expect(replayCommand({ seed: 42, minutes: 2, instances: 4, sessions: 24 }, {})).toBe(
      'npm run soak -- --minutes 2 --seed 42 --instances 4 --sessions 24',
    );
  });

  test('customers opt in to Web Push unless SOAK_PUSH=0, which the replay command then carries', () => {
    expect([pushCustomers({}), pushCustomers({ SOAK_PUSH: '1' }), pushCustomers({ SOAK_PUSH: '0' })]).toEqual([
      true,
      true,
      false,
    ]);
    expect(replayCommand({ seed: 42, minutes: 2, instances: 4, sessions: 24 }, { SOAK_PUSH: '0' })).toBe(
      'SOAK_PUSH=0 npm run soak -- --minutes 2 --seed 42 --instances 4 --sessions 24',
    );
  });
});

describe('regression cases', () => {
  const found: RegressionCase = {
    seed: 42,
    minutes: 2,
    instances: 4,
    sessions: 24,
    failedWith: ['stuck'],
    found: '2026-11-26',
  };

  test('a failing seed is kept once, with the settings it failed at', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'soak-regressions-')), 'regressions.json');
    expect(keepRegression(found, file)).toBe(true);
    expect(keepRegression({ ...found, failedWith: ['slow'] }, file)).toBe(false);
    expect(keepRegression({ ...found, minutes: 5 }, file)).toBe(true);
    expect(readRegressions(file)).toEqual([found, { ...found, minutes: 5 }]);
    fs.rmSync(path.dirname(file), { recursive: true });
  });

  test('the committed cases are each a run the soak can replay', () => {
    for (const c of readRegressions(REGRESSIONS_FILE)) {
      const argv = ['--seed', String(c.seed), '--minutes', String(c.minutes)];
      const plan = planRuns([...argv, '--instances', String(c.instances), '--sessions', String(c.sessions)], sources());
      expect(plan.runs).toEqual([{ seed: c.seed, minutes: c.minutes, instances: c.instances, sessions: c.sessions }]);
      expect(c.failedWith.length).toBeGreaterThan(0);
    }
  });
});
