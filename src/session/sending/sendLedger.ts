import { AppError } from '../../domain/errors';
import { type DeliveryVerdict, type SentMessage, GuestApiError } from '../../genesys/guest';
import type { SharedStore } from '../../store';
import { idempotentReplays } from '../../observability/metrics';

/**
 * `Idempotency-Key` on POST /messages: one message per (session, key), on
 * whichever instance the retry lands. Each key has one record in the shared
 * store, claimed atomically before anything is sent:
 *
 * - `pending`: an instance is sending it now. Its claim is a short lease
 *   (`until`) that the sender renews while its attempt runs; a retry waits
 *   for the outcome. A lease that lapses means the sender is gone (a
 *   crashed instance): the retry takes the record over, as for `doubt`,
 *   within a lease of the crash rather than after the longest an attempt
 *   could take.
 * - `doubt`: a send was written but its outcome never came back (timeout,
 *   lost connection). Whoever takes the record over first proves from
 *   history whether that attempt was delivered, and sends only if it was not.
 * - `done`: the first result, returned to every retry.
 *
 * A definite refusal deletes the record, so a retry may try again. A record
 * that cannot be read or written refuses the send (`store_unavailable`):
 * never a guess, never a second copy. A record that is absent although the
 * store may have lost some records (its `recordsLostSince`) may have been a
 * `done` one: the first attempt under the key then proves from history that no
 * earlier one was delivered, as for `doubt`, before it sends.
 */

interface Sent<R> {
  result: R;
}

type SendRecord<R> =
  | { state: 'pending'; fingerprint: string; until: number; sent: SentMessage }
  | { state: 'doubt'; fingerprint: string; sent: SentMessage }
  | ({ state: 'done'; fingerprint: string } & Sent<R>);

export interface KeyedSend<R> {
  messageId: string;
  /** What identifies the request's content: the same key with another request is refused. */
  fingerprint: string;
  /** What a later retry needs to prove delivery of this attempt, were it to end in doubt. */
  describe(sentAt: number): SentMessage;
  /** Whether an earlier attempt reached Genesys, from history. */
  prove(earlier: SentMessage): Promise<DeliveryVerdict>;
  /** Sends now; `earlier` is set when an attempt before this one was proven undelivered. */
  send(): Promise<R>;
  /** A result for an earlier attempt that history proved delivered. */
  fromHistory(proof: Extract<DeliveryVerdict, { verdict: 'delivered' }>): R;
  /** When the session began (epoch ms), if known: no attempt of its keys is older. */
  bornAt?: number;
}

interface SendLedgerOptions {
  store: SharedStore;
  /** How long a key is remembered (the retry window). */
  ttlMs: number;
  /** How long a claim holds unless renewed: past it, its sender is presumed gone. */
  leaseMs: number;
  /** How often a live sender renews its claim (well inside `leaseMs`). */
  renewMs: number;
  /**
   * The longest a claim is renewed for, from its start: longer than any one
   * attempt may take (its deadlines bound it), so a sender stuck for good
   * lets go too.
   */
  maxHoldMs: number;
  /** How long a retry waits for another attempt still in progress before answering 503. */
  waitMs: number;
  pollMs?: number;
  /**
   * After a send timed out, how long history may still not show a message
   * that did arrive: until then, "not in history" proves nothing.
   */
  visibilityGraceMs?: number;
  now?: () => number;
}

/**
 * A keyed send's claim lapses this long after its sender last
 * renewed it, every SEND_LEASE_RENEW_MS (README "Sending safely").
 */
export const SEND_LEASE_MS = 4000;
export const SEND_LEASE_RENEW_MS = 1000;

/** A send whose frame may have reached Genesys though no answer came back. */
export function mayHaveBeenDelivered(error: unknown): boolean {
  return error instanceof GuestApiError && (error.failure === 'timeout' || error.failure === 'connection_lost');
}

export class SendLedger {
  /** Retries arriving at this instance while its own attempt runs join it. */
  private readonly inFlight = new Map<string, { fingerprint: string; promise: Promise<unknown> }>();
  private readonly now: () => number;

  constructor(private readonly options: SendLedgerOptions) {
    this.now = options.now ?? Date.now;
  }

  run<R>(scope: string, send: KeyedSend<R>): Promise<R> {
    const key = `send:${scope}:${send.messageId}`;
    const local = this.inFlight.get(key);
    if (local) {
      if (local.fingerprint !== send.fingerprint) return Promise.reject(reused());
      idempotentReplays.inc();
      return local.promise as Promise<R>;
    }
    const promise = this.settle(key, send);
    this.inFlight.set(key, { fingerprint: send.fingerprint, promise });
    // The entry is still this promise's own: no other is set for the key while it is there.
    const forget = () => this.inFlight.delete(key);
    promise.then(forget, forget);
    return promise;
  }

  private async settle<R>(key: string, send: KeyedSend<R>): Promise<R> {
    const { store, ttlMs } = this.options;
    const giveUpAt = this.now() + this.options.waitMs;
    for (let round = 0; ; round += 1) {
      if (round > 0 && this.now() >= giveUpAt) throw stillSending(1000);
      const mine = this.pending(send, send.describe(this.now()));
      if (await store.claim(key, mine, ttlMs)) return this.attempt(key, mine, send, this.possiblyForgotten(send));
      const raw = await store.get(key);
      if (raw === undefined) continue; // expired between the two calls
      const record = JSON.parse(raw) as SendRecord<R>;
      if (record.fingerprint !== send.fingerprint) throw reused();
      if (record.state === 'done') {
        idempotentReplays.inc();
        return record.result;
      }
      const now = this.now();
      if (record.state === 'pending' && record.until > now) {
        if (now >= giveUpAt) throw stillSending(record.until - now);
        await sleep(Math.min(this.options.pollMs ?? 50, record.until - now, giveUpAt - now));
        continue;
      }
      // In doubt, or claimed by an instance that is gone: take it over, then prove before sending.
      const takeover = this.pending(send, record.sent);
      if (await store.swap(key, raw, takeover, ttlMs)) return this.attempt(key, takeover, send, record.sent);
    }
  }

  private async attempt<R>(key: string, claimed: string, send: KeyedSend<R>, earlier?: SentMessage): Promise<R> {
    const sent = (JSON.parse(claimed) as { sent: SentMessage }).sent;
    const holdUntil = this.now() + this.options.maxHoldMs;
    const lease = new Lease(this.options, key, claimed, () => {
      const now = this.now();
      return now + this.options.leaseMs > holdUntil ? undefined : this.pending(send, sent);
    });
    try {
      return await this.attemptHeld(lease, send, earlier);
    } finally {
      lease.stop();
    }
  }

  private async attemptHeld<R>(lease: Lease, send: KeyedSend<R>, earlier?: SentMessage): Promise<R> {
    const doubt = (sent: SentMessage) =>
      JSON.stringify({ state: 'doubt', fingerprint: send.fingerprint, sent } satisfies SendRecord<R>);
    if (earlier) {
      let proof: DeliveryVerdict;
      try {
        proof = await send.prove(earlier);
      } catch (error) {
        await lease.settle(doubt(earlier)).catch(() => undefined);
        throw error;
      }
      if (proof.verdict === 'delivered') {
        idempotentReplays.inc();
        return this.finish(lease, send, send.fromHistory(proof));
      }
      if (proof.verdict === 'unknown') {
        await lease.settle(doubt(earlier)).catch(() => undefined);
        // The longer of the two waits: until history may show the attempt, and until Genesys takes a read again.
        const waitMs = Math.max((earlier.visibleBy ?? 0) - this.now(), (proof.retryAfterSeconds ?? 0) * 1000);
        throw new GuestApiError(
          'unavailable',
          'Could not check whether the earlier attempt of this message was delivered, so it was not sent again; ' +
            'retry after Retry-After seconds with the same Idempotency-Key.',
          { retryAfterSeconds: waitMs > 0 ? Math.ceil(waitMs / 1000) : undefined },
        );
      }
    }
    const sent = send.describe(earlier?.sentAt ?? this.now());
    try {
      return await this.finish(lease, send, await send.send());
    } catch (error) {
      // Best effort: a record left `pending` is taken over (and proven) once its lease lapses.
      const timedOut = error instanceof GuestApiError && error.failure === 'timeout';
      const visibleBy = timedOut ? this.now() + (this.options.visibilityGraceMs ?? 0) : earlier?.visibleBy;
      await lease
        .settle(mayHaveBeenDelivered(error) ? doubt({ ...sent, visibleBy }) : undefined)
        .catch(() => undefined);
      throw error;
    }
  }

  private async finish<R>(lease: Lease, send: KeyedSend<R>, result: R): Promise<R> {
    const done = JSON.stringify({ state: 'done', fingerprint: send.fingerprint, result } satisfies SendRecord<R>);
    // The message is delivered: a store that fails now must not
    // turn that into an error (a lapsed claim is proven later).
    await lease.settle(done).catch(() => undefined);
    return result;
  }

  /**
   * An attempt this store may have forgotten: when it lost records after the
   * session began, within the retry window. Its time is unknown, so it is taken
   * as the session's start (history is searched from there).
   */
  private possiblyForgotten<R>(send: KeyedSend<R>): SentMessage | undefined {
    const lostAt = this.options.store.recordsLostSince();
    if (lostAt === undefined || this.now() - lostAt >= this.options.ttlMs || (send.bornAt ?? 0) > lostAt)
      return undefined;
    return send.describe(send.bornAt ?? this.now() - this.options.ttlMs);
  }

  private pending<R>(send: KeyedSend<R>, sent: SentMessage): string {
    return JSON.stringify({
      state: 'pending',
      fingerprint: send.fingerprint,
      until: this.now() + this.options.leaseMs,
      sent,
    } satisfies SendRecord<R>);
  }
}

/**
 * A `pending` claim held by a live attempt: renewed every `renewMs` (a new
 * `until`, swapped in only over the value this attempt last wrote), and
 * settled once, after any renewal under way, so the final swap always
 * expects what is really there. A renewal that fails (the store did not
 * answer, or the claim was taken over) is not retried: the attempt goes on,
 * and its final swap finds out.
 */
class Lease {
  private current: string;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly options: Pick<SendLedgerOptions, 'store' | 'ttlMs' | 'renewMs'>,
    private readonly key: string,
    claimed: string,
    /** The renewed claim, or undefined once the claim has been held for as long as it may be. */
    renewed: () => string | undefined,
  ) {
    this.current = claimed;
    this.timer = setInterval(() => {
      this.chain = this.chain.then(async () => {
        if (this.stopped) return;
        const next = renewed();
        if (next === undefined) return this.stop();
        if (await this.options.store.swap(this.key, this.current, next, this.options.ttlMs).catch(() => false))
          this.current = next;
      });
    }, options.renewMs);
    this.timer.unref();
  }

  /**
   * Replaces the claim with the outcome (`undefined` deletes it); false when the claim was no longer this attempt's.
   */
  async settle(value: string | undefined): Promise<boolean> {
    this.stop();
    await this.chain.catch(() => undefined);
    return this.options.store.swap(this.key, this.current, value, this.options.ttlMs);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}

function reused(): AppError {
  return new AppError(
    'idempotency_key_reused',
    'This Idempotency-Key was already used for a different message; use a new key for a new message.',
  );
}

function stillSending(remainingMs: number): AppError {
  return new AppError(
    'upstream_unavailable',
    'An earlier attempt of this message is still being sent (or its instance stopped); it was not sent again. ' +
      'Retry after Retry-After seconds with the same Idempotency-Key.',
    { retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) },
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(1, ms)));
}
