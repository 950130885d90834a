import { generateRequestDetails } from 'web-push';
import type { Logger } from '../../observability/logger';
import { pushes } from '../../observability/metrics';

/** Where a push goes: a browser's subscription (its push service's URL and its RFC 8291 keys). */
export interface PushTarget {
  endpoint: string;
  p256dh: string;
  auth: string;
}

export type PushOutcome = 'sent' | 'gone' | 'failed';

export interface PushSenderOptions {
  vapid: { publicKey: string; privateKey: string; subject: string };
  logger: Logger;
  /** Each request's deadline (ms). */
  timeoutMs: number;
  /** Tries in all, the first included (429, 5xx or a failed connection are tried again; a timeout is not). */
  attempts?: number;
  /** The first retry's wait (ms), doubled each time, and the longest wait, a push service's Retry-After included. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How long a push service keeps an undelivered push (seconds, the TTL header). */
  ttlSeconds?: number;
}

/**
 * Sends one Web Push: the payload encrypted for the subscription (RFC 8291, `aes128gcm`) and signed for with the
 * deployment's VAPID pair (RFC 8292, `Authorization: vapid t=…, k=…`), both by the `web-push` package; the request
 * itself is sent here, so each outcome is judged and counted in one place. A 404 or 410 says the subscription is
 * gone; 429, 5xx or a network failure are retried a bounded number of times with backoff. A request that timed out
 * may have reached the push service, which delivers it: it is not sent again (the customer would see the reply twice),
 * and is `failed` (never twice rather than maybe twice, as a reply whose claim fails is not pushed).
 */
export class PushSender {
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly options: PushSenderOptions) {
    this.attempts = options.attempts ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
  }

  async send(target: PushTarget, payload: object): Promise<PushOutcome> {
    const { logger } = this.options;
    const details = generateRequestDetails(
      { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
      JSON.stringify(payload),
      {
        vapidDetails: this.options.vapid,
        contentEncoding: 'aes128gcm',
        TTL: this.options.ttlSeconds ?? 3600,
        urgency: 'high',
      },
    );
    const host = new URL(target.endpoint).host;
    for (let attempt = 1; ; attempt++) {
      const answer = await this.post(details.endpoint, details.headers, details.body);
      if (answer.status !== undefined && answer.status >= 200 && answer.status < 300) {
        pushes.inc({ outcome: 'sent' });
        logger.info({ pushService: host, status: answer.status, attempt }, 'push sent');
        return 'sent';
      }
      if (answer.status === 404 || answer.status === 410) {
        pushes.inc({ outcome: 'gone' });
        logger.info({ pushService: host, status: answer.status }, 'push subscription gone; removing it');
        return 'gone';
      }
      if (answer.error === 'TimeoutError') {
        pushes.inc({ outcome: 'failed' });
        logger.warn({ pushService: host, attempt }, 'push timed out; not sent again, as it may have arrived');
        return 'failed';
      }
      const retryable = answer.status === undefined || answer.status === 429 || answer.status >= 500;
      if (!retryable || attempt >= this.attempts) {
        pushes.inc({ outcome: 'failed' });
        logger.warn({ pushService: host, status: answer.status, error: answer.error, attempt }, 'push failed');
        return 'failed';
      }
      const waitMs = Math.min(this.maxDelayMs, answer.retryAfterMs ?? this.baseDelayMs * 2 ** (attempt - 1));
      pushes.inc({ outcome: 'retried' });
      logger.info({ pushService: host, status: answer.status, error: answer.error, waitMs }, 'push retried');
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  private async post(
    endpoint: string,
    headers: Record<string, string | number>,
    body: Buffer | null,
  ): Promise<{ status?: number; retryAfterMs?: number; error?: string }> {
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])),
        body: body ? new Uint8Array(body) : undefined,
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      // The answer's body says nothing a push needs; it is read (bounded by the deadline) to free the connection.
      await res.arrayBuffer().catch(() => undefined);
      return { status: res.status, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) };
    } catch (error) {
      // A deadline's abort is a DOMException named TimeoutError (not an Error in every realm).
      const name = (error as { name?: unknown } | null)?.name;
      return { error: typeof name === 'string' ? name : 'error' };
    }
  }
}

/** A Retry-After in seconds, as milliseconds; undefined for anything else (an HTTP date is not honoured). */
function retryAfterMs(value: string | null): number | undefined {
  if (value === null || !/^\d{1,6}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}
