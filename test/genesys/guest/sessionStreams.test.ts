import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../../simulator';
import type { SessionHub } from '../../../src/genesys/guest/sessionHub';
import { captureLogger } from '../../support/app';
import { collect, hubFor } from '../../support/guestHub';
import { waitFor } from '../../support/wait';

/**
 * A guest session as its live streams, the hub and session ownership see it (guestSession.ts): a stream
 * opens the socket it needs and no other, its leaving starts the idle countdown, and what the session
 * says about its socket and its requests.
 */
let sim: Simulator;
let hub: SessionHub;

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
});
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  sim.setOptions({ messagesPerSecond: 5 });
  hub = hubFor(sim);
});
afterEach(() => hub.close());

describe('streams', () => {
  test('a stream on a session that is not connected opens its socket', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    const live = collect(session);
    await waitFor(() => session.isReady);
    expect(sim.stats.connectionsBySession(token)).toBe(1);
    live.unsubscribe();
  });

  test('a stream on a connected session opens nothing more, and leaves it idle when it goes', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    await session.ready();
    const live = collect(session);
    live.unsubscribe();
    expect(session.busy).toBe(false);
    await session.echo();
    expect(hub.socketsOpened).toBe(1);
  });

  test('the idle countdown starts when the last stream leaves', async () => {
    let now = 1_000_000;
    const idleHub = hubFor(sim, { idleMs: 1000, now: () => now });
    const sweep = () => (idleHub as unknown as { sweepIdle(): void }).sweepIdle();
    try {
      const session = idleHub.session(randomUUID());
      const live = collect(session);
      await session.ready();
      now += 5000;
      live.unsubscribe();
      sweep();
      expect(idleHub.size).toBe(1);
      now += 1000;
      sweep();
      expect(idleHub.size).toBe(0);
    } finally {
      idleHub.close();
    }
  });

  test('a stream whose listener throws is logged with the error, and the other streams still hear everything', async () => {
    const log = captureLogger('info');
    const logged = hubFor(sim, { logger: log.logger });
    try {
      const session = logged.session(randomUUID());
      session.subscribe(() => {
        throw new Error('listener broke');
      });
      const live = collect(session);
      await session.sendText({ text: 'heard?', messageId: randomUUID() });
      await live.next((e) => e.type === 'message' && e.message.text === 'heard?');
      expect(log.lines().find((l) => l.msg === 'stream listener failed')).toMatchObject({
        level: 50,
        err: { message: 'listener broke' },
      });
      live.unsubscribe();
    } finally {
      logged.close();
    }
  });
});

describe('what session ownership reads', () => {
  test('holdsSocket: not before the socket opens, while it is open, and no more once the session ended', async () => {
    const session = hub.session(randomUUID());
    expect(session.holdsSocket).toBe(false);
    await session.ready();
    expect(session.holdsSocket).toBe(true);
    session.end();
    expect(session.holdsSocket).toBe(false);
  });

  test('awaitingOwnEcho: while a guest message waits for its echo, not when the echo reaches streams, nor for a ping', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    await session.ready();
    await waitFor(() => !session.hasRequestsInFlight);
    sim.faults.delayFrames(100, token);
    // What a live stream reads as each message reaches it.
    const atMessage: boolean[] = [];
    const unsubscribe = session.subscribe((e) => {
      if (e.type === 'message') atMessage.push(session.awaitingOwnEcho);
    });
    const ping = session.echo();
    expect(session.hasRequestsInFlight).toBe(true);
    expect(session.awaitingOwnEcho).toBe(false);
    await ping;
    const sent = session.sendText({ text: 'in flight', messageId: randomUUID() });
    expect(session.awaitingOwnEcho).toBe(true);
    expect((await sent).text).toBe('in flight');
    expect(session.awaitingOwnEcho).toBe(false);
    await waitFor(() => atMessage.length === 1);
    expect(atMessage).toEqual([false]);
    unsubscribe();
  });

  test('hasRequestsInFlight: only while a request waits on Genesys', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    await session.ready();
    // A strict SessionResponse states no lifetime, so activity has the session ask for it with an echo of its own.
    await waitFor(() => !session.hasRequestsInFlight);
    sim.faults.delayFrames(100, token);
    const sent = session.sendText({ text: 'in flight', messageId: randomUUID() });
    expect(session.hasRequestsInFlight).toBe(true);
    await sent;
    await waitFor(() => !session.hasRequestsInFlight);
    sim.faults.clear();
  });
});

describe('the session expiry, when Genesys has not said how long a session lives', () => {
  test('a session that is not connected asks nothing, and opens no socket to ask', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    await expect(session.expiry.current()).resolves.toBeUndefined();
    expect(sim.stats.connectionsBySession(token)).toBe(0);
  });

  test('a connected session asks with an echo, whose reply gives the expiry', async () => {
    // The strict profile's SessionResponse carries no durationSeconds, as a live one may.
    const strict = await startSimulator({ profile: 'strict', agent: { enabled: false } });
    const strictHub = hubFor(strict);
    try {
      const token = randomUUID();
      const session = strictHub.session(token);
      await session.ready();
      expect(strict.framesFor(token, 'echo')).toHaveLength(0);
      const expiry = await session.expiry.current();
      expect(strict.framesFor(token, 'echo')).toHaveLength(1);
      expect(expiry).toEqual(expect.any(Number));
    } finally {
      strictHub.close();
      await strict.stop();
    }
  });
});
