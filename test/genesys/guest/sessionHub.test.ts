import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../../simulator';
import { AppError } from '../../../src/domain/errors';
import { GuestApiError } from '../../../src/genesys/guest/protocol/errors';
import { SessionCeiling } from '../../../src/genesys/guest/sessionCeiling';
import type { SessionHub } from '../../../src/genesys/guest/sessionHub';
import { registry } from '../../../src/observability/metrics';
import { MemoryStore, sessionKeyOf } from '../../../src/store';
import { captureLogger } from '../../support/app';
import { StandInGate } from '../../support/genesysGate';
import { collect, hubFor } from '../../support/guestHub';
import { waitFor } from '../../support/wait';

/**
 * The hub of guest sessions (src/genesys/guest/sessionHub.ts) against the simulator: one upstream
 * socket per session, what a dropped socket does to a send and a stream, idleness, the bound on
 * sockets and who owns a session; a session with a request on its desk is busy, like one with a
 * live stream: the hub never closes it to make room (GUEST_SOCKET_MAX), which would fail a send
 * already on its way to Genesys; and SOCKET_OPENS_PER_SESSION_PER_MINUTE, counted in the shared
 * store on an injected clock.
 */

describe('sockets, drops, idleness and owners', () => {
  let sim: Simulator;
  let hub: SessionHub;

  beforeAll(async () => {
    sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.reset();
    sim.setOptions({ messagesPerSecond: 5, profile: 'default' });
    hub = hubFor(sim);
  });
  afterEach(() => hub.close());

  function guestTexts(token: string): string[] {
    return sim.framesFor(token, 'onMessage').map((f) => f.frame.message?.text as string);
  }

  test('100 sessions sending 10 messages each open exactly 100 upstream sockets', async () => {
    sim.setOptions({ messagesPerSecond: 1000 });
    hub.close();
    hub = hubFor(sim, { messagesPerSecond: 1000 });
    const tokens = Array.from({ length: 100 }, () => randomUUID());
    await Promise.all(
      tokens.map(async (token) => {
        for (let i = 0; i < 10; i++) {
          await hub.session(token).sendText({ text: `message ${i}`, messageId: randomUUID() });
        }
      }),
    );
    expect(hub.socketsOpened).toBe(100);
    expect(sim.stats.connectionsOpened).toBe(100);
    for (const token of tokens) expect(guestTexts(token)).toHaveLength(10);
  });

  test('concurrent first use of one session opens one socket', async () => {
    sim.setOptions({ messagesPerSecond: 1000 });
    hub.close();
    hub = hubFor(sim, { messagesPerSecond: 1000 });
    const token = randomUUID();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => hub.session(token).sendText({ text: `m${i}`, messageId: randomUUID() })),
    );
    expect(sim.stats.connectionsBySession(token)).toBe(1);
  });

  describe('a socket dropped in the middle of a send', () => {
    test('reply lost after Genesys processed it: the send completes from history, never sent twice', async () => {
      const token = randomUUID();
      const session = hub.session(token);
      await session.ready();
      sim.faults.dropOnNext('onMessage', { sessionToken: token, when: 'after-processing' });
      const messageId = randomUUID();
      const echo = await session.sendText({ text: 'survives the drop', messageId });
      expect(echo).toMatchObject({ text: 'survives the drop', clientMessageId: messageId });
      expect(guestTexts(token)).toEqual(['survives the drop']);
      expect(sim.stats.connectionsBySession(token)).toBe(2);
    });

    test('an answer whose reply was lost is proved from history by its payload and text when Genesys shows its own message id (strict profile)', async () => {
      sim.setOptions({ profile: 'strict' });
      const token = randomUUID();
      const session = hub.session(token);
      await session.ready();
      sim.faults.dropOnNext('onMessage', { sessionToken: token, when: 'after-processing' });
      // A quick-reply answer goes out with an empty text: history shows only its ButtonResponse.
      const echo = await session.sendAnswer({
        kind: 'QuickReply',
        text: 'Yes',
        payload: 'YES',
        messageId: randomUUID(),
      });
      expect(echo).toMatchObject({ buttonResponse: { text: 'Yes', payload: 'YES' } });
      expect(sim.framesFor(token, 'onMessage')).toHaveLength(1);
    });

    test('frame lost before Genesys processed it: a clear error, and nothing was delivered twice', async () => {
      const token = randomUUID();
      const session = hub.session(token);
      await session.ready();
      sim.faults.dropOnNext('onMessage', { sessionToken: token, when: 'before-processing' });
      const error = await session.sendText({ text: 'lost on the wire', messageId: randomUUID() }).then(
        () => undefined,
        (e: unknown) => e as GuestApiError,
      );
      expect(error).toBeInstanceOf(GuestApiError);
      expect(error!.failure).toBe('connection_lost');
      expect(error!.message).toMatch(/not delivered/);
      expect(guestTexts(token).filter((t) => t === 'lost on the wire').length).toBeLessThanOrEqual(1);
      expect(
        sim.conversationMessages(token).filter((m) => (m as { text?: string }).text === 'lost on the wire'),
      ).toHaveLength(0);
      // The session itself recovered: the next send goes through on the new socket.
      await expect(session.sendText({ text: 'after', messageId: randomUUID() })).resolves.toMatchObject({
        text: 'after',
      });
    });

    test('reply lost and no new socket allowed: the send fails as in doubt, never as a refusal', async () => {
      // A clock that stands still: the second socket falls in the same minute however slow this machine is.
      const budgetHub = hubFor(sim, { opensPerSessionPerMinute: 1, now: () => 1_000_000 });
      try {
        const token = randomUUID();
        const session = budgetHub.session(token);
        await session.ready();
        sim.faults.dropOnNext('onMessage', { sessionToken: token, when: 'after-processing' });
        const error = await session.sendText({ text: 'delivered, then cut off', messageId: randomUUID() }).then(
          () => undefined,
          (e: unknown) => e as GuestApiError,
        );
        expect(error).toBeInstanceOf(GuestApiError);
        expect(error!.failure).toBe('connection_lost');
        expect(error!.message).toMatch(/may have been delivered/);
        expect(guestTexts(token)).toEqual(['delivered, then cut off']);
      } finally {
        budgetHub.close();
      }
    });

    test('sends queued while the socket is down go out once it is back', async () => {
      const token = randomUUID();
      const session = hub.session(token);
      await session.ready();
      sim.faults.refuseHandshake(503, 1);
      sim.faults.dropSocket(token);
      await waitFor(() => sim.stats.openConnections() === 0);
      const echo = await session.sendText({ text: 'queued', messageId: randomUUID() });
      expect(echo.text).toBe('queued');
      expect(guestTexts(token)).toEqual(['queued']);
    });

    test('a send that gets no answer fails within its timeout', async () => {
      const slowHub = hubFor(sim, { requestTimeoutMs: 300 });
      try {
        const token = randomUUID();
        const session = slowHub.session(token);
        await session.ready();
        // The answer is held far longer than the timeout, which starts before the frame is even written.
        sim.faults.delayFrames(2000, token);
        const error = await session.sendText({ text: 'slow', messageId: randomUUID() }).then(
          () => undefined,
          (e: unknown) => e as GuestApiError,
        );
        expect(error).toMatchObject({ failure: 'timeout', status: 504 });
        expect(error!.message).toMatch(/Idempotency-Key/);
        // The frame went out once (it may reach the simulator after the timeout on a busy machine).
        await waitFor(() => guestTexts(token).length > 0);
        expect(guestTexts(token)).toEqual(['slow']);
      } finally {
        slowHub.close();
      }
    });
  });

  test('a live stream survives a dropped socket: it reconnects with the same token and keeps receiving', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    const live = collect(session);
    await session.ready();
    sim.faults.dropSocket(token);
    await live.next((e) => e.type === 'session' && e.state === 'reconnected');
    const configures = sim.framesFor(token, 'configureSession').map((f) => f.frame);
    expect(configures).toHaveLength(2);
    expect(configures[1]).toMatchObject({ token, startNew: false });
    sim.agent.say(token, 'still here?');
    await live.next((e) => e.type === 'message' && e.message.text === 'still here?');
    live.unsubscribe();
  });

  test('idle sockets are closed and reopened on the next use', async () => {
    let now = 1_000_000;
    const idleHub = hubFor(sim, { idleMs: 1000, now: () => now });
    const token = randomUUID();
    await idleHub.session(token).ready();
    now += 5000;
    (idleHub as unknown as { sweepIdle(): void }).sweepIdle();
    expect(idleHub.size).toBe(0);
    await waitFor(() => sim.stats.openConnections() === 0);
    await idleHub.session(token).sendText({ text: 'back', messageId: randomUUID() });
    expect(idleHub.socketsOpened).toBe(2);
    idleHub.close();
  });

  test('sessions with a live stream are not closed for idleness', async () => {
    let now = 1_000_000;
    const idleHub = hubFor(sim, { idleMs: 1000, now: () => now });
    const session = idleHub.session(randomUUID());
    const live = collect(session);
    await session.ready();
    now += 5000;
    (idleHub as unknown as { sweepIdle(): void }).sweepIdle();
    expect(idleHub.size).toBe(1);
    live.unsubscribe();
    idleHub.close();
  });

  test('the number of sockets is bounded; the least recently used idle one goes first', async () => {
    const small = hubFor(sim, { ceiling: new SessionCeiling(3) });
    const tokens = Array.from({ length: 4 }, () => randomUUID());
    for (const t of tokens.slice(0, 3)) await small.session(t).ready();
    await small.session(tokens[0]!).ready(); // most recent now
    await small.session(tokens[3]!).ready();
    expect(small.size).toBe(3);
    await waitFor(() => sim.stats.openConnections() === 3);
    // tokens[1] was the least recently used.
    expect(small.session(tokens[0]!).isReady).toBe(true);
    small.close();
  });

  async function refusedByLimit(limit: string): Promise<number> {
    const metric = await registry.getSingleMetric('genesys_bff_limits_refused_total')!.get();
    return metric.values.find((v) => v.labels.limit === limit)?.value ?? 0;
  }

  const rejection = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (e: unknown) => e as Error,
    );

  describe('room for one more session (GUEST_SOCKET_MAX)', () => {
    test('a session something waits on is never closed to make room: the least recently used idle one goes, and is told why', async () => {
      const small = hubFor(sim, { ceiling: new SessionCeiling(2) });
      try {
        const [streamed, idle, fresh] = [randomUUID(), randomUUID(), randomUUID()];
        const watched = small.session(streamed);
        const live = collect(watched);
        await watched.ready();
        const evicted = small.session(idle);
        await evicted.ready();
        // The streamed session is the least recently used, but busy.
        await small.session(fresh).ready();
        expect(small.size).toBe(2);
        expect(small.session(streamed)).toBe(watched);
        expect(watched.isReady).toBe(true);
        // A request still holding the evicted session learns why it cannot go on.
        expect(await rejection(evicted.ready())).toMatchObject({
          message: 'The connection to Genesys was closed to make room for newer sessions; please retry.',
        });
        live.unsubscribe();
      } finally {
        small.close();
      }
    });

    test('when every session is busy the request is refused with 503 and Retry-After, counted, and nothing is opened', async () => {
      const small = hubFor(sim, { ceiling: new SessionCeiling(1) });
      try {
        const busy = small.session(randomUUID());
        const live = collect(busy);
        await busy.ready();
        const before = await refusedByLimit('guest_socket_max');
        const token = randomUUID();
        let refused: unknown;
        try {
          small.session(token);
        } catch (error) {
          refused = error;
        }
        expect(refused).toBeInstanceOf(AppError);
        expect(refused).toMatchObject({
          code: 'upstream_unavailable',
          status: 503,
          retryAfterSeconds: 5,
          message: 'This instance is serving as many chats as it may (GUEST_SOCKET_MAX); retry shortly.',
          logDetail: { guestSockets: 1 },
        });
        expect(await refusedByLimit('guest_socket_max')).toBe(before + 1);
        expect(sim.stats.connectionsBySession(token)).toBe(0);
        live.unsubscribe();
      } finally {
        small.close();
      }
    });
  });

  describe('one ceiling for every deployment: the hubs of two deployments share GUEST_SOCKET_MAX', () => {
    test("a full instance makes room by closing the least recently used idle session of either deployment's hub", async () => {
      const ceiling = new SessionCeiling(2);
      const [shop, clinic] = [hubFor(sim, { ceiling }), hubFor(sim, { ceiling })];
      try {
        const [oldest, newer, third] = [randomUUID(), randomUUID(), randomUUID()];
        const evicted = shop.session(oldest);
        await evicted.ready();
        await clinic.session(newer).ready();
        await clinic.session(third).ready();
        expect(shop.size + clinic.size).toBe(2);
        expect(shop.size).toBe(0);
        expect(await rejection(evicted.ready())).toMatchObject({
          message: 'The connection to Genesys was closed to make room for newer sessions; please retry.',
        });
        await waitFor(() => sim.stats.openConnections() === 2);
      } finally {
        shop.close();
        clinic.close();
      }
    });

    test("a session busy in one deployment is never closed for the other's: the other's new chat gets 503", async () => {
      const ceiling = new SessionCeiling(1);
      const [shop, clinic] = [hubFor(sim, { ceiling }), hubFor(sim, { ceiling })];
      try {
        const busy = shop.session(randomUUID());
        const live = collect(busy);
        await busy.ready();
        expect(() => clinic.session(randomUUID())).toThrow(
          expect.objectContaining({ code: 'upstream_unavailable', status: 503, retryAfterSeconds: 5 }),
        );
        live.unsubscribe();
        // Idle again, it makes room for the other deployment's chat.
        await clinic.session(randomUUID()).ready();
        expect([shop.size, clinic.size]).toEqual([0, 1]);
      } finally {
        shop.close();
        clinic.close();
      }
    });
  });

  test('a session idle for exactly idleMs is closed, not a moment before; a request still holding it is told why', async () => {
    let now = 1_000_000;
    const idleHub = hubFor(sim, { idleMs: 1000, now: () => now });
    const sweep = () => (idleHub as unknown as { sweepIdle(): void }).sweepIdle();
    try {
      const session = idleHub.session(randomUUID());
      await session.ready();
      now += 999;
      sweep();
      expect(idleHub.size).toBe(1);
      now += 1;
      sweep();
      expect(idleHub.size).toBe(0);
      expect(await rejection(session.ready())).toMatchObject({
        failure: 'unavailable',
        message: 'The connection to Genesys was closed after being idle; please retry.',
      });
    } finally {
      idleHub.close();
    }
  });

  test('idle sessions are swept every half idleMs, at most once a second', async () => {
    let now = 1_000_000;
    const every = jest.spyOn(global, 'setInterval');
    let idleHub: SessionHub | undefined;
    let quickHub: SessionHub | undefined;
    try {
      idleHub = hubFor(sim, { idleMs: 10_000, now: () => now });
      const sweeps = every.mock.calls.filter(([, ms]) => ms === 5_000);
      const made = every.mock.calls.length;
      quickHub = hubFor(sim, { idleMs: 500 });
      expect(every.mock.calls.slice(made).map(([, ms]) => ms)).toEqual([1_000]);
      expect(sweeps).toHaveLength(1);
      every.mockRestore();
      await idleHub.session(randomUUID()).ready();
      now += 10_000;
      (sweeps[0]![0] as () => void)();
      expect(idleHub.size).toBe(0);
    } finally {
      every.mockRestore();
      idleHub?.close();
      quickHub?.close();
    }
  });

  test("the hub's history reads tell of each read of the newest page, with the session's token and the page", async () => {
    const told: Array<[string, string[]]> = [];
    const telling = hubFor(sim, {
      onNewestPage: (token, page) => told.push([token, page.messages.map((m) => m.text ?? '')]),
    });
    try {
      const token = randomUUID();
      const session = telling.session(token);
      await session.sendText({ text: 'hello', messageId: randomUUID() });
      await telling.history.page(session, 1, 25);
      await telling.history.page(session, 2, 25);
      await telling.history.page(session, 1, 25);
      expect(told).toEqual([
        [token, ['hello']],
        [token, ['hello']],
      ]);
    } finally {
      telling.close();
    }
  });

  test("each session's log lines name its chat by its store key, never by its token; what it hears is told to observe", async () => {
    const log = captureLogger('debug');
    const seen: Array<[string, string]> = [];
    const observed = hubFor(sim, { logger: log.logger, observe: (token, event) => seen.push([token, event.type]) });
    const token = randomUUID();
    try {
      await observed.session(token).sendText({ text: 'hello', messageId: randomUUID() });
      expect(log.lines().find((l) => l.msg === 'guest link state changed')).toMatchObject({
        chat: sessionKeyOf(token),
      });
      await waitFor(() => seen.some(([t, type]) => t === token && type === 'message'));
    } finally {
      observed.close();
    }
    expect(log.text()).not.toContain(token);
  });

  test('a session still in use when the hub closes is told the instance is shutting down', async () => {
    const closing = hubFor(sim);
    const session = closing.session(randomUUID());
    try {
      await session.ready();
    } finally {
      closing.close();
    }
    expect(await rejection(session.ready())).toMatchObject({
      failure: 'unavailable',
      message: 'The connection to Genesys was closed because this instance is shutting down; please retry.',
    });
  });

  test('a session handed over to another instance is replaced on its next use here', async () => {
    const token = randomUUID();
    const first = hub.session(token);
    await first.ready();
    first.handOver();
    const next = hub.session(token);
    expect(next).not.toBe(first);
    await expect(next.ready()).resolves.toMatchObject({ connected: true });
    expect(sim.stats.connectionsBySession(token)).toBe(2);
  });

  test('with a shared store, the instance that opens a session socket records itself as its owner', async () => {
    const memory = new MemoryStore();
    const store = Object.assign(Object.create(memory) as MemoryStore, { shared: true });
    const shared = hubFor(sim, { store, instanceId: 'instance-a' });
    try {
      const token = randomUUID();
      await shared.session(token).ready();
      await waitFor(async () => (await memory.get(`owner:${sessionKeyOf(token)}`)) === 'instance-a');
    } finally {
      shared.close();
    }
  });
});

describe('a session with a request on its desk is busy', () => {
  // A simulator of its own, with the options it starts with (the block above sets its own before each test).
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
  });
  afterAll(() => sim.stop());

  test('a session whose send awaits its echo is not closed to make room: the newcomer is refused, and the send completes', async () => {
    const small = hubFor(sim, { ceiling: new SessionCeiling(1) });
    try {
      const token = randomUUID();
      const sending = small.session(token);
      await sending.ready();
      // Genesys is slow to answer this session: its send sits on the desk, with no stream open.
      sim.faults.delayFrames(1500, token);
      // Settled as a value either way, so that a send failed early is this test's failure, not an unhandled rejection.
      const sent = sending.sendText({ text: 'still on its way', messageId: randomUUID() }).then(
        (message) => ({ message }),
        (error: unknown) => ({ error }),
      );
      // On the desk for sure once Genesys has the frame (its echo comes 1.5 s later).
      await waitFor(() => sim.framesFor(token, 'onMessage').length === 1);

      let refused: unknown;
      try {
        small.session(randomUUID());
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({ status: 503, code: 'upstream_unavailable' });
      expect(await sent).toMatchObject({ message: { text: 'still on its way' } });
      expect(small.session(token)).toBe(sending);
    } finally {
      small.close();
    }
  });
});

describe('the circuit to Genesys opening', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
  });
  afterAll(() => sim.stop());

  test("answers at once what waits on every session's desk, not at its deadline; a closed hub stops listening", async () => {
    const gate = new StandInGate(3);
    const hub = hubFor(sim, { upstream: gate, requestTimeoutMs: 60_000 });
    try {
      const [a, b] = [randomUUID(), randomUUID()];
      await Promise.all([hub.session(a).ready(), hub.session(b).ready()]);
      // Genesys stops answering both sessions: a send on one, a JWT request on the other, wait on their desks.
      sim.faults.delayFrames(120_000, a);
      sim.faults.delayFrames(120_000, b);
      const outcome = (p: Promise<unknown>) =>
        p.then(
          () => 'answered',
          (error: unknown) => error,
        );
      const send = outcome(hub.session(a).sendText({ text: 'anyone there?', messageId: randomUUID() }));
      const jwt = outcome(hub.session(b).getJwt());
      await waitFor(() => sim.framesFor(a, 'onMessage').length === 1 && sim.framesFor(b, 'getJwt').length === 1);
      gate.open();
      expect(await send).toMatchObject({ failure: 'timeout', status: 503, retryAfterSeconds: 3 });
      expect(await jwt).toMatchObject({ failure: 'circuit_open', status: 503, retryAfterSeconds: 3 });
      expect(hub.session(a).busy).toBe(false);
      expect(gate.listening).toBe(1);
    } finally {
      hub.close();
    }
    expect(gate.listening).toBe(0);
  });
});

describe('socket opens a minute per session, in the shared store', () => {
  /** SOCKET_OPENS_PER_SESSION_PER_MINUTE counted in the shared store, on an injected clock. */
  let sim: Simulator;
  const hubs: SessionHub[] = [];
  let clock = 1_000_000;

  beforeAll(async () => {
    sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.reset();
    clock = 1_000_000;
  });
  afterEach(() => {
    for (const hub of hubs.splice(0)) hub.close();
  });

  async function refusedByLimit(limit: string): Promise<number> {
    const metric = await registry.getSingleMetric('genesys_bff_limits_refused_total')!.get();
    return metric.values.find((v) => v.labels.limit === limit)?.value ?? 0;
  }

  const hubOn = (store: MemoryStore, opensPerSessionPerMinute: number) => {
    const hub = hubFor(sim, { store, opensPerSessionPerMinute });
    hubs.push(hub);
    return hub;
  };

  test('two instances on one store share a session budget of socket opens; a minute later it is back', async () => {
    const store = new MemoryStore(100, () => clock);
    const [first, second, third] = [hubOn(store, 2), hubOn(store, 2), hubOn(store, 2)];
    const token = randomUUID();
    await first.session(token).ready();
    clock += 20_000;
    await second.session(token).ready();
    const counted = await refusedByLimit('socket_opens_per_session');
    const refused = await third
      .session(token)
      .ready()
      .catch((e: unknown) => e);
    // The budget's first use leaves the window 40 s on.
    expect(refused).toMatchObject({
      failure: 'rate_limited',
      code: 'rate_limited',
      status: 429,
      retryAfterSeconds: 40,
      message: 'This chat reconnected too often; wait a moment before trying again.',
    });
    expect(await refusedByLimit('socket_opens_per_session')).toBe(counted + 1);
    expect(sim.stats.connectionsBySession(token)).toBe(2);
    clock += 40_000;
    await third.session(token).ready();
    expect(sim.stats.connectionsBySession(token)).toBe(3);
  });

  test('the budget is per session: another session on the same store opens its own sockets', async () => {
    const store = new MemoryStore(100, () => clock);
    const hub = hubOn(store, 1);
    const [busy, other] = [randomUUID(), randomUUID()];
    await hub.session(busy).ready();
    await hub.session(other).ready();
    expect(sim.stats.connectionsBySession(other)).toBe(1);
  });

  /** A store whose Redis is away: every count fails as RedisStore's do. */
  class UnreachableStore extends MemoryStore {
    asked = 0;
    override take(): Promise<number> {
      this.asked++;
      return Promise.reject(
        new AppError('store_unavailable', 'The shared store (Redis) did not answer.', { retryAfterSeconds: 1 }),
      );
    }
  }

  test('store away: no socket is opened, the request is refused with store_unavailable at once (not retried)', async () => {
    const store = new UnreachableStore();
    const hub = hubOn(store, 12);
    const token = randomUUID();
    const refused = await hub
      .session(token)
      .ready()
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'store_unavailable',
      status: 503,
      retryAfterSeconds: 1,
      message: 'The shared store (Redis) did not answer, so no connection to Genesys was opened; retry shortly.',
    });
    expect(store.asked).toBe(1);
    expect(sim.stats.connectionsBySession(token)).toBe(0);
  });

  /** A store whose count answers only when the test says so (a slow Redis). */
  class HeldStore extends MemoryStore {
    release: () => void = () => undefined;
    private markAsked: () => void = () => undefined;
    readonly asked = new Promise<void>((resolve) => (this.markAsked = resolve));
    private readonly gate = new Promise<void>((resolve) => (this.release = resolve));

    override async take(key: string, limit: number, windowMs: number): Promise<number> {
      this.markAsked();
      await this.gate;
      return super.take(key, limit, windowMs);
    }
  }

  test('a session taken out of service while its socket open was being counted opens no socket', async () => {
    const store = new HeldStore();
    const hub = hubOn(store, 12);
    const token = randomUUID();
    const ready = hub.session(token).ready();
    await store.asked;
    hub.close();
    store.release();
    await expect(ready).rejects.toMatchObject({ failure: 'unavailable' });
    expect(hub.socketsOpened).toBe(0);
    expect(sim.stats.connectionsBySession(token)).toBe(0);
  });
});
