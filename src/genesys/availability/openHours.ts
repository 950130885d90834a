import { RRule } from 'rrule';

/**
 * Open hours from an Architect schedule group, evaluated in the group's time zone
 * (docs/genesys-protocol.md#availability). A schedule's `start` and `end` are local date-times without an offset
 * and its `rrule` an iCal recurrence rule: each occurrence starts at the rule's local time and lasts `end - start`.
 *
 * The rule runs on "floating" times (the local wall clock written as if it were UTC), so a weekly 09:00 stays
 * 09:00 local on both sides of a daylight-saving change; only the answer is turned into instants, with the zone's
 * offset at each one. A holiday schedule outranks a closed one, a closed one an open one; no active open
 * schedule means closed.
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
  /** When open: when it closes next (ISO 8601 with the zone's offset). */
  closesAt?: string;
  /** When closed: when it opens next. */
  nextOpenAt?: string;
  /** The instant (epoch ms) the state changes next, when known. */
  changesAt?: number;
}

/** How many schedule boundaries the search for the next opening crosses before it gives up. */
const MAX_STEPS = 64;

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?/;

/** A local date-time (`2026-03-02T09:00:00.000`) as floating epoch ms; an offset, if any, is ignored. */
export function floatingOf(local: string): number {
  const m = LOCAL.exec(local);
  if (!m) throw new Error(`not a local date-time: "${local}"`);
  const [, y, mo, d, h, mi, s] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
}

class Recurring {
  private readonly startMs: number;
  private readonly durationMs: number;
  private readonly rule?: RRule;

  constructor(schedule: TimedSchedule) {
    this.startMs = floatingOf(schedule.start);
    this.durationMs = Math.max(0, floatingOf(schedule.end) - this.startMs);
    const text = schedule.rrule?.trim().replace(/^RRULE:/i, '');
    if (text) this.rule = new RRule({ ...RRule.parseString(text), dtstart: new Date(this.startMs) });
  }

  /** The end of the occurrence that covers `wall`, if one does. */
  activeUntil(wall: number): number | undefined {
    const start = this.rule ? this.rule.before(new Date(wall), true)?.getTime() : this.startMs;
    if (start === undefined || start > wall) return undefined;
    const end = start + this.durationMs;
    return wall < end ? end : undefined;
  }

  /** The first occurrence starting after `wall`. */
  nextStartAfter(wall: number): number | undefined {
    if (this.rule) return this.rule.after(new Date(wall), false)?.getTime();
    return this.startMs > wall ? this.startMs : undefined;
  }
}

type Kind = 'holiday' | 'closed' | 'open';

export class OpenHours {
  private readonly kinds: [Kind, Recurring[]][];
  private readonly zone: Intl.DateTimeFormat;

  constructor(private readonly group: ScheduleGroupHours) {
    this.zone = new Intl.DateTimeFormat('en-US', {
      timeZone: group.timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    const build = (list: TimedSchedule[]) => list.map((s) => new Recurring(s));
    this.kinds = [
      ['holiday', build(group.holiday)],
      ['closed', build(group.closed)],
      ['open', build(group.open)],
    ];
  }

  at(nowMs: number): OpenHoursAnswer {
    const wall = this.wallOf(nowMs);
    const state = this.stateAt(wall);
    if (state?.kind === 'open') {
      const overrides = this.kinds.filter(([k]) => k !== 'open').flatMap(([, list]) => list);
      const closes = Math.min(state.until, ...overrides.map((r) => r.nextStartAfter(wall) ?? Infinity));
      const changesAt = this.instantOf(closes);
      return { state: 'open', closesAt: this.format(changesAt), changesAt };
    }
    const opens = this.nextOpen(wall);
    const changesAt = opens === undefined ? undefined : this.instantOf(opens);
    return {
      state: state?.kind ?? 'closed',
      ...(changesAt === undefined ? {} : { nextOpenAt: this.format(changesAt), changesAt }),
    };
  }

  private stateAt(wall: number): { kind: Kind; until: number } | undefined {
    for (const [kind, list] of this.kinds) {
      for (const recurring of list) {
        const until = recurring.activeUntil(wall);
        if (until !== undefined) return { kind, until };
      }
    }
    return undefined;
  }

  private nextOpen(from: number): number | undefined {
    const open = this.kinds.find(([kind]) => kind === 'open')?.[1] ?? [];
    let wall = from;
    for (let step = 0; step < MAX_STEPS; step++) {
      const state = this.stateAt(wall);
      if (state?.kind === 'open') return wall;
      if (state) {
        wall = state.until;
        continue;
      }
      const next = Math.min(...open.map((r) => r.nextStartAfter(wall) ?? Infinity));
      if (!Number.isFinite(next)) return undefined;
      wall = next;
    }
    return undefined;
  }

  /** The zone's wall clock at an instant, as floating ms. */
  private wallOf(instant: number): number {
    const parts = Object.fromEntries(this.zone.formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
    const n = (k: string) => Number(parts[k]);
    return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  }

  private offsetAt(instant: number): number {
    return this.wallOf(Math.floor(instant / 1000) * 1000) - Math.floor(instant / 1000) * 1000;
  }

  /** The instant a wall-clock time names; in a spring-forward gap, the instant the clock jumps past it. */
  private instantOf(wall: number): number {
    const first = wall - this.offsetAt(wall);
    const second = wall - this.offsetAt(first);
    return second === first ? first : Math.max(first, second);
  }

  /** ISO 8601 with the zone's offset at that instant. */
  format(instant: number): string {
    const offset = Math.round(this.offsetAt(instant) / 60_000);
    const local = new Date(instant + offset * 60_000).toISOString().slice(0, 19);
    const sign = offset < 0 ? '-' : '+';
    const abs = Math.abs(offset);
    return `${local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Whether a time zone name is one this runtime knows. */
export function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
