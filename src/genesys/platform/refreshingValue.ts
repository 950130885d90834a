import { randomUUID } from 'node:crypto';
import type { SharedStore } from '../../store';

/**
 * A value fetched from Genesys that stays fresh on its own: loaded once by
 * however many callers ask at the same time, re-loaded in the background
 * before it goes stale, and kept when a re-load fails (until it expires, for a
 * value that carries an expiry). After a failed load with nothing servable,
 * callers fail fast until the retry time instead of each starting a request.
 *
 * With `shared`, instances share the value through the shared store: one of
 * them loads for all while it holds a short lease, and the others read the
 * value it shares (a shared value is fresh by its own load time).
 */
interface CommonOptions<T> {
  load: () => Promise<T>;
  /** How long after a failed load the next one is tried; a function when the failure says (a `Retry-After`). */
  retryMs: number | ((error: unknown) => number);
  now?: () => number;
  onLoaded?: (value: T) => void;
  onFailed?: (error: unknown, stale: T | undefined) => void;
  shared?: SharedLoad<T>;
}

/** How instances share a value (kept as JSON) through the shared store. */
export interface SharedLoad<T> {
  store: SharedStore;
  /** Where the value is kept, and the lease to load it for all. */
  keys: { value: string; lease: string };
  /** How long one instance holds the right to load for all (beyond a load's own deadline). */
  leaseMs: number;
  /** How long the store keeps the shared value. */
  keepMs: number;
  /** When a value was loaded (epoch ms), read from the value. */
  loadedAt: (value: T) => number;
  /** Told when the store did not answer a few times: this instance then loads alone, once per lifetime still. */
  onStoreAway?: (error: unknown) => void;
}

/** When a loaded value is replaced and when it may no longer be served (epoch ms). */
interface Lifetime {
  refreshAt: number;
  expiresAt?: number;
}

/**
 * Either a fixed time-to-live (re-load that long after each load; the value
 * never expires) or, for a value that carries its own (an OAuth token), a
 * lifetime read from the value.
 */
type RefreshingValueOptions<T> = CommonOptions<T> &
  ({ ttlMs: number } | { lifetime: (value: T, loadedAt: number) => Lifetime });

/** The instance holding the lease let it go (or it ran out) without sharing a value newer than this one's. */
export class NothingShared extends Error {
  constructor() {
    super('the instance that held the lease shared no newer value');
    this.name = 'NothingShared';
  }
}

/** How often an instance that did not win the lease looks for the value the winner shares. */
const SHARED_POLL_MS = 100;
/** How many times the lease is asked for of a store that does not answer. */
const STORE_ATTEMPTS = 5;
/** Background loads of instances sharing a value are up to this far apart, so they do not ask the store at once. */
const SHARED_JITTER_MS = 100;

interface Loaded<T> {
  value: T;
  loadedAt: number;
}

export class RefreshingValue<T> {
  private readonly now: () => number;
  private readonly lifetime: (value: T, loadedAt: number) => Lifetime;
  private readonly instanceId = randomUUID();
  private current?: { value: T; loadedAt: number; refreshAt: number; expiresAt: number };
  private inFlight?: Promise<T>;
  private failure?: { error: unknown; retryAt: number };
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: RefreshingValueOptions<T>) {
    this.now = options.now ?? Date.now;
    this.lifetime =
      'lifetime' in options ? options.lifetime : (_value, loadedAt) => ({ refreshAt: loadedAt + options.ttlMs });
  }

  /** A servable value at once (a stale one triggers a background load); else the shared load. */
  async get(): Promise<T> {
    const now = this.now();
    const coolingDown = this.failure !== undefined && now < this.failure.retryAt;
    if (this.current && now < this.current.expiresAt) {
      if (now >= this.current.refreshAt && !coolingDown) this.refresh();
      return this.current.value;
    }
    if (coolingDown && !this.inFlight) throw this.failure!.error;
    return this.load();
  }

  /** The last value loaded, if any (expired or not), without loading. */
  peek(): T | undefined {
    return this.current?.value;
  }

  /** Forgets the current value (the upstream refused it), so the next get() loads. */
  discard(): void {
    this.current = undefined;
  }

  /** Forgets the value and any failure (what it is loaded with changed), so the next get() loads at once. */
  reset(): void {
    this.current = undefined;
    this.failure = undefined;
  }

  /** Starts a load unless one is running; never rejects (onFailed reports). */
  refresh(): void {
    if (this.closed || this.inFlight) return;
    this.load().catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private load(): Promise<T> {
    this.inFlight ??= this.loadOnce()
      .then(
        ({ value, loadedAt }) => {
          const { refreshAt, expiresAt = Infinity } = this.lifetime(value, loadedAt);
          this.current = { value, loadedAt, refreshAt, expiresAt };
          this.failure = undefined;
          this.options.onLoaded?.(value);
          this.schedule(refreshAt - this.now());
          return value;
        },
        (error: unknown) => {
          const { retryMs } = this.options;
          const delayMs = typeof retryMs === 'number' ? retryMs : retryMs(error);
          this.failure = { error, retryAt: this.now() + delayMs };
          this.options.onFailed?.(error, this.current?.value);
          this.schedule(delayMs);
          throw error;
        },
      )
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private loadOnce(): Promise<Loaded<T>> {
    const { shared } = this.options;
    if (shared) return this.loadShared(shared);
    return this.options.load().then((value) => ({ value, loadedAt: this.now() }));
  }

  /** The shared value if it is fresh; else this instance loads for all under the lease, or waits for who does. */
  private async loadShared(shared: SharedLoad<T>): Promise<Loaded<T>> {
    const seen = await this.readShared(shared);
    if (seen && this.fresh(seen)) return seen;
    if (!(await this.claimLease(shared))) return this.awaitShared(shared);
    try {
      // Another instance may have shared a fresh value and let the lease go between the read above and the claim.
      const again = await this.readShared(shared);
      if (again && this.fresh(again)) return again;
      const value = await this.options.load();
      await shared.store.put(shared.keys.value, JSON.stringify(value), shared.keepMs).catch(() => undefined);
      return { value, loadedAt: shared.loadedAt(value) };
    } finally {
      await shared.store.swap(shared.keys.lease, this.instanceId, undefined, shared.leaseMs).catch(() => undefined);
    }
  }

  /** A shared value newer than this instance's, not yet due for a load. */
  private fresh(loaded: Loaded<T>): boolean {
    if (loaded.loadedAt < (this.current?.loadedAt ?? -Infinity)) return false;
    return this.now() < this.lifetime(loaded.value, loaded.loadedAt).refreshAt;
  }

  /**
   * The right to load for every instance. A store that does not answer (still connecting, or away) is asked
   * again a few times; after that this instance loads for itself.
   */
  private async claimLease(shared: SharedLoad<T>): Promise<boolean> {
    let failure: unknown;
    for (let attempt = 0; attempt < STORE_ATTEMPTS && !this.closed; attempt++) {
      try {
        return await shared.store.claim(shared.keys.lease, this.instanceId, shared.leaseMs);
      } catch (error) {
        failure = error;
        await new Promise((resolve) => setTimeout(resolve, SHARED_POLL_MS * 2).unref());
      }
    }
    shared.onStoreAway?.(failure);
    return true;
  }

  /** Another instance holds the lease: its value is read once it shares it (bounded by the lease, in real time). */
  private async awaitShared(shared: SharedLoad<T>): Promise<Loaded<T>> {
    const deadline = Date.now() + shared.leaseMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, SHARED_POLL_MS).unref());
      const seen = await this.readShared(shared);
      if (seen && seen.loadedAt > (this.current?.loadedAt ?? -Infinity)) return seen;
      if ((await shared.store.get(shared.keys.lease).catch(() => undefined)) === undefined) break;
    }
    throw new NothingShared();
  }

  private async readShared(shared: SharedLoad<T>): Promise<Loaded<T> | undefined> {
    const text = await shared.store.get(shared.keys.value).catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const value = JSON.parse(text) as T;
      return { value, loadedAt: shared.loadedAt(value) };
    } catch {
      return undefined;
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    const jitterMs = this.options.shared ? Math.random() * SHARED_JITTER_MS : 0;
    this.timer = setTimeout(() => this.refresh(), Math.max(0, delayMs) + jitterMs);
    this.timer.unref();
  }
}
