import { BffClient, type ChatStream } from '../../client/src';
import { FetchEventSource } from '../support/eventSource';
import { startRedis, type RedisServer } from '../support/redis';
import { signInAt } from '../support/signIn';
import { guestTokenOf, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * The browser client against the real service with Redis (REDIS_URL) while Redis stops answering: what a page
 * holds once it is back. Node stands in for the browser, as in bffClient.test.ts.
 *
 * @needs redis-server
 */
let redis: RedisServer;
let stack: Stack;

beforeAll(async () => {
  redis = await startRedis();
  // A request waits on Genesys, and on recording what Genesys did, this long at most.
  stack = await startStack({ env: { REDIS_URL: redis.url, GENESYS_TIMEOUT_MS: '3000' } });
  await waitFor(async () => (await stack.http.get('/readyz')).status === 200, 10_000);
}, 30_000);

afterAll(async () => {
  redis?.resume();
  await stack?.close();
  await redis?.stop();
});

/** fetch as a page on PAGE_ORIGIN would call it, recording what each call was answered. */
function pageFetch(answers: { method: string; path: string; status: number }[] = []): typeof fetch {
  return async (input, init = {}) => {
    const headers = { ...(init.headers as Record<string, string>), Origin: PAGE_ORIGIN };
    const res = await fetch(input, { ...init, headers });
    answers.push({ method: init.method ?? 'GET', path: new URL(String(input)).pathname, status: res.status });
    return res;
  };
}

const redisCheck = async (): Promise<boolean | undefined> => (await stack.http.get('/readyz')).body.checks?.redis?.ok;
const storeDown = async () => (await redisCheck()) === false;

// Each test starts with Redis answering again after the last one's outage.
beforeEach(() => waitFor(async () => (await redisCheck()) === true, 10_000));

describe('a stream whose replay was incomplete', () => {
  test('catches up through a Redis pause longer than its reads are retried: every message shown, then catchingUp clears', async () => {
    const answers: { method: string; path: string; status: number }[] = [];
    const client = new BffClient({
      baseUrl: stack.service.url,
      fetch: pageFetch(answers),
      EventSource: FetchEventSource as unknown as typeof EventSource,
    });
    const before = stack.sim.received.length;
    await client.startSession();
    const gt = guestTokenOf(stack.sim, before);
    const seen: string[] = [];
    let opens = 0;
    FetchEventSource.opened = [];
    const live: ChatStream = client.stream(
      {
        open: () => void opens++,
        message: (m) => seen.push(m.text ?? ''),
        session: (e) => {
          // Redis stops answering as the catch-up begins: each of its reads is refused 503 with Retry-After.
          if (e.state === 'replay_incomplete') redis.pause();
        },
      },
      { initialDelayMs: 50, maxDelayMs: 200 },
    );
    try {
      await waitFor(() => opens === 1);
      // The stream drops while history is refused: its replay cannot serve the gap, and says so.
      stack.sim.faults.failRest('history', { status: 503, times: 1 });
      const dropped = FetchEventSource.opened[FetchEventSource.opened.length - 1]!;
      dropped.close();
      dropped.dispatchEvent(new Event('error'));
      stack.sim.agent.say(gt, 'said in the gap');
      await waitFor(() => opens === 2, 10_000);
      await waitFor(storeDown, 10_000);
      // Longer than the catch-up's reads are retried for at Retry-After 1: more reads refused than it has tries.
      const refusedReads = () => answers.filter((a) => a.path === '/messages' && a.status === 503).length;
      await waitFor(() => refusedReads() >= 12, 30_000, 100);
      expect(live.catchingUp).toBe(true);
      expect(seen).not.toContain('said in the gap');
      redis.resume();
      await waitFor(() => seen.includes('said in the gap'), 30_000);
      await waitFor(() => !live.catchingUp, 10_000);
      expect(live.state).toBe('open');
    } finally {
      redis.resume();
      live.close();
      stack.sim.faults.clear();
    }
  }, 90_000);
});

describe('a sign-in while Redis stops answering', () => {
  type Answer = { method: string; path: string; status: number };

  /** A page's client with a session, a message sent and its stream open; the session's states the stream told. */
  async function signedInPage() {
    const answers: Answer[] = [];
    const client = new BffClient({
      baseUrl: stack.service.url,
      fetch: pageFetch(answers),
      EventSource: FetchEventSource as unknown as typeof EventSource,
    });
    await client.startSession();
    const anonymous = client.sessionToken;
    await client.send('before signing in');
    const states: string[] = [];
    let opens = 0;
    const live = client.stream(
      { open: () => void opens++, session: (e) => states.push(e.state) },
      { initialDelayMs: 50, maxDelayMs: 500 },
    );
    await waitFor(() => opens === 1);
    const exchangesBefore = exchanges();
    const keepsRefusedBefore = keepsRefused();
    const stepUpsBefore = stepUps();
    // Genesys is asked to exchange the code once Redis has stopped answering: the request got past every check
    // that reads Redis, and what Genesys gave cannot be kept.
    const hold = stack.sim.faults.holdRest('signInExchange', { times: 1 });
    const signingIn = client.signIn(await signInAt(stack.sim, `outage-${Math.random().toString(36).slice(2)}`));
    // Judged by the test; not an unhandled rejection meanwhile.
    signingIn.catch(() => undefined);
    await waitFor(() => hold.held() === 1);
    redis.pause();
    await waitFor(storeDown, 10_000);
    hold.release();
    // The exchange answered, the service tried to keep what it gave, refused: Genesys is not asked to sign the
    // session in until Redis keeps it (an instance lost after that leaves its retry the token there).
    await waitFor(() => keepsRefused() > keepsRefusedBefore, 10_000);
    expect(stepUps()).toBe(stepUpsBefore);
    expect(states).not.toContain('signed_in');
    return { client, anonymous, answers, live, signingIn, exchanged: () => exchanges() - exchangesBefore };
  }

  const exchanges = () =>
    stack.sim.requests.filter((r) => r.path.endsWith('/webdeployments/token/oauthcodegrantjwtexchange')).length;
  const keepsRefused = () =>
    stack.log.lines().filter((l) => l.msg.startsWith('Genesys exchanged the sign-in and the shared store refused'))
      .length;
  const stepUps = () => stack.sim.received.filter((f) => f.frame?.action === 'configureAuthenticatedSession').length;

  test('Redis back within the wait: the sign-in answers with the signed-in token, and the chat sends on', async () => {
    const { client, anonymous, live, signingIn, exchanged } = await signedInPage();
    try {
      redis.resume();
      await expect(signingIn).resolves.toMatchObject({ authenticated: true });
      expect(client.sessionToken).not.toBe(anonymous);
      await expect(client.send('after signing in')).resolves.toMatchObject({ text: 'after signing in' });
      expect((await client.getSession()).authenticated).toBe(true);
      expect(exchanged()).toBe(1);
    } finally {
      redis.resume();
      live.close();
    }
  }, 60_000);

  test('Redis away for longer: refused for now, the retry of the same sign-in gets its token, and the chat sends on', async () => {
    const { client, anonymous, answers, live, signingIn, exchanged } = await signedInPage();
    try {
      // The service gave up waiting for Redis: 503, Retry-After.
      await waitFor(() => answers.some((a) => a.path === '/guest-session/sign-in' && a.status === 503), 20_000);
      redis.resume();
      await expect(signingIn).resolves.toMatchObject({ authenticated: true });
      expect(client.sessionToken).not.toBe(anonymous);
      await expect(client.send('after signing in')).resolves.toMatchObject({ text: 'after signing in' });
      // The code was exchanged once: the retry was handed what Genesys gave the first attempt.
      expect(exchanged()).toBe(1);
    } finally {
      redis.resume();
      live.close();
    }
  }, 60_000);
});
