const DAY_MS = 86_400_000;

/**
 * A time zone's wall clock, as "floating" epoch ms (the local date and time written as if they were UTC), and
 * the instants a wall-clock time names. Genesys does not say how it reads a local time that a clock change
 * repeats or skips; this reads it as RFC 5545 (3.3.5) and Temporal's `compatible` disambiguation do
 * (docs/genesys-protocol.md#availability): a time the clock shows twice is its earlier instant, and a time the
 * clock skips is read with the offset before the change, so it lands as far past the change as it was into the
 * gap (02:30 in a gap from 02:00 to 03:00 is 03:30).
 */
export class ZoneClock {
  private readonly formatter: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    this.formatter = formatterFor(timeZone);
  }

  /** The wall clock at an instant, as floating ms. */
  wallOf(instant: number): number {
    const second = Math.floor(instant / 1000) * 1000;
    const date = new Date(second);
    // `format` is several times cheaper than `formatToParts`; the formatter's options fix its shape (EN_US).
    const [month, day, year, hour, minute, sec] = EN_US.exec(this.formatter.format(date))!.slice(1).map(Number);
    return Date.UTC(year!, month! - 1, day!, hour!, minute!, sec!) + (instant - second);
  }

  /** How far the wall clock is ahead of UTC at an instant (ms). */
  offsetAt(instant: number): number {
    return this.wallOf(instant) - instant;
  }

  /** The instant a wall-clock time names: the earlier of two, or past a gap by as much as it was into it. */
  instantOf(wall: number): number {
    // The offsets a day either side of the wall time read as UTC are those on both sides of a clock change there
    // (the same one twice where there is none).
    const before = this.offsetAt(wall - DAY_MS);
    const after = this.offsetAt(wall + DAY_MS);
    const named = [before, after].map((offset) => wall - offset).filter((instant) => this.wallOf(instant) === wall);
    return named.length > 0 ? Math.min(...named) : wall - before;
  }

  /** ISO 8601 with the zone's offset at that instant, to the second. */
  format(instant: number): string {
    const offset = Math.round(this.offsetAt(instant) / 60_000);
    const local = new Date(instant + offset * 60_000).toISOString().slice(0, 19);
    const sign = offset < 0 ? '-' : '+';
    const abs = Math.abs(offset);
    return `${local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `en-US` with the options below writes `03/29/2026, 14:05:09` (a year of fewer digits as it is: `01/01/500`). */
const EN_US = /^(\d{2})\/(\d{2})\/(\d+), (\d{2}):(\d{2}):(\d{2})$/;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone for the process: making one costs more than a hundred uses. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}
