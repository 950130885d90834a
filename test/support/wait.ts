/** The one way tests wait for something that happens on its own schedule: bounded, with a clear failure. */

/** Polls until `check` stops throwing and does not return false; fails after `timeoutMs` with the last error. */
export async function waitFor(check: () => unknown, timeoutMs = 10_000, intervalMs = 20): Promise<void> {
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
