/**
 * A value fetched from Genesys that stays fresh on its own: loaded once by
 * however many callers ask at the same time, re-loaded in the background when
 * its time-to-live runs out, and kept (stale) when a re-load fails. After a
 * failed load with nothing cached, callers fail fast until the retry time
 * instead of each starting a request.
 */
interface RefreshingValueOptions<T> {
  load: () => Promise<T>;
  ttlMs: number;
  /** How long after a failed load the next one is tried. */
  retryMs: number;
  now?: () => number;
  onLoaded?: (value: T) => void;
  onFailed?: (error: unknown, stale: T | undefined) => void;
}

export class RefreshingValue<T> {
  private readonly now: () => number;
  private current?: { value: T; loadedAt: number };
  private inFlight?: Promise<T>;
  private failure?: { error: unknown; retryAt: number };
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: RefreshingValueOptions<T>) {
    this.now = options.now ?? Date.now;
  }

  /** Fresh or stale value at once (a stale one triggers a background load); else the shared load. */
  async get(): Promise<T> {
    const now = this.now();
    const coolingDown = this.failure !== undefined && now < this.failure.retryAt;
    if (this.current) {
      if (now - this.current.loadedAt >= this.options.ttlMs && !coolingDown) this.refresh();
      return this.current.value;
    }
    if (coolingDown && !this.inFlight) throw this.failure!.error;
    return this.load();
  }

  /** The last value loaded, if any, without loading. */
  peek(): T | undefined {
    return this.current?.value;
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
          this.current = { value, loadedAt: this.now() };
          this.failure = undefined;
          this.options.onLoaded?.(value);
          this.schedule(this.options.ttlMs);
          return value;
        },
        (error: unknown) => {
          this.failure = { error, retryAt: this.now() + this.options.retryMs };
          this.options.onFailed?.(error, this.current?.value);
          this.schedule(this.options.retryMs);
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
    this.timer = setTimeout(() => this.refresh(), delayMs);
    this.timer.unref();
  }
}
