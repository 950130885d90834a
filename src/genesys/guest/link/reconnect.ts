import { GuestApiError } from '../protocol';

/**
 * Connecting with bounded retries. A request alone gets a few quick attempts;
 * while live streams listen, the session keeps trying for a window, so a
 * short Genesys outage costs the guest a `reconnecting` event, not the chat.
 */
const RECONNECT_DELAYS_MS = [0, 250, 1000, 2000, 5000];
/** Attempts made for a request alone; live streams keep trying for the reconnect window. */
export const RECONNECT_ATTEMPTS_FOR_REQUESTS = 4;

export interface RetryPolicy {
  /** Whether anyone still wants the session after `attempt` failures that started at `startedAt`. */
  keepTrying(error: GuestApiError, attempt: number, startedAt: number): boolean;
  /** Told before the first wait, so listeners hear `reconnecting` once. */
  onFirstRetry?(): void;
  /** Stops the loop between attempts (the session died meanwhile). */
  stopped(): GuestApiError | undefined;
  now(): number;
}

function asGuestApiError(error: unknown): GuestApiError {
  return error instanceof GuestApiError
    ? error
    : new GuestApiError('unavailable', 'Could not reach Genesys.', { cause: error });
}

export async function withRetries<T>(attempt: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  const startedAt = policy.now();
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const e = asGuestApiError(error);
      if (!policy.keepTrying(e, n, startedAt)) throw e;
      if (n === 0) policy.onFirstRetry?.();
      const delay = RECONNECT_DELAYS_MS[Math.min(n + 1, RECONNECT_DELAYS_MS.length - 1)]!;
      await new Promise((r) => setTimeout(r, delay).unref());
      const stopped = policy.stopped();
      if (stopped) throw stopped;
    }
  }
}

/** Rejects with `error()` when `work` takes longer than `ms`; `work` itself goes on. */
export function withDeadline<T>(work: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
    timer.unref();
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
