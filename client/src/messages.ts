import { BffError } from './errors.js';
import { randomKey, type Transport } from './transport.js';
import type { ChatMessage, HistoryPage, SendInput } from './types.js';

/** Sending (with retry under one Idempotency-Key), history pages, and the guest's typing indicator. */

export interface SendOptions {
  /** Defaults to a fresh random key; the same key is reused on every retry of this send. */
  idempotencyKey?: string;
}

export interface RetryPolicy {
  /** Retries after a network error, 429, 502, 503 or 504. */
  retries: number;
  /** A wait longer than this (Retry-After) is not waited for. */
  maxWaitSeconds: number;
  sleep(ms: number): Promise<void>;
}

export const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
export const TYPING_INTERVAL_MS = 5000;

/**
 * Sends the guest's text (or an answer) and returns the message as Genesys
 * echoed it. Retried with the same Idempotency-Key, so a retry never makes a
 * second message.
 */
export async function send(
  transport: Transport,
  input: SendInput,
  options: SendOptions,
  policy: RetryPolicy,
): Promise<ChatMessage> {
  const body = typeof input === 'string' ? { text: input } : input;
  const key = options.idempotencyKey ?? randomKey();
  const sent = await retried(policy, () =>
    transport.request<{ message: ChatMessage }>('POST', '/messages', { body, headers: { 'Idempotency-Key': key } }),
  );
  return sent.body.message;
}

/**
 * `call`, tried again as it was after a network error, 429, 502, 503 or 504, each time after the refusal's
 * Retry-After (else a backoff from half a second, doubling), up to `policy.retries` times; a wait longer than
 * `policy.maxWaitSeconds` is not waited for.
 */
export async function retried<T>(policy: RetryPolicy, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof BffError) || attempt >= policy.retries) throw error;
      const retryable = error.code === 'network_error' || RETRYABLE_STATUS.has(error.status);
      const wait = error.retryAfterSeconds ?? 0.5 * 2 ** attempt;
      if (!retryable || wait > policy.maxWaitSeconds) throw error;
      await policy.sleep(wait * 1000);
    }
  }
}

/** A page of history, oldest first within the page; page 1 is the newest. */
export async function history(
  transport: Transport,
  options: { page?: number; pageSize?: number } = {},
): Promise<HistoryPage> {
  const query = new URLSearchParams();
  if (options.page !== undefined) query.set('page', String(options.page));
  if (options.pageSize !== undefined) query.set('pageSize', String(options.pageSize));
  const qs = query.toString();
  return (await transport.request<HistoryPage>('GET', `/messages${qs ? `?${qs}` : ''}`)).body;
}

/** How hard a catch-up tries: it runs in the background, so it may wait out a longer Retry-After than a send. */
export const CATCH_UP_POLICY = { retries: 8, maxWaitSeconds: 60 } as const;

/**
 * The most history pages a catch-up reads back looking for its place: each is one of the session's ten history
 * reads a minute (docs/genesys-protocol.md#limits-and-timing).
 */
export const CATCH_UP_PAGES = 4;

/** How far a time position (`t-` and epoch milliseconds) reaches back for Genesys's clock, as the service's replay does. */
const POSITION_SKEW_MS = 5_000;
const TIME_POSITION = /^t-(\d{13})$/;

/**
 * Whether a page (oldest first) reaches back to `place`, a stream's place (a message id, or a time position): it
 * holds that message, or one from before that moment. The pages older than it hold nothing after the place.
 */
export function reachesPlace(place: string): (messages: readonly ChatMessage[]) => boolean {
  const time = TIME_POSITION.exec(place);
  if (time) {
    const from = Number(time[1]) - POSITION_SKEW_MS;
    return (messages) => messages.some((m) => Date.parse(m.time) < from);
  }
  return (messages) => messages.some((m) => m.id === place);
}

/**
 * The newest `pages` history pages, newest page first, for what a stream's replay could not give
 * (`replay_incomplete`). With `reaches`, reading stops at the first page that reaches the place the gap began
 * at (or the conversation's first page), `pages` being the most it reads. A read refused for now (network, 429,
 * 502, 503, 504) is tried again after the `Retry-After` it carried (or a short backoff), up to `policy.retries` times.
 */
export async function newestPages(
  transport: Transport,
  options: { pageSize?: number; pages?: number; reaches?: (messages: readonly ChatMessage[]) => boolean },
  policy: RetryPolicy,
): Promise<HistoryPage[]> {
  const pages: HistoryPage[] = [];
  for (let page = 1; page <= (options.pages ?? 1); page++) {
    for (let attempt = 0; ; attempt++) {
      try {
        pages.push(await history(transport, { page, pageSize: options.pageSize }));
        break;
      } catch (error) {
        if (!(error instanceof BffError) || attempt >= policy.retries) throw error;
        const retryable = error.code === 'network_error' || RETRYABLE_STATUS.has(error.status);
        const wait = error.retryAfterSeconds ?? Math.min(0.5 * 2 ** attempt, 8);
        if (!retryable || wait > policy.maxWaitSeconds) throw error;
        await policy.sleep(wait * 1000);
      }
    }
    const last = pages[pages.length - 1]!;
    if (last.page * last.pageSize >= last.total || options.reaches?.(last.messages)) break;
  }
  return pages;
}

/** The guest's typing indicator, sent at most once every 5 s (more is dropped here). */
export class TypingIndicator {
  private last = 0;

  constructor(private readonly transport: Transport) {}

  async typing(): Promise<void> {
    const now = Date.now();
    if (now - this.last < TYPING_INTERVAL_MS) return;
    this.last = now;
    await this.transport.request('POST', '/typing');
  }
}
