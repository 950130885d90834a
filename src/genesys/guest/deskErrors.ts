import { GuestApiError } from './errors';
import type { Pending } from './pendingRequests';

/** How the request desk (requestDesk.ts) words what happened to a request that got no proper answer. */

/** How long Genesys asked to wait: its Retry-After, else a second for a rate refusal and nothing for another. */
export function waitOf(error: GuestApiError): number {
  return (error.retryAfterSeconds ?? (error.failure === 'rate_limited' ? 1 : 0)) * 1000;
}

export function mayHaveArrived(p: Pending): boolean {
  return p.kind === 'send' && (p.written || p.inDoubt);
}

export function inDoubtError(cause: GuestApiError): GuestApiError {
  return new GuestApiError(
    'connection_lost',
    'The connection to Genesys was lost before it confirmed the message; it may have been delivered. Retry with the same Idempotency-Key: a delivered message is never sent twice.',
    { retryAfterSeconds: cause.retryAfterSeconds, cause },
  );
}

export function timeoutError(p: Pending): GuestApiError {
  if (p.kind === 'send' && (p.written || p.inDoubt)) {
    return new GuestApiError(
      'timeout',
      'Genesys did not confirm the message in time; it may have been delivered. Retry with the same Idempotency-Key: a delivered message is never sent twice.',
    );
  }
  return new GuestApiError('timeout', 'Genesys did not answer in time; please retry.');
}
