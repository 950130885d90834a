/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { act, renderHook } from '@testing-library/react';
import { BffError, type Availability, type AvailabilityAnswer, type BffClient } from '../../../client/src';
import { useAvailability, type UseAvailabilityOptions } from '../../../client/src/react';

/** useAvailability on a client the test answers for: when it asks, what it makes of the answers, when it stops. */

const answer = (over: Partial<AvailabilityAnswer> = {}): AvailabilityAnswer => ({
  configured: true,
  open: true,
  reason: 'open',
  nextOpenAt: null,
  closesAt: null,
  estimatedWaitSeconds: 240,
  agentsAvailable: 0,
  waiting: 2,
  unknown: [],
  stale: false,
  asOf: '2026-03-06T10:00:00Z',
  maxAgeSeconds: 30,
  ...over,
});

/** A client whose availability() answers each call with the next of `replies` (the last one again when they run out). */
function clientAnswering(...replies: (AvailabilityAnswer | BffError)[]) {
  const availability = jest.fn(async () => {
    const next = replies.length > 1 ? replies.shift()! : replies[0]!;
    if (next instanceof BffError) throw next;
    return next;
  });
  return { client: { availability } as unknown as BffClient, availability };
}

/** Lets the answers in flight settle. */
const settle = () => act(async () => undefined);
const advance = (ms: number) =>
  act(async () => {
    jest.advanceTimersByTime(ms);
  });

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('asking and refreshing', () => {
  test('asks once on mount, then again when the answer’s max-age runs out, and not before', async () => {
    const { client, availability } = clientAnswering(
      answer({ maxAgeSeconds: 30 }),
      answer({ estimatedWaitSeconds: 60, maxAgeSeconds: 10 }),
    );
    const { result } = renderHook(() => useAvailability({ client }));
    expect(result.current.status).toEqual({ state: 'unknown' });
    await settle();
    expect(availability).toHaveBeenCalledTimes(1);
    expect(result.current.status).toEqual({ state: 'busy', waitMinutes: 4 });

    await advance(29_999);
    expect(availability).toHaveBeenCalledTimes(1);
    await advance(1);
    expect(availability).toHaveBeenCalledTimes(2);
    expect(result.current.status).toEqual({ state: 'busy', waitMinutes: 1 });
    // The second answer said 10 seconds.
    await advance(9_999);
    expect(availability).toHaveBeenCalledTimes(2);
    await advance(1);
    expect(availability).toHaveBeenCalledTimes(3);
  });

  test('a failure is kept and asked again after its Retry-After; the next answer clears it', async () => {
    const refused = new BffError({ status: 503, code: 'upstream_unavailable', message: 'down', retryAfterSeconds: 7 });
    const { client, availability } = clientAnswering(refused, answer({ open: false, reason: 'closed' }));
    const { result } = renderHook(() => useAvailability({ client }));
    await settle();
    expect(result.current.error).toBe(refused);
    expect(result.current.status).toEqual({ state: 'unknown' });
    await advance(6_999);
    expect(availability).toHaveBeenCalledTimes(1);
    await advance(1);
    expect(availability).toHaveBeenCalledTimes(2);
    expect(result.current.error).toBeUndefined();
    expect(result.current.status).toEqual({ state: 'closed', reason: 'closed' });
  });

  test('a max-age of 0 waits a second, not a busy loop', async () => {
    const { client, availability } = clientAnswering(answer({ maxAgeSeconds: 0 }));
    renderHook(() => useAvailability({ client }));
    await settle();
    await advance(999);
    expect(availability).toHaveBeenCalledTimes(1);
    await advance(1);
    expect(availability).toHaveBeenCalledTimes(2);
  });

  test('stops asking when unmounted, even when an answer arrives after', async () => {
    let answerLate!: (a: AvailabilityAnswer) => void;
    const availability = jest
      .fn<Promise<AvailabilityAnswer>, []>()
      .mockResolvedValueOnce(answer())
      .mockImplementationOnce(() => new Promise((resolve) => (answerLate = resolve)));
    const client = { availability } as unknown as BffClient;
    const { unmount } = renderHook(() => useAvailability({ client }));
    await settle();
    await advance(30_000);
    expect(availability).toHaveBeenCalledTimes(2);
    unmount();
    await act(async () => answerLate(answer({ open: false, reason: 'closed' })));
    await advance(10 * 60_000);
    // Neither the timer nor the late answer asks again.
    expect(availability).toHaveBeenCalledTimes(2);
  });

  test('under StrictMode (mount, unmount, mount) it asks once, and keeps refreshing once per max-age', async () => {
    const { client, availability } = clientAnswering(answer());
    // A StrictMode wrapper around renderHook's own root does not double the effects; the option does.
    const { result } = renderHook(() => useAvailability({ client }), { reactStrictMode: true });
    await settle();
    expect(availability).toHaveBeenCalledTimes(1);
    expect(result.current.status).toEqual({ state: 'busy', waitMinutes: 4 });
    await advance(30_000);
    expect(availability).toHaveBeenCalledTimes(2);
  });

  test('enabled: false asks nothing until it is true', async () => {
    const { client, availability } = clientAnswering(answer());
    const { rerender } = renderHook((props: UseAvailabilityOptions) => useAvailability(props), {
      initialProps: { client, enabled: false },
    });
    await advance(60_000);
    expect(availability).not.toHaveBeenCalled();
    rerender({ client, enabled: true });
    await settle();
    expect(availability).toHaveBeenCalledTimes(1);
  });
});

describe('what it tells', () => {
  test('a stream event newer than the last answer wins; an older one does not', async () => {
    const { client } = clientAnswering(answer({ asOf: '2026-03-06T10:00:00Z' }));
    const live = (asOf: string): Availability => ({ ...answer({ open: false, reason: 'closed', asOf }) });
    const { result, rerender } = renderHook((props: UseAvailabilityOptions) => useAvailability(props), {
      initialProps: { client, live: live('2026-03-06T09:59:00Z') },
    });
    await settle();
    expect(result.current.status.state).toBe('busy');
    rerender({ client, live: live('2026-03-06T10:00:05Z') });
    expect(result.current.status).toEqual({ state: 'closed', reason: 'closed' });
    expect(result.current.availability?.asOf).toBe('2026-03-06T10:00:05Z');
  });

  test('the chat button follows whenClosed (disabled by default)', async () => {
    const closed = answer({ open: false, reason: 'holiday' });
    const { client } = clientAnswering(closed);
    const button = async (options: UseAvailabilityOptions) => {
      const { result } = renderHook(() => useAvailability({ client, ...options }));
      await settle();
      return result.current.chatButton;
    };
    expect(await button({})).toEqual({ hidden: false, disabled: true });
    expect(await button({ whenClosed: 'hide' })).toEqual({ hidden: true, disabled: true });
    expect(await button({ whenClosed: 'show' })).toEqual({ hidden: false, disabled: false });
  });
});

describe('its own client and its failures', () => {
  afterEach(() => jest.restoreAllMocks());

  test('without a client or baseUrl, it asks the page’s own origin', async () => {
    const asked: string[] = [];
    jest.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      asked.push(String(input));
      return new Response(JSON.stringify(answer()), { headers: { 'Content-Type': 'application/json' } });
    });
    const { result } = renderHook(() => useAvailability());
    await settle();
    expect(asked).toEqual(['/availability']);
    expect(result.current.status.state).toBe('busy');
  });

  test('a failure that is no BffError is kept as one with code unknown, its words the message', async () => {
    const availability = jest.fn(async () => {
      throw new TypeError('boom');
    });
    const { result } = renderHook(() => useAvailability({ client: { availability } as unknown as BffClient }));
    await settle();
    expect(result.current.error).toBeInstanceOf(BffError);
    expect(result.current.error).toMatchObject({ status: 0, code: 'unknown', message: 'TypeError: boom' });
  });
});

describe('what it tells, as asked', () => {
  test('a stream event as new as the last answer wins: it is the later word on the same moment', async () => {
    const { client } = clientAnswering(answer({ asOf: '2026-03-06T10:00:00Z' }));
    const live: Availability = answer({ open: false, reason: 'emergency', asOf: '2026-03-06T10:00:00Z' });
    const { result } = renderHook(() => useAvailability({ client, live }));
    await settle();
    expect(result.current.status).toEqual({ state: 'closed', reason: 'emergency' });
  });

  test('busyAfterSeconds sets the wait from which it reads busy', async () => {
    const { client } = clientAnswering(answer({ agentsAvailable: 1, estimatedWaitSeconds: 240 }));
    const { result } = renderHook(() => useAvailability({ client, busyAfterSeconds: 300 }));
    await settle();
    expect(result.current.status).toEqual({ state: 'open' });
    const { result: byDefault } = renderHook(() => useAvailability({ client }));
    await settle();
    expect(byDefault.current.status).toEqual({ state: 'busy', waitMinutes: 4 });
  });
});
