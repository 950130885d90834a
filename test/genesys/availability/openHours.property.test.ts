import { Temporal } from 'temporal-polyfill';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { OpenHours } from '../../../src/genesys/availability';
import { composeAnswer } from '../../../src/genesys/availability/answer';
import { DAY, hoursOf, Oracle, type Kind, type Rule, type Spec } from './openHoursOracle';

/**
 * Open hours against an independent evaluation (openHoursOracle.ts: Temporal's calendar arithmetic and its
 * `compatible` disambiguation, no rrule), the emergency outranking the schedule on the page.
 *
 * Inputs: every IANA zone whose offset changes between BASE and three years later (as Temporal sees it), and
 * every such change. For each change, OPEN_HOURS_RUNS schedule groups (daily, weekly, monthly and yearly rules,
 * one-off schedules, open schedules that touch or overlap, closed and holiday schedules, an emergency) placed
 * on the change's local times, checked at instants around the change and at each occurrence edge near it.
 * OPEN_HOURS_SEED replays a run; a failure names its seed, zone and change (docs/testing.md).
 *
 * @lane full — checks every clock change of three years against the oracle (about 20 s of CPU)
 */
const SEED = Number(process.env.OPEN_HOURS_SEED ?? 20_260_301);
const RUNS = Number(process.env.OPEN_HOURS_RUNS ?? 1);
/** Runs of the page's answer (the emergency over the schedule), times OPEN_HOURS_RUNS. */
const ANSWER_RUNS = 100;
/** Only this zone's changes (a failure names its zone). */
const ONLY_ZONE = process.env.OPEN_HOURS_ZONE;
const BASE = Temporal.Instant.from('2026-01-01T00:00:00Z');
const END = Temporal.Instant.from('2029-01-01T00:00:00Z');

interface Change {
  zone: string;
  /** The instant the offset changes (epoch ms). */
  at: number;
  /** The local date-time just before the change, and at it. */
  before: Temporal.PlainDateTime;
  after: Temporal.PlainDateTime;
}

function changesOfEveryZone(): Change[] {
  const found: Change[] = [];
  for (const zone of Intl.supportedValuesOf('timeZone')) {
    let cursor = BASE.toZonedDateTimeISO(zone);
    for (;;) {
      const next = cursor.getTimeZoneTransition('next');
      if (!next || Temporal.Instant.compare(next.toInstant(), END) >= 0) break;
      found.push({
        zone,
        at: next.epochMilliseconds,
        // 01:59:59.999… read up to 02:00: the local time the clock leaves.
        before: next
          .subtract({ nanoseconds: 1 })
          .toPlainDateTime()
          .round({ smallestUnit: 'minute', roundingMode: 'ceil' }),
        after: next.toPlainDateTime(),
      });
      cursor = next;
    }
  }
  return found;
}

// ---- Generated schedule groups ----------------------------------------------------------------------------

const MINUTE = 60_000;
/** The occurrence edges nearest the change that a run checks, each at the edge and a millisecond before. */
const EDGES_CHECKED = 3;

/** A local date-time on (or near) the change's day: the change's own local times, or an ordinary one. */
function wallNear(change: Change): fc.Arbitrary<Temporal.PlainDateTime> {
  const day = change.after.toPlainDate();
  const mid = change.before.add({
    minutes: Math.round(change.after.since(change.before, { largestUnit: 'minutes' }).minutes / 2),
  });
  return fc.oneof(
    fc.constantFrom(
      change.before,
      change.after,
      mid,
      change.before.subtract({ minutes: 30 }),
      change.after.add({ minutes: 30 }),
    ),
    fc
      .record({ days: fc.integer({ min: -1, max: 1 }), quarter: fc.integer({ min: 0, max: 95 }) })
      .map(({ days, quarter }) =>
        day.add({ days }).toPlainDateTime({ hour: Math.floor(quarter / 4), minute: (quarter % 4) * 15 }),
      ),
    fc.constantFrom(0, 8, 9, 12, 17).map((hour) => day.toPlainDateTime({ hour })),
  );
}

/** A rule, and how far before the change's day its first occurrence is (so the rule recurs onto that day). */
const ruleArb: fc.Arbitrary<{ rule: Rule; back: (at: Temporal.PlainDateTime) => Temporal.PlainDateTime }> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ rule: { freq: 'none' } as Rule, back: (at: Temporal.PlainDateTime) => at }) },
  {
    weight: 4,
    arbitrary: fc
      .record({
        interval: fc.integer({ min: 1, max: 3 }),
        periods: fc.integer({ min: 0, max: 20 }),
        count: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
      })
      .map(({ interval, periods, count }) => ({
        rule: { freq: 'daily', interval, count } as Rule,
        back: (at: Temporal.PlainDateTime) => at.subtract({ days: interval * periods }),
      })),
  },
  {
    weight: 4,
    arbitrary: fc
      .record({
        interval: fc.integer({ min: 1, max: 2 }),
        weeks: fc.integer({ min: 0, max: 8 }),
        others: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { maxLength: 6 }),
        count: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
      })
      .map(({ interval, weeks, others, count }) => ({
        rule: { freq: 'weekly', interval, days: others, count } as Rule,
        back: (at: Temporal.PlainDateTime) => at.subtract({ weeks: interval * weeks }),
      })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ interval: fc.integer({ min: 1, max: 2 }), months: fc.integer({ min: 0, max: 4 }) })
      .map(({ interval, months }) => ({
        rule: { freq: 'monthly', interval } as Rule,
        back: (at: Temporal.PlainDateTime) => at.subtract({ months: interval * months }),
      })),
  },
  {
    weight: 1,
    arbitrary: fc.constant({
      rule: { freq: 'yearly' } as Rule,
      back: (at: Temporal.PlainDateTime) => at.subtract({ years: 1 }),
    }),
  },
);

const minutesArb = fc.oneof(
  fc.constantFrom(30, 60, 90, 180, 300, 480, 540, 1440, 2880),
  fc.integer({ min: 1, max: 192 }).map((quarters) => quarters * 15),
);

function specArb(change: Change, kind: Kind): fc.Arbitrary<Spec> {
  return fc
    .record({
      at: wallNear(change),
      rule: ruleArb,
      length: fc.oneof(
        minutesArb.map((m) => ({ minutes: m })),
        wallNear(change),
      ),
    })
    .map(({ at, rule, length }) => {
      const start = rule.back(at);
      const end =
        length instanceof Temporal.PlainDateTime ? pinnedEnd(at, length).subtract(at.since(start)) : start.add(length);
      // The first day is one of BYDAY (RFC 5545: a start out of step with the rule gives an undefined set).
      const fixed: Rule =
        rule.rule.freq === 'weekly'
          ? { ...rule.rule, days: [...new Set([start.dayOfWeek, ...rule.rule.days])] }
          : rule.rule;
      return { kind, start, end, rule: fixed };
    })
    .filter((spec) => Temporal.PlainDateTime.compare(spec.end, spec.start) > 0);
}

/** An end on one of the change's local times: the same day if after the start, else the next. */
function pinnedEnd(start: Temporal.PlainDateTime, end: Temporal.PlainDateTime): Temporal.PlainDateTime {
  return Temporal.PlainDateTime.compare(end, start) > 0 ? end : end.add({ days: 1 });
}

/** Open schedules, some touching or overlapping the one before them, and closed and holiday ones. */
function groupArb(change: Change) {
  const touching = (first: Spec) =>
    fc.record({ lead: fc.constantFrom(0, 0, 60), minutes: minutesArb }).map(({ lead, minutes }) => {
      const start = first.end.subtract({ minutes: lead });
      return { ...first, start, end: start.add({ minutes }) };
    });
  const open = specArb(change, 'open').chain((first) =>
    fc.tuple(
      fc.constant(first),
      fc.option(touching(first), { nil: undefined }),
      fc.array(specArb(change, 'open'), { maxLength: 1 }),
    ),
  );
  return fc.record({
    open: open.map(([first, next, more]) => [first, ...(next ? [next] : []), ...more]),
    closed: fc.array(specArb(change, 'closed'), { maxLength: 2 }),
    holiday: fc.array(specArb(change, 'holiday'), { maxLength: 1 }),
    emergency: fc.boolean(),
    deltas: fc.array(
      fc.oneof(
        fc.constantFrom(
          0,
          -1,
          1,
          -1000,
          1000,
          -30 * MINUTE,
          30 * MINUTE,
          -60 * MINUTE,
          60 * MINUTE,
          -86_400_000,
          86_400_000,
        ),
        fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 }),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  });
}

// ---- The property -----------------------------------------------------------------------------------------

const PARTS = ['schedule', 'emergency'] as const;
/** Each change with its place in the list of every zone's, which seeds its runs (so OPEN_HOURS_ZONE replays them). */
const EVERY_CHANGE = changesOfEveryZone().map((change, index) => ({ ...change, index }));
const CHANGES = EVERY_CHANGE.filter((c) => !ONLY_ZONE || c.zone === ONLY_ZONE);

test('the zones and changes come from the runtime, as the oracle sees them', () => {
  const zones = new Set(EVERY_CHANGE.map((c) => c.zone));
  expect(zones.size).toBeGreaterThan(50);
  for (const zone of ['America/Los_Angeles', 'Europe/Berlin', 'Australia/Lord_Howe', 'America/Santiago']) {
    expect(zones).toContain(zone);
  }
  expect(zones).not.toContain('Asia/Tokyo');
});

type Group = ReturnType<typeof groupArb> extends fc.Arbitrary<infer G> ? G : never;

/** The instants a run checks: some around the change, and the occurrence edges nearest it and a millisecond before. */
function instantsOf(change: Change, oracle: Oracle, deltas: number[]): number[] {
  const edges = oracle
    .edgesBetween(change.at - 2 * DAY, change.at + 2 * DAY)
    .sort((a, b) => Math.abs(a - change.at) - Math.abs(b - change.at))
    .slice(0, EDGES_CHECKED);
  return [...deltas.map((d) => change.at + d), ...edges.flatMap((t) => [t - 1, t])];
}

/** Throws, with what was asked, when the two differ (cheaper than `expect` for thousands of agreeing checks). */
function same(actual: unknown, expected: unknown, asked: object): void {
  if (isDeepStrictEqual(actual, expected)) return;
  throw new Error(
    `${JSON.stringify(asked)}\n  expected ${JSON.stringify(expected)}\n  received ${JSON.stringify(actual)}`,
  );
}

/** Runs a property, naming the seed to replay it with when it fails. */
function holds<T>(what: string, arbitrary: fc.Arbitrary<T>, check: (value: T) => void, runs: number, seed: number) {
  try {
    fc.assert(fc.property(arbitrary, check), { seed, numRuns: runs });
  } catch (error) {
    const cause = (error as Error).cause instanceof Error ? `\n${((error as Error).cause as Error).message}` : '';
    throw new Error(`${what} (OPEN_HOURS_SEED=${SEED}, run seed ${seed})\n${(error as Error).message}${cause}`);
  }
}

test('the verdict, nextOpenAt, closesAt and the deciding kind match the oracle around every clock change of three years', () => {
  CHANGES.forEach((change) => {
    const check = ({ open, closed, holiday, deltas }: Group) => {
      const specs = [...open, ...closed, ...holiday];
      const hours = hoursOf(change.zone, specs);
      const oracle = new Oracle(change.zone, specs);
      const openHours = new OpenHours(hours);
      for (const now of instantsOf(change, oracle, deltas)) {
        const expected = oracle.answer(now);
        same(openHours.at(now), expected, { now: new Date(now).toISOString(), hours });
        // The schedule named as deciding (verify:genesys) is of the state's kind; none holding is closed.
        same(openHours.decidedBy(now)?.kind ?? 'closed', expected.state, { now: new Date(now).toISOString(), hours });
      }
    };
    holds(`${change.zone} at ${new Date(change.at).toISOString()}`, groupArb(change), check, RUNS, SEED + change.index);
  });
});

test("a page's answer: an emergency outranks the schedule, whose verdict is the oracle's", () => {
  const arbitrary = fc
    .integer({ min: 0, max: CHANGES.length - 1 })
    .chain((index) => groupArb(CHANGES[index]!).map((group) => ({ change: CHANGES[index]!, ...group })));
  const check = ({ change, open, closed, holiday, emergency, deltas }: Group & { change: Change }) => {
    const specs = [...open, ...closed, ...holiday];
    const hours = hoursOf(change.zone, specs);
    const oracle = new Oracle(change.zone, specs);
    for (const now of instantsOf(change, oracle, deltas)) {
      const facts = {
        refreshedAt: now,
        notBefore: now,
        schedule: { value: hours, readAt: now },
        emergency: { value: emergency, readAt: now },
      };
      const { open: isOpen, reason, nextOpenAt, closesAt } = composeAnswer(facts, PARTS, now).answer;
      const expected = oracle.answer(now);
      const verdict = emergency
        ? { open: false, reason: 'emergency', nextOpenAt: null, closesAt: null }
        : {
            open: expected.state === 'open',
            reason: expected.state,
            nextOpenAt: expected.nextOpenAt ?? null,
            closesAt: expected.closesAt ?? null,
          };
      same({ open: isOpen, reason, nextOpenAt, closesAt }, verdict, {
        now: new Date(now).toISOString(),
        emergency,
        hours,
      });
    }
  };
  holds('a schedule group with an emergency', arbitrary, check, ANSWER_RUNS * RUNS, SEED);
});
