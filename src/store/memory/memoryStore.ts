import { AppError } from '../../domain/errors';
import type { DurableQueue } from '../durableQueue';
import type { SharedStore } from '../sharedStore';
import { MemoryQueue } from './memoryQueue';

interface Entry {
  value: string;
  expiresAt: number;
}

/** How often a full memory store looks for expired records to make room (a sweep walks every record). */
const SWEEP_EVERY_MS = 1000;

export interface MemoryStoreOptions {
  /**
   * Keys that start with one of these are security records (an ended session, a sign-in's cut-off):
   * they get a bound of their own, so no flood of other records can keep one from being written.
   */
  protectedPrefixes?: readonly string[];
}

/**
 * Records bounded in number that never loses one before its expiry: when
 * full (expired records swept first), a new record is refused with
 * `store_unavailable` (503) rather than written over an older one, which
 * could have brought an ended session back or let a message go twice.
 */
class RecordPool {
  readonly entries = new Map<string, Entry>();
  private nextSweepAt = 0;

  constructor(
    private readonly max: number,
    private readonly what: string,
  ) {}

  live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  write(key: string, value: string, ttlMs: number, now: number): void {
    if (!this.entries.has(key) && this.entries.size >= this.max) this.makeRoom(now);
    this.entries.set(key, { value, expiresAt: now + ttlMs });
  }

  private makeRoom(now: number): void {
    if (now >= this.nextSweepAt) {
      for (const [k, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(k);
      this.nextSweepAt = now + SWEEP_EVERY_MS;
    }
    if (this.entries.size >= this.max) {
      throw new AppError(
        'store_unavailable',
        `This instance's in-memory store holds as many ${this.what} as it may (${this.max}), none expired yet; ` +
          'nothing was done. Retry shortly.',
        {
          retryAfterSeconds: Math.ceil(SWEEP_EVERY_MS / 1000),
        },
      );
    }
  }
}

/**
 * The in-process store, bounded so a flood of keys is a ceiling, not a leak.
 * Records (idempotency, sends in doubt, tickets, and apart from them the
 * security records) are never dropped before their expiry: past the bound a
 * new one is refused (503). Rate windows, which only ever err towards
 * allowing, lose their oldest when full.
 */
export class MemoryStore implements SharedStore {
  readonly shared = false;
  private readonly records: RecordPool;
  private readonly securityRecords: RecordPool;
  private readonly protectedPrefixes: readonly string[];
  private readonly windows: Map<string, number[]>;
  /** The durable queues, by full name; shared by the store's scopes. */
  private readonly queues: Map<string, MemoryQueue>;

  /** Prepended to every key of this view (scoped()); the pools and windows are the store's, shared by its scopes. */
  private readonly scope: string;

  constructor(
    private readonly maxEntries = 200_000,
    private readonly now: () => number = Date.now,
    options: MemoryStoreOptions = {},
    of?: { store: MemoryStore; scope: string },
  ) {
    this.records = of?.store.records ?? new RecordPool(maxEntries, 'records');
    this.securityRecords =
      of?.store.securityRecords ?? new RecordPool(maxEntries, 'security records (ended sessions, sign-in cut-offs)');
    this.windows = of?.store.windows ?? new Map();
    this.queues = of?.store.queues ?? new Map();
    this.protectedPrefixes = options.protectedPrefixes ?? [];
    this.scope = of?.scope ?? '';
  }

  /** The same memory with every key under `scope`; a security record is told by its key within the scope. */
  scoped(scope: string): SharedStore {
    return new MemoryStore(
      this.maxEntries,
      this.now,
      { protectedPrefixes: this.protectedPrefixes },
      {
        store: this,
        scope: this.scope + scope,
      },
    );
  }

  async get(key: string): Promise<string | undefined> {
    return this.poolOf(key).live(this.scope + key, this.now())?.value;
  }

  async claim(key: string, value: string, ttlMs: number): Promise<boolean> {
    const pool = this.poolOf(key);
    if (pool.live(this.scope + key, this.now())) return false;
    pool.write(this.scope + key, value, ttlMs, this.now());
    return true;
  }

  async swap(key: string, expected: string, value: string | undefined, ttlMs: number): Promise<boolean> {
    const pool = this.poolOf(key);
    if (pool.live(this.scope + key, this.now())?.value !== expected) return false;
    if (value === undefined) pool.entries.delete(this.scope + key);
    else pool.write(this.scope + key, value, ttlMs, this.now());
    return true;
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    this.poolOf(key).write(this.scope + key, value, ttlMs, this.now());
  }

  async getRenewing(key: string, ttlMs: number, renewBelowMs: number): Promise<string | undefined> {
    const entry = this.poolOf(key).live(this.scope + key, this.now());
    if (entry && entry.expiresAt - this.now() < renewBelowMs) entry.expiresAt = this.now() + ttlMs;
    return entry?.value;
  }

  async remove(key: string): Promise<void> {
    this.poolOf(key).entries.delete(this.scope + key);
  }

  async take(key: string, limit: number, windowMs: number): Promise<number> {
    const now = this.now();
    const uses = this.usesIn(this.scope + key, windowMs, now);
    if (uses.length >= limit) {
      this.windows.set(this.scope + key, uses);
      // Recorded uses may have pushed the count past the limit: wait until enough of them leave.
      return Math.max(1, uses[uses.length - limit]! + windowMs - now);
    }
    this.count(this.scope + key, uses, now);
    return 0;
  }

  async record(key: string, windowMs: number): Promise<void> {
    const now = this.now();
    this.count(this.scope + key, this.usesIn(this.scope + key, windowMs, now), now);
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const pool = this.poolOf(key);
    const next = Number(pool.live(this.scope + key, this.now())?.value ?? 0) + 1;
    pool.write(this.scope + key, String(next), ttlMs, this.now());
    return next;
  }

  queue(name: string): DurableQueue {
    const full = this.scope + name;
    let queue = this.queues.get(full);
    if (!queue) {
      queue = new MemoryQueue(
        (key, ttlMs) => this.claim(`${name}:once:${key}`, '1', ttlMs),
        (key) => this.remove(`${name}:once:${key}`),
      );
      this.queues.set(full, queue);
    }
    return queue;
  }

  recordsLostSince(): number | undefined {
    return undefined;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  /** The pool of a key as its scope's user names it (a security record's prefix starts it). */
  private poolOf(key: string): RecordPool {
    return this.protectedPrefixes.some((p) => key.startsWith(p)) ? this.securityRecords : this.records;
  }

  private usesIn(key: string, windowMs: number, now: number): number[] {
    return (this.windows.get(key) ?? []).filter((at) => at > now - windowMs);
  }

  private count(key: string, uses: number[], now: number): void {
    uses.push(now);
    this.windows.delete(key);
    this.windows.set(key, uses);
    while (this.windows.size > this.maxEntries) this.windows.delete(this.windows.keys().next().value!);
  }
}
