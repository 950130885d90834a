import { AppError } from '../../../src/domain/errors';
import { takeSharedSendTurn } from '../../../src/session/sending/sharedSendRate';
import { sessionKeyOf, type SharedStore } from '../../../src/store';

/**
 * A session's message rate counted across instances (src/session/sending/sharedSendRate.ts), over a stand-in
 * store whose `take` answers scripted waits and a clock the test moves: when a send waits its turn,
 * when it is refused and with which Retry-After. The Redis-backed suites (test/api/sharedLimits.test.ts)
 * show the store's side; the decisions are stated here.
 */
const GENESYS = { messagesPerSecond: 2, timeoutMs: 10_000 };
/** 70 % of the request deadline (requestDesk.ts's MAX_QUEUE_SHARE): the longest a send waits its turn. */
const LONGEST_WAIT_MS = 7_000;

function storeAnswering(waits: number[], shared = true) {
  const takes: Array<{ key: string; limit: number; windowMs: number }> = [];
  const store = {
    shared,
    async take(key: string, limit: number, windowMs: number) {
      takes.push({ key, limit, windowMs });
      return waits.length > 1 ? waits.shift()! : waits[0]!;
    },
  } as unknown as SharedStore;
  return { store, takes };
}

/** The turn taken, with whether it has settled yet and how. */
function taking(store: SharedStore, now: () => number = Date.now, genesys = GENESYS) {
  const outcome: { settled: boolean; error?: unknown } = { settled: false };
  const turn = takeSharedSendTurn(store, 'guest-token', genesys, now).then(
    () => void (outcome.settled = true),
    (error: unknown) => void Object.assign(outcome, { settled: true, error }),
  );
  return { outcome, turn };
}

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => jest.useRealTimers());

test('one instance alone takes nothing from the store', async () => {
  const { store, takes } = storeAnswering([0], false);
  await takeSharedSendTurn(store, 'guest-token', GENESYS, Date.now);
  expect(takes).toEqual([]);
});

test("a turn free now is taken at once, once, under the session's key at the message rate a second", async () => {
  const { store, takes } = storeAnswering([0]);
  const { outcome } = taking(store);
  await jest.advanceTimersByTimeAsync(0);
  expect(outcome).toEqual({ settled: true });
  expect(takes).toEqual([{ key: `rate:messages:${sessionKeyOf('guest-token')}`, limit: 2, windowMs: 1000 }]);
});

test('a send waits for its turn, then takes it', async () => {
  const { store, takes } = storeAnswering([40, 0]);
  const { outcome } = taking(store);
  await jest.advanceTimersByTimeAsync(39);
  expect(outcome.settled).toBe(false);
  expect(takes).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(1);
  expect(outcome).toEqual({ settled: true });
  expect(takes).toHaveLength(2);
});

test('a wait of exactly 70 % of the request deadline is still waited; one more millisecond is refused at once', async () => {
  const within = storeAnswering([LONGEST_WAIT_MS, 0]);
  const waited = taking(within.store);
  await jest.advanceTimersByTimeAsync(LONGEST_WAIT_MS);
  expect(waited.outcome).toEqual({ settled: true });

  const beyond = storeAnswering([LONGEST_WAIT_MS + 1]);
  const refused = taking(beyond.store);
  await jest.advanceTimersByTimeAsync(0);
  expect(refused.outcome.settled).toBe(true);
  expect(beyond.takes).toHaveLength(1);
  const error = refused.outcome.error as AppError;
  expect(error).toBeInstanceOf(AppError);
  expect(error.code).toBe('rate_limited');
  expect(error.message).toMatch(/At most 2 messages a second per session/);
  // Retry-After in whole seconds, rounded up: 7.001 s is 8.
  expect(error.retryAfterSeconds).toBe(8);
});

test('the deadline counts from when the send began: waits that add up beyond it are refused', async () => {
  const { store, takes } = storeAnswering([4_000, 4_000]);
  const { outcome } = taking(store);
  await jest.advanceTimersByTimeAsync(4_000);
  expect(outcome.settled).toBe(true);
  expect(takes).toHaveLength(2);
  expect((outcome.error as AppError).code).toBe('rate_limited');
  expect((outcome.error as AppError).retryAfterSeconds).toBe(4);
});

test('a clock that stands still cannot make a send wait for ever: it gives up after twice the rate times the deadline in seconds, with Retry-After 1', async () => {
  const { store, takes } = storeAnswering([10]);
  const stoppedClock = () => 1_000_000;
  const { outcome } = taking(store, stoppedClock);
  await jest.advanceTimersByTimeAsync(10 * 100);
  expect(outcome.settled).toBe(true);
  // 2 × 2 a second × 10 s = 40 tries waited, the 41st refused.
  expect(takes).toHaveLength(41);
  expect((outcome.error as AppError).code).toBe('rate_limited');
  expect((outcome.error as AppError).retryAfterSeconds).toBe(1);
});
