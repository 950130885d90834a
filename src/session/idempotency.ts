import { createHash } from 'node:crypto';
import { AppError } from '../domain/errors';

/**
 * `Idempotency-Key` on POST /messages. Within one instance a retried key
 * returns the first result (and joins a send still in flight) and never
 * sends twice. Across instances and restarts the key still fixes the
 * message's own id (`clientMessageId`), so history proves whether the first
 * attempt was delivered; see the README for the exact guarantee.
 */
interface Entry<T> {
  promise: Promise<T>;
  /** What the first request asked for: the same key with another request is refused. */
  fingerprint: string;
  expiresAt: number;
}

export class IdempotencyCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Runs `send` once per (scope, key). A failed send is forgotten so that a
   * retry may try again; `send` itself decides whether that retry must first
   * prove the earlier attempt was not delivered.
   */
  run(scope: string, key: string, fingerprint: string, send: () => Promise<T>): Promise<T> {
    const id = `${scope}\u0000${key}`;
    const now = this.now();
    const existing = this.entries.get(id);
    if (existing && existing.expiresAt > now) {
      if (existing.fingerprint !== fingerprint) {
        return Promise.reject(
          new AppError('idempotency_key_reused', 'This Idempotency-Key was already used for a different message; use a new key for a new message.'),
        );
      }
      return existing.promise;
    }
    const promise = send();
    this.entries.delete(id);
    this.entries.set(id, { promise, fingerprint, expiresAt: now + this.ttlMs });
    promise.catch(() => {
      if (this.entries.get(id)?.promise === promise) this.entries.delete(id);
    });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return promise;
  }
}

/** A stable message id for (session, key): the same key always names the same message. */
export function messageIdFor(guestToken: string, idempotencyKey: string): string {
  const h = createHash('sha256').update(`${guestToken}\n${idempotencyKey}`).digest('hex');
  // RFC 9562 version 8 (custom) layout, variant 10.
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** What identifies a request's content for the reuse check: the same body in any key order is the same request. */
export function requestFingerprint(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
