import { SessionListeners } from '../../../src/genesys/guest/sessionListeners';
import type { GuestEvent } from '../../../src/genesys/guest/desk';
import { captureLogger } from '../../support/app';

/** One session's live streams: every listener hears every event, one that throws is logged, one removed hears none. */
const event: GuestEvent = { type: 'session', state: 'closed', detail: 'closed' } as GuestEvent;

test('each event reaches every listener, though one of them throws, and the throw is logged', () => {
  const { logger, lines } = captureLogger();
  const listeners = new SessionListeners(logger);
  const heard: string[] = [];
  listeners.add(() => {
    throw new Error('a broken stream');
  });
  listeners.add((e) => void heard.push(e.type));
  listeners.tell(event);
  expect(heard).toEqual(['session']);
  expect(lines().some((l) => l.msg === 'stream listener failed')).toBe(true);
});

test('a listener removed hears nothing more, and is no longer counted', () => {
  const { logger } = captureLogger();
  const listeners = new SessionListeners(logger);
  const heard: GuestEvent[] = [];
  const leave = listeners.add((e) => void heard.push(e));
  expect(listeners.size).toBe(1);
  leave();
  listeners.tell(event);
  expect(heard).toEqual([]);
  expect(listeners.size).toBe(0);
});
