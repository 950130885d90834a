import type { Availability, AvailabilityPart } from '../../domain/availability';
import type { Facts } from './facts';
import { OpenHours, type OpenHoursAnswer } from './openHours';

/**
 * The public answer from what Genesys last said: emergency first, then the schedule (holiday, closed), then
 * whether any agent is on queue. A part that could not be read never closes the centre; it is named in `unknown`.
 */
export const NOT_CONFIGURED: Omit<Availability, 'asOf'> = {
  configured: false,
  open: true,
  reason: 'open',
  nextOpenAt: null,
  closesAt: null,
  estimatedWaitSeconds: null,
  agentsAvailable: null,
  waiting: null,
  unknown: [],
  stale: false,
};

export interface ComposedAnswer {
  answer: Availability;
  /** When the schedule changes the answer next (epoch ms), if it does. */
  changesAt?: number;
}

/** One OpenHours per schedule read, kept while the facts are the same. */
const hoursCache = new WeakMap<object, OpenHours>();

export function composeAnswer(facts: Facts, parts: readonly AvailabilityPart[], now: number): ComposedAnswer {
  const known = <T>(part: AvailabilityPart, value: T | undefined) => (parts.includes(part) ? value : undefined);
  const schedule = known('schedule', facts.schedule?.value);
  const emergency = known('emergency', facts.emergency?.value);
  const wait = known('estimatedWait', facts.estimatedWait?.value);
  const agents = known('agents', facts.agents?.value);
  const unknown = parts.filter((p) => facts[p]?.value === undefined);
  let hours: OpenHoursAnswer | undefined;
  if (schedule) {
    try {
      let openHours = hoursCache.get(schedule);
      if (!openHours) hoursCache.set(schedule, (openHours = new OpenHours(schedule)));
      hours = openHours.at(now);
    } catch {
      // Checked when read (facts.ts); a schedule shared by another version of the service may still not evaluate.
      unknown.push('schedule');
    }
  }
  const stale = parts.some((p) => {
    const readAt = facts[p]?.readAt;
    return readAt !== undefined && readAt < facts.refreshedAt;
  });

  const base = {
    configured: true,
    nextOpenAt: hours?.nextOpenAt ?? null,
    closesAt: hours?.closesAt ?? null,
    estimatedWaitSeconds: wait?.seconds ?? null,
    agentsAvailable: agents?.idle ?? null,
    waiting: agents?.waiting ?? null,
    unknown,
    stale,
    asOf: new Date(facts.refreshedAt).toISOString(),
  };
  if (emergency === true) {
    return { answer: { ...base, open: false, reason: 'emergency', nextOpenAt: null, closesAt: null } };
  }
  if (hours && hours.state !== 'open') {
    return { answer: { ...base, open: false, reason: hours.state }, changesAt: hours.changesAt };
  }
  if (agents && agents.onQueue === 0) {
    return { answer: { ...base, open: false, reason: 'no_agents' }, changesAt: hours?.changesAt };
  }
  return { answer: { ...base, open: true, reason: 'open' }, changesAt: hours?.changesAt };
}

/** Whether a guest waiting should hear of the change: open flips, or the estimate moves noticeably. */
export function changedNoticeably(before: Availability, after: Availability): boolean {
  // The reason says whether it is open ('open' alone is), and why not.
  if (before.reason !== after.reason) return true;
  const a = before.estimatedWaitSeconds;
  const b = after.estimatedWaitSeconds;
  if (a === null || b === null) return a !== b;
  // A minute or a fifth of the wait, whichever is more: small jitter in Genesys's estimate is not news.
  return Math.abs(a - b) >= Math.max(60, 0.2 * Math.max(a, b));
}
