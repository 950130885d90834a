import axios from 'axios';
import pino from 'pino';
import { SessionHub } from '../../src/genesys/guest/sessionHub';
import { SessionCeiling } from '../../src/genesys/guest/sessionCeiling';
import type { GuestEvent, GuestSession } from '../../src/genesys/guest/guestSession';
import type { Simulator } from '../../simulator';
import { EVENT_WAIT_MS } from './wait';
import { VARIABLE_NAMES } from './settingNames';

export const ORIGIN = 'http://localhost:3000';

export function hubFor(
  sim: Simulator,
  overrides: Partial<ConstructorParameters<typeof SessionHub>[0]> = {},
): SessionHub {
  return new SessionHub({
    deploymentId: sim.deploymentId,
    webMessagingUrl: sim.urls.webMessagingUrl,
    apiUrl: sim.urls.apiUrl,
    origin: ORIGIN,
    named: { ...VARIABLE_NAMES, origin: `GENESYS_ORIGIN (${ORIGIN})` },
    http: axios.create(),
    logger: pino({ level: 'silent' }),
    // Only bounds a hang: a test of the deadline sets its own (a busy machine takes seconds for what takes milliseconds alone).
    requestTimeoutMs: 30_000,
    idleMs: 60_000,
    ceiling: new SessionCeiling(10_000),
    ...overrides,
  });
}

/** Collects a session's live events; `next(predicate)` waits for a matching one. */
export function collect(session: GuestSession) {
  const events: GuestEvent[] = [];
  const waiters: { predicate: (e: GuestEvent) => boolean; resolve: (e: GuestEvent) => void }[] = [];
  const unsubscribe = session.subscribe((event) => {
    events.push(event);
    for (const w of [...waiters]) {
      if (w.predicate(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  return {
    events,
    unsubscribe,
    next(predicate: (e: GuestEvent) => boolean, timeoutMs = EVENT_WAIT_MS): Promise<GuestEvent> {
      const found = events.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching event in time')), timeoutMs);
        waiters.push({ predicate, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
  };
}
