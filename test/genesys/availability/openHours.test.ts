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

  test('no open schedule at all: closed, with no next opening', () => {
    const hours = new OpenHours({ timeZone: 'UTC', open: [], closed: [], holiday: [] });
    expect(at(hours, '2026-06-02T15:00:00Z')).toEqual({ state: 'closed' });
  });
});
