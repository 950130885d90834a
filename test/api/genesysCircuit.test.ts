import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { genesysCircuitOpen, sendsInDoubt } from '../../src/observability/metrics';
import { steerableClock } from '../support/clock';
import { startGenesysSwitch, type GenesysSwitch } from '../support/genesysSwitch';
import { bearer, guestTokenOf, PAGE_ORIGIN, simProfile, startStack, type Stack } from '../support/stack';
import { EVENT_WAIT_MS, waitFor } from '../support/wait';

/**
 * Fail fast on Genesys, as on Redis (src/genesys/guest/link/guestApiHealth.ts): with the Guest API refusing
 * every connection, or hung (connections accepted, nothing answered), the instance's circuit opens within
 * seconds of the outage's start, not after GENESYS_TIMEOUT_MS (left at 10 s here), and every request that
 * needs Genesys is then answered 503 upstream_unavailable with Retry-After at once; once Genesys answers
 * again a background handshake closes it and requests go through. The bounds are generous: the targets
 * themselves are the benchmark's. A send already written when Genesys hangs is answered when the circuit
 * opens, in doubt; and a handshake Genesys refuses for its rate (429) is no outage.
 */

/** GENESYS_TIMEOUT_MS, as the service runs here. */
const TIMEOUT_MS = 10_000;
/** The circuit's bare handshakes while it is open: one a second, each given 2 s (guestApiHealth.ts). */
const NEXT_PROBE_DECIDED_S = Math.ceil((1000 + 2000) / 1000);

let sim: Simulator;
let sw: GenesysSwitch;
let stack: Stack;
/** The service's clock: it follows the wall clock unless a test moves it on. */
const clock = steerableClock();

beforeAll(async () => {
  sim = await startSimulator({ agent: { enabled: false }, profile: simProfile() });
  sw = await startGenesysSwitch(sim.port);
  stack = await startStack({
    simulator: sim,
    now: clock.now,
    env: {
      GENESYS_API_URL: sw.url,
      GENESYS_WEBMESSAGING_URL: sw.wsUrl,
      GENESYS_MESSAGES_PER_SECOND: '5',
      GENESYS_TIMEOUT_MS: String(TIMEOUT_MS),
    },
  });
});
afterAll(async () => {
  await stack.close();
  await sw.close();
  await sim.stop();
});

const circuitOpen = async () => (await genesysCircuitOpen.get()).values[0]?.value === 1;

async function timed(request: () => PromiseLike<{ status: number; headers: Record<string, string>; body: unknown }>) {
  const started = Date.now();
  const res = await request();
  return {
    status: res.status,
    code: (res.body as { code?: string }).code,
    retryAfter: Number(res.headers['retry-after']),
    ms: Date.now() - started,
  };
}

describe.each(['refuse', 'hang'] as const)('Genesys that starts to %s', (mode) => {
  test('opens the circuit within seconds; requests are then refused at once with Retry-After; it closes once Genesys answers', async () => {
    const { token } = await stack.newSession();
    expect((await stack.http.post('/messages').set(bearer(token)).send({ text: 'before' })).status).toBe(201);

    const outageAt = Date.now();
    sw.set(mode);
    // The first send finds out the hard way (hung: its socket writes and nothing answers).
    const first = stack.http
      .post('/messages')
      .set(bearer(token))
      .send({ text: 'during' })
      .then((res) => res);
    await waitFor(circuitOpen, EVENT_WAIT_MS, 50);
    const openedAfterMs = Date.now() - outageAt;
    expect(openedAfterMs).toBeLessThan(6000);

    const answers = [
      await timed(() => stack.http.post('/messages').set(bearer(token)).send({ text: 'again' })),
      await timed(() => stack.http.get('/messages').set(bearer(token))),
      await timed(() => stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({})),
      // EventSource cannot read a refused stream's Retry-After: the ticket's fetch is refused with it instead.
      await timed(() => stack.http.post('/messages/stream-ticket').set(bearer(token))),
    ];
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 503,
        code: 'upstream_unavailable',
        retryAfter: expect.any(Number),
        ms: expect.any(Number),
      });
      // In seconds, and no longer than the circuit's next handshake takes to have its chance.
      expect(answer.retryAfter).toBeGreaterThanOrEqual(1);
      expect(answer.retryAfter).toBeLessThanOrEqual(NEXT_PROBE_DECIDED_S);
      expect(answer.ms).toBeLessThan(1000);
    }
    const ready = await stack.http.get('/readyz');
    expect([ready.status, ready.body.status, ready.body.checks.guestApi.ok]).toEqual([200, 'degraded', false]);

    // The one that met the outage first is answered too, with a wait (503, or 504 "retry with the same key").
    const firstAnswer = await first;
    expect([503, 504]).toContain(firstAnswer.status);
    expect(Number(firstAnswer.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    sw.set('pass');
    await waitFor(async () => !(await circuitOpen()), EVENT_WAIT_MS, 50);
    const after = await stack.http.post('/messages').set(bearer(token)).send({ text: 'after' });
    expect(after.status).toBe(201);
  }, 40_000);
});

describe("this instance's own event loop stalled across a handshake check's deadline", () => {
  test('is not taken for Genesys away: the circuit stays closed and a chat starts; a real hang still opens it', async () => {
    const { token } = await stack.newSession();
    // The loop is busy for longer than a check's 2 s from the moment the check's handshake reaches the switch (a
    // WebSocket upgrade: REST calls pass the same switch); Genesys answers it meanwhile.
    let checked: Promise<void> | undefined;
    const stop = sw.onConnection((client) =>
      client.once('data', (head: Buffer) => {
        if (checked || !/^GET \/v1\?deploymentId=/.test(head.toString('latin1'))) return;
        checked = new Promise((resolve) => client.once('close', () => resolve()));
        const until = Date.now() + 2500;
        while (Date.now() < until);
      }),
    );
    // A failed history read has the circuit check Genesys with a bare handshake at once.
    sim.faults.failRest('history', { status: 503, times: 1 });
    try {
      expect((await stack.http.get('/messages').set(bearer(token))).status).toBe(503);
      await waitFor(() => checked !== undefined);
      await checked;
      expect(await circuitOpen()).toBe(false);
      const started = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({});
      expect(started.status).toBe(201);
    } finally {
      stop();
      sim.faults.clear();
    }

    sw.set('hang');
    try {
      const outageAt = Date.now();
      const hung = stack.http
        .get('/messages')
        .set(bearer(token))
        .then((res) => res);
      await waitFor(circuitOpen, 8000, 50);
      expect(Date.now() - outageAt).toBeLessThan(6000);
      expect((await hung).status).toBe(503);
    } finally {
      sw.set('pass');
      await waitFor(async () => !(await circuitOpen()), 8000, 50);
    }
  }, 40_000);
});

describe('Genesys refusing new sockets for its rate (HTTP 429 on the handshake)', () => {
  test('a chat that needs a new socket is answered 429 with Retry-After; the circuit stays closed and a connected chat sends on', async () => {
    const { token } = await stack.newSession();
    const send = (text: string) => stack.http.post('/messages').set(bearer(token)).send({ text });
    expect((await send('connected')).status).toBe(201);
    // The deployment's 1,000 new sockets a minute are spent: Genesys answers every new handshake with 429.
    sim.faults.refuseHandshake(429);
    try {
      const refused = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({});
      expect([refused.status, refused.body.code]).toEqual([429, 'rate_limited']);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      for (const text of ['still here', 'and here']) expect((await send(text)).status).toBe(201);
      expect(await circuitOpen()).toBe(false);
      const ready = await stack.http.get('/readyz');
      expect([ready.status, ready.body.checks.guestApi.ok]).toEqual([200, true]);
    } finally {
      sim.faults.clear();
    }
  });
});

describe('a send already written when Genesys hangs', () => {
  test('is answered 503 with Retry-After when the circuit opens, within 4 s, in doubt: its retry is proved against history first', async () => {
    const before = sim.received.length;
    const { token } = await stack.newSession();
    const gt = guestTokenOf(sim, before);
    const key = randomUUID();
    const send = (text: string, idempotencyKey = randomUUID()) =>
      stack.http.post('/messages').set(bearer(token)).set('Idempotency-Key', idempotencyKey).send({ text });
    // Genesys is slow just before it hangs: the check this slow send asks for must not delay the next send's own.
    sim.faults.delayFrames(1500, gt);
    expect((await send('before')).status).toBe(201);
    sim.faults.delayFrames(0, gt);
    const inDoubt = (await sendsInDoubt.get()).values.reduce((n, v) => n + v.value, 0);

    sw.set('hang');
    // A sequential client's next send: written, then nothing comes back.
    const started = Date.now();
    const hung = await send('in the hang', key);
    const answeredAfterMs = Date.now() - started;
    // The service's clock stands still from here: how long the circuit takes to close again on a busy machine
    // must not spend the time history is given to show the message.
    clock.standStill();
    expect([hung.status, hung.body.code]).toEqual([503, 'upstream_unavailable']);
    expect(hung.body.detail).toMatch(/may have been delivered/);
    expect(Number(hung.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(hung.headers['retry-after'])).toBeLessThanOrEqual(NEXT_PROBE_DECIDED_S);
    expect(answeredAfterMs).toBeLessThan(4000);
    expect(await circuitOpen()).toBe(true);
    expect((await sendsInDoubt.get()).values.reduce((n, v) => n + v.value, 0)).toBe(inDoubt + 1);

    sw.set('pass');
    await waitFor(async () => !(await circuitOpen()), EVENT_WAIT_MS, 50);
    const texts = () => (sim.conversationMessages(gt) as Array<{ text?: string }>).map((m) => m.text);
    // In doubt as after a timeout: history is given as long as a timeout to show the message, and until then
    // the retry sends nothing, saying when to come back.
    const early = await send('in the hang', key);
    expect([early.status, early.body.code]).toEqual([503, 'upstream_unavailable']);
    expect(early.body.detail).toMatch(/not sent again/);
    expect(Number(early.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(texts()).toEqual(['before']);
    // Past that, history proves it never arrived: the retry sends it, once.
    clock.advance(TIMEOUT_MS);
    const late = await send('in the hang', key);
    expect(late.status).toBe(201);
    expect(texts()).toEqual(['before', 'in the hang']);
  }, 40_000);
  afterEach(() => clock.follow());
});
