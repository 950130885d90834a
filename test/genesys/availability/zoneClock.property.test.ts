import { Temporal } from 'temporal-polyfill';
import fc from 'fast-check';
import { ZoneClock } from '../../../src/genesys/availability/zoneClock';

/**
 * A time zone's wall clock (zoneClock.ts) against Temporal's: the wall clock an instant shows, the instant a
 * local time names (RFC 5545's reading, Temporal's `compatible` disambiguation: a time the clock shows twice is
 * its first showing, a time it skips lands as far past the change as it was into the gap), and the ISO 8601 text
 * with the offset that open hours are published in. Zones: every one this runtime knows; local times on and
 * around their clock changes, to the millisecond.
 */
const ZONES = Intl.supportedValuesOf('timeZone');
const DAY = 86_400_000;
const SEED = 20_261_025;
const RUNS = 400;

const floating = (t: Temporal.PlainDateTime) =>
  Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second, t.millisecond);
const zoned = (instant: number, zone: string) =>
  Temporal.Instant.fromEpochMilliseconds(instant).toZonedDateTimeISO(zone);
const between = (from: string, to: string) => fc.integer({ min: Date.parse(from), max: Date.parse(to) });

const zoneArb = fc.constantFrom(...ZONES);
/** An instant, mostly in years open hours are asked about, some back to years written with three digits. */
const instantArb = fc.oneof(
  { weight: 4, arbitrary: between('1980-01-01T00:00:00Z', '2100-01-01T00:00:00Z') },
  { weight: 1, arbitrary: between('0500-01-01T00:00:00Z', '1980-01-01T00:00:00Z') },
);

/** A local time near the zone's next clock change after some instant (or anywhere, where it has none). */
const wallNearChangeArb = fc
  .record({
    zone: zoneArb,
    after: between('1990-01-01T00:00:00Z', '2060-01-01T00:00:00Z'),
    minutes: fc.oneof(fc.integer({ min: -90, max: 90 }), fc.integer({ min: -26 * 60, max: 26 * 60 })),
    ms: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 59_999 })),
  })
  .map(({ zone, after, minutes, ms }) => {
    const change = zoned(after, zone).getTimeZoneTransition('next') ?? zoned(after, zone);
    return { zone, wall: floating(change.toPlainDateTime()) + minutes * 60_000 + ms };
  });

const check = <T>(arbitrary: fc.Arbitrary<T>, predicate: (value: T) => void) =>
  fc.assert(fc.property(arbitrary, predicate), { seed: SEED, numRuns: RUNS });

test('the wall clock an instant shows is the one Temporal shows, to the millisecond', () => {
  check(fc.record({ zone: zoneArb, instant: instantArb }), ({ zone, instant }) => {
    expect(new ZoneClock(zone).wallOf(instant)).toBe(floating(zoned(instant, zone).toPlainDateTime()));
  });
});

test('a local time names the instant Temporal names with "compatible": the first of two, past a gap', () => {
  const instantOf = (zone: string, wall: number) =>
    Temporal.Instant.fromEpochMilliseconds(wall)
      .toZonedDateTimeISO('UTC')
      .toPlainDateTime()
      .toZonedDateTime(zone, { disambiguation: 'compatible' }).epochMilliseconds;
  check(wallNearChangeArb, ({ zone, wall }) => {
    expect(new ZoneClock(zone).instantOf(wall)).toBe(instantOf(zone, wall));
  });
  check(
    fc.record({ zone: zoneArb, wall: between('1980-01-01T00:00:00Z', '2100-01-01T00:00:00Z') }),
    ({ zone, wall }) => {
      expect(new ZoneClock(zone).instantOf(wall)).toBe(instantOf(zone, wall));
    },
  );
});

test('an instant is written with the offset Temporal gives it, to the second', () => {
  const near = wallNearChangeArb.map(({ zone, wall }) => ({ zone, instant: wall - DAY / 2 }));
  check(
    fc.oneof(near, fc.record({ zone: zoneArb, instant: instantArb.filter((t) => t >= 315_532_800_000) })),
    ({ zone, instant }) => {
      const expected = zoned(instant, zone).toString({ smallestUnit: 'second', timeZoneName: 'never' });
      expect(new ZoneClock(zone).format(instant)).toBe(expected);
    },
  );
});
