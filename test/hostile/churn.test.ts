import { startSimulator, type Simulator } from '../../simulator';
import { manualClock } from '../support/platform';
import { dataOf, openStream } from '../support/sse';
import { bearer, guestTokenOf, PAGE_ORIGIN, type Stack, startStack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * One visitor cannot churn through the deployment: new conversations and
 * ends are rate limited per session and per address, an ended chat's token
 * opens nothing (and reopens no socket), a ticket opens one stream, and the
 * upstream socket ceiling holds.
 */
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
});
afterAll(() => sim.stop());

describe('after DELETE /guest-session', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ simulator: sim });
  });
  afterAll(() => stack.close());

  test('the token opens nothing: no message, history, ticket, stream, state or new conversation; a ticket from before is dead too', async () => {
    const before = sim.received.length;
    const { token } = await stack.newSession();
    const gt = guestTokenOf(sim, before);
    const ticket = (await stack.http.post('/messages/stream-ticket').set(bearer(token))).body.ticket as string;
    expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
    const sockets = sim.stats.connectionsBySession(gt);
    const attempts = [
      await stack.http.post('/messages').set(bearer(token)).send({ text: 'still there?' }),
      await stack.http.get('/messages').set(bearer(token)),
      await stack.http.post('/messages/stream-ticket').set(bearer(token)),
      await stack.http.get('/messages/stream').set(bearer(token)),
      await stack.http.get(`/messages/stream?ticket=${encodeURIComponent(ticket)}`).set({ Origin: PAGE_ORIGIN }),
      await stack.http.get('/guest-session').set(bearer(token)),
      await stack.http.post('/guest-session').set(bearer(token)).send({ startNew: true }),
      await stack.http.patch('/guest-attributes').set(bearer(token)).send({ a: 'b' }),
    ];
    expect(attempts.map((r) => [r.status, r.body.code])).toEqual(attempts.map(() => [410, 'session_expired']));
    // DELETE again is still 204, and opens no socket.
    for (let i = 0; i < 5; i++) expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
    expect(sim.stats.connectionsBySession(gt)).toBe(sockets);
  });

  test('a stream ticket opens one stream', async () => {
    const { token } = await stack.newSession();
    const ticket = (await stack.http.post('/messages/stream-ticket').set(bearer(token))).body.ticket as string;
    const url = `${stack.service.url}/messages/stream?ticket=${encodeURIComponent(ticket)}`;
    const first = await fetch(url, { headers: { Origin: PAGE_ORIGIN } });
    expect(first.status).toBe(200);
    const second = await fetch(url, { headers: { Origin: PAGE_ORIGIN } });
    expect(second.status).toBe(401);
    await first.body?.cancel();
  });
});

test('new conversations and ends are limited per session and per address', async () => {
  const stack = await startStack({
    simulator: sim,
    env: { CONVERSATION_CHANGES_PER_IP_PER_MINUTE: '4', CONVERSATION_CHANGES_PER_SESSION_PER_MINUTE: '2' },
  });
  try {
    const opened = sim.stats.connectionsOpened;
    const { token } = await stack.newSession();
    // startNew on an open conversation is a 409 but still counts: it is the attempt that costs.
    const perSession = [];
    for (let i = 0; i < 3; i++)
      perSession.push((await stack.http.post('/guest-session').set(bearer(token)).send({ startNew: true })).status);
    expect(perSession).toEqual([409, 409, 429]);
    const others = [];
    for (let i = 0; i < 3; i++) {
      const { token: t } = await stack.newSession();
      others.push((await stack.http.delete('/guest-session').set(bearer(t))).status);
    }
    // The address has spent 3 of its 4 on the startNew attempts above (refused ones count too).
    expect(others).toEqual([204, 429, 429]);
    const limited = await stack.http.delete('/guest-session').set(bearer(token));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(sim.stats.connectionsOpened - opened).toBeLessThanOrEqual(4);
  } finally {
    await stack.close();
  }
});

test('GUEST_SOCKET_MAX is a true ceiling: idle sockets make room, busy ones never, and nothing is opened outside the books', async () => {
  const stack = await startStack({ simulator: sim, env: { GUEST_SOCKET_MAX: '3' } });
  const streams: AbortController[] = [];
  try {
    const holders = [];
    for (let i = 0; i < 3; i++) {
      const { token } = await stack.newSession();
      const controller = new AbortController();
      const res = await fetch(`${stack.service.url}/messages/stream`, {
        headers: bearer(token),
        signal: controller.signal,
      });
      expect(res.status).toBe(200);
      streams.push(controller);
      holders.push(token);
    }
    const before = sim.stats.connectionsOpened;
    const refused = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({});
    expect(refused.status).toBe(503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(sim.stats.connectionsOpened).toBe(before);
    expect(sim.stats.openConnections()).toBeLessThanOrEqual(3);
    // A stream closes: its session becomes idle and makes room, once the service has seen it go.
    streams.shift()!.abort();
    await waitFor(
      async () => (await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({})).status === 201,
    );
    expect(sim.stats.openConnections()).toBeLessThanOrEqual(3);
  } finally {
    for (const c of streams) c.abort();
    await stack.close();
  }
});

test('by default X-Forwarded-For cannot pick the client address; TRUST_PROXY=true is warned about at start-up', async () => {
  const strict = await startStack({ simulator: sim, env: { SESSIONS_PER_IP_PER_MINUTE: '2' } });
  try {
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (
          await strict.http
            .post('/guest-session')
            .set({ Origin: PAGE_ORIGIN, 'X-Forwarded-For': `203.0.113.${i}` })
            .send({})
        ).status,
      );
    }
    expect(statuses).toEqual([201, 201, 429]);
    expect(strict.log.text()).not.toContain('TRUST_PROXY=true');
  } finally {
    await strict.close();
  }
  const trusting = await startStack({ simulator: sim, env: { TRUST_PROXY: 'true' } });
  try {
    const warning = trusting.log.lines().find((l) => String(l.msg).startsWith('TRUST_PROXY=true'));
    expect(warning).toMatchObject({ level: 40 });
  } finally {
    await trusting.close();
  }
});

/**
 * A service with `env`, one session, and a live stream open on it. The chat's clock stands still, so
 * a minute's budget and the stream's minute of reconnecting last as long as the test needs.
 */
async function streamingSession(env: Record<string, string>) {
  const stack = await startStack({ simulator: sim, env, now: manualClock(Date.now()).now });
  const before = sim.received.length;
  const { token } = await stack.newSession();
  const gt = guestTokenOf(sim, before);
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  expect(stream.status).toBe(200);
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  return { stack, token, gt, stream };
}

test('a request keeps its GENESYS_TIMEOUT_MS deadline while a live stream waits out a Genesys outage', async () => {
  const { stack, token, gt, stream } = await streamingSession({ GENESYS_TIMEOUT_MS: '800' });
  try {
    // Genesys goes away: the socket drops and every new handshake fails; the stream keeps retrying, and on
    // this clock its minute never ends: only the request's own deadline can answer it.
    sim.faults.refuseHandshake(503);
    sim.faults.dropSocket(gt);
    const res = await stack.http.post('/messages').set(bearer(token)).send({ text: 'anyone?' });
    expect([502, 503, 504]).toContain(res.status);
    expect(res.body.code).toBe('upstream_unavailable');
  } finally {
    sim.faults.clear();
    stream.close();
    await stack.close();
  }
}, 30_000);

test('a session opens at most SOCKET_OPENS_PER_SESSION_PER_MINUTE upstream sockets a minute, however often they drop', async () => {
  const { stack, token, gt, stream } = await streamingSession({ SOCKET_OPENS_PER_SESSION_PER_MINUTE: '3' });
  try {
    // Two drops: each reconnects, the second reaching the budget of three sockets.
    for (let drop = 1; drop <= 2; drop++) {
      sim.faults.dropSocket(gt);
      await waitFor(() => sim.stats.connectionsBySession(gt) === 1 + drop);
    }
    // The third: no socket left in this minute; the stream is told to come back later.
    sim.faults.dropSocket(gt);
    const last = await stream.next((e) => e.event === 'session' && dataOf(e).state === 'unavailable');
    expect(dataOf(last)).toMatchObject({ reconnect: true, detail: expect.stringMatching(/reconnected too often/) });
    const refused = await stack.http.post('/messages').set(bearer(token)).send({ text: 'again?' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(sim.stats.connectionsBySession(gt)).toBe(3);
  } finally {
    stream.close();
    await stack.close();
  }
});

test('a DELETE that could not reach Genesys can be retried, and only then is the chat ended', async () => {
  const stack = await startStack({ simulator: sim });
  try {
    const before = sim.received.length;
    const { token } = await stack.newSession();
    const gt = guestTokenOf(sim, before);
    // Genesys is out of reach: the socket drops and no handshake succeeds.
    sim.faults.refuseHandshake(503);
    sim.faults.dropSocket(gt);
    const failed = await stack.http.delete('/guest-session').set(bearer(token));
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(Number(failed.headers['retry-after'])).toBeGreaterThan(0);
    sim.faults.clear();
    // Not ended yet: the token still works once the circuit to Genesys, opened while it was away, has let its
    // probe through (a client waits out the Retry-After; each answer meanwhile is a 503 saying so), and the retry
    // ends the chat for real.
    await waitFor(
      async () => {
        const view = await stack.http.get('/guest-session').set(bearer(token));
        if (view.status === 503) expect(Number(view.headers['retry-after'])).toBeGreaterThan(0);
        expect(view.status).toBe(200);
      },
      15_000,
      250,
    );
    expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
    expect((await stack.http.get('/guest-session').set(bearer(token))).status).toBe(410);
  } finally {
    sim.faults.clear();
    await stack.close();
  }
});
