/** How long before the session's expiry a live stream warns (`session` event `expiring`). */
export const EXPIRY_WARNING_MS = 5 * 60_000;

/** The longest a timer can wait (about 24 days): an expiry further away is not watched. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

export function expiringEvent(expiresAt: number) {
  return {
    state: 'expiring',
    expiresAt: new Date(expiresAt).toISOString(),
    detail: 'The chat session ends soon unless the guest sends something.',
  };
}

/** The warning withdrawn: activity moved the expiry (`expiresAt`, when already known). */
export function expiryClearedEvent(expiresAt: number | undefined) {
  return {
    state: 'expiry_cleared',
    ...(expiresAt === undefined ? {} : { expiresAt: new Date(expiresAt).toISOString() }),
    detail: 'The chat session goes on: activity moved its expiry.',
  };
}

/** Where a stream learns the session's expiry. */
export interface ExpirySource {
  /** Epoch ms, as last known. */
  at(): number | undefined;
  /** Asks Genesys (an `echo`) and resolves once it answered, or could not be asked. */
  confirm?(): Promise<unknown>;
}

export interface ExpiryNotices {
  expiring(expiresAt: number): void;
  cleared(expiresAt: number | undefined): void;
}

/**
 * The "chat ends soon" notice, as Genesys's transport SDK gives it (core/sessionduration/SessionDurationHandler.kt):
 * EXPIRY_WARNING_MS before the expiry as last known, once an `echo` has confirmed that expiry (the SDK's health
 * check before its notice); withdrawn when a message moves the expiry after it was given (its
 * `RemoveSessionExpirationNotice`, after which it asks again with an echo); and given again before the new expiry.
 * A notice whose expiry activity already moved is not given: the watch waits for the new one.
 */
export function warnBeforeExpiry(
  expiry: ExpirySource | undefined,
  notices: ExpiryNotices,
  now: () => number = Date.now,
): { cancel(): void; activity(): void } {
  let timer: NodeJS.Timeout | undefined;
  let warned = false;
  let cancelled = false;
  const schedule = (expected?: number): void => {
    clearTimeout(timer);
    timer = undefined;
    const at = cancelled ? undefined : expiry?.at();
    if (at === undefined) return;
    if (expected !== undefined && at <= expected) return due(at);
    const delay = at - EXPIRY_WARNING_MS - now();
    if (delay > LONGEST_TIMER_MS) return;
    timer = setTimeout(() => schedule(at), Math.max(0, delay));
    timer.unref();
  };
  const decide = (expected: number): void => {
    if (cancelled || warned) return;
    const at = expiry?.at() ?? expected;
    if (at > expected) return schedule();
    warned = true;
    notices.expiring(at);
  };
  const due = (at: number): void => {
    if (!expiry?.confirm) return decide(at);
    void expiry.confirm().then(
      () => decide(at),
      () => decide(at),
    );
  };
  schedule();
  return {
    cancel: () => {
      cancelled = true;
      clearTimeout(timer);
    },
    /** A message went either way: a notice given is withdrawn, and the expiry asked again before the next one. */
    activity: () => {
      if (cancelled || !warned) return;
      warned = false;
      clearTimeout(timer);
      const at = expiry?.at();
      notices.cleared(at !== undefined && at > now() + EXPIRY_WARNING_MS ? at : undefined);
      const asked = expiry?.confirm?.() ?? Promise.resolve();
      void asked.then(
        () => schedule(),
        () => schedule(),
      );
    },
  };
}
