import { BffError, type ChatMessage, type HistoryPage, type SendInput } from '../../client/src';
import {
  TypingIndicator,
  history,
  newestPages,
  reachesPlace,
  retried,
  send,
  type RetryPolicy,
} from '../../client/src/messages';
import type { Transport } from '../../client/src/transport';

/**
 * Sending, its retries, history pages and the typing indicator (client/src/messages.ts) against a transport the test
 * answers: what each call asks for, how often and after which waits it is tried again, and where reading back stops.
 * bffClient.test.ts and catchUp.test.ts run the same against the service.
 */

interface Request {
  method: string;
  path: string;
  options?: { body?: unknown; headers?: Record<string, string> };
}

/** A transport whose every request is recorded and answered by `answer` (a throw is a refusal). */
function transportAnswering(answer: (request: Request, index: number) => unknown) {
  const requests: Request[] = [];
  const transport = {
    request: async (method: string, path: string, options?: Request['options']) => {
      const request = { method, path, options };
      requests.push(request);
      return { status: 200, body: answer(request, requests.length - 1), headers: new Headers() };
    },
  };
  return { transport: transport as unknown as Transport, requests };
}

function policyWith(retries: number, maxWaitSeconds = 5) {
  const slept: number[] = [];
  const policy: RetryPolicy = { retries, maxWaitSeconds, sleep: async (ms) => void slept.push(ms) };
  return { policy, slept };
}

const refusal = (status: number, code = `http_${status}`, retryAfterSeconds?: number) =>
  new BffError({ status, code, message: 'refused', retryAfterSeconds });
const networkError = () => new BffError({ status: 0, code: 'network_error', message: 'unreachable' });

/** A call that fails with each of `failures` in turn, then answers 'ok'; more calls than that are a test failure. */
function failingThen(failures: unknown[]) {
  let calls = 0;
  const call = async () => {
    calls++;
    if (calls > failures.length + 1) throw new Error(`called ${calls} times`);
    if (calls <= failures.length) throw failures[calls - 1];
    return 'ok';
  };
  return { call, calls: () => calls };
}

const echoed: ChatMessage = { id: 'm1', direction: 'inbound', type: 'text', text: 'Hi', time: '2026-03-04T15:00:00Z' };

describe('send', () => {
  test('POSTs text to /messages as { text }, with the Idempotency-Key given, and returns the echo', async () => {
    const { transport, requests } = transportAnswering(() => ({ message: echoed }));
    await expect(send(transport, 'Hi', { idempotencyKey: 'key-1' }, policyWith(2).policy)).resolves.toEqual(echoed);
    expect(requests).toEqual([
      { method: 'POST', path: '/messages', options: { body: { text: 'Hi' }, headers: { 'Idempotency-Key': 'key-1' } } },
    ]);
  });

  test('an answer is sent as it is; without a key, a fresh random one', async () => {
    const { transport, requests } = transportAnswering(() => ({ message: echoed }));
    const answer: SendInput = { button: { text: 'Track order', payload: 'track', originatingMessageId: 'card-1' } };
    await send(transport, answer, {}, policyWith(2).policy);
    await send(transport, answer, {}, policyWith(2).policy);
    expect(requests.map((r) => r.options?.body)).toEqual([answer, answer]);
    const keys = requests.map((r) => r.options?.headers?.['Idempotency-Key']);
    for (const key of keys)
      expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(keys[0]).not.toBe(keys[1]);
  });

  test('a retry sends the same key again', async () => {
    const { transport, requests } = transportAnswering((_request, index) => {
      if (index === 0) throw refusal(503);
      return { message: echoed };
    });
    await send(transport, 'Hi', {}, policyWith(2).policy);
    const keys = requests.map((r) => r.options?.headers?.['Idempotency-Key']);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });
});

describe('retried', () => {
  test('a network error, 429, 502, 503 and 504 are tried again, after a backoff from half a second, doubling', async () => {
    const failures = [networkError(), refusal(429), refusal(502), refusal(503), refusal(504)];
    const { call, calls } = failingThen(failures);
    const { policy, slept } = policyWith(5, 100);
    await expect(retried(policy, call)).resolves.toBe('ok');
    expect(calls()).toBe(6);
    expect(slept).toEqual([500, 1000, 2000, 4000, 8000]);
  });

  test('a Retry-After is waited instead of the backoff', async () => {
    const { call } = failingThen([refusal(429, 'rate_limited', 3)]);
    const { policy, slept } = policyWith(2);
    await retried(policy, call);
    expect(slept).toEqual([3000]);
  });

  test('tried again as many times as the policy says, then the last refusal', async () => {
    const last = refusal(503, 'unavailable');
    const { call, calls } = failingThen([refusal(503), refusal(503), last, refusal(503)]);
    const { policy, slept } = policyWith(2);
    await expect(retried(policy, call)).rejects.toBe(last);
    expect(calls()).toBe(3);
    expect(slept).toEqual([500, 1000]);
  });

  test('no retries: the first refusal, not waited for', async () => {
    const first = networkError();
    const { call, calls } = failingThen([first]);
    const { policy, slept } = policyWith(0);
    await expect(retried(policy, call)).rejects.toBe(first);
    expect([calls(), slept]).toEqual([1, []]);
  });

  test('any other refusal (400, 401, 500) is thrown at once', async () => {
    for (const status of [400, 401, 500]) {
      const error = refusal(status);
      const { call, calls } = failingThen([error]);
      const { policy, slept } = policyWith(3);
      await expect(retried(policy, call)).rejects.toBe(error);
      expect([status, calls(), slept]).toEqual([status, 1, []]);
    }
  });

  test('something thrown that is no BffError is thrown at once, whatever it looks like', async () => {
    const lookalike = Object.assign(new Error('socket hang up'), { code: 'network_error', status: 503 });
    const { call, calls } = failingThen([lookalike]);
    const { policy, slept } = policyWith(3);
    await expect(retried(policy, call)).rejects.toBe(lookalike);
    expect([calls(), slept]).toEqual([1, []]);
  });

  test('a Retry-After of just the longest wait is waited; one second longer is thrown, not waited', async () => {
    const waited = failingThen([refusal(429, 'rate_limited', 5)]);
    const at = policyWith(2, 5);
    await expect(retried(at.policy, waited.call)).resolves.toBe('ok');
    expect(at.slept).toEqual([5000]);

    const tooLong = refusal(429, 'rate_limited', 6);
    const refused = failingThen([tooLong]);
    const over = policyWith(2, 5);
    await expect(retried(over.policy, refused.call)).rejects.toBe(tooLong);
    expect([refused.calls(), over.slept]).toEqual([1, []]);
  });
});

describe('history', () => {
  const page: HistoryPage = { messages: [], page: 1, pageSize: 25, total: 0 };

  test('GET /messages without a query when no page is asked for', async () => {
    const { transport, requests } = transportAnswering(() => page);
    await expect(history(transport)).resolves.toBe(page);
    expect(requests.map((r) => [r.method, r.path])).toEqual([['GET', '/messages']]);
  });

  test('the page and its size, each only when given', async () => {
    const { transport, requests } = transportAnswering(() => page);
    await history(transport, { page: 2, pageSize: 10 });
    await history(transport, { page: 3 });
    await history(transport, { pageSize: 5 });
    expect(requests.map((r) => r.path)).toEqual([
      '/messages?page=2&pageSize=10',
      '/messages?page=3',
      '/messages?pageSize=5',
    ]);
  });
});

describe('reachesPlace', () => {
  const at = (id: string, time: string): ChatMessage => ({ id, direction: 'outbound', type: 'text', text: id, time });

  test('a message id: a page reaches it when it holds that message', () => {
    const reaches = reachesPlace('m2');
    expect(reaches([at('m1', '2026-03-04T15:00:00Z'), at('m2', '2026-03-04T15:00:01Z')])).toBe(true);
    expect(reaches([at('m2', '2026-03-04T15:00:01Z'), at('m3', '2026-03-04T15:00:02Z')])).toBe(true);
    expect(reaches([at('m3', '2026-03-04T15:00:02Z'), at('m4', '2026-03-04T15:00:03Z')])).toBe(false);
    expect(reaches([])).toBe(false);
  });

  test('a time position: a page reaches it when it holds a message from more than 5 s (Genesys’s clock) before it', () => {
    const place = Date.parse('2026-03-04T15:00:10Z');
    const reaches = reachesPlace(`t-${place}`);
    const newer = at('n', '2026-03-04T15:00:30Z');
    expect(reaches([at('a', '2026-03-04T15:00:04.999Z'), newer])).toBe(true);
    expect(reaches([at('a', '2026-03-04T15:00:05Z'), newer])).toBe(false);
    expect(reaches([at('a', '2026-03-04T15:00:07Z'), newer])).toBe(false);
    // A time position's own digits are not an id.
    expect(reachesPlace(`t-${place}`)([at(`t-${place}`, '2026-03-04T15:00:20Z')])).toBe(false);
  });
});

describe('newestPages', () => {
  /** A conversation of `total` messages in pages of `pageSize`, newest page first; page 0 or below is a test failure. */
  function conversation(total: number, pageSize = 10) {
    return transportAnswering((request) => {
      const query = new URLSearchParams(request.path.split('?')[1]);
      const page = Number(query.get('page'));
      if (!(page >= 1)) throw new Error(`asked for page ${query.get('page')}`);
      const messages = [
        { id: `p${page}`, direction: 'outbound', type: 'text', text: '', time: '2026-03-04T15:00:00Z' },
      ];
      return { messages, page, pageSize: Number(query.get('pageSize') ?? pageSize), total };
    });
  }
  const pagesRead = (requests: Request[]) => requests.map((r) => r.path);

  test('one page by default', async () => {
    const { transport, requests } = conversation(100);
    const pages = await newestPages(transport, { pageSize: 10 }, policyWith(0).policy);
    expect(pages.map((p) => p.page)).toEqual([1]);
    expect(pagesRead(requests)).toEqual(['/messages?page=1&pageSize=10']);
  });

  test('up to `pages` pages, newest first, while there are more', async () => {
    const { transport } = conversation(100);
    const pages = await newestPages(transport, { pageSize: 10, pages: 3 }, policyWith(0).policy);
    expect(pages.map((p) => p.page)).toEqual([1, 2, 3]);
  });

  test('stops at the conversation’s first page, a full one included', async () => {
    const { transport } = conversation(20);
    const pages = await newestPages(transport, { pageSize: 10, pages: 5 }, policyWith(0).policy);
    expect(pages.map((p) => p.page)).toEqual([1, 2]);
  });

  test('stops at the first page that reaches the place', async () => {
    const { transport } = conversation(100);
    const reaches = (messages: readonly ChatMessage[]) => messages.some((m) => m.id === 'p2');
    const pages = await newestPages(transport, { pageSize: 10, pages: 4, reaches }, policyWith(0).policy);
    expect(pages.map((p) => p.page)).toEqual([1, 2]);
  });

  test('a read refused for now is tried again after a backoff that doubles up to 8 s, or its Retry-After', async () => {
    const refusals = [networkError(), refusal(503), refusal(502), refusal(504), refusal(429), refusal(503)];
    const { transport, requests } = transportAnswering((request, index) => {
      if (index > refusals.length + 1 || !request.path.includes('page=1&')) throw new Error(`read ${request.path}`);
      if (index < refusals.length) throw refusals[index];
      if (index === refusals.length) throw refusal(429, 'rate_limited', 2);
      return { messages: [], page: 1, pageSize: 10, total: 100 };
    });
    const { policy, slept } = policyWith(8, 60);
    const pages = await newestPages(transport, { pageSize: 10 }, policy);
    expect(pages).toHaveLength(1);
    expect(requests).toHaveLength(8);
    expect(slept).toEqual([500, 1000, 2000, 4000, 8000, 8000, 2000]);
  });

  test('out of retries, refused for good, or asked to wait too long: the refusal', async () => {
    const cases: [BffError[], number, number][] = [
      [[refusal(503), refusal(503), refusal(503)], 2, 3],
      [[refusal(400)], 5, 1],
      [[refusal(429, 'rate_limited', 61)], 5, 1],
    ];
    for (const [errors, retries, tries] of cases) {
      const { transport, requests } = transportAnswering((_request, index) => {
        throw index < errors.length ? errors[index] : new Error(`read ${index + 1} times`);
      });
      const thrown = await newestPages(transport, { pageSize: 10 }, policyWith(retries, 60).policy).catch((e) => e);
      expect([thrown, requests.length]).toEqual([errors[tries - 1], tries]);
    }
  });

  test('a read of 60 s Retry-After is waited, to the policy’s longest wait', async () => {
    const { transport } = transportAnswering((_request, index) => {
      if (index > 1) throw new Error(`read ${index + 1} times`);
      if (index === 0) throw refusal(429, 'rate_limited', 60);
      return { messages: [], page: 1, pageSize: 10, total: 0 };
    });
    const { policy, slept } = policyWith(8, 60);
    await newestPages(transport, {}, policy);
    expect(slept).toEqual([60_000]);
  });

  test('something thrown that is no BffError is thrown at once', async () => {
    const lookalike = Object.assign(new Error('socket hang up'), { code: 'network_error', status: 503 });
    const { transport, requests } = transportAnswering((_request, index) => {
      throw index === 0 ? lookalike : new Error(`read ${index + 1} times`);
    });
    await expect(newestPages(transport, {}, policyWith(3, 60).policy)).rejects.toBe(lookalike);
    expect(requests).toHaveLength(1);
  });
});

describe('TypingIndicator', () => {
  afterEach(() => jest.restoreAllMocks());

  test('POSTs /typing at most once every 5 s: the rest are dropped here', async () => {
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const { transport, requests } = transportAnswering(() => undefined);
    const typing = new TypingIndicator(transport);
    const sentAt: number[] = [];
    for (const at of [1_000_000, 1_004_999, 1_005_000, 1_005_001, 1_010_000]) {
      now = at;
      const before = requests.length;
      await typing.typing();
      if (requests.length > before) sentAt.push(at);
    }
    expect(sentAt).toEqual([1_000_000, 1_005_000, 1_010_000]);
    expect(requests.map((r) => [r.method, r.path])).toEqual(Array(3).fill(['POST', '/typing']));
  });
});
