import { startSimulator, type Simulator } from '../../simulator';
import type { AppError } from '../../src/domain/errors';
import { dataOf, openStream } from '../support/sse';
import { bearer, type Stack, startStack } from '../support/stack';
import {
  duplicatesIn,
  expectProblem,
  GuestApiProxy,
  inboundTexts,
  newGuest,
  PAGE_ORIGIN,
  platformHarness,
  readyz,
  type GuestHandle,
  type PlatformHarness,
} from '../support/hostile';
import { waitFor } from '../support/wait';

/**
 * Genesys faults from the simulator, one row each (RELIABILITY.md, RELIABILITY.md):
 * what the caller gets (the contract's code), how often the service itself
 * retried, what /readyz says while the fault lasts, whether the service
 * recovered on its own once it cleared, and that no message was lost or
 * duplicated. Each row's expectation is written out below as data; the test
 * measures the same fields and compares.
 */

interface Row {
  /** What the caller gets while the fault lasts. */
  answer: string;
  /** How many times the service retried on its own (per failed operation). */
  serviceRetries: number;
  /** /readyz while the fault lasts. */
  readyz: string;
  /** Everything works again once the fault clears, without a restart (else what came instead, where a row says). */
  recovered: boolean | string;
  /** Messages answered 201 (or retried by the client with the same key) that are missing or doubled in the conversation. */
  lost: number;
  duplicated: number;
}

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { typingDelayMs: 2, replyDelayMs: 10 } });
});
afterAll(() => sim.stop());
beforeEach(() => sim.faults.clear());
afterEach(() => sim.faults.clear());

function notReady(report: { status: number; checks: Record<string, { ok: boolean }> }): string {
  const down = Object.entries(report.checks).filter(([, c]) => !c.ok);
  // A shared dependency down after start-up leaves the instance in rotation (docs/operations.md).
  if (report.status === 200)
    return down.length === 0 ? 'ready' : `ready, degraded (${down.map(([name]) => name).join(', ')})`;
  return `not ready (${Object.entries(report.checks)
    .filter(([, c]) => !c.ok)
    .map(([name]) => name)
    .join(', ')})`;
}

const problemOf = (e: unknown) => `${(e as AppError).status} ${(e as AppError).code}`;

// ------------------------------------------------------------------ Platform side: token and deployment

describe('Platform faults: OAuth token and deployment preflight', () => {
  let h: PlatformHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** Waits until the named check has left its starting state. */
  const settled = (name: string) =>
    waitFor(() => {
      const check = h!.readiness.report().checks[name];
      return check !== undefined && !/^(Fetching|Checking)/.test(check.detail);
    });

  async function tokenFault(arm: () => void, env: Record<string, string> = {}, coolDownMs = 31_000): Promise<Row> {
    arm();
    h = platformHarness(sim, env);
    const requestsBefore = sim.stats.tokenRequests;
    // The Messenger configuration (no token needed) is read meanwhile: readiness is judged once it is in.
    await settled('messengerConfig');
    await settled('token');
    const retries = h.sleeps.length;
    const during = await readyz(h.http);
    const answer = await h.side.tokenCache!.getToken().then(() => 'a token', problemOf);
    // Callers fail fast through the cool-down: no request per caller.
    const requestsInRound = sim.stats.tokenRequests - requestsBefore;
    await h.side.tokenCache!.getToken().catch(() => undefined);
    expect(sim.stats.tokenRequests - requestsBefore).toBe(requestsInRound);
    // Still failing after the next attempt: the fault is visible for as long as it lasts.
    h.advance(coolDownMs);
    await waitFor(() => sim.stats.tokenRequests > requestsBefore + requestsInRound);
    await settled('token');
    const stillDuring = await readyz(h.http);
    expect(notReady(stillDuring)).toBe(notReady(during));
    sim.faults.clear();
    h.advance(coolDownMs);
    // Recovery needs no restart and no caller: the deployment check's next round asks for a token again.
    await waitFor(async () => (await readyz(h!.http)).status === 200);
    return {
      answer,
      serviceRetries: retries,
      readyz: notReady(during),
      recovered: (await h.side.tokenCache!.getToken()).length > 0,
      lost: 0,
      duplicated: 0,
    };
  }

  async function deploymentFault(status: number): Promise<Row> {
    sim.faults.failRest('deployment', { status });
    h = platformHarness(sim);
    await settled('messengerConfig');
    await settled('deployment');
    const during = await readyz(h.http);
    const answer = await h.side.deployment!.get().then(() => 'the deployment', problemOf);
    // The next scheduled re-read (every DEPLOYMENT_CACHE_TTL_SECONDS) is refused too, and readiness still says so.
    const reads = sim.stats.deploymentRequests;
    await waitFor(() => sim.stats.deploymentRequests > reads);
    expect(notReady(await readyz(h.http))).toBe(notReady(during));
    sim.faults.clear();
    await waitFor(async () => (await readyz(h!.http)).status === 200);
    return {
      answer,
      serviceRetries: h.sleeps.length,
      readyz: notReady(during),
      recovered: (await h.side.deployment!.get()).status === 'Active',
      lost: 0,
      duplicated: 0,
    };
  }

  test.each([
    {
      fault: 'token endpoint 500',
      run: () => tokenFault(() => sim.faults.failRest('token', { status: 500 })),
      expected: {
        answer: '503 upstream_unavailable',
        serviceRetries: 3,
        readyz: 'not ready (token, deployment)',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
    },
    {
      fault: 'token endpoint timeout',
      run: () => tokenFault(() => sim.faults.delayRest('token', 1500), { GENESYS_TIMEOUT_MS: '200' }),
      expected: {
        answer: '504 upstream_unavailable',
        serviceRetries: 3,
        readyz: 'not ready (token, deployment)',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
    },
    {
      fault: 'token endpoint invalid_client',
      run: () => tokenFault(() => sim.faults.failRest('token', { status: 401 }), {}, 61_000),
      expected: {
        answer: '503 upstream_unavailable',
        serviceRetries: 0,
        readyz: 'not ready (token, deployment)',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
    },
    {
      fault: 'deployment 403',
      run: () => deploymentFault(403),
      expected: {
        answer: '502 upstream_unavailable',
        serviceRetries: 0,
        readyz: 'not ready (deployment)',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
    },
    {
      fault: 'deployment 404',
      run: () => deploymentFault(404),
      expected: {
        answer: '502 upstream_unavailable',
        serviceRetries: 0,
        readyz: 'not ready (deployment)',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
    },
  ])(
    '$fault',
    async ({ run, expected }) => {
      expect(await run()).toEqual(expected);
    },
    60_000,
  );

  test('readiness names the cause and what to do', async () => {
    sim.faults.failRest('token', { status: 401 });
    h = platformHarness(sim);
    await settled('token');
    expect((await readyz(h.http)).checks.token!.detail).toMatch(
      /invalid_client.*GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET/s,
    );
    await h.close();
    sim.faults.clear();
    sim.faults.failRest('deployment', { status: 403 });
    h = platformHarness(sim);
    await settled('messengerConfig');
    await settled('deployment');
    expect((await readyz(h.http)).checks.deployment!.detail).toMatch(/webDeployments:deployment:view/);
    await h.close();
    sim.faults.clear();
    sim.faults.failRest('deployment', { status: 404 });
    h = platformHarness(sim);
    await settled('messengerConfig');
    await settled('deployment');
    expect((await readyz(h.http)).checks.deployment!.detail).toMatch(/GENESYS_DEPLOYMENT_ID.*GENESYS_REGION/s);
  });
});

// ------------------------------------------------------------------ readiness at start-up

test('Genesys refuses every guest handshake from the start: /readyz is 503 before any guest comes, names GENESYS_ORIGIN, and turns 200 once Genesys accepts', async () => {
  sim.faults.refuseHandshake(403);
  const openedBefore = sim.stats.connectionsOpened;
  const stack = await startStack({ simulator: sim });
  try {
    await waitFor(async () => /refused/.test((await readyz(stack.http)).checks.guestApi?.detail ?? ''));
    const report = await readyz(stack.http);
    expect(notReady(report)).toBe('not ready (guestApi)');
    expect(report.checks.guestApi!.detail).toMatch(/GENESYS_ORIGIN/);
    // The service found out on its own, from a handshake Genesys refused (the detail quotes the 403): no guest asked, no socket opened.
    expect(report.checks.guestApi!.detail).toMatch(/refused the guest WebSocket handshake \(HTTP 403\)/);
    expect(sim.stats.connectionsOpened).toBe(openedBefore);
    sim.faults.clear();
    await waitFor(async () => (await readyz(stack.http)).status === 200);
  } finally {
    await stack.close();
  }
});

// ------------------------------------------------------------------ the Guest API and history

describe('Guest API and history faults, through the public API', () => {
  let stack: Stack;
  /** An instance with a short GENESYS_TIMEOUT_MS, for the row about frames slower than it. */
  let impatient: Stack | undefined;
  beforeAll(async () => {
    // The default deadline (10 s) only bounds a hang: no row but the one about the deadline meets it.
    stack = await startStack({ simulator: sim });
    await waitFor(async () => (await readyz(stack.http)).status === 200);
  });
  afterAll(async () => {
    await stack.close();
    await impatient?.close();
  });

  const send = (g: GuestHandle, text: string, key?: string, via = stack) =>
    via.http
      .post('/messages')
      .set({ ...bearer(g.token), ...(key ? { 'Idempotency-Key': key } : {}) })
      .send({ text });

  /** Counts the texts the client was told (or will be told on retry) were delivered. */
  function ledger(g: GuestHandle, delivered: string[]): Pick<Row, 'lost' | 'duplicated'> {
    const texts = inboundTexts(sim, g.gt);
    return { lost: delivered.filter((t) => !texts.includes(t)).length, duplicated: duplicatesIn(texts).length };
  }

  const ready = async () => notReady(await readyz(stack.http));

  test.each([
    {
      fault: 'WebSocket handshake 403',
      expected: {
        answer: '502 upstream_unavailable',
        serviceRetries: 0,
        readyz: 'ready, degraded (guestApi)',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
      async run(): Promise<Row> {
        sim.faults.refuseHandshake(403);
        const handshakesBefore = sim.stats.connectionsOpened;
        const res = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({});
        expectProblem(res, 502, 'upstream_unavailable');
        const during = await ready();
        expect((await readyz(stack.http)).checks.guestApi!.detail).toMatch(/GENESYS_ORIGIN/);
        // Once Genesys accepts handshakes again, the background probe clears the check without any traffic.
        sim.faults.clear();
        await waitFor(async () => (await readyz(stack.http)).checks.guestApi!.ok);
        const g = await newGuest(stack);
        const ok = await send(g, 'after the refusal');
        return {
          answer: `${res.status} ${res.body.code}`,
          serviceRetries: sim.stats.connectionsOpened - handshakesBefore - 2,
          readyz: during,
          recovered: ok.status === 201,
          ...ledger(g, ['after the refusal']),
        };
      },
    },
    {
      fault: 'socket dropped mid-send, frame lost (before Genesys processed it)',
      expected: {
        answer: '503 upstream_unavailable',
        serviceRetries: 0,
        readyz: 'ready',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        sim.faults.dropOnNext('onMessage', { sessionToken: g.gt, when: 'before-processing' });
        const first = await send(g, 'lost on the wire', 'k-before');
        expectProblem(first, 503, 'upstream_unavailable');
        expect(first.body.detail).toMatch(/not delivered/);
        const during = await ready();
        // The service never re-sent it on its own: Genesys saw the frame once, and nothing was delivered.
        const framesBeforeRetry = sim.framesFor(g.gt, 'onMessage').length;
        expect(inboundTexts(sim, g.gt)).toEqual([]);
        const retry = await send(g, 'lost on the wire', 'k-before');
        return {
          answer: `${first.status} ${first.body.code}`,
          serviceRetries: framesBeforeRetry - 1,
          readyz: during,
          recovered: retry.status === 201,
          ...ledger(g, ['lost on the wire']),
        };
      },
    },
    {
      fault: 'socket dropped mid-send, reply lost (after Genesys processed it)',
      expected: { answer: '201', serviceRetries: 0, readyz: 'ready', recovered: true, lost: 0, duplicated: 0 },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        sim.faults.dropOnNext('onMessage', { sessionToken: g.gt, when: 'after-processing' });
        // The service reconnects and proves delivery from history instead of sending again.
        const first = await send(g, 'delivered, echo lost', 'k-after');
        const during = await ready();
        const retry = await send(g, 'delivered, echo lost', 'k-after');
        expect(retry.body.message.id).toBe(first.body.message.id);
        return {
          answer: `${first.status}`,
          serviceRetries: sim.framesFor(g.gt, 'onMessage').length - 1,
          readyz: during,
          recovered: (await send(g, 'next one')).status === 201,
          ...ledger(g, ['delivered, echo lost', 'next one']),
        };
      },
    },
    {
      fault: 'socket dropped mid-send while history is down too',
      expected: {
        answer: '503 upstream_unavailable',
        serviceRetries: 0,
        readyz: 'ready',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        sim.faults.dropOnNext('onMessage', { sessionToken: g.gt, when: 'after-processing' });
        sim.faults.failRest('history', { status: 503 });
        // Delivered, but unprovable: the answer says so, and the same key stays safe.
        const first = await send(g, 'delivered, unprovable', 'k-unprovable');
        expectProblem(first, 503, 'upstream_unavailable');
        expect(first.body.detail).toMatch(/same Idempotency-Key/);
        const during = await ready();
        sim.faults.clear();
        const retry = await send(g, 'delivered, unprovable', 'k-unprovable');
        return {
          answer: `${first.status} ${first.body.code}`,
          serviceRetries: sim.framesFor(g.gt, 'onMessage').length - 1,
          readyz: during,
          recovered: retry.status === 201,
          ...ledger(g, ['delivered, unprovable']),
        };
      },
    },
    {
      fault: 'socket dropped mid-stream',
      // No message had come yet: the stream resumes from its time position, so nothing needs reloading.
      expected: {
        answer: 'stream: reconnected',
        serviceRetries: 1,
        readyz: 'ready',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(g.token));
        await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
        const opened = sim.stats.connectionsBySession(g.gt);
        sim.faults.dropSocket(g.gt);
        await stream.next((e) => e.event === 'session' && dataOf(e).state === 'reconnected');
        const during = await ready();
        sim.agent.say(g.gt, 'said after the drop');
        await stream.next((e) => e.event === 'message' && dataOf(e).text === 'said after the drop');
        const sent = await send(g, 'sent after the drop');
        await stream.next((e) => e.event === 'message' && dataOf(e).text === 'sent after the drop');
        const states = stream.events.filter((e) => e.event === 'session').map((e) => dataOf(e).state);
        stream.close();
        return {
          // `reconnecting` comes first only when the first attempt to reconnect fails.
          answer: `stream: ${states.filter((s) => s !== 'open' && s !== 'reconnecting').join(', ')}`,
          serviceRetries: sim.stats.connectionsBySession(g.gt) - opened,
          readyz: during,
          recovered: sent.status === 201,
          ...ledger(g, ['sent after the drop']),
        };
      },
    },
    {
      fault: 'socket dropped again while reconnecting (during the delivery check), stream open',
      expected: { answer: '201', serviceRetries: 0, readyz: 'ready', recovered: true, lost: 0, duplicated: 0 },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(g.token));
        await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
        // The echo is lost; while the service proves delivery from history (slowed down), the new socket drops too.
        sim.faults.dropOnNext('onMessage', { sessionToken: g.gt, when: 'after-processing' });
        sim.faults.delayRest('history', 300, { times: 1 });
        const reads = sim.stats.historyRequests;
        const sending = send(g, 'proven between two drops', 'k-two-drops').then((r) => r);
        await waitFor(() => sim.stats.historyRequests > reads);
        sim.faults.dropSocket(g.gt);
        const first = await sending;
        const during = await ready();
        // The stream must not be left on a dead connection: `reconnected` means a live socket again, which delivers.
        await stream.next((e) => e.event === 'session' && dataOf(e).state === 'reconnected');
        sim.agent.say(g.gt, 'still streaming?');
        const delivered = await stream
          .next((e) => e.event === 'message' && dataOf(e).text === 'still streaming?')
          .then(
            () => true,
            () => false,
          );
        stream.close();
        return {
          answer: `${first.status}`,
          serviceRetries: sim.framesFor(g.gt, 'onMessage').length - 1,
          readyz: during,
          recovered: delivered,
          ...ledger(g, ['proven between two drops']),
        };
      },
    },
    {
      fault: 'slow frames (within GENESYS_TIMEOUT_MS)',
      expected: { answer: '201', serviceRetries: 0, readyz: 'ready', recovered: true, lost: 0, duplicated: 0 },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        // Far inside the deadline, whatever this machine adds.
        sim.faults.delayFrames(300, g.gt);
        const res = await send(g, 'slow but fine', 'k-slow');
        const during = await ready();
        return {
          answer: `${res.status}`,
          serviceRetries: sim.framesFor(g.gt, 'onMessage').length - 1,
          readyz: during,
          recovered: true,
          ...ledger(g, ['slow but fine']),
        };
      },
    },
    {
      fault: 'slow frames (beyond GENESYS_TIMEOUT_MS)',
      expected: {
        answer: '504 upstream_unavailable',
        serviceRetries: 0,
        readyz: 'ready',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
      async run(): Promise<Row> {
        impatient = await startStack({ simulator: sim, env: { GENESYS_TIMEOUT_MS: '3000' } });
        const g = await newGuest(impatient);
        // Twice the deadline, which starts before the frame is even written.
        const heldMs = 2 * impatient.config.process.genesys.timeoutMs;
        sim.faults.delayFrames(heldMs, g.gt);
        const first = await send(g, 'too slow to confirm', 'k-too-slow', impatient);
        expectProblem(first, 504, 'upstream_unavailable');
        expect(first.body.detail).toMatch(/same Idempotency-Key/);
        const during = await ready();
        sim.faults.clear();
        // The late echo arrives; a retry with the same key finds the message instead of sending it again. The
        // simulator keeps the socket's frames in order, so what it held (the echo, and the agent's reply 10 ms
        // after) leaves it no sooner than the delay after the send reached it: until then any reply on that socket,
        // the retry's own, waits behind them. The retry is asked once they have all gone.
        await waitFor(() => inboundTexts(sim, g.gt).length === 1);
        const reached = sim.framesFor(g.gt, 'onMessage')[0]!.at;
        await waitFor(() => Date.now() > reached + heldMs + 500);
        const retry = await send(g, 'too slow to confirm', 'k-too-slow', impatient);
        return {
          answer: `${first.status} ${first.body.code}`,
          serviceRetries: sim.framesFor(g.gt, 'onMessage').length - 1,
          readyz: during,
          // What came instead, if not that: a failure names the retry's answer, not only that it was wrong.
          recovered: retry.status === 201 || `${retry.status} ${retry.body.code}`,
          ...ledger(g, ['too slow to confirm']),
        };
      },
    },
    {
      fault: 'Genesys 429 with retryAfter (within the deadline)',
      expected: {
        answer: '201, written again after the wait',
        serviceRetries: 1,
        readyz: 'ready',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        sim.faults.rateLimit({ retryAfter: 1, sessionToken: g.gt });
        const first = await send(g, 'too fast for Genesys', 'k-429');
        const during = await ready();
        return {
          answer: first.status === 201 ? '201, written again after the wait' : `${first.status} ${first.body.code}`,
          serviceRetries: sim.framesFor(g.gt, 'onMessage').length - 1,
          readyz: during,
          recovered: first.status === 201,
          ...ledger(g, ['too fast for Genesys']),
        };
      },
    },
    {
      fault: 'session expired mid-stream (SessionExpiredEvent, then 4006)',
      expected: {
        answer: 'stream: expired (reconnect false); then 410 session_expired',
        serviceRetries: 0,
        readyz: 'ready',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        expect((await send(g, 'before expiry')).status).toBe(201);
        const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(g.token));
        await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
        const frames = sim.framesFor(g.gt).length;
        sim.faults.expireSession(g.gt);
        const last = dataOf(await stream.next((e) => e.event === 'session' && dataOf(e).state === 'expired'));
        await stream.ended;
        const after = await send(g, 'after expiry');
        expectProblem(after, 410, 'session_expired');
        const during = await ready();
        const fresh = await newGuest(stack);
        return {
          answer: `stream: ${last.state} (reconnect ${last.reconnect}); then ${after.status} ${after.body.code}`,
          // One configureSession for the later request (answered 4006); nothing re-sent.
          serviceRetries: sim.framesFor(g.gt, 'onMessage').length - 1 + (sim.framesFor(g.gt).length - frames - 1),
          readyz: during,
          recovered: (await send(fresh, 'new session')).status === 201,
          ...ledger(g, ['before expiry']),
        };
      },
    },
    {
      fault: 'history 500',
      expected: {
        answer: '503 upstream_unavailable',
        serviceRetries: 0,
        readyz: 'ready',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        expect((await send(g, 'kept safe')).status).toBe(201);
        const reads = sim.stats.historyRequests;
        sim.faults.failRest('history', { status: 500 });
        const res = await stack.http.get('/messages').set(bearer(g.token));
        expectProblem(res, 503, 'upstream_unavailable');
        expect(res.text).not.toMatch(/internal\.server\.error|contextId/);
        const retries = sim.stats.historyRequests - reads - 1;
        const during = await ready();
        sim.faults.clear();
        const again = await stack.http.get('/messages').set(bearer(g.token));
        expect(again.body.messages.map((m: { text: string }) => m.text)).toContain('kept safe');
        return {
          answer: `${res.status} ${res.body.code}`,
          serviceRetries: retries,
          readyz: during,
          recovered: again.status === 200,
          ...ledger(g, ['kept safe']),
        };
      },
    },
    {
      fault: 'history 502 and 503',
      expected: {
        answer: '503 upstream_unavailable',
        serviceRetries: 0,
        readyz: 'ready',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        const answers = [];
        const reads = sim.stats.historyRequests;
        for (const status of [502, 503]) {
          sim.faults.failRest('history', { status, times: 1 });
          const res = await stack.http.get('/messages').set(bearer(g.token));
          answers.push(`${res.status} ${res.body.code}`);
        }
        const again = await stack.http.get('/messages').set(bearer(g.token));
        return {
          answer: [...new Set(answers)].join(', '),
          serviceRetries: sim.stats.historyRequests - reads - 3,
          readyz: await ready(),
          recovered: again.status === 200,
          lost: 0,
          duplicated: 0,
        };
      },
    },
  ])(
    '$fault',
    async ({ run, expected }) => {
      expect(await run()).toEqual(expected);
    },
    60_000,
  );
});

describe('4007 (session not found) from Genesys, injected between the service and the Guest API', () => {
  let proxy: GuestApiProxy;
  let stack: Stack;
  beforeAll(async () => {
    proxy = await GuestApiProxy.start(sim.urls.webMessagingUrl);
    stack = await startStack({ simulator: sim, env: { GENESYS_WEBMESSAGING_URL: proxy.url } });
  });
  afterAll(async () => {
    await stack.close();
    await proxy.close();
  });

  const frame4007 = (tracingId?: unknown) => ({
    type: 'response',
    class: 'string',
    code: 4007,
    body: 'session not found',
    ...(tracingId ? { tracingId } : {}),
  });

  test.each([
    {
      fault: '4007 mid-stream',
      expected: {
        answer: 'stream: expired (reconnect false)',
        serviceRetries: 0,
        readyz: 'ready',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(g.token));
        await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
        const sockets = sim.stats.connectionsBySession(g.gt);
        expect(proxy.inject(g.gt, frame4007())).toBe(1);
        const last = dataOf(await stream.next((e) => e.event === 'session' && dataOf(e).state === 'expired'));
        await stream.ended;
        const during = notReady(await readyz(stack.http));
        const retries = sim.stats.connectionsBySession(g.gt) - sockets;
        const fresh = await newGuest(stack);
        const ok = await stack.http.post('/messages').set(bearer(fresh.token)).send({ text: 'new session' });
        return {
          answer: `stream: ${last.state} (reconnect ${last.reconnect})`,
          serviceRetries: retries,
          readyz: during,
          recovered: ok.status === 201,
          lost: 0,
          duplicated: 0,
        };
      },
    },
    {
      fault: '4007 mid-send',
      expected: {
        answer: '410 session_expired',
        serviceRetries: 0,
        readyz: 'ready',
        recovered: true,
        lost: 0,
        duplicated: 0,
      },
      async run(): Promise<Row> {
        const g = await newGuest(stack);
        proxy.answerNext('onMessage', g.gt, frame4007);
        const res = await stack.http
          .post('/messages')
          .set({ ...bearer(g.token), 'Idempotency-Key': 'k-4007' })
          .send({ text: 'into the void' });
        expectProblem(res, 410, 'session_expired');
        const during = notReady(await readyz(stack.http));
        const fresh = await newGuest(stack);
        const ok = await stack.http.post('/messages').set(bearer(fresh.token)).send({ text: 'new session' });
        return {
          answer: `${res.status} ${res.body.code}`,
          serviceRetries: sim.framesFor(g.gt, 'onMessage').length,
          readyz: during,
          recovered: ok.status === 201,
          lost: 0,
          duplicated: duplicatesIn(inboundTexts(sim, fresh.gt)).length,
        };
      },
    },
  ])(
    '$fault',
    async ({ run, expected }) => {
      expect(await run()).toEqual(expected);
    },
    60_000,
  );
});
