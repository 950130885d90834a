import type { AvailabilityControls, SimSchedule } from './availability';

/**
 * Named states of the contact centre, each set through the availability controls as Genesys would report it, so
 * that each answer of `GET /availability` can be seen without code: `DEMO_AVAILABILITY` at start (`npm start`,
 * `npm run sim`), or the bot's keywords in a chat (agent.ts).
 */
export const AVAILABILITY_STATES = ['open', 'closed', 'busy', 'holiday', 'emergency', 'no_agents'] as const;

export type AvailabilityState = (typeof AVAILABILITY_STATES)[number];

const HOUR = 3_600_000;

export function isAvailabilityState(value: string): value is AvailabilityState {
  return (AVAILABILITY_STATES as readonly string[]).includes(value);
}

/** A UTC wall time without offset, as a schedule's `start` and `end` are written. */
const wall = (at: number) => new Date(at).toISOString().replace(/Z$/, '');

/** An hour-aligned daily slot starting `fromNow` ms from `now`, `hours` long, in UTC. */
function dailySlot(now: number, fromNow: number, hours: number): SimSchedule {
  const start = Math.ceil((now + fromNow) / HOUR) * HOUR;
  return { name: 'Opening hours', start: wall(start), end: wall(start + hours * HOUR), rrule: 'FREQ=DAILY;INTERVAL=1' };
}

/** Sets the centre to `state` at `now`: its open hours, emergency, agents, queue and wait. */
export function setAvailabilityState(controls: AvailabilityControls, state: AvailabilityState, now = Date.now()): void {
  controls.reset();
  switch (state) {
    case 'open':
      return;
    case 'closed':
      // Open daily for eight hours from two hours from now: closed, and saying when it opens.
      controls.setSchedules({ timeZone: 'UTC', open: [dailySlot(now, 2 * HOUR, 8)] });
      return;
    case 'busy':
      controls.setAgents({ INTERACTING: 3 });
      controls.setWaiting(9);
      controls.setEstimatedWait(900);
      return;
    case 'holiday': {
      const day = Math.floor(now / (24 * HOUR)) * 24 * HOUR;
      controls.setSchedules({
        timeZone: 'UTC',
        open: [dailySlot(now, -HOUR, 24)],
        holiday: [{ name: 'Holiday', start: wall(day), end: wall(day + 24 * HOUR) }],
      });
      return;
    }
    case 'emergency':
      controls.setEmergency(true);
      return;
    case 'no_agents':
      controls.setAgents({});
      controls.setEstimatedWait(null);
  }
}
