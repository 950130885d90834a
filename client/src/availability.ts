import { BffError } from './errors.js';
import { RETRYABLE_STATUS, type RetryPolicy } from './messages.js';
import type { Transport } from './transport.js';
import type { Availability, AvailabilityAnswer, AvailabilityReason } from './types.js';

/** Whether anyone is there and how long the wait is: the service's answer, and what a page tells the customer. */

/**
 * GET /availability, with how long the answer stays fresh (its `Cache-Control: max-age`). A refusal for now (network,
 * 429, 502, 503, 504) is tried again after its `Retry-After` (or a short backoff), as a send is.
 */
export async function availability(transport: Transport, policy: RetryPolicy): Promise<AvailabilityAnswer> {
  for (let attempt = 0; ; attempt++) {
    try {
      const answer = await transport.request<Availability>('GET', '/availability');
      const maxAgeSeconds = maxAge(answer.headers.get('Cache-Control'));
      return maxAgeSeconds === undefined ? answer.body : { ...answer.body, maxAgeSeconds };
    } catch (error) {
      if (!(error instanceof BffError) || attempt >= policy.retries) throw error;
      const retryable = error.code === 'network_error' || RETRYABLE_STATUS.has(error.status);
      const wait = error.retryAfterSeconds ?? 0.5 * 2 ** attempt;
      if (!retryable || wait > policy.maxWaitSeconds) throw error;
      await policy.sleep(wait * 1000);
    }
  }
}

/** The `max-age` of a Cache-Control header, in seconds. */
export function maxAge(cacheControl: string | null): number | undefined {
  const match = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?\s*(?:,|$)/i.exec(cacheControl ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * What to tell the customer: `unknown` (availability not configured, or not known yet: say nothing), `open` (an
 * agent is available), `busy` (open, but every agent is taken; `waitMinutes` when Genesys gave an estimate) or
 * `closed` (why, and `backAt` when a schedule says when it opens).
 */
export type AvailabilityStatus =
  | { state: 'unknown' }
  | { state: 'open' }
  | { state: 'busy'; waitMinutes?: number }
  | { state: 'closed'; reason: Exclude<AvailabilityReason, 'open'>; backAt?: string };

export interface AvailabilityStatusOptions {
  /** An estimated wait from this many seconds on counts as busy. Default 60. */
  busyAfterSeconds?: number;
}

/** The customer's view of an answer (or a stream event): open, busy, closed or unknown. */
export function availabilityStatus(
  answer: Availability | undefined,
  options: AvailabilityStatusOptions = {},
): AvailabilityStatus {
  if (!answer?.configured) return { state: 'unknown' };
  if (!answer.open) {
    const reason = answer.reason === 'open' ? 'closed' : answer.reason;
    return answer.nextOpenAt ? { state: 'closed', reason, backAt: answer.nextOpenAt } : { state: 'closed', reason };
  }
  const wait = answer.estimatedWaitSeconds;
  const busy = answer.agentsAvailable === 0 || (wait !== null && wait >= (options.busyAfterSeconds ?? 60));
  if (!busy) return { state: 'open' };
  return wait === null ? { state: 'busy' } : { state: 'busy', waitMinutes: Math.max(1, Math.round(wait / 60)) };
}

/** What a page does with its chat button while closed: hide it, disable it, or leave it be. */
export type WhenClosed = 'hide' | 'disable' | 'show';

/** The chat button's state for a status: hidden or disabled while closed, as `whenClosed` says (default `disable`). */
export function chatButtonState(
  status: AvailabilityStatus,
  whenClosed: WhenClosed = 'disable',
): { hidden: boolean; disabled: boolean } {
  if (status.state !== 'closed' || whenClosed === 'show') return { hidden: false, disabled: false };
  return { hidden: whenClosed === 'hide', disabled: true };
}
