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
/** The first window the search looks at: most answers are in it. */
const WINDOW_MS = 8 * DAY_MS;
/** How far a rule is first expanded past the start of what is asked. */
const FIRST_REACH_MS = 16 * DAY_MS;

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?/;

/** A local date-time (`2026-03-02T09:00:00.000`) as floating epoch ms; an offset, if any, is ignored. */
export function floatingOf(local: string): number {
  const m = LOCAL.exec(local);
  if (!m) throw new Error(`not a local date-time: "${local}"`);
  const [, y, mo, d, h, mi, s] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
}

class Recurring {
  readonly durationMs: number;
  private readonly startMs: number;
  private readonly rule?: RRule;
  private expanded?: { from: number; to: number; starts: number[] };
  private reachMs = FIRST_REACH_MS;

  constructor(schedule: TimedSchedule) {
    this.startMs = floatingOf(schedule.start);
    this.durationMs = Math.max(0, floatingOf(schedule.end) - this.startMs);
    const text = schedule.rrule?.trim().replace(/^RRULE:/i, '');
    // No cache in rrule: the expansion below is kept here.
    if (text) this.rule = new RRule({ ...RRule.parseString(text), dtstart: new Date(this.startMs) }, true);
  }

  /** The local start times (floating ms) of the occurrences that start between `from` and `to`, inclusive. */
  startsBetween(from: number, to: number): number[] {
    if (!this.rule) return from <= this.startMs && this.startMs <= to ? [this.startMs] : [];
    let kept = this.expanded;
    if (!kept || from < kept.from || to > kept.to) {
      // rrule walks from the rule's first occurrence at each call: each walk reaches at least as far past `from`
      // as the rule's start is before it, and four times as far as the last, so a search across many windows (a
      // centre open for months) walks a few times at most, and the search for an answer this week walks little.
      this.reachMs = Math.min(HORIZON_MS, Math.max(kept ? 4 * this.reachMs : FIRST_REACH_MS, from - this.startMs));
      const lo = Math.min(from, kept?.from ?? from);
      const hi = Math.max(to, from + this.reachMs, kept?.to ?? to);
      const starts = this.rule.between(new Date(lo), new Date(hi), true).map((d) => d.getTime());
      this.expanded = kept = { from: lo, to: hi, starts };
    }
    return kept.starts.filter((start) => from <= start && start <= to);
  }
}

export type Kind = 'holiday' | 'closed' | 'open';
const RANKED: readonly Kind[] = ['holiday', 'closed', 'open'];

/** One occurrence of a schedule, as instants: `[start, end)`; `index` is the schedule's place in its kind's list. */
interface Occurrence {
  kind: Kind;
  index: number;
  start: number;
  end: number;
}

/** The schedule that decides the state at an instant: its kind and its place in the group's list of that kind. */
export interface DecidingSchedule {
  kind: Kind;
  index: number;
}

export class OpenHours {
  private readonly kinds: [Kind, Recurring[]][];
  private readonly clock: ZoneClock;
  private readonly longestMs: number;

  constructor(group: ScheduleGroupHours) {
    this.clock = new ZoneClock(group.timeZone);
    const build = (list: TimedSchedule[]) => list.map((s) => new Recurring(s));
    this.kinds = [
      ['holiday', build(group.holiday)],
      ['closed', build(group.closed)],
      ['open', build(group.open)],
    ];
    this.longestMs = Math.max(0, ...this.kinds.flatMap(([, list]) => list.map((r) => r.durationMs)));
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
    const holding = this.occurrences(instant, instant).filter((o) => o.start <= instant && instant < o.end);
    for (const kind of RANKED) {
      const first = holding.filter((o) => o.kind === kind).sort((a, b) => a.index - b.index)[0];
      if (first) return { kind, index: first.index };
    }
    return undefined;
  }

  /** ISO 8601 with the zone's offset at that instant. */
  format(instant: number): string {
    return this.clock.format(instant);
  }

  /** The first instant after `from`, within the horizon, where an occurrence starts or ends into a wanted state. */
  private first(from: number, wanted: (state: Kind) => boolean): number | undefined {
    const horizon = from + HORIZON_MS;
    // Each window twice the last: a year is a few windows, and the usual answer is in the first.
    for (let start = from, window = WINDOW_MS; start < horizon; start += window, window *= 2) {
      const end = Math.min(start + window, horizon);
      const occurrences = this.occurrences(start, end);
      const edges = new Set(occurrences.flatMap((o) => [o.start, o.end]).filter((t) => start < t && t <= end));
      for (const edge of [...edges].sort((a, b) => a - b)) {
        if (wanted(stateAt(edge, occurrences))) return edge;
      }
    }
    return undefined;
  }

  /** Every occurrence that holds some instant of `[from, to]`. */
  private occurrences(from: number, to: number): Occurrence[] {
    // A wall clock is within a day of its instant (no offset reaches 24 hours), whichever offset it was read with.
    const wallFrom = from - DAY_MS - this.longestMs;
    const wallTo = to + DAY_MS;
    const found: Occurrence[] = [];
    for (const [kind, list] of this.kinds) {
      for (const [index, recurring] of list.entries()) {
        for (const wall of recurring.startsBetween(wallFrom, wallTo)) {
          const start = this.clock.instantOf(wall);
          const end = this.clock.instantOf(wall + recurring.durationMs);
          // An occurrence that starts in a spring-forward gap may end before it starts: it holds no instant.
          if (start < end && start <= to && from < end) found.push({ kind, index, start, end });
        }
      }
    }
    return found;
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
