import { OpenHours } from '../../../src/genesys/availability';

/**
 * Open hours evaluated in the schedule group's zone: the local wall clock holds across daylight-saving
 * changes, holidays outrank closed schedules and closed ones outrank open ones, and the next opening skips
 * whatever closes the centre in between.
 */
const WEEKDAYS = {
  start: '2026-01-05T09:00:00.000',
  end: '2026-01-05T17:00:00.000',
  rrule: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR',
};
const at = (hours: OpenHours, iso: string) => hours.at(Date.parse(iso));

describe('a weekly schedule across the end of summer time in Berlin (2026-10-25)', () => {
  const hours = new OpenHours({ timeZone: 'Europe/Berlin', open: [WEEKDAYS], closed: [], holiday: [] });

  test('open on the Friday before, closing at 17:00 CEST', () => {
    expect(at(hours, '2026-10-23T14:00:00Z')).toMatchObject({ state: 'open', closesAt: '2026-10-23T17:00:00+02:00' });
  });

  test('closed over the weekend, opening Monday 09:00 CET', () => {
    const answer = at(hours, '2026-10-24T10:00:00Z');
    expect(answer).toMatchObject({ state: 'closed', nextOpenAt: '2026-10-26T09:00:00+01:00' });
    expect(answer.changesAt).toBe(Date.parse('2026-10-26T08:00:00Z'));
  });

  test('on Monday 08:30 UTC it is 09:30 local: open', () => {
    expect(at(hours, '2026-10-26T08:30:00Z')).toMatchObject({ state: 'open' });
    expect(at(hours, '2026-10-26T07:30:00Z')).toMatchObject({ state: 'closed' });
  });
});

describe('precedence', () => {
  test('a holiday outranks the open hours; the next opening is after it', () => {
    const hours = new OpenHours({
      timeZone: 'Europe/Dublin',
      open: [WEEKDAYS],
      closed: [],
      holiday: [{ start: '2026-12-25T00:00:00.000', end: '2026-12-26T00:00:00.000', rrule: 'FREQ=YEARLY' }],
    });
    expect(at(hours, '2026-12-25T12:00:00Z')).toMatchObject({
      state: 'holiday',
      nextOpenAt: '2026-12-28T09:00:00+00:00',
    });
    expect(at(hours, '2027-12-24T12:00:00Z')).toMatchObject({ state: 'open', closesAt: '2027-12-24T17:00:00+00:00' });
  });

  test('a closed schedule inside the open hours closes early and reopens after it', () => {
    const hours = new OpenHours({
      timeZone: 'America/New_York',
      open: [WEEKDAYS],
      closed: [{ start: '2026-01-05T12:00:00.000', end: '2026-01-05T13:00:00.000', rrule: 'FREQ=DAILY' }],
      holiday: [],
    });
    expect(at(hours, '2026-06-02T15:00:00Z')).toMatchObject({ state: 'open', closesAt: '2026-06-02T12:00:00-04:00' });
    expect(at(hours, '2026-06-02T16:30:00Z')).toMatchObject({
      state: 'closed',
      nextOpenAt: '2026-06-02T13:00:00-04:00',
    });
  });

  test('the deciding schedule is of the outranking kind, the first of its list that holds; none holding is none', () => {
    const lunch = { start: '2026-01-05T12:00:00.000', end: '2026-01-05T13:00:00.000', rrule: 'FREQ=DAILY' };
    const hours = new OpenHours({
      timeZone: 'UTC',
      open: [{ ...WEEKDAYS, start: '2026-01-05T13:00:00.000' }, WEEKDAYS],
      closed: [{ ...lunch, start: '2026-01-05T06:00:00.000', end: '2026-01-05T07:00:00.000' }, lunch],
      holiday: [],
    });
    expect(hours.decidedBy(Date.parse('2026-06-02T10:00:00Z'))).toEqual({ kind: 'open', index: 1 });
    expect(hours.decidedBy(Date.parse('2026-06-02T14:00:00Z'))).toEqual({ kind: 'open', index: 0 });
    expect(hours.decidedBy(Date.parse('2026-06-02T12:30:00Z'))).toEqual({ kind: 'closed', index: 1 });
    expect(hours.decidedBy(Date.parse('2026-06-02T20:00:00Z'))).toBeUndefined();
    // At an edge the occurrence that starts there holds the instant, the one that ends there no longer does.
    expect(hours.decidedBy(Date.parse('2026-06-02T12:00:00Z'))).toEqual({ kind: 'closed', index: 1 });
    expect(hours.decidedBy(Date.parse('2026-06-02T13:00:00Z'))).toEqual({ kind: 'open', index: 0 });
    expect(hours.decidedBy(Date.parse('2026-06-02T07:00:00Z'))).toBeUndefined();
    expect(hours.decidedBy(Date.parse('2026-06-02T17:00:00Z'))).toBeUndefined();
  });

  test('no open schedule at all: closed, with no next opening', () => {
    const hours = new OpenHours({ timeZone: 'UTC', open: [], closed: [], holiday: [] });
    expect(at(hours, '2026-06-02T15:00:00Z')).toStrictEqual({ state: 'closed' });
  });
});

/** A daily schedule from `from` to `to` local time in `timeZone`, starting well before the dates below. */
const daily = (timeZone: string, from: string, to: string) =>
  new OpenHours({
    timeZone,
    open: [{ start: `2026-01-01T${from}:00.000`, end: `2026-01-01T${to}:00.000`, rrule: 'FREQ=DAILY' }],
    closed: [],
    holiday: [],
  });

describe('a local time on a clock-change day names the instant the wall clock shows it', () => {
  test.each([
    ['America/Los_Angeles', '2027-03-14T08:00:00-07:00'],
    ['America/Denver', '2027-03-14T08:00:00-06:00'],
    ['America/Chicago', '2027-03-14T08:00:00-05:00'],
  ])('spring-forward Sunday in %s opens at 08:00', (zone, opens) => {
    // Saturday evening, local time, with the change still to come.
    expect(at(daily(zone, '08:00', '17:00'), '2027-03-14T04:00:00Z')).toMatchObject({
      state: 'closed',
      nextOpenAt: opens,
    });
    expect(daily(zone, '08:00', '17:00').at(Date.parse(opens) - 1)).toMatchObject({ state: 'closed' });
    expect(daily(zone, '08:00', '17:00').at(Date.parse(opens))).toMatchObject({ state: 'open' });
  });

  test('spring-forward Sunday in Los Angeles opens at 08:00', () => {
    expect(at(daily('America/Los_Angeles', '08:00', '17:00'), '2027-03-14T09:00:00Z')).toMatchObject({
      nextOpenAt: '2027-03-14T08:00:00-07:00',
      changesAt: Date.parse('2027-03-14T15:00:00Z'),
    });
  });

  // Read in one pass (the offset at the wall time read as UTC), 08:00 would be 07:00: 15:00 UTC is still summer time.
  test('fall-back Sunday in Los Angeles opens at 08:00, not an hour early', () => {
    const hours = daily('America/Los_Angeles', '08:00', '17:00');
    expect(at(hours, '2026-11-01T12:00:00Z')).toMatchObject({
      state: 'closed',
      nextOpenAt: '2026-11-01T08:00:00-08:00',
      changesAt: Date.parse('2026-11-01T16:00:00Z'),
    });
    expect(at(hours, '2026-11-01T15:30:00Z')).toMatchObject({ state: 'closed' });
  });

  test('spring-forward Sunday in Berlin opens at 01:30 CET, not an hour early', () => {
    expect(at(daily('Europe/Berlin', '01:30', '17:00'), '2026-03-28T22:00:00Z')).toMatchObject({
      nextOpenAt: '2026-03-29T01:30:00+01:00',
    });
  });

  test("Berlin's 01:30 on the fall-back day is 01:30 summer time, not 02:30", () => {
    expect(at(daily('Europe/Berlin', '01:30', '17:00'), '2026-10-24T22:00:00Z')).toMatchObject({
      nextOpenAt: '2026-10-25T01:30:00+02:00',
    });
  });

  test('a time the fall-back shows twice is its first showing (RFC 5545, Temporal "compatible")', () => {
    const hours = daily('Europe/Berlin', '02:30', '17:00');
    expect(at(hours, '2026-10-24T22:00:00Z')).toMatchObject({ nextOpenAt: '2026-10-25T02:30:00+02:00' });
    // The second showing of 02:30 is inside the open hours that began at the first.
    expect(at(hours, '2026-10-25T01:30:00Z')).toMatchObject({ state: 'open', closesAt: '2026-10-25T17:00:00+01:00' });
  });

  test('a time the spring-forward skips lands as far past the change as it was into the gap', () => {
    expect(at(daily('America/Los_Angeles', '02:30', '17:00'), '2027-03-14T08:00:00Z')).toMatchObject({
      nextOpenAt: '2027-03-14T03:30:00-07:00',
    });
  });
});

describe('closesAt is the end of the whole open period', () => {
  const ALL_DAY = { start: '2024-01-01T00:00:00.000', end: '2024-01-02T00:00:00.000', rrule: 'FREQ=DAILY' };

  test('a 24/7 centre (one all-day daily schedule) has no midnight closesAt', () => {
    const hours = new OpenHours({ timeZone: 'Europe/Berlin', open: [ALL_DAY], closed: [], holiday: [] });
    for (const instant of ['2026-06-02T21:59:59Z', '2026-06-02T22:00:00Z', '2026-10-24T23:30:00Z']) {
      expect(at(hours, instant)).toEqual({ state: 'open' });
    }
  });

  test('09:00-12:00 and 12:00-17:00 close at 17:00, not at noon', () => {
    const hours = new OpenHours({
      timeZone: 'Europe/Berlin',
      open: [
        { start: '2026-01-05T09:00:00.000', end: '2026-01-05T12:00:00.000', rrule: 'FREQ=DAILY' },
        { start: '2026-01-05T12:00:00.000', end: '2026-01-05T17:00:00.000', rrule: 'FREQ=DAILY' },
      ],
      closed: [],
      holiday: [],
    });
    expect(at(hours, '2026-06-02T08:00:00Z')).toMatchObject({ state: 'open', closesAt: '2026-06-02T17:00:00+02:00' });
  });

  test('overlapping open schedules close when the later one ends', () => {
    const hours = new OpenHours({
      timeZone: 'Europe/Berlin',
      open: [
        { start: '2026-01-05T12:00:00.000', end: '2026-01-05T20:00:00.000', rrule: 'FREQ=WEEKLY;BYDAY=MO' },
        { start: '2026-01-05T09:00:00.000', end: '2026-01-05T13:00:00.000', rrule: WEEKDAYS.rrule },
      ],
      closed: [],
      holiday: [],
    });
    expect(at(hours, '2026-06-01T08:00:00Z')).toMatchObject({ state: 'open', closesAt: '2026-06-01T20:00:00+02:00' });
    expect(at(hours, '2026-06-02T08:00:00Z')).toMatchObject({ state: 'open', closesAt: '2026-06-02T13:00:00+02:00' });
  });

  test('open around the clock across days, cut short by a closed schedule or a holiday that starts inside', () => {
    const hours = new OpenHours({
      timeZone: 'America/New_York',
      open: [ALL_DAY],
      closed: [{ start: '2026-06-06T22:00:00.000', end: '2026-06-07T06:00:00.000' }],
      holiday: [{ start: '2026-07-04T00:00:00.000', end: '2026-07-05T00:00:00.000', rrule: 'FREQ=YEARLY' }],
    });
    expect(at(hours, '2026-06-02T12:00:00Z')).toMatchObject({ state: 'open', closesAt: '2026-06-06T22:00:00-04:00' });
    expect(at(hours, '2026-06-07T12:00:00Z')).toMatchObject({ state: 'open', closesAt: '2026-07-04T00:00:00-04:00' });
  });

  test('a centre that stays open past the horizon (a year and two days) has no closesAt', () => {
    const hours = new OpenHours({
      timeZone: 'UTC',
      open: [ALL_DAY],
      closed: [],
      holiday: [{ start: '2028-01-01T00:00:00.000', end: '2028-01-02T00:00:00.000' }],
    });
    expect(at(hours, '2027-01-01T00:00:00Z')).toMatchObject({ state: 'open', closesAt: '2028-01-01T00:00:00+00:00' });
    expect(at(hours, '2026-12-01T00:00:00Z')).toEqual({ state: 'open' });
  });
});

describe('how a schedule is written', () => {
  test('local times to the second, or to the minute only', () => {
    const hours = new OpenHours({
      timeZone: 'Europe/Berlin',
      open: [{ start: '2026-01-05T09:00:30.000', end: '2026-01-05T17:00:45', rrule: 'FREQ=DAILY' }],
      closed: [{ start: '2026-06-03T12:00', end: '2026-06-03T13:15' }],
      holiday: [],
    });
    expect(at(hours, '2026-06-02T06:00:00Z')).toMatchObject({ nextOpenAt: '2026-06-02T09:00:30+02:00' });
    expect(at(hours, '2026-06-02T12:00:00Z')).toMatchObject({ closesAt: '2026-06-02T17:00:45+02:00' });
    expect(at(hours, '2026-06-03T08:00:00Z')).toMatchObject({ closesAt: '2026-06-03T12:00:00+02:00' });
    expect(at(hours, '2026-06-03T10:30:00Z')).toMatchObject({ nextOpenAt: '2026-06-03T13:15:00+02:00' });
  });

  test('a rule written with its name (RRULE:), in either case, is the same rule', () => {
    for (const rrule of ['RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', 'rrule:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR']) {
      const hours = new OpenHours({
        timeZone: 'Europe/Berlin',
        open: [{ ...WEEKDAYS, rrule }],
        closed: [],
        holiday: [],
      });
      expect(at(hours, '2026-10-23T14:00:00Z')).toMatchObject({ closesAt: '2026-10-23T17:00:00+02:00' });
      expect(at(hours, '2026-10-24T10:00:00Z')).toMatchObject({ nextOpenAt: '2026-10-26T09:00:00+01:00' });
    }
  });
});

describe('how far ahead a change is found', () => {
  const ALL_DAY = { start: '2026-01-01T00:00:00.000', end: '2026-01-02T00:00:00.000', rrule: 'FREQ=DAILY' };

  // The search looks at windows ending 8, 24, 56, 120 and 248 days ahead, then at the horizon (openHours.ts), and
  // expands a rule as far past what it asks: a change on a window's end, or in the horizon's last day, is found.
  test.each([
    ['1 day', 24],
    ['8 days', 8 * 24],
    ['24 days', 24 * 24],
    ['56 days', 56 * 24],
    ['120 days', 120 * 24],
    ['248 days', 248 * 24],
    ['300 days', 300 * 24],
    ['366 days and 20 hours', 366 * 24 + 20],
    ['367 days (the horizon)', 367 * 24],
  ])('a reopening %s ahead, to the second', (_, hoursAhead) => {
    const now = Date.parse('2026-03-02T10:00:00Z');
    const reopens = now + hoursAhead * 3_600_000;
    const hours = new OpenHours({
      timeZone: 'UTC',
      open: [ALL_DAY],
      closed: [{ start: '2026-03-02T00:00:00.000', end: new Date(reopens).toISOString().slice(0, 23) }],
      holiday: [],
    });
    expect(hours.at(now)).toStrictEqual({
      state: 'closed',
      nextOpenAt: new Date(reopens).toISOString().replace('.000Z', '+00:00'),
      changesAt: reopens,
    });
  });

  test('a reopening past the horizon is not in sight', () => {
    const now = Date.parse('2026-03-02T10:00:00Z');
    const hours = new OpenHours({
      timeZone: 'UTC',
      open: [ALL_DAY],
      closed: [
        { start: '2026-03-02T00:00:00.000', end: new Date(now + 367 * 86_400_000 + 1000).toISOString().slice(0, 23) },
      ],
      holiday: [],
    });
    expect(hours.at(now)).toStrictEqual({ state: 'closed' });
  });

  test('a holiday of ten days holds to its last hour, and a closing of six weeks to its last day', () => {
    const hours = new OpenHours({
      timeZone: 'Asia/Tokyo',
      open: [ALL_DAY],
      closed: [{ start: '2026-02-01T00:00:00.000', end: '2026-03-15T00:00:00.000' }],
      holiday: [{ start: '2025-12-24T00:00:00.000', end: '2026-01-03T00:00:00.000', rrule: 'FREQ=YEARLY' }],
    });
    expect(at(hours, '2027-01-02T14:30:00Z')).toStrictEqual({
      state: 'holiday',
      nextOpenAt: '2027-01-03T00:00:00+09:00',
      changesAt: Date.parse('2027-01-02T15:00:00Z'),
    });
    expect(at(hours, '2026-03-14T12:00:00Z')).toMatchObject({
      state: 'closed',
      nextOpenAt: '2026-03-15T00:00:00+09:00',
    });
  });

  test('one OpenHours answers a later instant, then an earlier one, as a new one would', () => {
    const group = {
      timeZone: 'Europe/Dublin',
      open: [WEEKDAYS],
      closed: [{ start: '2026-01-05T12:00:00.000', end: '2026-01-05T13:00:00.000', rrule: 'FREQ=DAILY' }],
      holiday: [{ start: '2026-12-24T00:00:00.000', end: '2026-12-27T00:00:00.000', rrule: 'FREQ=YEARLY' }],
    };
    const hours = new OpenHours(group);
    for (const instant of [
      '2026-03-02T10:00:00Z',
      '2027-06-01T11:30:00Z',
      '2026-01-07T16:00:00Z',
      '2028-12-24T09:00:00Z',
    ]) {
      expect(at(hours, instant)).toStrictEqual(at(new OpenHours(group), instant));
      expect(hours.decidedBy(Date.parse(instant))).toStrictEqual(new OpenHours(group).decidedBy(Date.parse(instant)));
    }
    expect(at(hours, '2026-01-07T16:00:00Z')).toMatchObject({ state: 'open', closesAt: '2026-01-07T17:00:00+00:00' });
    expect(at(hours, '2027-06-01T11:30:00Z')).toMatchObject({
      state: 'closed',
      nextOpenAt: '2027-06-01T13:00:00+01:00',
    });
  });
});
