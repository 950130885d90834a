import { createHash } from 'node:crypto';
import type { DurableQueue } from './durableQueue';

/**
 * The little state instances must agree on: idempotency records and sends in
 * doubt, ended sessions, single-use stream tickets and rate windows. Every
 * value is a string with an expiry; every operation that decides something
 * (claim, swap, take) is atomic, so two instances racing on one key never
 * both win.
 *
 * `MemoryStore` (memory/) holds it in this process (one instance); `RedisStore`
 * (redis/, REDIS_URL) in Redis, for any number of instances. A store
 * that cannot answer throws AppError `store_unavailable` (503): the caller
 * refuses the operation rather than guess, so an outage never turns into a
 * duplicate message or a reopened chat.
 */
export interface SharedStore {
  /** True when other instances see the same state (Redis). */
  readonly shared: boolean;
  get(key: string): Promise<string | undefined>;
  /** Sets `key` only if it is absent; true when this call set it. */
  claim(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Replaces `key` (or deletes it, for `undefined`) only if it still holds `expected`; true when this call did. */
  swap(key: string, expected: string, value: string | undefined, ttlMs: number): Promise<boolean>;
  put(key: string, value: string, ttlMs: number): Promise<void>;
  /**
   * The value of `key`, its expiry pushed out to `ttlMs` from now when less
   * than `renewBelowMs` is left: a record kept alive by its session's use.
   */
  getRenewing(key: string, ttlMs: number, renewBelowMs: number): Promise<string | undefined>;
  remove(key: string): Promise<void>;
  /**
   * Counts one use in a sliding window of `windowMs` holding at most `limit`
   * (at least 1): 0 when counted, else the milliseconds until one more would
   * fit (nothing counted). One key may be taken with different limits: a
   * lower one keeps part of the window for the uses taken with the higher.
   */
  take(key: string, limit: number, windowMs: number): Promise<number>;
  /** Counts one use that happens whatever the window holds; later takes wait until it leaves the window. */
  record(key: string, windowMs: number): Promise<void>;
  /** Adds one to the number at `key` (0 when absent) and answers the new number; the key expires `ttlMs` after. */
  increment(key: string, ttlMs: number): Promise<number>;
  /** The durable queue named `name` (outbox.ts): entries due at a time, leased to one worker at a time. */
  queue(name: string): DurableQueue;
  /**
   * Since when (epoch ms) the store may be missing some records although it
   * kept others (Redis evicted keys, or a failover to a replica that had not
   * caught up); undefined when nothing says so. A keyed send whose record is
   * absent is then proven against Genesys before it is sent (sendLedger.ts).
   */
  recordsLostSince(): number | undefined;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  /**
   * The same store with every key under `scope`: one deployment's records apart from another's, on the one
   * connection (or the one memory) of the process. Closing the scope leaves the store open.
   */
  scoped(scope: string): SharedStore;
  close(): Promise<void>;
}

/** `store` with every key under `scope` (a store without scopes of its own). */
export class ScopedStore implements SharedStore {
  constructor(
    private readonly store: SharedStore,
    private readonly scope: string,
  ) {}

  get shared(): boolean {
    return this.store.shared;
  }

  get(key: string) {
    return this.store.get(this.scope + key);
  }

  claim(key: string, value: string, ttlMs: number) {
    return this.store.claim(this.scope + key, value, ttlMs);
  }

  swap(key: string, expected: string, value: string | undefined, ttlMs: number) {
    return this.store.swap(this.scope + key, expected, value, ttlMs);
  }

  put(key: string, value: string, ttlMs: number) {
    return this.store.put(this.scope + key, value, ttlMs);
  }

  getRenewing(key: string, ttlMs: number, renewBelowMs: number) {
    return this.store.getRenewing(this.scope + key, ttlMs, renewBelowMs);
  }

  remove(key: string) {
    return this.store.remove(this.scope + key);
  }

  take(key: string, limit: number, windowMs: number) {
    return this.store.take(this.scope + key, limit, windowMs);
  }

  record(key: string, windowMs: number) {
    return this.store.record(this.scope + key, windowMs);
  }

  increment(key: string, ttlMs: number) {
    return this.store.increment(this.scope + key, ttlMs);
  }

  queue(name: string): DurableQueue {
    return this.store.queue(this.scope + name);
  }

  recordsLostSince() {
    return this.store.recordsLostSince();
  }

  ping() {
    return this.store.ping();
  }

  scoped(scope: string): SharedStore {
    return new ScopedStore(this.store, this.scope + scope);
  }

  async close(): Promise<void> {}
}

/**
 * How a guest session is named in the shared store: a hash of its Genesys
 * guest token, never the token itself (a credential for the chat), so that
 * whoever can read Redis learns no way into a conversation. In braces, a
 * Redis Cluster hash tag: every key of one session (`send:{…}:…`,
 * `standing:{…}`, `rate:messages:{…}`, ...) lies in one hash slot, on one node.
 */
export function sessionKeyOf(guestToken: string): string {
  return `{${createHash('sha256').update(`guest-session\n${guestToken}`).digest('base64url').slice(0, 32)}}`;
}
