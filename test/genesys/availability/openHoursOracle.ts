import { Temporal } from 'temporal-polyfill';
import type { ScheduleGroupHours, TimedSchedule } from '../../../src/genesys/availability';

/**
 * Open hours evaluated independently of src/ (the oracle the open-hours properties hold OpenHours to): it expands
 * each schedule's rule itself with Temporal's calendar arithmetic (no rrule), turns local date-times into instants
 * with Temporal's `compatible` disambiguation (RFC 5545's reading: a repeated time is its first showing, a skipped
 * one lands past the gap), and decides the state at an instant from the occurrences that hold it (holiday, closed,
 * open). It shares nothing with src/ but the time zone data.
 */
/** openHours.ts looks this far ahead for a change (docs/genesys-protocol.md#availability). */
export const HORIZON_MS = 367 * 86_400_000;

export type Kind = 'holiday' | 'closed' | 'open';
export type Rule =
  | { freq: 'none' }
  | { freq: 'daily'; interval: number; count?: number }
  | { freq: 'weekly'; interval: number; days: number[]; count?: number }
  | { freq: 'monthly'; interval: number; count?: number }
  | { freq: 'yearly'; count?: number };

export interface Spec {
  kind: Kind;
  start: Temporal.PlainDateTime;
  end: Temporal.PlainDateTime;
  rule: Rule;
}

const WEEKDAY_CODES = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

/** The RRULE text Genesys would hold for a rule. */
export function rruleOf(rule: Rule): string | undefined {
  const count = 'count' in rule && rule.count !== undefined ? `;COUNT=${rule.count}` : '';
  switch (rule.freq) {
    case 'none':
      return undefined;
    case 'daily':
      return `FREQ=DAILY;INTERVAL=${rule.interval}${count}`;
    case 'weekly':
      return `FREQ=WEEKLY;INTERVAL=${rule.interval};BYDAY=${rule.days.map((d) => WEEKDAY_CODES[d - 1]).join(',')}${count}`;
    case 'monthly':
      return `FREQ=MONTHLY;INTERVAL=${rule.interval}${count}`;
    case 'yearly':
      return `FREQ=YEARLY${count}`;
  }
}

export const local = (t: Temporal.PlainDateTime) =>
  t.toString({ smallestUnit: 'millisecond' }).replace(/(\.\d{3})?$/, (ms) => ms || '.000');

/**
 * The local start dates of a rule, in order, from its first (RFC 5545: a weekly rule with BYDAY takes those days
 * of every INTERVAL-th week from the week of the start, Monday first; a date a month or a year does not have is
 * no occurrence; COUNT counts from the first). Endless without a COUNT: the caller stops.
 */
function* datesOf(start: Temporal.PlainDate, rule: Rule): Generator<Temporal.PlainDate> {
  const count = 'count' in rule && rule.count !== undefined ? rule.count : Infinity;
  let emitted = 0;
  switch (rule.freq) {
    case 'none':
      yield start;
      return;
    case 'daily':
      for (let date = start; emitted < count; date = date.add({ days: rule.interval }), emitted++) yield date;
      return;
    case 'weekly': {
      const days = [...rule.days].sort();
      for (let week = start.subtract({ days: start.dayOfWeek - 1 }); ; week = week.add({ weeks: rule.interval })) {
        for (const day of days) {
          const date = week.add({ days: day - 1 });
          if (Temporal.PlainDate.compare(date, start) < 0) continue;
          if (emitted++ >= count) return;
          yield date;
        }
      }
    }
    case 'monthly':
    case 'yearly': {
      const step = rule.freq === 'monthly' ? { months: rule.interval } : { years: 1 };
      for (let month = start.toPlainYearMonth(); emitted < count; month = month.add(step)) {
        if (start.day > month.daysInMonth) continue;
        emitted++;
        yield month.toPlainDate({ day: start.day });
      }
      return;
    }
  }
}

interface Occurrence {
  kind: Kind;
  start: number;
  end: number;
}

/** One schedule's occurrences, read from its dates as far as asked. */
interface Stream {
  spec: Spec;
  /** Days from the first occurrence's start date to its end date. */
  days: number;
  dates: Iterator<Temporal.PlainDate>;
  next?: Temporal.PlainDate;
}

export const DAY = 86_400_000;

export class Oracle {
  private readonly instants = new Map<number, number>();
  private readonly streams: Stream[];
  private readonly occurrences: Occurrence[] = [];
  private until = -Infinity;

  constructor(
    private readonly zone: string,
    specs: Spec[],
  ) {
    this.streams = specs.map((spec) => {
      const dates = datesOf(spec.start.toPlainDate(), spec.rule);
      const days = spec.end.toPlainDate().since(spec.start.toPlainDate()).days;
      return { spec, days, dates, next: dates.next().value ?? undefined };
    });
  }

  answer(now: number): { state: Kind; closesAt?: string; nextOpenAt?: string; changesAt?: number } {
    // Most answers are within days: further ahead is expanded only when the days ahead do not settle it.
    for (const reach of [14 * DAY, 60 * DAY, HORIZON_MS]) {
      const occurrences = this.expandedTo(now + reach).filter((o) => now < o.end && o.start <= now + reach);
      const state = stateAt(now, occurrences);
      const edges = [...new Set(occurrences.flatMap((o) => [o.start, o.end]))]
        .filter((t) => now < t && t <= now + reach)
        .sort((a, b) => a - b);
      const changesAt = edges.find((t) => stateAt(t, occurrences) !== state);
      const opensAt = edges.find((t) => stateAt(t, occurrences) === 'open');
      const settled = state === 'open' ? changesAt !== undefined : opensAt !== undefined;
      if (!settled && reach < HORIZON_MS) continue;
      if (state === 'open') {
        return { state, ...(changesAt === undefined ? {} : { closesAt: this.format(changesAt), changesAt }) };
      }
      return {
        state,
        ...(opensAt === undefined ? {} : { nextOpenAt: this.format(opensAt) }),
        ...(changesAt === undefined ? {} : { changesAt }),
      };
    }
    throw new Error('unreachable');
  }

  /** The occurrence edges within `[from, to]`. */
  edgesBetween(from: number, to: number): number[] {
    return [...new Set(this.expandedTo(to).flatMap((o) => [o.start, o.end]))].filter((t) => from <= t && t <= to);
  }

  /** Every occurrence that starts by `to` (and some after). */
  private expandedTo(to: number): Occurrence[] {
    if (to <= this.until) return this.occurrences;
    // Local dates two days past the instant read as UTC cover every offset.
    const last = Temporal.Instant.fromEpochMilliseconds(to + 2 * DAY)
      .toZonedDateTimeISO('UTC')
      .toPlainDate();
    for (const stream of this.streams) {
      for (
        ;
        stream.next && Temporal.PlainDate.compare(stream.next, last) <= 0;
        stream.next = stream.dates.next().value ?? undefined
      ) {
        // The end is as many days after the start, at the same local time, as the first occurrence's.
        const occurrence = {
          kind: stream.spec.kind,
          start: this.instant(stream.next.toPlainDateTime(stream.spec.start.toPlainTime())),
          end: this.instant(stream.next.add({ days: stream.days }).toPlainDateTime(stream.spec.end.toPlainTime())),
        };
        if (occurrence.start < occurrence.end) this.occurrences.push(occurrence);
      }
    }
    this.until = to;
    return this.occurrences;
  }

  private instant(wall: Temporal.PlainDateTime): number {
    const key = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.millisecond);
    let instant = this.instants.get(key);
    if (instant === undefined) {
      instant = wall.toZonedDateTime(this.zone, { disambiguation: 'compatible' }).epochMilliseconds;
      this.instants.set(key, instant);
    }
    return instant;
  }

  private format(instant: number): string {
    return Temporal.Instant.fromEpochMilliseconds(instant)
      .toZonedDateTimeISO(this.zone)
      .toString({ smallestUnit: 'second', timeZoneName: 'never' });
  }
}

function stateAt(instant: number, occurrences: Occurrence[]): Kind {
  const holds = (kind: Kind) => occurrences.some((o) => o.kind === kind && o.start <= instant && instant < o.end);
  return holds('holiday') ? 'holiday' : holds('closed') ? 'closed' : holds('open') ? 'open' : 'closed';
}

export function hoursOf(zone: string, specs: Spec[]): ScheduleGroupHours {
  const of = (kind: Kind): TimedSchedule[] =>
    specs
      .filter((s) => s.kind === kind)
      .map((s) => {
        const rrule = rruleOf(s.rule);
        return { start: local(s.start), end: local(s.end), ...(rrule ? { rrule } : {}) };
      });
  return { timeZone: zone, open: of('open'), closed: of('closed'), holiday: of('holiday') };
}
