import { SessionListeners } from '../../../src/genesys/guest/sessionListeners';
import type { GuestEvent } from '../../../src/genesys/guest/desk';
import { captureLogger } from '../../support/app';

/** One session's live streams: every listener hears every event, one that throws is logged, one removed hears none. */
const event: GuestEvent = { type: 'session', state: 'closed', detail: 'closed' } as GuestEvent;

test('each event reaches every listener, though one of them throws, and the throw is logged with what was thrown', () => {
  const { logger, lines } = captureLogger();
  const listeners = new SessionListeners(logger);
  const heard: string[] = [];
  listeners.add(() => {
    throw new Error('a broken stream');
  });
  listeners.add((e) => void heard.push(e.type));
  listeners.tell(event);
  expect(heard).toEqual(['session']);
  const failed = lines().filter((l) => l.msg === 'stream listener failed');
  // The line carries what was thrown.
  expect(failed).toEqual([expect.objectContaining({ err: expect.objectContaining({ message: 'a broken stream' }) })]);
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

test('one listener told alone: only it hears, and a listener removed (or never added) hears nothing', () => {
  const { logger } = captureLogger();
  const listeners = new SessionListeners(logger);
  const told: GuestEvent[] = [];
  const others: GuestEvent[] = [];
  const listener = (e: GuestEvent) => void told.push(e);
  const leave = listeners.add(listener);
  listeners.add((e) => void others.push(e));
  listeners.tellOne(listener, event);
  expect(told).toEqual([event]);
  expect(others).toEqual([]);
  leave();
  listeners.tellOne(listener, event);
  listeners.tellOne((e) => void others.push(e), event);
  expect(told).toEqual([event]);
  expect(others).toEqual([]);
});

test('one listener told alone that throws: the throw is logged with what was thrown, not passed on', () => {
  const { logger, lines } = captureLogger();
  const listeners = new SessionListeners(logger);
  const broken = () => {
    throw new Error('a broken stream');
  };
  listeners.add(broken);
  expect(() => listeners.tellOne(broken, event)).not.toThrow();
  expect(lines().filter((l) => l.msg === 'stream listener failed')).toEqual([
    expect.objectContaining({ err: expect.objectContaining({ message: 'a broken stream' }) }),
  ]);
});
