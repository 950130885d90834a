import { BffClient, type ChatStream } from '../../client/src';
import { FetchEventSource } from '../support/eventSource';
import { startRedis, type RedisServer } from '../support/redis';
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
  stack = await startStack({ env: { REDIS_URL: redis.url } });
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

const storeDown = async () => (await stack.http.get('/readyz')).body.checks?.redis?.ok === false;

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
