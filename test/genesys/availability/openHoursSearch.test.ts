import { Temporal } from 'temporal-polyfill';
import fc from 'fast-check';
import { OpenHours } from '../../../src/genesys/availability';
import { DAY, hoursOf, HORIZON_MS, Oracle, type Kind, type Rule, type Spec } from './openHoursOracle';

/**
 * The search for the next change, against the independent oracle (openHoursOracle.ts): a change is found however
 * far ahead it is within the horizon (a year and two days), the answers of one OpenHours do not depend on what it
 * was asked before (earlier or later instants, in any order), and schedules that last days or weeks hold to their
 * last hour. Every zone this runtime knows; schedules that began months before the instants asked or begin after
 * them, and long closings that put the next opening months ahead.
 */
const SEED = 20_260_105;
const RUNS = 30;
const ZONES = Intl.supportedValuesOf('timeZone');
const BASE = Temporal.PlainDate.from('2026-01-05');
const BASE_MS = Date.parse('2026-01-05T00:00:00Z');
/** Where the search's windows end, as far past the instant asked (openHours.ts): a change there is found. */
const WINDOW_ENDS_DAYS = [8, 24, 56, 120, 248];

const count = fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined });
const ruleArb: fc.Arbitrary<Rule> = fc.oneof(
  fc.constant({ freq: 'none' } as const),
  fc
    .record({ interval: fc.integer({ min: 1, max: 3 }), count })
    .map(({ interval, count }) => ({ freq: 'daily', interval, count }) as const),
  fc
    .record({
      interval: fc.integer({ min: 1, max: 2 }),
      days: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { maxLength: 4 }),
      count,
    })
    .map(({ interval, days, count }) => ({ freq: 'weekly', interval, days, count }) as const),
  fc.integer({ min: 1, max: 2 }).map((interval) => ({ freq: 'monthly', interval }) as const),
  fc.constant({ freq: 'yearly' } as const),
);

/** A schedule of a kind: a start from four months before BASE to a month after, lasting minutes to weeks. */
function specArb(kind: Kind): fc.Arbitrary<Spec> {
  return fc
    .record({
      days: fc.integer({ min: -120, max: 30 }),
      quarter: fc.integer({ min: 0, max: 95 }),
      minutes: fc.oneof(
        fc.constantFrom(60, 480, 540, 1440),
        fc.integer({ min: 1, max: 96 }).map((quarters) => quarters * 15),
        fc.integer({ min: 1, max: 45 }).map((days) => days * 1440 + 30),
      ),
      rule: ruleArb,
    })
    .map(({ days, quarter, minutes, rule }) => {
      const start = BASE.add({ days }).toPlainDateTime({ hour: Math.floor(quarter / 4), minute: (quarter % 4) * 15 });
      // The first day is one of BYDAY (RFC 5545: a start out of step with the rule gives an undefined set).
      const fixed: Rule =
        rule.freq === 'weekly' ? { ...rule, days: [...new Set([start.dayOfWeek, ...rule.days])] } : rule;
      return { kind, start, end: start.add({ minutes }), rule: fixed };
    });
}

const groupArb = fc.record({
  zone: fc.constantFrom(...ZONES),
  open: fc.array(specArb('open'), { minLength: 1, maxLength: 2 }),
  closed: fc.array(specArb('closed'), { maxLength: 2 }),
  holiday: fc.array(specArb('holiday'), { maxLength: 1 }),
  /** The instants asked, in this order, from a month before BASE to a year and two months after. */
  asked: fc.array(
    fc.integer({ min: -30 * DAY, max: 420 * DAY }).map((d) => BASE_MS + d),
    {
      minLength: 1,
      maxLength: 3,
    },
  ),
  /** Which coming changes of the first instant are asked about from as far before as a window's end. */
  edges: fc.array(fc.nat(), { maxLength: 2 }),
});

test('each answer of one OpenHours is the oracle’s, asked in any order, however far ahead the change', () => {
  fc.assert(
    fc.property(groupArb, ({ zone, open, closed, holiday, asked, edges }) => {
      const specs = [...open, ...closed, ...holiday];
      const oracle = new Oracle(zone, specs);
      const hours = new OpenHours(hoursOf(zone, specs));
      const first = asked[0]!;
      const coming = oracle.edgesBetween(first + 1, first + HORIZON_MS).sort((a, b) => a - b);
      const before = edges.flatMap((pick) => {
        const edge = coming[pick % Math.max(1, coming.length)];
        return edge === undefined ? [] : WINDOW_ENDS_DAYS.map((days) => edge - days * DAY);
      });
      for (const now of [...asked, ...before]) {
        const expected = oracle.answer(now);
        const asking = { zone, now: new Date(now).toISOString(), hours: hoursOf(zone, specs) };
        expect({ asking, answer: hours.at(now) }).toStrictEqual({ asking, answer: expected });
        expect({ asking, decidedBy: hours.decidedBy(now)?.kind ?? 'closed' }).toEqual({
          asking,
          decidedBy: expected.state,
        });
      }
    }),
    { seed: SEED, numRuns: RUNS },
  );
});
