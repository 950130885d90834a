/** The one way tests wait for something that happens on its own schedule: bounded, with a clear failure. */

/**
 * How long a wait for something bound to happen (an event, a frame, a state) may take before the test calls it a
 * hang. It is no verdict: a machine whose two cores are shared takes many times a fast one's time for the same
 * work, so the bound is half jest's own (jest.config.js), far past anything a wait takes when nothing is wrong. A
 * suite whose subject is timing states its bounds itself, from the requirement, and says so in its docblock.
 */
export const EVENT_WAIT_MS = 30_000;

/** Polls until `check` stops throwing and does not return false; fails after `timeoutMs` with the last error. */
export async function waitFor(check: () => unknown, timeoutMs = EVENT_WAIT_MS, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: unknown;
    try {
      const result = await check();
      if (result !== false) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw last instanceof Error ? last : new Error('condition not met in time');
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** On jest's fake clock: moves time on by `ms` at most, `stepMs` at a time, until `done`; answers whether it came. */
export async function advanceFakeTimersUntil(done: () => boolean, ms: number, stepMs: number): Promise<boolean> {
  for (let waited = 0; waited < ms && !done(); waited += stepMs) await jest.advanceTimersByTimeAsync(stepMs);
  return done();
}
