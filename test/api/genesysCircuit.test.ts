import { startSimulator, type Simulator } from '../../simulator';
import { genesysCircuitOpen } from '../../src/observability/metrics';
import { startGenesysSwitch, type GenesysSwitch } from '../support/genesysSwitch';
import { bearer, PAGE_ORIGIN, simProfile, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Fail fast on Genesys, as on Redis (src/genesys/guest/link/guestApiHealth.ts): with the Guest API refusing
 * every connection, or hung (connections accepted, nothing answered), the instance's circuit opens within
 * seconds of the outage's start, not after GENESYS_TIMEOUT_MS (left at 10 s here), and every request that
 * needs Genesys is then answered 503 upstream_unavailable with Retry-After at once; once Genesys answers
 * again a background handshake closes it and requests go through. The bounds are generous: the targets
 * themselves are the benchmark's.
 */

let sim: Simulator;
let sw: GenesysSwitch;
let stack: Stack;

beforeAll(async () => {
  sim = await startSimulator({ agent: { enabled: false }, profile: simProfile() });
  sw = await startGenesysSwitch(sim.port);
  stack = await startStack({
    simulator: sim,
    env: { GENESYS_API_URL: sw.url, GENESYS_WEBMESSAGING_URL: sw.wsUrl, GENESYS_MESSAGES_PER_SECOND: '5' },
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
    await waitFor(circuitOpen, 8000, 50);
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
      expect(answer.retryAfter).toBeGreaterThanOrEqual(1);
      expect(answer.ms).toBeLessThan(1000);
    }
    const ready = await stack.http.get('/readyz');
    expect([ready.status, ready.body.status, ready.body.checks.guestApi.ok]).toEqual([200, 'degraded', false]);

    // The one that met the outage first is answered too, with a wait (503, or 504 "retry with the same key").
    const firstAnswer = await first;
    expect([503, 504]).toContain(firstAnswer.status);
    expect(Number(firstAnswer.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    sw.set('pass');
    await waitFor(async () => !(await circuitOpen()), 8000, 50);
    const after = await stack.http.post('/messages').set(bearer(token)).send({ text: 'after' });
    expect(after.status).toBe(201);
  }, 40_000);
});
