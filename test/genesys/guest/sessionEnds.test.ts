import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../../simulator';
import { GuestApiError } from '../../../src/genesys/guest/protocol/errors';
import { parseInbound } from '../../../src/genesys/guest/protocol/frames';
import type { GuestSession } from '../../../src/genesys/guest/guestSession';
import type { SessionHub } from '../../../src/genesys/guest/sessionHub';
import { LiveStreams } from '../../../src/http/streams/liveStreams';
import { captureLogger } from '../../support/app';
import { collect, hubFor } from '../../support/guestHub';
import { closeAll, serveStreams, streamOptions } from '../../support/liveStreamHarness';
import { dataOf, openStream } from '../../support/sse';
import { waitFor } from '../../support/wait';

/**
 * How a guest session leaves service (guestSession.ts): what its streams hear, what a request still
 * holding it is told, and when the service does or does not open its socket again.
 */
let sim: Simulator;
let hub: SessionHub;

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
});
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  sim.setOptions({ messagesPerSecond: 5, conversationClear: true });
  hub = hubFor(sim);
});
afterEach(() => {
  hub.close();
  closeAll();
});

/** Feeds a raw frame to a session as if it came off its socket. */
function feed(session: GuestSession, raw: string): void {
  session.received(parseInbound(raw));
}

async function failure(promise: Promise<unknown>): Promise<GuestApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GuestApiError);
  return error as GuestApiError;
}

const finals = (events: ReturnType<typeof collect>['events']) => events.filter((e) => e.type === 'session');

describe('the end a session meets first is the one that stands', () => {
  test('signed out here: streams hear signed_out, requests fail with it, and a later end changes nothing', async () => {
    const session = hub.session(randomUUID());
    const live = collect(session);
    await session.ready();
    session.signedOut();
    session.end();
    expect(finals(live.events)).toEqual([{ type: 'session', state: 'signed_out', detail: 'The customer signed out.' }]);
    expect(await failure(session.sendText({ text: 'still there?', messageId: randomUUID() }))).toMatchObject({
      failure: 'signed_out',
    });
    live.unsubscribe();
  });
});

describe('Genesys asks the customer to authenticate again', () => {
  test('a 403 "Try authenticate again" mid-session ends streams with reauthentication_required, not signed_out', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    const live = collect(session);
    await session.ready();
    sim.faults.refuseNext('onMessage', { code: 403, body: 'Try authenticate again', sessionToken: token });
    expect(await failure(session.sendText({ text: 'hello?', messageId: randomUUID() }))).toMatchObject({
      failure: 'reauthentication_required',
    });
    await waitFor(() => finals(live.events).length > 0);
    expect(finals(live.events).map((e) => (e as { state?: string }).state)).toEqual(['reauthentication_required']);
    live.unsubscribe();
  });
});

describe('a sign-in that cleared an older signed-in conversation', () => {
  test("a SessionResponse saying clearedExistingSession reaches the streams (the SDK's ExistingAuthSessionCleared)", async () => {
    const session = hub.session(randomUUID());
    const live = collect(session);
    await session.ready();
    feed(
      session,
      JSON.stringify({
        type: 'response',
        class: 'SessionResponse',
        code: 200,
        body: { connected: true, newSession: false, readOnly: false, clearedExistingSession: true },
      }),
    );
    expect(finals(live.events)).toEqual([{ type: 'session', state: 'existing_session_cleared' }]);
    live.unsubscribe();
  });
});

describe('handed over to another instance', () => {
  test('streams are told to reconnect, and a request still holding the session is told why', async () => {
    const session = hub.session(randomUUID());
    const live = collect(session);
    await session.ready();
    session.handOver();
    expect(finals(live.events)).toEqual([
      {
        type: 'session',
        state: 'unavailable',
        detail: 'This chat moved to another instance of the service; reconnect.',
      },
    ]);
    expect(await failure(session.ready())).toMatchObject({
      failure: 'unavailable',
      message: 'The connection to Genesys was handed over to another instance; please retry.',
    });
    live.unsubscribe();
  });
});

describe('a listener that comes once the session is out of service', () => {
  // The stream route gets the session ready, then waits for its ticket (the shared store) before it subscribes:
  // meanwhile the session may be handed over to another instance, retired or ended.
  test.each([
    [
      'handed over',
      (s: GuestSession) => s.handOver(),
      'unavailable',
      'The connection to Genesys was handed over to another instance; please retry.',
    ],
    ['ended', (s: GuestSession) => s.end(), 'expired', 'The chat was ended; start a new session.'],
  ])('%s: hears why, as the listeners then did, and opens no socket', async (_how, leave, state, detail) => {
    const token = randomUUID();
    const session = hub.session(token);
    await session.ready();
    leave(session);
    const live = collect(session);
    expect(await live.next((e) => e.type === 'session')).toEqual({ type: 'session', state, detail });
    expect(finals(live.events)).toHaveLength(1);
    await waitFor(() => sim.stats.openConnectionsBySession(token) === 0);
    expect(hub.socketsOpened).toBe(1);
    live.unsubscribe();
  });

  test('a live stream served on a session handed over meanwhile ends at once, telling its client to reconnect', async () => {
    const session = hub.session(randomUUID());
    await session.ready();
    session.handOver();
    const streams = new LiveStreams(streamOptions());
    const { url } = await serveStreams(streams, session);
    const stream = await openStream(url);
    const last = await stream.next((e) => e.event === 'session' && dataOf(e).reconnect !== undefined);
    expect(dataOf(last)).toMatchObject({ state: 'unavailable', reconnect: true });
    await stream.ended;
    expect(streams.count).toBe(0);
  });
});

describe('requests still waiting when the service closes the socket fail, saying why', () => {
  /** A session whose socket stays open but to which Genesys sends nothing more during the test, with a JWT request waiting. */
  async function waitingOnGenesys() {
    const token = randomUUID();
    const session = hub.session(token);
    await session.ready();
    sim.faults.delayFrames(60_000, token);
    const jwt = failure(session.getJwt());
    await waitFor(() => sim.framesFor(token, 'getJwt').length === 1);
    return { token, session, jwt };
  }

  test('closeSession', async () => {
    const { token, session, jwt } = await waitingOnGenesys();
    const closing = session.close();
    await waitFor(() => sim.framesFor(token, 'closeSession').length === 1);
    feed(
      session,
      '{"type":"response","class":"SessionResponse","code":200,"body":{"connected":false,"newSession":false}}',
    );
    await closing;
    expect(await jwt).toMatchObject({
      failure: 'connection_lost',
      message: 'The connection to Genesys was closed by this service.',
    });
    sim.faults.clear();
  });

  test('Clear', async () => {
    const { token, session, jwt } = await waitingOnGenesys();
    const clearing = session.clear();
    await waitFor(() => sim.framesFor(token, 'onMessage').length === 1);
    feed(session, '{"type":"message","class":"SessionClearedEvent","code":200,"body":{}}');
    await clearing;
    expect(await jwt).toMatchObject({
      failure: 'connection_lost',
      message: 'The connection to Genesys was closed after the chat was ended.',
    });
    sim.faults.clear();
  });
});

test('a Clear Genesys refused ends nothing: a connection Genesys closes afterwards is told to the streams', async () => {
  sim.setOptions({ conversationClear: false });
  const session = hub.session(randomUUID());
  const live = collect(session);
  await session.ready();
  await failure(session.clear());
  feed(session, '{"type":"message","class":"ConnectionClosedEvent","code":200,"body":{}}');
  expect(finals(live.events)).toEqual([
    { type: 'session', state: 'closed', detail: 'Genesys closed this connection.' },
  ]);
  live.unsubscribe();
});

test('a connection Genesys closes because another took its place is not reopened behind the stream on it', async () => {
  const log = captureLogger('info');
  const first = hubFor(sim, { logger: log.logger });
  const others = [hubFor(sim), hubFor(sim), hubFor(sim)];
  try {
    const token = randomUUID();
    const session = first.session(token);
    const live = collect(session);
    await session.ready();
    // Genesys allows 3 connections per session and closes the oldest on a 4th.
    for (const other of others) await other.session(token).ready();
    await live.next((e) => e.type === 'session' && e.state === 'closed');
    await waitFor(() => log.messages('info').includes('guest socket closed by the other side'));
    expect(session.holdsSocket).toBe(false);
    expect(first.socketsOpened).toBe(1);
    live.unsubscribe();
  } finally {
    first.close();
    for (const other of others) other.close();
  }
});
