/** How long before the session's expiry a live stream warns (`session` event `expiring`). */
export const EXPIRY_WARNING_MS = 5 * 60_000;

export function expiringEvent(expiresAt: number) {
  return {
    state: 'expiring',
    expiresAt: new Date(expiresAt).toISOString(),
    detail: 'The chat session ends soon unless the guest sends something.',
  };
}

/**
 * Warns once, EXPIRY_WARNING_MS before the session's expiry (`expiresAt`, as
 * last known); when activity has moved the expiry by then, waits for the new
 * one instead. An expiry further away than a timer can wait (about 24 days)
 * is not watched.
 */
export function warnBeforeExpiry(
  expiresAt: (() => number | undefined) | undefined,
  warn: (expiresAt: number) => void,
): { cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const schedule = (expected?: number) => {
    const at = expiresAt?.();
    if (at === undefined) return;
    if (expected !== undefined && at <= expected) {
      warn(at);
      return;
    }
    const delay = at - EXPIRY_WARNING_MS - Date.now();
    if (delay > 2 ** 31 - 1) return;
    timer = setTimeout(() => schedule(at), Math.max(0, delay));
    timer.unref();
  };
  schedule();
  return { cancel: () => clearTimeout(timer) };
}
