import { GuestApiError } from '../protocol';
import type { Pending, PendingRequests } from './pendingRequests';

/**
 * Refusals that name no request (a 429 or a mid-session 401 without
 * `tracingId`), attributed by counting (docs/genesys-protocol.md#rate-limits-and-refusals):
 * every request gets exactly one reply, so the refused ones are among those
 * written before the refusal and still unanswered. Once those are no more
 * than the refusals received (a request that gave up recently, or a typing
 * frame, counting as a possible owner too), each of them was refused. Until
 * then nothing is guessed; the count is looked at again as answers arrive.
 */

/** A typing frame gets no reply; a refusal of it would come about this soon. */
const TYPING_REFUSAL_MS = 2000;
/** How often the count is looked at again while requests are still unanswered. */
const RECHECK_MS = 200;

interface RefusalTarget {
  readonly pending: PendingRequests;
  now(): number;
  /** Until when Genesys asked this session to wait (epoch ms of the session's clock). */
  holdUntil(): number;
  /** Each refused request: written again after the wait, or failed with `failure` when one asked for that. */
  refused(p: Pending, error: GuestApiError, fail: boolean): void;
}

export class UntracedRefusals {
  private count = 0;
  /** Set when one of them must fail its request instead of writing it again. */
  private failure?: GuestApiError;
  private lastAt = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly target: RefusalTarget) {}

  /** One more refusal without tracingId; `failure` when its request must fail rather than go out again. */
  add(failure?: GuestApiError): void {
    this.count++;
    this.failure ??= failure;
    this.lastAt = this.target.now();
    this.attribute();
  }

  /** A new socket: no refusal on it can answer the old one's frames. */
  reset(): void {
    this.count = 0;
    this.failure = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Looks again (an answer arrived and the unanswered set shrank). */
  attribute(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count === 0) return;
    const now = this.target.now();
    const { live, gone } = this.target.pending.refusalCandidates(this.lastAt, TYPING_REFUSAL_MS);
    if (live.length === 0 && now - this.lastAt > TYPING_REFUSAL_MS) {
      // Nothing waiting could have been refused (a typing frame or a request that gave up was): nothing to write again.
      this.reset();
      return;
    }
    if (live.length > 0 && live.length + gone <= this.count) {
      const failure = this.failure;
      this.reset();
      const retryAfterSeconds = Math.ceil(Math.max(1000, this.target.holdUntil() - now) / 1000);
      const error =
        failure ??
        new GuestApiError('rate_limited', 'Genesys asks to slow down; retry after the given time.', {
          retryAfterSeconds,
        });
      for (const p of live) this.target.refused(p, error, failure !== undefined);
      return;
    }
    this.timer = setTimeout(() => this.attribute(), RECHECK_MS);
    this.timer.unref();
  }
}
