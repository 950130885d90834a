import {
  BffClient,
  BffError,
  LiveStream,
  availabilityStatus,
  chatButtonState,
  type Availability,
} from '../../client/src';
import { maxAge } from '../../client/src/availability';

/**
 * The client's side of GET /availability on its own: what it asks, what it makes of the answer (the body, its
 * Cache-Control max-age, a Retry-After), the stream's `availability` event, and what a page tells the customer.
 * The service's route and its simulator are covered by the API suites; these pin the client's reading of the shape.
 */

const answer = (over: Partial<Availability> = {}): Availability => ({
  configured: true,
  open: true,
  reason: 'open',
  nextOpenAt: null,
  closesAt: '2026-03-06T17:00:00+01:00',
  estimatedWaitSeconds: 240,
  agentsAvailable: 0,
  waiting: 3,
  unknown: [],
  stale: false,
  asOf: '2026-03-06T10:00:00Z',
  ...over,
});

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch that answers each call with the next of `replies`, recording what was asked. */
function scripted(replies: (() => Response)[], calls: Call[] = []): typeof fetch {
  return async (input, init = {}) => {
    calls.push({ url: String(input), init });
    const next = replies.shift();
    if (!next) throw new Error('no reply scripted');
    return next();
  };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'Content-Type': status < 300 ? 'application/json' : 'application/problem+json', ...headers },
    });

const problem = (status: number, code: string, retryAfter?: string) =>
  json(
    status,
    { type: `/problems/${code}`, title: code, status, code },
    retryAfter ? { 'Retry-After': retryAfter } : {},
  );

function clientWith(fetchImpl: typeof fetch, slept: number[] = [], maxRetryWaitSeconds?: number) {
  return new BffClient({
    baseUrl: 'https://chat.example/',
    fetch: fetchImpl,
    maxRetryWaitSeconds,
    sleep: async (ms) => void slept.push(ms),
  });
}

describe('client.availability()', () => {
  test('asks GET /availability and answers the body with its Cache-Control max-age', async () => {
    const calls: Call[] = [];
    const client = clientWith(scripted([json(200, answer(), { 'Cache-Control': 'public, max-age=30' })], calls));
    expect(await client.availability()).toEqual({ ...answer(), maxAgeSeconds: 30 });
    expect(calls.map((c) => [c.init.method, c.url])).toEqual([['GET', 'https://chat.example/availability']]);
  });

  test('an answer without max-age has no maxAgeSeconds', async () => {
    const client = clientWith(scripted([json(200, answer({ configured: false }), { 'Cache-Control': 'no-store' })]));
    const got = await client.availability();
    expect(got).toEqual(answer({ configured: false }));
    expect('maxAgeSeconds' in got).toBe(false);
  });

  test('a 429 or 503 is asked again after its Retry-After', async () => {
    const slept: number[] = [];
    const calls: Call[] = [];
    const client = clientWith(
      scripted(
        [
          problem(429, 'rate_limited', '2'),
          problem(503, 'upstream_unavailable', '1'),
          json(200, answer(), { 'Cache-Control': 'public, max-age=15' }),
        ],
        calls,
      ),
      slept,
    );
    expect(await client.availability()).toMatchObject({ open: true, maxAgeSeconds: 15 });
    expect(slept).toEqual([2000, 1000]);
    expect(calls).toHaveLength(3);
  });

  test('a Retry-After longer than the client waits is a BffError that carries it; a 400 is not retried', async () => {
    const slept: number[] = [];
    const late = clientWith(scripted([problem(503, 'upstream_unavailable', '120')]), slept);
    const error = await late.availability().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BffError);
    expect(error).toMatchObject({ status: 503, code: 'upstream_unavailable', retryAfterSeconds: 120 });
    expect(slept).toEqual([]);

    const calls: Call[] = [];
    const refused = clientWith(scripted([problem(400, 'bad_request')], calls));
    await expect(refused.availability()).rejects.toMatchObject({ status: 400, code: 'bad_request' });
    expect(calls).toHaveLength(1);
  });

  test('a network error is asked again after a backoff from half a second, doubling', async () => {
    const slept: number[] = [];
    const calls: Call[] = [];
    const down = () => {
      throw new TypeError('Failed to fetch');
    };
    // Each failure is followed by the probe of /healthz that tells an outage from a CORS refusal: it fails too.
    const client = clientWith(scripted([down, down, down, down, json(200, answer())], calls), slept);
    expect(await client.availability()).toEqual(answer());
    expect(slept).toEqual([500, 1000]);
    expect(calls.filter((c) => c.url.endsWith('/availability'))).toHaveLength(3);
  });

  test('retried as many times as the client retries, then the refusal; a Retry-After of just the longest wait is waited', async () => {
    const slept: number[] = [];
    const calls: Call[] = [];
    const busy = problem(503, 'upstream_unavailable', '5');
    const client = clientWith(scripted([busy, busy, busy, busy], calls), slept, 5);
    await expect(client.availability()).rejects.toMatchObject({ status: 503, retryAfterSeconds: 5 });
    expect(slept).toEqual([5000, 5000]);
    expect(calls).toHaveLength(3);
  });

  test('reads max-age among the other directives, and nothing else as one', () => {
    expect(maxAge('public, max-age=30')).toBe(30);
    expect(maxAge('max-age=0')).toBe(0);
    expect(maxAge('public,max-age="12", must-revalidate')).toBe(12);
    expect(maxAge('public, s-maxage=60')).toBeUndefined();
    expect(maxAge('public, max-age=abc')).toBeUndefined();
    expect(maxAge(null)).toBeUndefined();
    expect(maxAge('MAX-AGE=5')).toBe(5);
    expect(maxAge('max-age = 40')).toBe(40);
    expect(maxAge('max-age=20 , private')).toBe(20);
    expect(maxAge('max-age=20x')).toBeUndefined();
  });
});

describe('the live stream’s availability event', () => {
  /** An EventSource the test speaks through. */
  class ScriptedSource {
    private readonly listeners = new Map<string, ((e: Event) => void)[]>();
    addEventListener(type: string, listener: (e: Event) => void) {
      this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
    }
    close() {}
    emit(type: string, data: unknown, id = '') {
      const event = { data: JSON.stringify(data), lastEventId: id } as unknown as Event;
      for (const listener of this.listeners.get(type) ?? []) listener(event);
    }
  }

  test('hands each availability event to its handler, as sent', async () => {
    const sources: ScriptedSource[] = [];
    const seen: Availability[] = [];
    const stream = new LiveStream(
      { streamTicket: async () => ({ ticket: 't' }), forgetSession: () => undefined },
      () => {
        const source = new ScriptedSource();
        sources.push(source);
        return source as unknown as EventSource;
      },
      { availability: (event) => seen.push(event) },
      {},
    );
    await new Promise((resolve) => setImmediate(resolve));
    sources[0]!.emit('session', { state: 'open' }, '1');
    sources[0]!.emit('availability', answer({ estimatedWaitSeconds: 600 }), '2');
    sources[0]!.emit(
      'availability',
      answer({ open: false, reason: 'closed', nextOpenAt: '2026-03-07T09:00:00+01:00' }),
    );
    expect(seen).toEqual([
      answer({ estimatedWaitSeconds: 600 }),
      answer({ open: false, reason: 'closed', nextOpenAt: '2026-03-07T09:00:00+01:00' }),
    ]);
    stream.close();
  });
});

describe('what the customer is told', () => {
  test('not configured (or not known yet) says nothing', () => {
    expect(availabilityStatus(undefined)).toEqual({ state: 'unknown' });
    expect(availabilityStatus(answer({ configured: false }))).toEqual({ state: 'unknown' });
  });

  test('closed says why and, when a schedule says, when it opens', () => {
    const next = '2026-03-09T09:00:00+01:00';
    expect(availabilityStatus(answer({ open: false, reason: 'closed', nextOpenAt: next }))).toEqual({
      state: 'closed',
      reason: 'closed',
      backAt: next,
    });
    expect(availabilityStatus(answer({ open: false, reason: 'holiday', nextOpenAt: null }))).toEqual({
      state: 'closed',
      reason: 'holiday',
    });
    expect(availabilityStatus(answer({ open: false, reason: 'emergency' }))).toMatchObject({ reason: 'emergency' });
    expect(availabilityStatus(answer({ open: false, reason: 'no_agents' }))).toMatchObject({ reason: 'no_agents' });
  });

  test('open is busy when no agent is free or the wait reaches a minute (rounded to whole minutes)', () => {
    expect(availabilityStatus(answer({ agentsAvailable: 0, estimatedWaitSeconds: 240 }))).toEqual({
      state: 'busy',
      waitMinutes: 4,
    });
    expect(availabilityStatus(answer({ agentsAvailable: 0, estimatedWaitSeconds: 20 }))).toEqual({
      state: 'busy',
      waitMinutes: 1,
    });
    expect(availabilityStatus(answer({ agentsAvailable: 0, estimatedWaitSeconds: null }))).toEqual({ state: 'busy' });
    expect(availabilityStatus(answer({ agentsAvailable: null, estimatedWaitSeconds: 150 }))).toEqual({
      state: 'busy',
      waitMinutes: 3,
    });
    expect(availabilityStatus(answer({ agentsAvailable: 2, estimatedWaitSeconds: 30 }))).toEqual({ state: 'open' });
    expect(availabilityStatus(answer({ agentsAvailable: null, estimatedWaitSeconds: null }))).toEqual({
      state: 'open',
    });
    expect(
      availabilityStatus(answer({ agentsAvailable: 2, estimatedWaitSeconds: 100 }), { busyAfterSeconds: 120 }),
    ).toEqual({ state: 'open' });
    // A wait of just the minute is busy; a second under it is not.
    expect(availabilityStatus(answer({ agentsAvailable: 2, estimatedWaitSeconds: 60 }))).toEqual({
      state: 'busy',
      waitMinutes: 1,
    });
    expect(availabilityStatus(answer({ agentsAvailable: 2, estimatedWaitSeconds: 59 }))).toEqual({ state: 'open' });
  });

  test('the chat button is disabled while closed by default, hidden or left be as the page says', () => {
    const closed = availabilityStatus(answer({ open: false, reason: 'closed' }));
    expect(chatButtonState(closed)).toEqual({ hidden: false, disabled: true });
    expect(chatButtonState(closed, 'hide')).toEqual({ hidden: true, disabled: true });
    expect(chatButtonState(closed, 'show')).toEqual({ hidden: false, disabled: false });
    for (const state of [{ state: 'open' }, { state: 'busy' }, { state: 'unknown' }] as const)
      expect(chatButtonState(state, 'hide')).toEqual({ hidden: false, disabled: false });
  });
});
