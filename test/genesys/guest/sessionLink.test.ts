import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { GuestApiError } from '../../../src/genesys/guest/protocol/errors';
import type { SessionResponse } from '../../../src/genesys/guest/protocol/frames';
import { GuestSession } from '../../../src/genesys/guest/guestSession';
import type { GuestEvent } from '../../../src/genesys/guest/desk/sessionNews';
import type { GuestSocket } from '../../../src/genesys/guest/link';
import { SessionLink, type LinkOptions } from '../../../src/genesys/guest/sessionLink';
import { metricsText } from '../../../src/observability/metrics';
import { CONFIGURED as INFO, StandInLinkSession, StandInProof } from '../../support/linkSession';
import { parseScrape } from '../../support/metrics';
import { waitFor } from '../../support/wait';
import { VARIABLE_NAMES } from '../../support/settingNames';

/**
 * The link's sockets against a Guest API the test scripts frame by frame:
 * what happens to a socket whose configureSession failed.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- frames are whatever the client sent */

interface FakeGuestApi {
  url: string;
  /** Every connection, in the order they were opened. */
  sockets: WebSocket[];
  /** The TCP socket under each connection (same order). */
  tcp: Socket[];
  /** Called with each connection's configureSession frame and its index. */
  onConfigure?: (frame: any, index: number, socket: WebSocket) => void;
  close(): Promise<void>;
}

async function fakeGuestApi(): Promise<FakeGuestApi> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeGuestApi = {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets: [],
    tcp: [],
    async close() {
      for (const socket of wss.clients) socket.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  wss.on('connection', (socket, req) => {
    const index = fake.sockets.push(socket) - 1;
    fake.tcp.push(req.socket);
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.action === 'configureSession') fake.onConfigure?.(frame, index, socket);
    });
  });
  return fake;
}

const sessionResponse = (body: object, tracingId?: string) =>
  JSON.stringify({
    type: 'response',
    class: 'SessionResponse',
    code: 200,
    body: { connected: true, newSession: false, readOnly: false, ...body },
    ...(tracingId ? { tracingId } : {}),
  });

let fake: FakeGuestApi;
let session: GuestSession | undefined;
beforeEach(async () => {
  fake = await fakeGuestApi();
});
afterEach(async () => {
  session?.retire('closed by the test');
  await fake.close();
});

/** A whole guest session on the scripted Guest API (closed after each test). */
function sessionOnFake(): GuestSession {
  return new GuestSession({
    token: randomUUID(),
    deploymentId: 'deployment',
    webMessagingUrl: fake.url,
    origin: 'http://localhost:3000',
    named: { ...VARIABLE_NAMES, origin: 'GENESYS_ORIGIN (http://localhost:3000)' },
    logger: pino({ level: 'silent' }),
    requestTimeoutMs: 5000,
  });
}

function linkOf(s: GuestSession): SessionLink {
  return (s as unknown as { link: SessionLink }).link;
}

test('a socket whose configure failed is closed, and its late SessionResponse never answers the next socket', async () => {
  const closed = new Set<number>();
  fake.onConfigure = (frame, index, socket) => {
    socket.on('close', () => closed.add(index));
    if (index === 0) {
      // Genesys refuses the first configure (not for good: the link tries again on a new socket).
      socket.send(
        JSON.stringify({
          type: 'response',
          class: 'string',
          code: 400,
          body: 'Request failed.',
          tracingId: frame.tracingId,
        }),
      );
      return;
    }
    // The first socket, if still open, now delivers a stale SessionResponse without tracingId; only
    // once the client has read it (its pong follows) or the socket is gone does the real answer go out.
    const first = fake.sockets[0]!;
    const answer = () => socket.send(sessionResponse({ maxCustomDataBytes: 2222 }, frame.tracingId));
    if (first.readyState !== WebSocket.OPEN) {
      answer();
      return;
    }
    let answered = false;
    const once = () => {
      if (answered) return;
      answered = true;
      answer();
    };
    first.send(sessionResponse({ maxCustomDataBytes: 1111, readOnly: true }));
    first.once('pong', once);
    first.once('close', once);
    first.ping();
  };
  session = sessionOnFake();
  const info = await linkOf(session).connect();
  expect(fake.sockets).toHaveLength(2);
  expect(info).toMatchObject({ maxCustomDataBytes: 2222, readOnly: false });
  expect(session.state).toMatchObject({ maxCustomDataBytes: 2222 });
  // The refused socket is closed by the client, not left open beside the new one.
  await waitFor(() => closed.has(0));
  expect(fake.sockets[1]!.readyState).toBe(WebSocket.OPEN);
});

test("a session's stream is told a message its new socket brought before reconnected once, after reconnected", async () => {
  fake.onConfigure = (frame, index, socket) => {
    // The new socket brings an agent's reply before its configure is answered: held until reconnected is told.
    if (index === 1) socket.send(agentMessage('overtaking'));
    socket.send(sessionResponse({}, frame.tracingId));
  };
  session = sessionOnFake();
  const events: GuestEvent[] = [];
  session.subscribe((event) => events.push(event));
  await session.ready();
  fake.sockets[0]!.terminate();
  await waitFor(() => events.some((e) => label(e) === 'message:overtaking'));
  await roundTrip(fake.sockets[1]!);
  expect(events.map(label)).toEqual(['session:reconnected', 'message:overtaking']);
});

/*
 * The link alone, against a stand-in for its session: what it asks of the session (configure,
 * prove delivery, fail or flush requests, die), what it tells the streams, and when it opens a socket.
 */

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A message from the agent, as Genesys frames it. */
const agentMessage = (text: string) =>
  JSON.stringify({
    type: 'message',
    class: 'StructuredMessage',
    code: 200,
    body: {
      id: `g-${text}`,
      type: 'Text',
      text,
      direction: 'Outbound',
      channel: { time: null, messageId: null, from: { image: null } },
      metadata: null,
    },
  });

/** Genesys closing this connection (another took its place). */
const connectionClosed = JSON.stringify({
  type: 'message',
  class: 'ConnectionClosedEvent',
  code: 200,
  body: { reason: 'sessionReplaced' },
});

/** Resolves once the client has read everything sent on `socket` before (its pong follows them). */
const roundTrip = (socket: WebSocket) =>
  new Promise<void>((resolve) => {
    socket.once('pong', () => resolve());
    socket.ping();
  });

const label = (e: GuestEvent) =>
  e.type === 'message' ? `message:${e.message.text}` : `${e.type}:${(e as { state?: string }).state}`;

const links: SessionLink[] = [];
afterEach(() => {
  // Stops retry loops still running (a mutant's) and closes the sockets.
  for (const link of links.splice(0)) {
    link.end(new GuestApiError('session_expired', 'test over'));
    link.desk.failAll(new GuestApiError('session_expired', 'test over'));
    link.close();
  }
});

function harness(options: Partial<LinkOptions> = {}) {
  const logLines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const state = { now: 1_000_000 };
  const session = new StandInLinkSession(logger);
  const proof = new StandInProof();
  const beforeSocketOpen = jest.fn(async (): Promise<void> => undefined);
  const link = new SessionLink(
    {
      token: randomUUID(),
      deploymentId: 'deployment',
      webMessagingUrl: fake.url,
      origin: 'http://localhost:3000',
      named: { ...VARIABLE_NAMES, origin: 'GENESYS_ORIGIN (http://localhost:3000)' },
      logger,
      requestTimeoutMs: 5000,
      beforeSocketOpen,
      now: () => state.now,
      ...options,
    },
    session,
    proof,
  );
  session.serve(link, () => state.now);
  links.push(link);
  // The link's own desk, watched: what the link asks of the requests on its sockets.
  const desk = {
    refused: jest.spyOn(link.desk, 'refused'),
    flush: jest.spyOn(link.desk, 'flush'),
    failAll: jest.spyOn(link.desk, 'failAll'),
    newConnection: jest.spyOn(link.desk, 'newConnection'),
    socketLost: jest.spyOn(link.desk, 'socketLost'),
  };
  return {
    link,
    state,
    session,
    desk,
    ledger: proof,
    configure: session.configureLink,
    configured: session.configured,
    die: session.ended,
    events: session.events,
    logLines,
    beforeSocketOpen,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<GuestApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GuestApiError);
  return error as GuestApiError;
}

describe('connecting', () => {
  test('a dead session refuses to connect: its own error, no socket asked for', async () => {
    const h = harness();
    const gone = new GuestApiError('session_expired', 'expired');
    h.link.end(gone);
    await expect(h.link.connect()).rejects.toBe(gone);
    expect(h.beforeSocketOpen).not.toHaveBeenCalled();
    expect(h.die).not.toHaveBeenCalled();
    expect(h.link.isConnecting).toBe(false);
  });

  test('the link is ready only once the open socket is configured, and connecting until then', async () => {
    const h = harness();
    const answer = deferred<SessionResponse>();
    h.configure.mockImplementationOnce(() => answer.promise);
    const connecting = h.link.connect();
    expect(h.link.isConnecting).toBe(true);
    await waitFor(() => h.configure.mock.calls.length === 1);
    expect(h.link.current()?.isOpen).toBe(true);
    expect(h.link.isReady()).toBe(false);
    answer.resolve(INFO);
    await expect(connecting).resolves.toBe(INFO);
    expect(h.link.isReady()).toBe(true);
    expect(h.link.isConnecting).toBe(false);
    expect(h.desk.flush).toHaveBeenCalledTimes(1);
    // The configured socket is kept: once the attempt settled, it is still open at Genesys's end.
    await roundTrip(fake.sockets[0]!);
    expect(fake.sockets).toHaveLength(1);
    expect(fake.sockets[0]!.readyState).toBe(WebSocket.OPEN);
    expect(h.link.isReady()).toBe(true);
  });

  test('a first connect that needs a second attempt tells no stream it is reconnecting', async () => {
    const h = harness();
    h.session.listeners = 1;
    h.beforeSocketOpen.mockRejectedValueOnce(new GuestApiError('unavailable', 'down'));
    await expect(h.link.connect()).resolves.toBe(INFO);
    expect(h.beforeSocketOpen).toHaveBeenCalledTimes(2);
    expect(h.events).toEqual([]);
  });

  test('a ready link asked to connect again opens no second socket; one that lost its socket opens one', async () => {
    const h = harness();
    const first = await h.link.connect();
    await expect(h.link.connect()).resolves.toBe(first);
    expect(fake.sockets).toHaveLength(1);
    expect(h.beforeSocketOpen).toHaveBeenCalledTimes(1);
    fake.sockets[0]!.terminate();
    await waitFor(() => !h.link.isReady());
    await h.link.connect();
    expect(fake.sockets).toHaveLength(2);
    expect(fake.sockets[1]!.readyState).toBe(WebSocket.OPEN);
  });

  test('a socket that drops while configuring is given up; the next one is configured', async () => {
    const h = harness();
    h.configure.mockImplementationOnce(async () => {
      fake.sockets[0]!.terminate();
      await waitFor(() => h.desk.socketLost.mock.calls.length === 1);
      return { ...INFO, maxCustomDataBytes: 1 };
    });
    await expect(h.link.connect()).resolves.toBe(INFO);
    expect(fake.sockets).toHaveLength(2);
    expect(h.configured).toHaveBeenCalledTimes(1);
    expect(h.configured).toHaveBeenCalledWith(INFO);
    expect(h.link.isReady()).toBe(true);
  });

  test('a socket whose configure failed is let go and closed at once, not kept open while the next try waits', async () => {
    const h = harness();
    // What the link holds once the failure has been handled, long before the next try is due.
    const afterFailure = new Promise<{ holds: GuestSocket | undefined; refusedOpen: boolean }>((resolve) => {
      h.configure.mockImplementationOnce(async () => {
        const refused = h.link.current()!;
        setImmediate(() => resolve({ holds: h.link.current(), refusedOpen: refused.isOpen }));
        throw new GuestApiError('unavailable', 'Genesys could not configure the session.');
      });
    });
    const connected = h.link.connect();
    expect(await afterFailure).toEqual({ holds: undefined, refusedOpen: false });
    await expect(connected).resolves.toBe(INFO);
    expect(fake.sockets).toHaveLength(2);
    expect(h.link.isReady()).toBe(true);
  });

  test('when every socket drops while configuring, requests fail and streams hear unavailable; the session lives', async () => {
    const h = harness();
    h.configure.mockImplementation(async () => {
      const lost = h.desk.socketLost.mock.calls.length;
      fake.sockets.at(-1)!.terminate();
      await waitFor(() => h.desk.socketLost.mock.calls.length === lost + 1);
      return INFO;
    });
    const error = await failureOf(h.link.connect());
    expect(error.failure).toBe('connection_lost');
    expect(error.message).toMatch(/dropped/);
    expect(fake.sockets).toHaveLength(4);
    expect(h.configured).not.toHaveBeenCalled();
    expect(h.die).not.toHaveBeenCalled();
    expect(h.desk.failAll).toHaveBeenCalledWith(error);
    expect(h.events).toEqual([{ type: 'session', state: 'unavailable', detail: error.message }]);
  });
});

describe('reconnecting', () => {
  test('what the new socket brings before reconnected is told follows it; before the drop, frames pass straight on', async () => {
    const h = harness();
    h.session.listeners = 1;
    await h.link.connect();
    fake.sockets[0]!.send(agentMessage('before'));
    await roundTrip(fake.sockets[0]!);
    expect(h.events.map(label)).toEqual(['message:before']);

    let seenWhileProving: string[] = [];
    h.ledger.settleInDoubt.mockImplementationOnce(async () => {
      fake.sockets[1]!.send(agentMessage('overtaking'));
      await roundTrip(fake.sockets[1]!);
      seenWhileProving = h.events.map(label);
    });
    fake.sockets[0]!.terminate();
    await waitFor(() => h.events.some((e) => label(e) === 'session:reconnected'));
    expect(seenWhileProving).toEqual(['message:before']);
    expect(h.events.map(label)).toEqual(['message:before', 'session:reconnected', 'message:overtaking']);
  });

  test("a stream's dropped socket is replaced, what was in doubt proven, and then reconnected told once", async () => {
    const h = harness();
    h.session.listeners = 1;
    await h.link.connect();
    h.desk.flush.mockClear();
    fake.sockets[0]!.terminate();
    await waitFor(() => fake.sockets.length === 2 && h.link.isReady());
    await roundTrip(fake.sockets[1]!);
    expect(h.ledger.settleInDoubt).toHaveBeenCalledTimes(1);
    expect(h.events.map(label)).toEqual(['session:reconnected']);
    // What waited goes out once the proof is done.
    expect(h.desk.flush).toHaveBeenCalledTimes(1);
    expect(h.desk.flush.mock.invocationCallOrder[0]).toBeGreaterThan(
      h.ledger.settleInDoubt.mock.invocationCallOrder[0]!,
    );
  });

  test('what tells of the session itself is not held behind reconnected', async () => {
    const h = harness();
    h.session.listeners = 1;
    await h.link.connect();
    let seenWhileProving: string[] = [];
    h.ledger.settleInDoubt.mockImplementationOnce(async () => {
      fake.sockets[1]!.send(connectionClosed);
      await roundTrip(fake.sockets[1]!);
      seenWhileProving = h.events.map(label);
    });
    fake.sockets[0]!.terminate();
    await waitFor(() => h.events.some((e) => label(e) === 'session:reconnected'));
    expect(seenWhileProving).toEqual(['session:closed']);
    expect(h.events.map(label)).toEqual(['session:closed', 'session:reconnected']);
  });

  test('a socket that drops while delivery is proven is replaced before reconnected is told', async () => {
    const h = harness();
    h.session.listeners = 1;
    await h.link.connect();
    h.ledger.settleInDoubt.mockImplementationOnce(async () => {
      const lost = h.desk.socketLost.mock.calls.length;
      fake.sockets[1]!.terminate();
      await waitFor(() => h.desk.socketLost.mock.calls.length === lost + 1);
    });
    fake.sockets[0]!.terminate();
    await waitFor(() => h.events.some((e) => label(e) === 'session:reconnected'));
    expect(h.link.isReady()).toBe(true);
    expect(fake.sockets).toHaveLength(3);
    expect(h.ledger.settleInDoubt).toHaveBeenCalledTimes(2);
    expect(h.events.map(label)).toEqual(['session:reconnecting', 'session:reconnected']);
  });
  test('asked to configure again while a reconnect proves its sends, it joins the reconnect: one configure', async () => {
    const h = harness();
    h.session.listeners = 1;
    await h.link.connect();
    let joined: Promise<SessionResponse> | undefined;
    h.ledger.settleInDoubt.mockImplementationOnce(async () => {
      joined = h.link.reconfigure();
    });
    fake.sockets[0]!.terminate();
    await waitFor(() => h.events.some((e) => label(e) === 'session:reconnected'));
    await expect(joined).resolves.toBe(INFO);
    // The first connect's configure and the reconnect's: none asked on top, and no other socket.
    expect(h.configure).toHaveBeenCalledTimes(2);
    expect(fake.sockets).toHaveLength(2);
    expect(h.link.isReady()).toBe(true);
  });

  test('a reconnect that goes round again after its proof failed closes the socket it had configured', async () => {
    const h = harness();
    h.session.listeners = 1;
    await h.link.connect();
    h.ledger.settleInDoubt.mockRejectedValueOnce(new GuestApiError('unavailable', 'history could not be read'));
    fake.sockets[0]!.terminate();
    await waitFor(() => h.events.some((e) => label(e) === 'session:reconnected'));
    expect(fake.sockets).toHaveLength(3);
    // One socket per session at Genesys: the one configured before the failed proof is closed, not let go open.
    await waitFor(() => fake.sockets[1]!.readyState === WebSocket.CLOSED);
    expect(fake.sockets[2]!.readyState).toBe(WebSocket.OPEN);
    expect(h.link.isReady()).toBe(true);
  });

  test('each new socket starts a new request budget before its configure goes out', async () => {
    const h = harness();
    h.session.listeners = 1;
    await h.link.connect();
    fake.sockets[0]!.terminate();
    await waitFor(() => h.events.some((e) => label(e) === 'session:reconnected'));
    const resets = h.desk.newConnection.mock.invocationCallOrder;
    const configures = h.configure.mock.invocationCallOrder;
    expect([resets.length, configures.length]).toEqual([2, 2]);
    expect(resets[0]).toBeLessThan(configures[0]!);
    expect(resets[1]).toBeGreaterThan(configures[0]!);
    expect(resets[1]).toBeLessThan(configures[1]!);
  });

  test('when every new socket drops while delivery is proven, requests fail and streams hear unavailable', async () => {
    const h = harness();
    await h.link.connect();
    fake.sockets[0]!.terminate();
    await waitFor(() => h.desk.socketLost.mock.calls.length === 1);
    h.ledger.settleInDoubt.mockImplementation(async () => {
      const lost = h.desk.socketLost.mock.calls.length;
      fake.sockets.at(-1)!.terminate();
      await waitFor(() => h.desk.socketLost.mock.calls.length === lost + 1);
    });
    const error = await failureOf(h.link.connect());
    expect(error.failure).toBe('connection_lost');
    expect(error.message).toMatch(/dropped/);
    expect(fake.sockets).toHaveLength(5);
    expect(h.die).not.toHaveBeenCalled();
    expect(h.desk.failAll).toHaveBeenCalledWith(error);
    expect(h.events).toEqual([
      { type: 'session', state: 'reconnecting' },
      { type: 'session', state: 'unavailable', detail: error.message },
    ]);
  });
});

describe('a 401 mid-session', () => {
  test('configures again at most once in 10 s; a refusal within that is not written again', async () => {
    const h = harness();
    await h.link.connect();
    const refusal = new GuestApiError('unauthorized', 'refused');
    const start = h.state.now;
    h.link.credentialsRefused('a', refusal);
    expect(h.desk.refused).toHaveBeenLastCalledWith('a', refusal, true);
    await waitFor(() => !h.link.isConnecting);
    expect(h.configure).toHaveBeenCalledTimes(2);

    h.state.now = start + 10_000;
    h.link.credentialsRefused('b', refusal);
    expect(h.desk.refused).toHaveBeenLastCalledWith('b', refusal, false);
    expect(h.link.isConnecting).toBe(false);
    expect(h.configure).toHaveBeenCalledTimes(2);

    h.state.now = start + 10_001;
    h.link.credentialsRefused(undefined, refusal);
    expect(h.desk.refused).toHaveBeenLastCalledWith(undefined, refusal, true);
    await waitFor(() => !h.link.isConnecting);
    expect(h.configure).toHaveBeenCalledTimes(3);
  });
});

describe('configuring again', () => {
  test('a link that never connected opens its socket first', async () => {
    const h = harness();
    await expect(h.link.reconfigure()).resolves.toBe(INFO);
    expect(fake.sockets).toHaveLength(1);
    expect(h.link.isReady()).toBe(true);
  });

  test('a ready link configures again on the same socket; requests wait meanwhile and go out after', async () => {
    const h = harness();
    await h.link.connect();
    const socket = h.link.current();
    const answer = deferred<SessionResponse>();
    h.configure.mockImplementationOnce(() => answer.promise);
    h.desk.flush.mockClear();
    const again = h.link.reconfigure();
    expect(h.link.isReady()).toBe(false);
    expect(h.link.isConnecting).toBe(true);
    expect(h.link.reconfigure()).toBe(again);
    const renewed = { ...INFO, newSession: false };
    answer.resolve(renewed);
    await expect(again).resolves.toBe(renewed);
    expect(h.configure).toHaveBeenCalledTimes(2);
    expect(h.configured).toHaveBeenLastCalledWith(renewed);
    expect(h.link.current()).toBe(socket);
    expect(fake.sockets).toHaveLength(1);
    expect(h.link.isReady()).toBe(true);
    expect(h.link.isConnecting).toBe(false);
    expect(h.desk.flush).toHaveBeenCalledTimes(1);
  });

  test('a socket that drops while configuring again fails it: connection lost, nothing configured', async () => {
    const h = harness();
    await h.link.connect();
    h.configure.mockImplementationOnce(async () => {
      fake.sockets[0]!.terminate();
      await waitFor(() => h.desk.socketLost.mock.calls.length === 1);
      return INFO;
    });
    const error = await failureOf(h.link.reconfigure());
    expect(error.failure).toBe('connection_lost');
    expect(error.message).toMatch(/dropped/);
    expect(h.configured).toHaveBeenCalledTimes(1);
    expect(h.link.isReady()).toBe(false);
    expect(h.desk.failAll).toHaveBeenCalledWith(error, expect.any(Function));
  });

  test('a refusal that ends the session ends it', async () => {
    const h = harness();
    await h.link.connect();
    const expired = new GuestApiError('session_expired', 'gone');
    h.configure.mockRejectedValueOnce(expired);
    await expect(h.link.reconfigure()).rejects.toBe(expired);
    expect(h.die).toHaveBeenCalledWith(expired);
    expect(h.desk.failAll).not.toHaveBeenCalled();
  });

  test('any other refusal closes the socket and fails the requests not yet written', async () => {
    const h = harness();
    await h.link.connect();
    const refused = new GuestApiError('bad_request', 'no');
    h.configure.mockRejectedValueOnce(refused);
    await expect(h.link.reconfigure()).rejects.toBe(refused);
    expect(h.link.current()).toBeUndefined();
    expect(h.die).not.toHaveBeenCalled();
    expect(h.desk.failAll).toHaveBeenCalledTimes(1);
    const [error, which] = h.desk.failAll.mock.calls[0] as [GuestApiError, (p: { written: boolean }) => boolean];
    expect(error).toBe(refused);
    expect(which({ written: false })).toBe(true);
    expect(which({ written: true })).toBe(false);
    await waitFor(() => fake.sockets[0]!.readyState === WebSocket.CLOSED);
  });
});

describe('a socket closing', () => {
  test('dropped by Genesys with no request waiting and no stream listening: logged, not reopened', async () => {
    const h = harness();
    await h.link.connect();
    const socket = h.link.current() as unknown as { ws: WebSocket };
    fake.sockets[0]!.close(1011);
    await waitFor(() => socket.ws.readyState === WebSocket.CLOSED);
    expect(h.desk.socketLost).toHaveBeenCalledTimes(1);
    expect(h.link.isConnecting).toBe(false);
    expect(h.beforeSocketOpen).toHaveBeenCalledTimes(1);
    expect(h.link.current()).toBeUndefined();
    expect(h.events).toEqual([]);
    expect(h.logLines).toContainEqual(
      expect.objectContaining({ level: 30, code: 1011, msg: 'guest socket closed by the other side' }),
    );
  });

  test('a connection Genesys said it closes is not reopened for streams, and they are told once', async () => {
    const h = harness();
    h.session.listeners = 1;
    await h.link.connect();
    fake.sockets[0]!.send(connectionClosed);
    await roundTrip(fake.sockets[0]!);
    const socket = h.link.current() as unknown as { ws: WebSocket };
    fake.sockets[0]!.close(1000);
    await waitFor(() => socket.ws.readyState === WebSocket.CLOSED);
    expect(h.desk.socketLost).toHaveBeenCalledTimes(1);
    expect(h.link.isConnecting).toBe(false);
    expect(h.beforeSocketOpen).toHaveBeenCalledTimes(1);
    expect(h.events.map(label)).toEqual(['session:closed']);
  });

  test('a request waiting on a dropped socket opens a new one, though no stream listens', async () => {
    const h = harness();
    await h.link.connect();
    // A JWT request Genesys has not answered yet (this Guest API never does).
    void h.link.desk.request('jwt', (tracingId) => ({ action: 'getJwt', tracingId })).catch(() => undefined);
    expect(h.link.desk.size).toBe(1);
    const socket = h.link.current() as unknown as { ws: WebSocket };
    fake.sockets[0]!.terminate();
    await waitFor(() => socket.ws.readyState === WebSocket.CLOSED);
    expect(h.desk.socketLost).toHaveBeenCalledTimes(1);
    expect(h.beforeSocketOpen).toHaveBeenCalledTimes(2);
    await waitFor(() => h.link.isReady());
    expect(fake.sockets).toHaveLength(2);
  });

  test('a frame that comes on a socket the link has closed is not read', async () => {
    const h = harness();
    h.session.listeners = 1;
    await h.link.connect();
    fake.sockets[0]!.send(agentMessage('before'));
    await roundTrip(fake.sockets[0]!);
    const old = h.link.current()! as unknown as { ws: WebSocket };
    // Genesys has not read the close yet, and sends on: the frame reaches the closing socket, then the close does.
    fake.tcp[0]!.pause();
    h.link.close();
    fake.sockets[0]!.send(agentMessage('after the close'));
    fake.tcp[0]!.resume();
    await waitFor(() => old.ws.readyState === WebSocket.CLOSED);
    expect(h.events.map(label)).toEqual(['message:before']);
  });

  test('a socket the link has moved on from, closing late, leaves the new one alone', async () => {
    const h = harness();
    await h.link.connect();
    const old = h.link.current()!;
    // The old socket's close handshake waits until the new socket is configured.
    fake.tcp[0]!.pause();
    h.link.close();
    await h.link.connect();
    expect(fake.sockets).toHaveLength(2);
    fake.tcp[0]!.resume();
    await waitFor(() => (old as unknown as { ws: WebSocket }).ws.readyState === WebSocket.CLOSED);
    expect(h.link.current()).not.toBe(old);
    expect(h.link.isReady()).toBe(true);
  });
});

describe('giving up', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('for requests alone: four attempts, then the requests fail and streams hear unavailable; the session lives', async () => {
    const h = harness();
    const down = new GuestApiError('unavailable', 'down');
    h.beforeSocketOpen.mockRejectedValue(down);
    const result = failureOf(h.link.connect());
    await jest.advanceTimersByTimeAsync(60_000);
    expect(h.beforeSocketOpen).toHaveBeenCalledTimes(4);
    expect(await result).toBe(down);
    expect(h.die).not.toHaveBeenCalled();
    expect(h.desk.failAll).toHaveBeenCalledWith(down);
    expect(h.events).toEqual([{ type: 'session', state: 'unavailable', detail: 'down' }]);
  });

  // A rate limit, a store that cannot count the attempt, a conversation signed in elsewhere meanwhile: asking
  // again at once gets the same answer, even while streams listen.
  test.each(['rate_limited', 'store_unavailable', 'cannot_downgrade'] as const)(
    '%s is not retried, though a stream listens',
    async (failure) => {
      const h = harness();
      h.session.listeners = 1;
      const refused = new GuestApiError(failure, 'not now', { retryAfterSeconds: 5 });
      h.beforeSocketOpen.mockRejectedValue(refused);
      const result = failureOf(h.link.connect());
      await jest.advanceTimersByTimeAsync(60_000);
      expect(h.beforeSocketOpen).toHaveBeenCalledTimes(1);
      expect(await result).toBe(refused);
    },
  );

  test('an open circuit is not retried for requests alone: it answers at once', async () => {
    const h = harness();
    const open = new GuestApiError('circuit_open', 'Genesys failed just now');
    h.beforeSocketOpen.mockRejectedValue(open);
    const result = failureOf(h.link.connect());
    await jest.advanceTimersByTimeAsync(60_000);
    expect(h.beforeSocketOpen).toHaveBeenCalledTimes(1);
    expect(await result).toBe(open);
    expect(h.desk.failAll).toHaveBeenCalledWith(open);
  });

  test('a session that ends while a retry waits asks for no other socket, and fails with its own error', async () => {
    const h = harness();
    h.beforeSocketOpen.mockRejectedValue(new GuestApiError('unavailable', 'down'));
    const result = failureOf(h.link.connect());
    await jest.advanceTimersByTimeAsync(0);
    expect(h.beforeSocketOpen).toHaveBeenCalledTimes(1);
    const gone = new GuestApiError('session_expired', 'ended meanwhile');
    h.link.end(gone);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(h.beforeSocketOpen).toHaveBeenCalledTimes(1);
    expect(await result).toBe(gone);
  });

  test('while streams listen, attempts go on until the reconnect window has passed', async () => {
    const h = harness({ reconnectWindowMs: 60_000 });
    h.session.listeners = 1;
    const start = h.state.now;
    const down = new GuestApiError('unavailable', 'down');
    h.beforeSocketOpen.mockImplementation(async () => {
      const n = h.beforeSocketOpen.mock.calls.length;
      if (n === 7) h.state.now = start + 59_999;
      if (n === 8) h.state.now = start + 60_000;
      throw down;
    });
    const result = failureOf(h.link.connect());
    await jest.advanceTimersByTimeAsync(120_000);
    expect(h.beforeSocketOpen).toHaveBeenCalledTimes(8);
    expect(await result).toBe(down);
    expect(h.die).not.toHaveBeenCalled();
  });

  test.each(['session_expired', 'handshake_refused'] as const)(
    '%s ends the session at once: no retry, no unavailable',
    async (failure) => {
      const h = harness();
      h.session.listeners = 1;
      const error = new GuestApiError(failure, 'refused');
      h.beforeSocketOpen.mockRejectedValue(error);
      const result = failureOf(h.link.connect());
      await jest.advanceTimersByTimeAsync(60_000);
      expect(h.beforeSocketOpen).toHaveBeenCalledTimes(1);
      expect(await result).toBe(error);
      expect(h.die).toHaveBeenCalledWith(error);
      expect(h.desk.failAll).not.toHaveBeenCalled();
      expect(h.events).toEqual([]);
    },
  );
});

/**
 * The one place a link's state changes (SessionLink's `apply`): each change
 * of kind is logged at debug with the session's logger and counted in
 * `genesys_bff_guest_link_transitions_total` by the kinds left and entered;
 * a refused event changes, logs and counts nothing.
 */
describe('each change of state, logged and counted', () => {
  function standIn() {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const session = new StandInLinkSession(logger);
    const refused = new GuestApiError('handshake_refused', 'refused');
    const link = new SessionLink(
      {
        token: 'token',
        deploymentId: 'deployment',
        webMessagingUrl: 'ws://127.0.0.1:9',
        origin: 'http://localhost:3000',
        named: { ...VARIABLE_NAMES, origin: 'GENESYS_ORIGIN (http://localhost:3000)' },
        logger,
        requestTimeoutMs: 1000,
        beforeSocketOpen: () => Promise.reject(refused),
        now: () => 0,
      },
      session,
      new StandInProof(),
    );
    const changes = () =>
      lines.filter((l) => l.msg === 'guest link state changed').map((l) => `${l.event}: ${l.from} -> ${l.to}`);
    return { link, lines, changes, session, refused };
  }

  async function transitions(): Promise<(from: string, to: string) => number> {
    const scrape = parseScrape(await metricsText());
    return (from, to) => scrape.value('genesys_bff_guest_link_transitions_total', { from, to });
  }

  test('a connect that is refused: idle to connecting and back, each change logged at debug and counted', async () => {
    const h = standIn();
    const before = await transitions();
    await expect(h.link.connect()).rejects.toBe(h.refused);
    expect(h.session.ended.mock.calls).toEqual([[h.refused]]);
    expect(h.changes()).toEqual(['connectRequested: idle -> connecting', 'attemptSettled: connecting -> idle']);
    expect(h.lines.filter((l) => l.msg === 'guest link state changed').every((l) => l.level === 20)).toBe(true);
    const after = await transitions();
    expect(after('idle', 'connecting') - before('idle', 'connecting')).toBe(1);
    expect(after('connecting', 'idle') - before('connecting', 'idle')).toBe(1);
    expect(h.link.isConnecting).toBe(false);
  });

  test('the end of the session: dead once, its error kept; what follows is refused and leaves no trace', async () => {
    const h = standIn();
    const before = await transitions();
    const gone = new GuestApiError('session_expired', 'expired');
    expect(h.link.end(gone)).toBe(true);
    expect(h.link.end(new GuestApiError('unavailable', 'retired'))).toBe(false);
    expect(h.link.dead()).toBe(gone);
    await expect(h.link.connect()).rejects.toBe(gone);
    h.link.close();
    h.link.closedByServer = true;
    expect(h.link.closedByServer).toBe(false);
    expect(h.changes()).toEqual(['sessionEnded: idle -> dead']);
    const after = await transitions();
    expect(after('idle', 'dead') - before('idle', 'dead')).toBe(1);
    expect(h.session.ended).not.toHaveBeenCalled();
  });

  test('news of the session changes what the link holds, not its kind: nothing logged or counted', () => {
    const h = standIn();
    const info = { connected: true, newSession: true, readOnly: false } as never;
    h.link.describe(info);
    expect(h.link.info).toBe(info);
    expect(h.changes()).toEqual([]);
  });
});
