import { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import { PendingRequests, type Pending } from '../../../../src/genesys/guest/desk/pendingRequests';
import { UntracedRefusals } from '../../../../src/genesys/guest/desk/untracedRefusals';

/**
 * Refusals that name no request (a 429 without tracingId), attributed by
 * counting (docs/genesys-protocol.md#rate-limits-and-refusals), on a real book
 * of pending requests and a fake clock: a request is refused only once the
 * requests that could own the refusals are no more than the refusals, and
 * nothing is guessed before. test/genesys/guest/guestSession.test.ts drives the
 * same rules through real frames.
 */

/** How long a request that gave up still counts as the owner of a late reply. */
const LATE_WINDOW_MS = 10_000;

beforeEach(() => jest.useFakeTimers({ now: Date.parse('2026-11-23T12:00:00Z') }));
afterEach(() => jest.useRealTimers());

function desk() {
  const pending = new PendingRequests(LATE_WINDOW_MS, Date.now);
  const refused: { id: string; error: GuestApiError; fail: boolean }[] = [];
  let holdUntil = 0;
  const untraced = new UntracedRefusals({
    pending,
    now: Date.now,
    holdUntil: () => holdUntil,
    // As the request desk does: a refused request is not written any more until it goes out again.
    refused: (p, error, fail) => {
      p.written = false;
      refused.push({ id: p.tracingId, error, fail });
    },
  });
  const write = (tracingId: string): Pending => {
    const p: Pending = {
      kind: 'send',
      tracingId,
      frame: {},
      written: true,
      writtenAt: Date.now(),
      lastWrittenAt: Date.now(),
      inDoubt: false,
      resolve: () => undefined,
      reject: () => undefined,
      timer: undefined as unknown as NodeJS.Timeout,
    };
    pending.add(p);
    return p;
  };
  /** Its reply came (or it gave up): the unanswered set shrank, so the count is looked at again. */
  const answer = (p: Pending, gaveUp = false) => {
    pending.remove(p, gaveUp);
    untraced.attribute();
  };
  /** Genesys's 429 without tracingId, asking to wait `waitMs`. */
  const refusal = (waitMs = 1000, failure?: GuestApiError) => {
    holdUntil = Math.max(holdUntil, Date.now() + waitMs);
    untraced.add(failure);
  };
  const typing = (tracingId: string) => pending.sentWithoutReply(tracingId, 'typing');
  return { untraced, write, answer, refusal, typing, refused: () => refused.map((r) => r.id), errors: () => refused };
}

test('one refusal, two requests that could own it: nothing is guessed until one is answered, then the other was refused, with the wait Genesys asked for', async () => {
  const d = desk();
  const a = d.write('a');
  d.write('b');
  await jest.advanceTimersByTimeAsync(10);
  d.refusal(5000);
  await jest.advanceTimersByTimeAsync(500);
  expect(d.refused()).toEqual([]);

  d.answer(a);
  expect(d.refused()).toEqual(['b']);
  // Written again after the wait, not failed; a client that sees it is told how long to wait.
  expect(d.errors()[0]?.fail).toBe(false);
  expect(d.errors()[0]?.error).toMatchObject({
    code: 'rate_limited',
    status: 429,
    retryAfterSeconds: 5,
    message: expect.stringMatching(/retry/i),
  });
});

test('an answer long after the refusal still settles who was refused', async () => {
  const d = desk();
  const a = d.write('a');
  d.write('b');
  d.refusal();
  await jest.advanceTimersByTimeAsync(3000);
  expect(d.refused()).toEqual([]);
  d.answer(a);
  expect(d.refused()).toEqual(['b']);
});

test('a request that gave up recently may own the refusal: nothing is guessed until it can no longer', async () => {
  const d = desk();
  const a = d.write('a');
  const b = d.write('b');
  await jest.advanceTimersByTimeAsync(10);
  d.answer(b, true);
  d.refusal();
  expect(d.refused()).toEqual([]);
  await jest.advanceTimersByTimeAsync(LATE_WINDOW_MS - 500);
  expect(d.refused()).toEqual([]);
  // No answer comes, but the request that gave up is past the window where a reply could still be its own.
  await jest.advanceTimersByTimeAsync(1000);
  expect(d.refused()).toEqual(['a']);
  expect(a.written).toBe(false);
});

test('a refused typing frame still counts against a refusal that follows it within two seconds', async () => {
  const d = desk();
  d.typing('t');
  await jest.advanceTimersByTimeAsync(10);
  // Nothing waiting could own it: the typing frame was refused.
  d.refusal();
  await jest.advanceTimersByTimeAsync(500);
  d.write('a');
  await jest.advanceTimersByTimeAsync(100);
  // Two refusals, two possible owners (the typing frame, still young enough, and the message): both were refused.
  d.refusal();
  expect(d.refused()).toEqual(['a']);
});

test('a refusal nothing waiting could own is forgotten after two seconds, even when nothing else happens, and is not counted against the next one', async () => {
  const d = desk();
  d.typing('t');
  await jest.advanceTimersByTimeAsync(10);
  d.refusal();
  await jest.advanceTimersByTimeAsync(2500);
  d.write('a');
  d.write('b');
  await jest.advanceTimersByTimeAsync(10);
  d.refusal();
  // One refusal for two possible owners: nothing is guessed.
  expect(d.refused()).toEqual([]);
});

test('once every refusal is attributed, answers leave no timer behind (no wake-ups for nothing)', async () => {
  const d = desk();
  const a = d.write('a');
  const b = d.write('b');
  await jest.advanceTimersByTimeAsync(10);
  d.refusal();
  d.answer(a);
  expect(d.refused()).toEqual(['b']);
  expect(jest.getTimerCount()).toBe(0);
  // b goes out again and is answered, soon after the refusal.
  await jest.advanceTimersByTimeAsync(100);
  b.written = true;
  b.lastWrittenAt = Date.now();
  d.write('c');
  d.answer(b);
  expect(jest.getTimerCount()).toBe(0);
  expect(d.refused()).toEqual(['b']);
});

test('a refusal that must fail its request (an untraced 401) fails the refused ones, and the first such failure is the one they get', async () => {
  const d = desk();
  const a = d.write('a');
  for (const id of ['b', 'c', 'd']) d.write(id);
  const unauthorized = new GuestApiError('unauthorized', 'the session is no longer authorized');
  d.refusal(1000, unauthorized);
  d.refusal(1000, new GuestApiError('rate_limited', 'slow down'));
  // A plain refusal after them does not turn the failure back into writing again.
  d.refusal();
  expect(d.refused()).toEqual([]);
  d.answer(a);
  expect(d.refused()).toEqual(['b', 'c', 'd']);
  expect(d.errors().every((r) => r.fail && r.error === unauthorized)).toBe(true);
});

test('a typing frame sent just before may own the refusal: a message written after it is not taken as refused, and waits for its own answer', async () => {
  const d = desk();
  d.typing('t');
  await jest.advanceTimersByTimeAsync(10);
  const a = d.write('a');
  await jest.advanceTimersByTimeAsync(10);
  d.refusal();
  await jest.advanceTimersByTimeAsync(3000);
  // Written again, it could reach Genesys twice: it stays as written.
  expect(d.refused()).toEqual([]);
  expect(a.written).toBe(true);
});

test('a typing frame older than two seconds cannot own a refusal: the one request written is', async () => {
  const d = desk();
  d.typing('t');
  await jest.advanceTimersByTimeAsync(2100);
  d.write('a');
  await jest.advanceTimersByTimeAsync(10);
  d.refusal();
  expect(d.refused()).toEqual(['a']);
});

test('a request that gave up may own a refusal for all of its late window, not only two seconds like a typing frame', async () => {
  const d = desk();
  const a = d.write('a');
  const b = d.write('b');
  d.answer(b, true);
  await jest.advanceTimersByTimeAsync(3000);
  d.refusal();
  expect(d.refused()).toEqual([]);
  expect(a.written).toBe(true);
});
