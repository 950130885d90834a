/**
 * A value fetched from Genesys that stays fresh on its own: loaded once by
 * however many callers ask at the same time, re-loaded in the background
 * before it goes stale, and kept when a re-load fails (until it expires, for a
 * value that carries an expiry). After a failed load with nothing servable,
 * callers fail fast until the retry time instead of each starting a request.
 */
interface CommonOptions<T> {
  load: () => Promise<T>;
  /** How long after a failed load the next one is tried; a function when the failure says (a `Retry-After`). */
  retryMs: number | ((error: unknown) => number);
  now?: () => number;
  onLoaded?: (value: T) => void;
  onFailed?: (error: unknown, stale: T | undefined) => void;
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

export class RefreshingValue<T> {
  private readonly now: () => number;
  private readonly lifetime: (value: T, loadedAt: number) => Lifetime;
  private current?: { value: T; refreshAt: number; expiresAt: number };
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
    this.inFlight ??= this.options
      .load()
      .then(
        (value) => {
          const now = this.now();
          const { refreshAt, expiresAt = Infinity } = this.lifetime(value, now);
          this.current = { value, refreshAt, expiresAt };
          this.failure = undefined;
          this.options.onLoaded?.(value);
          this.schedule(refreshAt - now);
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

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => this.refresh(), Math.max(0, delayMs));
    this.timer.unref();
  }
}
