import { countGenesysError, limitsRefused, sendsInDoubt } from '../../../observability/metrics';
import { GuestApiError } from '../protocol';
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
  sendsInDoubt.inc();
  return new GuestApiError(
    'connection_lost',
    'The connection to Genesys was lost before it confirmed the message; it may have been delivered. ' +
      'Retry with the same Idempotency-Key: a delivered message is never sent twice.',
    { retryAfterSeconds: cause.retryAfterSeconds, cause },
  );
}

/**
 * The circuit to Genesys opened while the request waited (link/guestApiHealth.ts): answered now with the
 * circuit's refusal and wait, not at its deadline. A guest message already written may have arrived: it is in
 * doubt as when its deadline passes (a retry proves it from history, allowing Genesys the time a timeout does),
 * answered 503 with the circuit's Retry-After rather than 504.
 */
export function releasedError(p: Pending, refusal: GuestApiError): GuestApiError {
  if (!mayHaveArrived(p)) return refusal;
  sendsInDoubt.inc();
  return new GuestApiError(
    'timeout',
    'Genesys stopped answering before it confirmed the message; it may have been delivered. ' +
      'Retry after Retry-After seconds with the same Idempotency-Key: a delivered message is never sent twice.',
    { status: 503, retryAfterSeconds: refusal.retryAfterSeconds, cause: refusal },
  );
}

export function timeoutError(p: Pending): GuestApiError {
  countGenesysError('timeout');
  if (p.kind === 'send' && (p.written || p.inDoubt)) {
    sendsInDoubt.inc();
    return new GuestApiError(
      'timeout',
      'Genesys did not confirm the message in time; it may have been delivered. ' +
        'Retry with the same Idempotency-Key: a delivered message is never sent twice.',
    );
  }
  return new GuestApiError('timeout', 'Genesys did not answer in time; please retry.');
}

/** A configure whose socket closed before it was answered (or before it could be written): the link opens another. */
export function configureLost(): GuestApiError {
  return new GuestApiError('connection_lost', 'The connection to Genesys dropped while configuring.');
}

/**
 * What makes a request's turn come too late: for a message, this service's own pacing of it (the session's rate of
 * messages, or the connection's share of Genesys requests); for any other request, that share; or, when it is the
 * longest, a wait Genesys itself asked for (a 429's Retry-After).
 */
export type QueueLimit = 'messages' | 'budget' | 'genesys_wait';

/**
 * A request whose turn would come too late (a message past the session's
 * rate, another past the connection's budget, any behind Genesys's own wait):
 * refused now, counted, in the words of what held it.
 */
export function queueRefusal(limit: QueueLimit, waitMs: number): GuestApiError {
  limitsRefused.inc({ limit: limit === 'messages' ? 'session_send_rate' : 'genesys_request_budget' });
  return new GuestApiError(
    'rate_limited',
    limit === 'genesys_wait'
      ? 'Genesys asked this chat to wait before its next request; retry after the given time.'
      : limit === 'messages'
        ? 'Genesys accepts only a few messages a second in a session; retry shortly.'
        : 'This chat has used its share of Genesys requests for the moment; retry shortly.',
    { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) },
  );
}
