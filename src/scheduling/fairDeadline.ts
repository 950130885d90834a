/** How often a fair deadline looks at the loop while it runs: a tick later than this was the loop's own stall. */
const TICK_MS = 50;

export interface FairDeadline {
  /** How long until it falls due, as things stand (later than at first by what the loop was stalled meanwhile). */
  readonly leftMs: number;
  cancel(): void;
}

/**
 * A deadline for another party's answer that this process's event loop cannot make it miss. A busy loop runs its
 * timers late and reads its sockets after them, so a plain timer can judge an answer late that arrived in time, and
 * a step of the other party's exchange that waited on this loop had that much less time. So:
 * - the time the loop was stalled while the deadline ran (each tick later than `TICK_MS`) is given back, up to
 *   `maxMs` after the start in all;
 * - when it falls due, the loop first reads what arrived (`setImmediate` runs after the sockets are read), and
 *   `expired` is called only if it was not cancelled meanwhile.
 * With a loop that keeps up, it falls due `ms` after the start, as a plain timer would.
 */
export function fairDeadline(ms: number, maxMs: number, expired: () => void): FairDeadline {
  // Elapsed time, whatever a test does to the wall clock or the service's own.
  const now = () => performance.now();
  const start = now();
  const last = start + Math.max(ms, maxMs);
  let due = start + ms;
  let stalledMs = 0;
  let lastTick = start;
  let cancelled = false;
  let timer: NodeJS.Timeout;
  const account = () => {
    const at = now();
    stalledMs += Math.max(0, at - lastTick - TICK_MS);
    lastTick = at;
    due = Math.min(last, start + ms + stalledMs);
  };
  const ticker = setInterval(account, TICK_MS);
  ticker.unref();
  const judge = () => {
    account();
    const left = due - now();
    if (left > 0) {
      timer = setTimeout(judge, left);
      timer.unref();
      return;
    }
    clearInterval(ticker);
    setImmediate(() => {
      if (!cancelled) expired();
    });
  };
  timer = setTimeout(judge, ms);
  timer.unref();
  return {
    get leftMs() {
      return Math.max(0, due - now());
    },
    cancel() {
      cancelled = true;
      clearTimeout(timer);
      clearInterval(ticker);
    },
  };
}
