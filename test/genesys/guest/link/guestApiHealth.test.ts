import { AppError } from '../../../../src/domain/errors';
import { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import { GuestApiHealth } from '../../../../src/genesys/guest/link/guestApiHealth';
import { createLogger } from '../../../../src/observability/logger';
import { Readiness } from '../../../../src/observability/readiness';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { genesysCircuitRefusals, genesysCircuitTransitions, registry } from '../../../../src/observability/metrics';
import { MemoryStore } from '../../../../src/store';
import { waitFor } from '../../../support/wait';
import { VARIABLE_NAMES } from '../../../support/settingNames';

describe('GuestApiHealth (the guestApi readiness check)', () => {
  let health: GuestApiHealth;
  let readiness: Readiness;
  let lines: Array<{ level: number; msg: string; genesysCode?: number }>;

  beforeEach(() => {
    lines = [];
    readiness = new Readiness();
    const logger = createLogger({
      level: 'debug',
      destination: { write: (line: string) => lines.push(JSON.parse(line)) },
    });
    health = new GuestApiHealth({
      webMessagingUrl: 'wss://webmessaging.example.invalid',
      deploymentId: 'deployment-1',
      origin: 'https://bff.example.org',
      named: { ...VARIABLE_NAMES, origin: 'GENESYS_ORIGIN (https://bff.example.org)' },
      readiness,
      logger,
      // Longer than any test: the background probe never runs here.
      probeIntervalMs: 600_000,
      connectTimeoutMs: 1_000,
    });
  });

  afterEach(() => health.close());

  const check = () => readiness.report().checks.guestApi;
  const logged = (level: number) => lines.filter((l) => l.level === level);

  it('starts not ready, saying what it checks, until a handshake succeeds', () => {
    expect(check()).toEqual({
      ok: false,
      detail: 'Checking that Genesys accepts a guest WebSocket at wss://webmessaging.example.invalid.',
    });
    expect(readiness.report().ready).toBe(false);

    health.succeeded();

    expect(check()).toEqual({ ok: true, detail: 'Genesys accepts the guest WebSocket.' });
    expect(logged(30).map((l) => l.msg)).toEqual(['Genesys accepts the guest WebSocket.']);
  });

  it('turns unready on a refused handshake, naming GENESYS_ORIGIN, and logs the refusal once however often it repeats', () => {
    const refused = new GuestApiError('handshake_refused', 'refused', { genesysCode: 403 });
    for (let i = 0; i < 5; i++) health.failed(refused);

    expect(check()).toMatchObject({
      ok: false,
      detail: expect.stringContaining('GENESYS_ORIGIN (https://bff.example.org)'),
    });
    expect(logged(50)).toEqual([expect.objectContaining({ msg: check()!.detail, genesysCode: 403 })]);
  });

  it('names a derived Origin in the refused-handshake detail as derived, not as a GENESYS_ORIGIN somebody set', () => {
    const readinessOfDerived = new Readiness();
    const derived = new GuestApiHealth({
      webMessagingUrl: 'wss://webmessaging.example.invalid',
      deploymentId: 'deployment-1',
      origin: 'https://shop.example.com',
      named: {
        ...VARIABLE_NAMES,
        origin: 'GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://shop.example.com)',
      },
      readiness: readinessOfDerived,
      logger: createLogger({ level: 'silent' }),
      probeIntervalMs: 600_000,
      connectTimeoutMs: 1_000,
    });
    try {
      derived.failed(new GuestApiError('handshake_refused', 'refused', { genesysCode: 403 }));
      expect(readinessOfDerived.report().checks.guestApi).toEqual({
        ok: false,
        detail:
          'Genesys refused the guest WebSocket handshake (HTTP 403) at wss://webmessaging.example.invalid. ' +
          'Check GENESYS_DEPLOYMENT_ID, that the deployment is active, and that GENESYS_ORIGIN (unset: the first ' +
          'exact CORS_ALLOWED_ORIGINS entry, https://shop.example.com) is one of its allowed domains.',
      });
    } finally {
      derived.close();
    }
  });

  it('is ready again after a successful handshake, and says so once', () => {
    health.failed(new GuestApiError('unavailable', 'connect ECONNREFUSED'));
    // One failure does not open the circuit: the detail says nothing of calls refused.
    expect(check()).toMatchObject({
      ok: false,
      detail: 'The guest WebSocket at wss://webmessaging.example.invalid could not be opened: connect ECONNREFUSED',
    });

    health.succeeded();
    health.succeeded();

    expect(check()).toEqual({ ok: true, detail: 'Genesys accepts the guest WebSocket again.' });
    expect(logged(30).map((l) => l.msg)).toEqual(['Genesys accepts the guest WebSocket again.']);
    expect(logged(50)).toHaveLength(1);
  });

  it('a failure schedules the next handshake; success and close() cancel it, and a failure during shutdown schedules none', () => {
    jest.useFakeTimers();
    try {
      // A configuration refusal: not an outage, so no probe at once (test below) and the circuit stays closed.
      const unreachable = new GuestApiError('handshake_refused', 'refused', { genesysCode: 403 });
      health.failed(unreachable);
      expect(jest.getTimerCount()).toBe(1);
      health.succeeded();
      expect(jest.getTimerCount()).toBe(0);

      health.failed(unreachable);
      health.close();
      expect(jest.getTimerCount()).toBe(0);
      // A guest socket failing while the instance shuts down.
      health.failed(unreachable);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('GuestApiHealth.start(): the first handshake, before any guest', () => {
  let server: WebSocketServer;
  let health: GuestApiHealth | undefined;
  let handshakes: { origin?: string; url?: string }[];
  let refuse: boolean;
  /** The next handshake is answered 429 with this Retry-After, once. */
  let rateLimitedFor: string | undefined;

  beforeEach(async () => {
    handshakes = [];
    refuse = false;
    rateLimitedFor = undefined;
    server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (
        info: { origin: string; req: { url?: string } },
        done: (ok: boolean, status?: number, message?: string, headers?: Record<string, string>) => void,
      ) => {
        handshakes.push({ origin: info.origin, url: info.req.url });
        if (rateLimitedFor !== undefined) {
          const retryAfter = rateLimitedFor;
          rateLimitedFor = undefined;
          return done(false, 429, 'Too Many Requests', { 'Retry-After': retryAfter });
        }
        done(!refuse, 403);
      },
    });
    await new Promise((resolve) => server.once('listening', resolve));
  });

  afterEach(async () => {
    health?.close();
    await new Promise((resolve) => server.close(resolve));
  });

  function started(probeIntervalMs = 600_000, port = (server.address() as AddressInfo).port): { readiness: Readiness } {
    const readiness = new Readiness();
    health = new GuestApiHealth({
      webMessagingUrl: `ws://127.0.0.1:${port}`,
      deploymentId: 'deployment-1',
      origin: 'https://bff.example.org',
      named: { ...VARIABLE_NAMES, origin: 'GENESYS_ORIGIN (https://bff.example.org)' },
      readiness,
      logger: createLogger({ level: 'silent' }),
      probeIntervalMs,
      connectTimeoutMs: 5_000,
    });
    health.start();
    return { readiness };
  }

  it('a handshake Genesys accepts makes the instance ready, with no guest involved', async () => {
    const { readiness } = started();
    await waitFor(() => readiness.report().checks.guestApi!.ok);
    expect(readiness.report().checks.guestApi).toEqual({ ok: true, detail: 'Genesys accepts the guest WebSocket.' });
    expect(handshakes).toEqual([
      { origin: 'https://bff.example.org', url: expect.stringContaining('deploymentId=deployment-1') },
    ]);
  });

  it("a first handshake answered 429 is tried again once Genesys's wait is over, not before", async () => {
    rateLimitedFor = '2';
    const { readiness } = started();
    await waitFor(() => handshakes.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(handshakes).toHaveLength(1);
    await waitFor(() => readiness.report().checks.guestApi!.ok);
    expect(handshakes).toHaveLength(2);
  });

  it('a 429 told once the instance is ready schedules no handshake', async () => {
    const { readiness } = started();
    await waitFor(() => readiness.report().checks.guestApi!.ok);
    health!.failed(new GuestApiError('rate_limited', 'spent', { genesysCode: 429, retryAfterSeconds: 0 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(handshakes).toHaveLength(1);
    // Genesys answering 429 is Genesys there: readiness stays as it was.
    expect(readiness.report().checks.guestApi).toEqual({ ok: true, detail: 'Genesys accepts the guest WebSocket.' });
  });

  it('a refused first handshake keeps it not ready, and the detail names GENESYS_ORIGIN', async () => {
    refuse = true;
    const { readiness } = started();
    await waitFor(() => handshakes.length === 1 && /refused/.test(readiness.report().checks.guestApi!.detail));
    expect(readiness.report()).toMatchObject({
      ready: false,
      checks: { guestApi: { ok: false, detail: expect.stringContaining('GENESYS_ORIGIN (https://bff.example.org)') } },
    });
  });

  it('a refused handshake is tried again every probe interval, without traffic, until Genesys accepts it', async () => {
    refuse = true;
    const { readiness } = started(20);
    await waitFor(() => handshakes.length >= 2);
    expect(readiness.report().checks.guestApi!.ok).toBe(false);
    refuse = false;
    await waitFor(() => readiness.report().checks.guestApi!.ok);
    expect(readiness.report().checks.guestApi).toEqual({
      ok: true,
      detail: 'Genesys accepts the guest WebSocket again.',
    });
  });

  it('closing while a handshake is under way ends it, and its outcome changes nothing', async () => {
    const connections: Socket[] = [];
    // Takes the connection and never answers the upgrade.
    const silent = createServer((socket) => connections.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { readiness } = started(20, (silent.address() as AddressInfo).port);
      await waitFor(() => connections.length === 1);
      health!.close();
      // The ended handshake fails on the next tick; by the next turn of the loop the probe has seen it.
      await new Promise((resolve) => setImmediate(resolve));
      expect(readiness.report().checks.guestApi).toEqual({
        ok: false,
        detail: expect.stringMatching(/^Checking that Genesys accepts/),
      });
    } finally {
      for (const c of connections) c.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('the circuit to Genesys', () => {
  let server: WebSocketServer;
  let health: GuestApiHealth | undefined;
  /** The status the handshake is refused with; undefined accepts it. */
  let refuseWith: number | undefined;
  let handshakes: number;
  /** When each handshake reached Genesys (Date.now()). */
  let handshakeTimes: number[];
  /** While set, handshakes wait in `held` for the test to answer them. */
  let hold: boolean;
  let held: Array<(ok: boolean, status?: number) => void>;
  const away = () => Promise.reject(new GuestApiError('unavailable', 'connect ECONNREFUSED'));

  beforeEach(async () => {
    refuseWith = undefined;
    handshakes = 0;
    handshakeTimes = [];
    hold = false;
    held = [];
    server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (_info: unknown, done: (ok: boolean, status?: number) => void) => {
        handshakes++;
        handshakeTimes.push(Date.now());
        if (hold) return void held.push(done);
        done(refuseWith === undefined, refuseWith);
      },
    });
    await new Promise((resolve) => server.once('listening', resolve));
  });

  afterEach(async () => {
    health?.close();
    for (const done of held.splice(0)) done(false, 503);
    await new Promise((resolve) => server.close(resolve));
  });

  function circuit(
    port = (server.address() as AddressInfo).port,
    options: {
      openProbeIntervalMs?: number;
      slowCallMs?: number;
      probeTimeoutMs?: number;
      now?: () => number;
      logger?: ReturnType<typeof createLogger>;
    } = {},
  ) {
    const readiness = new Readiness();
    health = new GuestApiHealth({
      webMessagingUrl: `ws://127.0.0.1:${port}`,
      deploymentId: 'deployment-1',
      origin: 'https://bff.example.org',
      named: { ...VARIABLE_NAMES, origin: 'GENESYS_ORIGIN (https://bff.example.org)' },
      readiness,
      logger: createLogger({ level: 'silent' }),
      probeIntervalMs: 600_000,
      connectTimeoutMs: 10_000,
      probeTimeoutMs: 300,
      slowCallMs: 100,
      openProbeIntervalMs: 50,
      ...options,
    });
    readiness.set('guestApi', { ok: true, detail: 'warmed up' });
    return { health, readiness };
  }

  const counted = async () => ({
    refusals: (await genesysCircuitRefusals.get()).values[0]?.value ?? 0,
    opened: (await genesysCircuitTransitions.get()).values.find((v) => v.labels.to === 'open')?.value ?? 0,
    closed: (await genesysCircuitTransitions.get()).values.find((v) => v.labels.to === 'closed')?.value ?? 0,
  });

  it('a call failing for Genesys being away has a handshake check at once; refused, the circuit opens', async () => {
    // Checks far apart: a check comes at once only when nothing holds it to the gap.
    const said: Array<{ level: number; msg: string }> = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (l: string) => void said.push(JSON.parse(l)) },
    });
    const { health, readiness } = circuit(undefined, { slowCallMs: 60_000, logger });
    const before = await counted();
    const port = (server.address() as AddressInfo).port;
    // What the instance says at the moment it opens: whoever is told then reads it degraded, in the outage's words.
    const saidAsItOpened: unknown[] = [];
    health.onOpen(() => saidAsItOpened.push(readiness.report().checks.guestApi));
    refuseWith = 503;
    await expect(health.watch(away)).rejects.toMatchObject({ failure: 'unavailable' });
    await waitFor(() => health.circuitOpen);
    expect(handshakes).toBeGreaterThanOrEqual(1);
    expect(saidAsItOpened).toEqual([
      expect.objectContaining({
        ok: false,
        detail:
          `Genesys does not answer at ws://127.0.0.1:${port} (a bare handshake failed or did not answer in time): ` +
          'calls that need it are refused with 503 at once until a background handshake succeeds.',
      }),
    ]);
    expect(readiness.report().checks.guestApi).toMatchObject({ ok: false, affectsReadiness: false });
    // Then the failed check's own words, which say calls are refused while it is open; the opening is an error.
    expect(readiness.report().checks.guestApi!.detail).toMatch(
      /^The guest WebSocket at ws:\/\/127\.0\.0\.1:\d+ could not be opened: .+ Calls that need Genesys are refused with 503 at once until a background handshake succeeds\.$/,
    );
    expect(said.filter((l) => l.msg.startsWith('Genesys does not answer at'))).toEqual([
      expect.objectContaining({ level: 50 }),
    ]);

    // Refused at once, never asked: 503 with a wait, counted.
    const call = jest.fn(() => Promise.resolve('answered'));
    await expect(health.watch(call)).rejects.toMatchObject({
      failure: 'circuit_open',
      code: 'upstream_unavailable',
      status: 503,
      message: 'Genesys is not answering just now; please retry shortly.',
      retryAfterSeconds: expect.any(Number),
    });
    expect(call).not.toHaveBeenCalled();
    expect(health.refusal()?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(await counted()).toEqual({
      refusals: before.refusals + 2,
      opened: before.opened + 1,
      closed: before.closed,
    });

    // Probed in the background, without traffic: the first handshake accepted closes it.
    refuseWith = undefined;
    await waitFor(() => !health.circuitOpen);
    expect(readiness.report().checks.guestApi!.ok).toBe(true);
    await expect(health.watch(call)).resolves.toBe('answered');
    expect((await counted()).closed).toBe(before.closed + 1);

    // A new outage right after: its first failed call is checked at once, not a gap after the last check.
    refuseWith = 503;
    await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(() => health.circuitOpen);
  });

  it('Retry-After is the seconds until the next handshake has had its chance, never more, never milliseconds', async () => {
    // The clock stands still: the wait is read as the circuit opens, with the whole interval to the next probe left.
    const { health } = circuit(undefined, { openProbeIntervalMs: 4_000, now: () => 1_000_000 });
    const told: GuestApiError[] = [];
    health.onOpen((refusal) => told.push(refusal));
    refuseWith = 503;
    await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(() => health.circuitOpen);
    // The next probe in 4 s, and its own deadline of 300 ms: 4.3 s, so 5 s; never 4300 (or the 300 s cap of one).
    const nextProbeHadItsChance = Math.ceil((4_000 + 300) / 1000);
    expect(told.map((r) => [r.failure, r.retryAfterSeconds])).toEqual([['circuit_open', nextProbeHadItsChance]]);
    expect(health.refusal()?.retryAfterSeconds).toBe(nextProbeHadItsChance);
    await expect(health.watch(() => Promise.resolve('asked'))).rejects.toMatchObject({
      retryAfterSeconds: nextProbeHadItsChance,
    });
  });

  it('tells whoever listens each time it opens, with the refusal; one that stopped listening hears nothing', async () => {
    const { health } = circuit();
    const heard: string[] = [];
    health.onOpen((refusal) => heard.push(`first: ${refusal.message}`));
    const stop = health.onOpen(() => heard.push('second'));
    stop();
    refuseWith = 503;
    await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(() => health.circuitOpen);
    expect(heard).toEqual(['first: Genesys stopped answering; please retry shortly.']);
  });

  it("a handshake answered 429 (the deployment's new sockets a minute spent) is no outage: closed, still ready", async () => {
    const { health, readiness } = circuit();
    const rateLimited = async () =>
      (await registry.getSingleMetric('genesys_bff_genesys_errors_total')!.get()).values.find(
        (v) => v.labels.code === '429',
      )?.value ?? 0;
    const before = await rateLimited();
    refuseWith = 429;
    // Calls that fail as if Genesys were away have the handshake check run; it is answered 429.
    for (let i = 0; i < 3; i++) await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(async () => (await rateLimited()) > before);
    expect(handshakes).toBeGreaterThanOrEqual(1);
    // A guest's own socket refused with 429 says no more.
    health.failed(new GuestApiError('rate_limited', 'spent', { genesysCode: 429, retryAfterSeconds: 3 }));
    expect([health.circuitOpen, readiness.report().checks.guestApi]).toEqual([
      false,
      { ok: true, detail: 'warmed up' },
    ]);
  });

  it.each([
    ['timed out', () => new GuestApiError('timeout', 'no reply')],
    ['was not answered by the Platform API', () => new AppError('upstream_unavailable', 'Genesys did not answer')],
  ])('a call that %s counts as Genesys away: its handshake check, refused, opens it', async (_how, error) => {
    const { health } = circuit();
    refuseWith = 503;
    await expect(health.watch(() => Promise.reject(error()))).rejects.toBeDefined();
    await waitFor(() => health.circuitOpen);
  });

  it('a call that succeeds, or fails for its own reasons, leaves it closed', async () => {
    const { health } = circuit();
    await expect(health.watch(() => Promise.resolve(1))).resolves.toBe(1);
    await expect(
      health.watch(() => Promise.reject(new GuestApiError('rate_limited', 'slow down', { genesysCode: 429 }))),
    ).rejects.toMatchObject({ failure: 'rate_limited' });
    // Refused with 429 though it reads as unavailable; the shared store away; a fault of the service's own.
    for (const error of [
      new GuestApiError('unavailable', 'spent', { genesysCode: 429 }),
      new AppError('store_unavailable', 'Redis did not answer'),
      new Error('a bug'),
    ])
      await expect(health.watch(() => Promise.reject(error))).rejects.toBe(error);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect([health.circuitOpen, handshakes]).toEqual([false, 0]);
  });

  it("a guest's handshake failing for Genesys being away has a check at once; refused, it opens, and it says so as it closes", async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (l: string) => void lines.push(JSON.parse(l)) },
    });
    const { health } = circuit(undefined, { logger });
    refuseWith = 503;
    health.failed(new GuestApiError('unavailable', 'connect ECONNREFUSED'));
    await waitFor(() => health.circuitOpen);
    refuseWith = undefined;
    await waitFor(() => !health.circuitOpen);
    expect(lines.filter((l) => /circuit is closed/.test(l.msg))).toEqual([
      expect.objectContaining({ level: 30, msg: 'Genesys answers again: the circuit is closed, calls go through' }),
    ]);
  });

  it('while it is open, failures bring no check sooner than the open interval', async () => {
    const { health } = circuit(undefined, { openProbeIntervalMs: 4000 });
    refuseWith = 503;
    await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(() => health.circuitOpen);
    const seen = handshakes;
    for (let i = 0; i < 3; i++) health.failed(new GuestApiError('unavailable', 'connect ECONNREFUSED'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(handshakes).toBe(seen);
  });

  it('a call watched with countFailures: false has no handshake check', async () => {
    const { health } = circuit();
    await expect(health.watch(away, { countFailures: false })).rejects.toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(handshakes).toBe(0);
  });

  it('a call failing once the instance is closing has no handshake check', async () => {
    const { health } = circuit();
    health.close();
    await expect(health.watch(away)).rejects.toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(handshakes).toBe(0);
  });

  it('one failed call has one handshake check, no more', async () => {
    const { health } = circuit();
    refuseWith = 403;
    await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(() => handshakes === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(handshakes).toBe(1);
    expect(health.circuitOpen).toBe(false);
  });

  it('failed calls in a row alone never open it: only a handshake check of its own that fails does', async () => {
    const { health } = circuit();
    // A refused handshake (403) is a configuration problem, not an outage: it neither opens nor closes it. Calls
    // failing meanwhile (on a busy instance, say) leave the circuit closed, however many in a row.
    refuseWith = 403;
    for (let i = 0; i < 5; i++) await expect(health.watch(away)).rejects.toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(health.circuitOpen).toBe(false);
  });

  it('a failed call within the gap after a check waits for the gap; the third in a row is checked at once', async () => {
    // Checks a minute apart at most: what comes sooner than that came at once.
    const { health, readiness } = circuit(undefined, { slowCallMs: 60_000 });
    // Refused (403): a check that neither opens the circuit nor resets the failures in a row.
    refuseWith = 403;
    await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(() => handshakes === 1 && !readiness.report().checks.guestApi!.ok);
    await expect(health.watch(away)).rejects.toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(handshakes).toBe(1);
    await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(() => handshakes === 2);
  });

  it('the check a failed call waited for comes once the gap after the last check is over', async () => {
    const { health, readiness } = circuit(undefined, { slowCallMs: 1_000 });
    refuseWith = 403;
    const firstCheckAsked = Date.now();
    await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(() => handshakes === 1 && !readiness.report().checks.guestApi!.ok);
    await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(() => handshakes === 2);
    // A timer may fire a millisecond before the clock reads its due time.
    expect(handshakeTimes[1]! - firstCheckAsked).toBeGreaterThanOrEqual(1_000 - 2);
  });

  it('a call failing while a check is under way has one more check after it, then none', async () => {
    const { health, readiness } = circuit(undefined, { slowCallMs: 50, probeTimeoutMs: 5_000 });
    hold = true;
    await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(() => held.length === 1);
    // That check may have begun before this call: it says nothing of it.
    await expect(health.watch(away)).rejects.toBeDefined();
    // The check outlasts the gap between checks (50 ms): only what it was told keeps that call's own check.
    await new Promise((resolve) => setTimeout(resolve, 200));
    hold = false;
    held.shift()!(false, 403);
    // The check after it is accepted: it has ended once the instance says Genesys accepts it again.
    await waitFor(() => readiness.report().checks.guestApi!.detail === 'Genesys accepts the guest WebSocket again.');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([handshakes, health.circuitOpen]).toEqual([2, false]);
  });

  it('while a check is under way, Retry-After is the seconds left of its deadline', async () => {
    // The clock stands still: were the check not under way, the wait would be to the next one (2 s) and its 3 s.
    const { health } = circuit(undefined, { openProbeIntervalMs: 2_000, probeTimeoutMs: 3_000, now: () => 1_000_000 });
    refuseWith = 503;
    await expect(health.watch(away)).rejects.toBeDefined();
    await waitFor(() => health.circuitOpen);
    hold = true;
    await waitFor(() => held.length === 1);
    // At most the 3 s of its deadline (a stall of this loop is given back to it, never added); never the 5 of the next.
    const retryAfter = health.refusal()!.retryAfterSeconds!;
    expect(retryAfter).toBeGreaterThanOrEqual(2);
    expect(retryAfter).toBeLessThanOrEqual(3);
    held.shift()!(true);
    await waitFor(() => !health.circuitOpen);
  });

  it('a hung Genesys: a slow call has a handshake check within its own short deadline; that opens it, and a connect waiting is refused then', async () => {
    const connections: Socket[] = [];
    // Takes the connection and never answers: the handshake check runs into its own deadline (300 ms here).
    const silent = createServer((socket) => connections.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { health, readiness } = circuit((silent.address() as AddressInfo).port);
      const startedAt = Date.now();
      const hung = health.watch(() => new Promise(() => undefined), { abandonOnOpen: true });
      await expect(hung).rejects.toMatchObject({ failure: 'circuit_open', status: 503 });
      expect(health.circuitOpen).toBe(true);
      // Why, in the check's words: its own deadline ran out, not the connect's.
      await waitFor(() => /within 300 ms/.test(readiness.report().checks.guestApi!.detail));
      expect(readiness.report().checks.guestApi!.detail).toContain(
        'could not be opened: Genesys did not answer the handshake within 300 ms.',
      );
      // Slow call (100 ms), then the check's own deadline (300 ms): far inside a request's 10 s.
      expect(Date.now() - startedAt).toBeLessThan(5000);
      expect(connections.length).toBeGreaterThanOrEqual(1);
    } finally {
      health?.close();
      for (const c of connections) c.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('the circuit shared by the instances of a deployment', () => {
  let server: WebSocketServer;
  let refuseWith: number | undefined;
  let handshakes: number;
  /** The deployment each handshake was for. */
  let handshakesFor: string[];
  /** When each handshake reached Genesys (Date.now()). */
  let handshakeTimes: number[];
  /** While set, handshakes wait in `held` for the test to answer them. */
  let hold: boolean;
  let held: Array<(ok: boolean, status?: number) => void>;
  const instances: GuestApiHealth[] = [];
  const away = () => Promise.reject(new GuestApiError('unavailable', 'connect ECONNREFUSED'));

  beforeEach(async () => {
    refuseWith = undefined;
    handshakes = 0;
    handshakesFor = [];
    handshakeTimes = [];
    hold = false;
    held = [];
    server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (info: { req: { url?: string } }, done: (ok: boolean, status?: number) => void) => {
        handshakes++;
        handshakeTimes.push(Date.now());
        handshakesFor.push(new URL(info.req.url ?? '/', 'ws://x').searchParams.get('deploymentId') ?? '');
        if (hold) return void held.push(done);
        done(refuseWith === undefined, refuseWith);
      },
    });
    await new Promise((resolve) => server.once('listening', resolve));
  });

  afterEach(async () => {
    for (const health of instances.splice(0)) health.close();
    for (const done of held.splice(0)) done(false, 503);
    await new Promise((resolve) => server.close(resolve));
  });

  /** One instance, its handshakes to `port`, sharing `store` with the others; started, its first handshake over. */
  async function instance(
    store: Pick<MemoryStore, 'get' | 'put'>,
    port = (server.address() as AddressInfo).port,
    options: {
      deploymentId?: string;
      lines?: Array<{ level: number; msg: string; err?: { message?: string } }>;
      /** Absent: every 50 ms; undefined: the instance's own default. */
      pollMs?: number;
      openProbeIntervalMs?: number;
    } = {},
  ) {
    const readiness = new Readiness();
    const lines = options.lines;
    const health = new GuestApiHealth({
      webMessagingUrl: `ws://127.0.0.1:${port}`,
      deploymentId: options.deploymentId ?? 'deployment-1',
      origin: 'https://bff.example.org',
      named: { ...VARIABLE_NAMES, origin: 'GENESYS_ORIGIN (https://bff.example.org)' },
      readiness,
      logger: lines
        ? createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(JSON.parse(l)) } })
        : createLogger({ level: 'silent' }),
      probeIntervalMs: 600_000,
      connectTimeoutMs: 10_000,
      probeTimeoutMs: 300,
      slowCallMs: 100,
      openProbeIntervalMs: options.openProbeIntervalMs ?? 50,
      shared: { store, pollMs: 'pollMs' in options ? options.pollMs : 50 },
    });
    instances.push(health);
    health.start();
    await waitFor(() => !readiness.report().checks.guestApi!.detail.startsWith('Checking'));
    return health;
  }

  it('an outage one instance finds opens the circuit of another that had no traffic; both close once Genesys answers', async () => {
    const store = new MemoryStore();
    const said: Array<{ level: number; msg: string }> = [];
    const [first, idle] = [await instance(store), await instance(store, undefined, { lines: said })];
    refuseWith = 503;
    await expect(first.watch(away)).rejects.toBeDefined();
    await waitFor(() => first.circuitOpen);
    // The idle instance had no call fail: it checked Genesys itself on the alarm, and opened.
    await waitFor(() => idle.circuitOpen, 3000);
    expect(said).toContainEqual(
      expect.objectContaining({
        level: 30,
        msg: 'another instance found Genesys away: checking with a handshake of this one',
      }),
    );
    const call = jest.fn(() => Promise.resolve('answered'));
    await expect(idle.watch(call)).rejects.toMatchObject({ failure: 'circuit_open', status: 503 });
    expect(call).not.toHaveBeenCalled();
    refuseWith = undefined;
    await waitFor(() => !first.circuitOpen && !idle.circuitOpen);
  });

  it("one instance's own network trouble opens its circuit alone: the others check once and stay closed", async () => {
    const store = new MemoryStore();
    // Nothing listens where the first instance looks for Genesys.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const nowhere = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const healthy = await instance(store);
    const before = handshakes;
    const cut = await instance(store, nowhere);
    await expect(cut.watch(away)).rejects.toBeDefined();
    await waitFor(() => cut.circuitOpen);
    await waitFor(() => handshakes > before, 3000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // One check for the one alarm, however often the open instance renews it; and no refusal here.
    expect([healthy.circuitOpen, handshakes - before]).toEqual([false, 1]);
    await expect(healthy.watch(() => Promise.resolve('answered'))).resolves.toBe('answered');
  });

  it("an outage of one deployment is no alarm to another deployment's instances on the same store", async () => {
    const store = new MemoryStore();
    const [first, other] = [await instance(store), await instance(store, undefined, { deploymentId: 'deployment-2' })];
    const before = handshakesFor.filter((d) => d === 'deployment-2').length;
    refuseWith = 503;
    await expect(first.watch(away)).rejects.toBeDefined();
    await waitFor(() => first.circuitOpen);
    // Polled every 50 ms: six polls, and no check of its own.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(other.circuitOpen).toBe(false);
    expect(handshakesFor.filter((d) => d === 'deployment-2').length).toBe(before);
  });

  it("by default reads the deployment's alarm no more often than once a second, and acts on it", async () => {
    const store = new MemoryStore();
    const reads: number[] = [];
    const started = Date.now();
    await instance(
      { get: (key) => (reads.push(Date.now()), store.get(key)), put: (...args) => store.put(...args) },
      undefined,
      { pollMs: undefined },
    );
    const before = handshakes;
    // Another instance's alarm, as it raises it.
    await store.put('genesys-circuit:deployment-1', 'another-instance:1', 10_000);
    await waitFor(() => handshakes > before && reads.length >= 2);
    // A timer may fire a millisecond before the clock reads its due time.
    expect(reads[0]! - started).toBeGreaterThanOrEqual(1_000 - 2);
    expect(reads[1]! - reads[0]!).toBeGreaterThanOrEqual(1_000 - 2);
    expect(handshakeTimes[before]! - started).toBeGreaterThanOrEqual(1_000 - 2);
  });

  it('a read that finds no alarm, or the one it saw last, brings no check', async () => {
    const store = new MemoryStore();
    let reads = 0;
    const said: Array<{ level: number; msg: string }> = [];
    await instance({ get: (key) => (reads++, store.get(key)), put: (...args) => store.put(...args) }, undefined, {
      lines: said,
    });
    const before = handshakes;
    const seen = reads;
    await waitFor(() => reads >= seen + 3);
    expect(handshakes).toBe(before);
    await store.put('genesys-circuit:deployment-1', 'another-instance:1', 10_000);
    await waitFor(() => said.some((l) => l.msg.startsWith('another instance found Genesys away')));
    const after = reads;
    await waitFor(() => reads >= after + 3);
    expect(said.filter((l) => l.msg.startsWith('another instance found Genesys away'))).toHaveLength(1);
    await waitFor(() => handshakes > before);
    expect(handshakes - before).toBe(1);
  });

  it("an alarm read while the instance's own check is under way brings no second check", async () => {
    const store = new MemoryStore();
    const said: Array<{ level: number; msg: string }> = [];
    // Checks while open a minute apart: the opening brings no check before the count is read.
    const first = await instance(store, undefined, { lines: said, openProbeIntervalMs: 60_000 });
    const before = handshakes;
    hold = true;
    // A failed call: a check of its own, its handshake held by Genesys.
    await expect(first.watch(away)).rejects.toBeDefined();
    await waitFor(() => handshakes === before + 1);
    await store.put('genesys-circuit:deployment-1', 'another-instance:1', 10_000);
    await waitFor(() => said.some((l) => l.msg.startsWith('another instance found Genesys away')));
    // The held check runs out its deadline and opens the circuit: no other handshake came meanwhile.
    await waitFor(() => first.circuitOpen);
    expect(handshakes).toBe(before + 1);
  });

  it("an instance already open reads another's alarm without a check of its own", async () => {
    const store = new MemoryStore();
    /** The alarms the first instance read, with the handshakes counted as it read each, and the ones it raised. */
    const read: Array<{ alarm: string; handshakes: number }> = [];
    const raised = new Set<string>();
    const watched = {
      get: async (key: string) => {
        const alarm = await store.get(key);
        if (alarm !== undefined) read.push({ alarm, handshakes });
        return alarm;
      },
      put: (...args: Parameters<MemoryStore['put']>) => (raised.add(args[1]), store.put(...args)),
    };
    // Checks while open a minute apart: any check seen is one the alarm brought.
    const [first, second] = [
      await instance(watched, undefined, { openProbeIntervalMs: 60_000 }),
      await instance(store, undefined, { openProbeIntervalMs: 60_000 }),
    ];
    refuseWith = 503;
    await expect(first.watch(away)).rejects.toBeDefined();
    // The second checks on the first's alarm and opens; its own alarm is news to the first, which is open already.
    await waitFor(() => first.circuitOpen && second.circuitOpen);
    await waitFor(() => read.some((r) => !raised.has(r.alarm)));
    const theirs = read.find((r) => !raised.has(r.alarm))!;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(handshakes).toBe(theirs.handshakes);
  });

  it('a store that cannot take the alarm costs only the sharing: the circuit opens, and it says so at debug', async () => {
    const store = new MemoryStore();
    store.put = () => Promise.reject(new Error('store down'));
    const said: Array<{ level: number; msg: string; err?: { message?: string } }> = [];
    const first = await instance(store, undefined, { lines: said });
    refuseWith = 503;
    await expect(first.watch(away)).rejects.toBeDefined();
    await waitFor(() => first.circuitOpen);
    await waitFor(() => said.some((l) => /could not tell the other instances/.test(l.msg)));
    expect(said.find((l) => /could not tell the other instances/.test(l.msg))).toMatchObject({
      level: 20,
      msg: 'could not tell the other instances that Genesys is away',
      err: { message: 'store down' },
    });
  });
});
