import { fairDeadline } from '../../src/scheduling/fairDeadline';

/** src/scheduling/fairDeadline.ts: a deadline this process's own stalled event loop cannot make another party miss. */

/** Keeps the event loop busy for `ms`, as a starved instance does. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

const expiry = (ms: number, maxMs: number) => {
  const started = Date.now();
  let expiredAfter: number | undefined;
  const deadline = fairDeadline(ms, maxMs, () => (expiredAfter = Date.now() - started));
  return { deadline, expiredAfter: () => expiredAfter };
};

describe('with a loop that keeps up', () => {
  test('it falls due after its time, like a timer', async () => {
    const { deadline, expiredAfter } = expiry(100, 5000);
    expect(deadline.leftMs).toBeLessThanOrEqual(100);
    expect(deadline.leftMs).toBeGreaterThan(0);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => expiredAfter() !== undefined && (clearInterval(check), resolve()), 10);
    });
    expect(expiredAfter()).toBeGreaterThanOrEqual(100);
  });

  test('cancelled, it never expires', async () => {
    const { deadline, expiredAfter } = expiry(50, 5000);
    deadline.cancel();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(expiredAfter()).toBeUndefined();
  });
});

describe('with a loop stalled while it runs', () => {
  test('the stall is given back: it falls due that much later', async () => {
    const { deadline, expiredAfter } = expiry(200, 5000);
    stall(400);
    // The next turn runs the timer, late by the stall: the deadline moves past it instead of expiring.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(expiredAfter()).toBeUndefined();
    expect(deadline.leftMs).toBeGreaterThan(0);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => expiredAfter() !== undefined && (clearInterval(check), resolve()), 10);
    });
    expect(expiredAfter()).toBeGreaterThanOrEqual(200 + 300);
  });

  test('an answer read right after the stall is in time: what arrived is read before it is judged', async () => {
    let answered = false;
    const deadline = fairDeadline(100, 100, () => {
      if (!answered) throw new Error('judged before what arrived was read');
    });
    // The answer arrives while the loop is stalled past the deadline, and is read in the turn that runs the late
    // timer, after it (an answer read from a socket then comes before this, in the same turn).
    setImmediate(() => {
      answered = true;
      deadline.cancel();
    });
    stall(300);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(true);
  });

  test('cancelled in the turn it fell due in, before it judged, it does not expire', async () => {
    let expired = false;
    const deadline = fairDeadline(100, 100, () => (expired = true));
    // Queued before the stall, the cancel runs after the late timer found it due, and before its judgement.
    setImmediate(() => deadline.cancel());
    stall(300);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(expired).toBe(false);
  });

  test('never later than its longest wait, however long the stalls', async () => {
    const { expiredAfter } = expiry(100, 300);
    stall(500);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => expiredAfter() !== undefined && (clearInterval(check), resolve()), 10);
    });
    expect(expiredAfter()).toBeGreaterThanOrEqual(300);
  });
});
