import { OpenHours } from '../../../src/genesys/availability';

/**
 * A schedule's rule as Genesys may write it: white space around the rule is no part of it, and a rule of white
 * space alone is no rule (the schedule happens once). rrule itself would read either as a yearly rule.
 */
const DAYS = { start: '2026-01-05T09:00:00.000', end: '2026-01-05T17:00:00.000' };
const hoursWith = (rrule: string) =>
  new OpenHours({ timeZone: 'Europe/Berlin', open: [{ ...DAYS, rrule }], closed: [], holiday: [] });

test('a rule with white space before and after it is the rule', () => {
  const answer = hoursWith('  FREQ=DAILY  ').at(Date.parse('2026-06-02T06:00:00Z'));
  expect(answer).toMatchObject({ state: 'closed', nextOpenAt: '2026-06-02T09:00:00+02:00' });
});

test('a rule of white space alone is none: the schedule happens once', () => {
  const hours = hoursWith('  ');
  expect(hours.at(Date.parse('2026-01-05T10:00:00Z'))).toMatchObject({ state: 'open' });
  expect(hours.at(Date.parse('2027-01-05T10:00:00Z'))).toStrictEqual({ state: 'closed' });
});
