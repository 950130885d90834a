import { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import { withDeadline, withRetries, type RetryPolicy } from '../../../../src/genesys/guest/link/reconnect';

/**
 * Connecting with bounded retries (src/genesys/guest/link/reconnect.ts): which error the caller gets,
 * how often `reconnecting` is told, the waits between attempts (0.25 s, 1 s, 2 s, then 5 s each),
 * and a session that dies between attempts. Waits run on jest's fake timers.
 */
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

/** An attempt that fails `failures` times (with `error`), then answers 'open'. */
function flaky(failures: number, error: unknown = new GuestApiError('unavailable', 'down')) {
  const calls: number[] = [];
  const attempt = async () => {
    calls.push(Date.now());
    if (calls.length <= failures) throw error;
    return 'open';
  };
  return { attempt, calls };
}

function policy(overrides: Partial<RetryPolicy> = {}) {
  const seen: Array<{ attempt: number; startedAt: number; code: string }> = [];
  let firstRetries = 0;
  const retry: RetryPolicy = {
    keepTrying: (error, attempt, startedAt) => {
      seen.push({ attempt, startedAt, code: error.code });
      return true;
    },
    onFirstRetry: () => void firstRetries++,
    stopped: () => undefined,
    now: () => 12345,
    ...overrides,
  };
  return { retry, seen, firstRetries: () => firstRetries };
}

test('retries after 0.25 s, 1 s, 2 s, then every 5 s, telling reconnecting once', async () => {
  const { attempt, calls } = flaky(6);
  const { retry, seen, firstRetries } = policy();
  const result = withRetries(attempt, retry);
  await jest.advanceTimersByTimeAsync(60_000);
  await expect(result).resolves.toBe('open');
  const waits = calls.slice(1).map((at, i) => at - calls[i]!);
  expect(waits).toEqual([250, 1000, 2000, 5000, 5000, 5000]);
  expect(seen.map((s) => s.attempt)).toEqual([0, 1, 2, 3, 4, 5]);
  expect(new Set(seen.map((s) => s.startedAt))).toEqual(new Set([12345]));
  expect(firstRetries()).toBe(1);
});

test('the first attempt that answers ends it, without telling reconnecting', async () => {
  const { attempt, calls } = flaky(0);
  const { retry, firstRetries } = policy();
  await expect(withRetries(attempt, retry)).resolves.toBe('open');
  expect(calls).toHaveLength(1);
  expect(firstRetries()).toBe(0);
});

test('when nobody wants the session any more, the last error is thrown as it was', async () => {
  const refused = new GuestApiError('forbidden', 'not allowed');
  const { attempt, calls } = flaky(5, refused);
  const { retry } = policy({ keepTrying: (_error, n) => n < 2 });
  const result = withRetries(attempt, retry);
  const settled = expect(result).rejects.toBe(refused);
  await jest.advanceTimersByTimeAsync(60_000);
  await settled;
  expect(calls).toHaveLength(3);
});

test('an error that is not the Guest API one becomes unavailable, with its cause', async () => {
  const cause = new Error('ECONNRESET');
  const { attempt } = flaky(1, cause);
  const { retry } = policy({ keepTrying: () => false });
  const error = await withRetries(attempt, retry).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(GuestApiError);
  expect(error).toMatchObject({ failure: 'unavailable', message: 'Could not reach Genesys.', cause });
});

test('a session that died during a wait stops the loop with its own error', async () => {
  const died = new GuestApiError('session_expired', 'gone');
  let dead = false;
  const { attempt, calls } = flaky(5);
  const { retry } = policy({ stopped: () => (dead ? died : undefined) });
  const result = withRetries(attempt, retry);
  const settled = expect(result).rejects.toBe(died);
  await jest.advanceTimersByTimeAsync(250);
  expect(calls).toHaveLength(2);
  dead = true;
  await jest.advanceTimersByTimeAsync(60_000);
  await settled;
  expect(calls).toHaveLength(2);
});

test('a deadline rejects with its error when the work is slower, and leaves no timer behind', async () => {
  const slow = new Promise<string>((resolve) => setTimeout(() => resolve('late'), 5000));
  const timedOut = new Error('timeout');
  const result = withDeadline(slow, 1000, () => timedOut);
  const settled = expect(result).rejects.toBe(timedOut);
  await jest.advanceTimersByTimeAsync(1000);
  await settled;

  const fast = withDeadline(Promise.resolve('early'), 1000, () => timedOut);
  await expect(fast).resolves.toBe('early');
  expect(jest.getTimerCount()).toBe(1); // only `slow`'s own timer, still running
});
