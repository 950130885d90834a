import { BffClient } from '../../client/src';
import { startRedis, type RedisServer } from '../support/redis';
import { signInAt } from '../support/signIn';
import { guestTokenOf, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * The soak at seed 2382362209 (s10.1): Genesys signed the session in, Redis would not record the cut-off, and the
 * sign-in was answered 503 store_unavailable ("send the same sign-in again") for longer than the client retries it.
 * The page was left with the anonymous token of a conversation Genesys holds signed in: on any instance that has not
 * got the sign-in in memory, every send is refused 409 cannot_downgrade, though the same sign-in again would still be
 * answered with the signed-in token from the record kept before Genesys was asked.
 *
 * @needs redis-server
 */
let redis: RedisServer;
let first: Stack;
let second: Stack;

beforeAll(async () => {
  redis = await startRedis();
  const env = { REDIS_URL: redis.url, GENESYS_TIMEOUT_MS: '8000' };
  first = await startStack({ env });
  second = await startStack({ simulator: first.sim, env });
  for (const s of [first, second]) await waitFor(async () => (await s.http.get('/readyz')).status === 200, 10_000);
}, 60_000);

afterAll(async () => {
  redis?.resume();
  await second?.close();
  await first?.close();
  await redis?.stop();
});

test('a sign-in Genesys took, refused 503 store_unavailable past the client’s retries: the next send sends the same sign-in again and goes out signed in, not 409 cannot_downgrade for good', async () => {
  const sim = first.sim;
  sim.setOptions({ authEnabled: true, allowSessionUpgrade: true });
  // The page talks to `target`: the instance that signed the session in, then (as after the soak's restarts) another.
  let target = first.service.url;
  const answers: { path: string; status: number; code?: string }[] = [];
  const pageFetch: typeof fetch = async (input, init = {}) => {
    const url = new URL(String(input));
    const res = await fetch(`${target}${url.pathname}${url.search}`, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), Origin: PAGE_ORIGIN },
    });
    const code = res.ok
      ? undefined
      : (
          (await res
            .clone()
            .json()
            .catch(() => ({}))) as { code?: string }
        ).code;
    answers.push({ path: url.pathname, status: res.status, code });
    return res;
  };
  // Retry-After waits are not waited for: the client's retries all fall within the outage.
  const client = new BffClient({ baseUrl: first.service.url, fetch: pageFetch, sleep: async () => undefined });
  const before = sim.received.length;
  await client.startSession();
  const gt = guestTokenOf(sim, before);
  await client.send('before signing in');
  const exchanges = () => sim.requests.filter((r) => r.path.endsWith('/oauthcodegrantjwtexchange')).length;
  const exchangedBefore = exchanges();
  const anonymous = client.sessionToken;
  const stepUps = () =>
    sim.received.filter((f) => f.frame?.action === 'configureAuthenticatedSession' && f.frame?.token === gt).length;

  // Genesys takes the step-up; its answer comes once the instance knows Redis is away, so the cut-off is never
  // written (a write Redis took while stopped would land when it is back, and refuse the token 401 instead).
  sim.faults.delayFrames(5000, gt);
  const signingIn = client.signIn(await signInAt(sim, `in-doubt-${Math.random().toString(36).slice(2)}`));
  signingIn.catch(() => undefined);
  await waitFor(() => stepUps() === 1, 10_000, 5);
  redis.pause();
  try {
    await waitFor(async () => (await first.http.get('/readyz')).body.checks?.redis?.ok === false, 4000, 50);
    // Every try the client has is refused for now while Redis is away.
    await expect(signingIn).rejects.toMatchObject({ status: 503 });
    expect(first.log.lines().some((l) => l.msg.startsWith('Genesys signed the session in and the shared store'))).toBe(
      true,
    );
  } finally {
    sim.faults.delayFrames(0, gt);
    redis.resume();
  }
  await waitFor(async () => (await second.http.get('/readyz')).body.checks?.redis?.ok === true, 10_000);
  expect(client.signInInDoubt).toBe(true);

  // The instance that remembered the sign-in is restarted (the soak killed all four): the page goes on elsewhere.
  target = second.service.url;
  // Genesys has the conversation signed in; what the customer writes next must still reach it.
  const sent = await client.send('after the sign-in was refused for now').catch((e: unknown) => e);
  expect(sent).toMatchObject({ text: 'after the sign-in was refused for now' });
  // Refused once for the anonymous token, then the same sign-in again: the signed-in token, the code exchanged once.
  expect(answers.filter((a) => a.code === 'cannot_downgrade').length).toBe(1);
  expect(client.sessionToken).not.toBe(anonymous);
  expect(client.signInInDoubt).toBe(false);
  expect(exchanges()).toBe(exchangedBefore + 1);
  expect((await client.getSession()).authenticated).toBe(true);
}, 90_000);
