import { RRule } from 'rrule';
import { ZoneClock } from './zoneClock';

/**
 * Open hours from an Architect schedule group, evaluated in the group's time zone
 * (docs/genesys-protocol.md#availability). A schedule's `start` and `end` are local date-times without an offset
 * and its `rrule` an iCal recurrence rule: each occurrence starts at the rule's local time and ends `end - start`
 * later on the local clock.
 *
 * The rule runs on "floating" times (the local wall clock written as if it were UTC), so a weekly 09:00 stays
 * 09:00 local on both sides of a daylight-saving change. Each occurrence is then an interval of instants, its
 * start and end turned into instants as RFC 5545 does (zoneClock.ts). At an instant a holiday schedule outranks a
 * closed one, a closed one an open one; no open schedule then means closed. The state changes only where an
 * occurrence starts or ends, so the next opening and the closing are the first such instants with the state
 * looked for: a closing is the end of the whole open period, across open schedules that touch or overlap.
 */
export interface TimedSchedule {
  start: string;
  end: string;
  rrule?: string;
}

export interface ScheduleGroupHours {
  timeZone: string;
  open: TimedSchedule[];
  closed: TimedSchedule[];
  holiday: TimedSchedule[];
}

export interface OpenHoursAnswer {
  state: 'open' | 'closed' | 'holiday';
  /** When open: when the open period ends (ISO 8601 with the zone's offset); absent past the horizon. */
  closesAt?: string;
  /** When closed: when it opens next; absent past the horizon. */
  nextOpenAt?: string;
  /** The instant (epoch ms) the state changes next, when known. */
  changesAt?: number;
}

const DAY_MS = 86_400_000;
/**
 * How far ahead a change is looked for: a year and two days, so a yearly holiday (or a yearly closing day of a
 * centre otherwise open around the clock) is in sight. A centre that stays open past it has no closing time,
 * and one that stays shut past it no next opening.
 */
export const HORIZON_MS = 367 * DAY_MS;
/**
 * The windows the search looks at in turn, each ending this far past its start (each twice as long as the last):
 * most answers are in the first, and a year is a few.
 */
const WINDOW_ENDS_MS = [8, 24, 56, 120, 248].map((days) => days * DAY_MS).concat(HORIZON_MS);

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?/;

/** A local date-time (`2026-03-02T09:00:00.000`) as floating epoch ms; an offset, if any, is ignored. */
export function floatingOf(local: string): number {
  const m = LOCAL.exec(local);
  if (!m) throw new Error(`not a local date-time: "${local}"`);
  const [, y, mo, d, h, mi, s] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
}

/** An occurrence as instants: `[start, end)`. */
interface Interval {
  start: number;
  end: number;
}

/** One schedule's occurrences as instants, from its rule expanded as far as asked. */
class Recurring {
  private readonly startMs: number;
  private readonly durationMs: number;
  private readonly rule?: RRule;
  /** The occurrences that start within the local times `from` to `to` (floating ms): a one-off's, at all times. */
  private expanded?: { from: number; to: number; occurrences: Interval[] };

  constructor(
    schedule: TimedSchedule,
    private readonly clock: ZoneClock,
  ) {
    this.startMs = floatingOf(schedule.start);
    this.durationMs = Math.max(0, floatingOf(schedule.end) - this.startMs);
    // rrule reads an `RRULE:` prefix itself.
    const text = schedule.rrule?.trim();
    if (text) this.rule = new RRule({ ...RRule.parseString(text), dtstart: new Date(this.startMs) });
    else this.expanded = { from: -Infinity, to: Infinity, occurrences: [this.interval(this.startMs)] };
  }

  /** The occurrences that hold some instant of `[from, to]`. */
  holding(from: number, to: number): Interval[] {
    // A wall clock is within a day of its instant (no offset reaches 24 hours), whichever offset it was read with.
    const wallFrom = from - DAY_MS - this.durationMs;
    const wallTo = to + DAY_MS;
    let kept = this.expanded;
    if (!kept || wallFrom < kept.from || wallTo > kept.to) {
      // rrule walks from the rule's first occurrence at each call, so each walk reaches as far past what is asked
      // as the search looks ahead: the search for an answer walks once. Its bounds are left out: a start on
      // either is a day away from every instant asked about.
      const reach = wallTo + HORIZON_MS;
      const starts = this.rule!.between(new Date(wallFrom), new Date(reach));
      this.expanded = kept = {
        from: wallFrom,
        to: reach,
        occurrences: starts.map((date) => this.interval(date.getTime())),
      };
    }
    // An occurrence that starts in a spring-forward gap may end before it starts: it holds no instant.
    return kept.occurrences.filter((o) => o.start <= to && from < o.end);
  }

  /** The occurrence that starts at a local time, as instants (RFC 5545: zoneClock.ts). */
  private interval(wall: number): Interval {
    return { start: this.clock.instantOf(wall), end: this.clock.instantOf(wall + this.durationMs) };
  }
}

export type Kind = 'holiday' | 'closed' | 'open';
const RANKED: readonly Kind[] = ['holiday', 'closed', 'open'];

/** One occurrence of a schedule: `index` is the schedule's place in its kind's list. */
interface Occurrence extends Interval {
  kind: Kind;
  index: number;
}

/** The schedule that decides the state at an instant: its kind and its place in the group's list of that kind. */
export interface DecidingSchedule {
  kind: Kind;
  index: number;
}

export class OpenHours {
  /** Each kind's schedules, the kinds as they rank. */
  private readonly kinds: [Kind, Recurring[]][];
  private readonly clock: ZoneClock;

  constructor(group: ScheduleGroupHours) {
    const clock = (this.clock = new ZoneClock(group.timeZone));
    this.kinds = RANKED.map((kind) => [kind, group[kind].map((s) => new Recurring(s, clock))]);
  }

  at(nowMs: number): OpenHoursAnswer {
    const state = stateAt(nowMs, this.occurrences(nowMs, nowMs));
    const changesAt = this.first(nowMs, (next) => next !== state);
    if (state === 'open') {
      return changesAt === undefined ? { state } : { state, closesAt: this.clock.format(changesAt), changesAt };
    }
    const opensAt = this.first(nowMs, (next) => next === 'open');
    return {
      state,
      ...(opensAt === undefined ? {} : { nextOpenAt: this.clock.format(opensAt) }),
      ...(changesAt === undefined ? {} : { changesAt }),
    };
  }

  /**
   * The schedule whose occurrence holds the instant and outranks the others there (the first of its kind in the
   * group's list, when several do); undefined when none holds it, which is closed.
   */
  decidedBy(instant: number): DecidingSchedule | undefined {
    // The occurrences come kind by kind as they rank, each kind's in the group's order.
    const first = this.occurrences(instant, instant)[0];
    return first && { kind: first.kind, index: first.index };
  }

  /** ISO 8601 with the zone's offset at that instant. */
  format(instant: number): string {
    return this.clock.format(instant);
  }

  /** The first instant after `from`, within the horizon, where an occurrence starts or ends into a wanted state. */
  private first(from: number, wanted: (state: Kind) => boolean): number | undefined {
    let start = from;
    for (const reach of WINDOW_ENDS_MS) {
      const end = from + reach;
      const occurrences = this.occurrences(start, end);
      const edges = new Set(occurrences.flatMap((o) => [o.start, o.end]).filter((t) => start < t && t <= end));
      for (const edge of [...edges].sort((a, b) => a - b)) {
        if (wanted(stateAt(edge, occurrences))) return edge;
      }
      start = end;
    }
    return undefined;
  }

  /** Every occurrence that holds some instant of `[from, to]`, kind by kind as they rank, in the group's order. */
  private occurrences(from: number, to: number): Occurrence[] {
    return this.kinds.flatMap(([kind, list]) =>
      list.flatMap((recurring, index) => recurring.holding(from, to).map((o) => ({ ...o, kind, index }))),
    );
  }
}

function stateAt(instant: number, occurrences: readonly Occurrence[]): Kind {
  const holds = (kind: Kind) => occurrences.some((o) => o.kind === kind && o.start <= instant && instant < o.end);
  return RANKED.find(holds) ?? 'closed';
}

/** Whether a time zone name is one this runtime knows. */
export function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
