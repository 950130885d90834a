/**
 * How often the OAuth client may read the Platform API: the per-token request budget
 * (docs/genesys-protocol.md#errors-and-retries).
 */

export interface Budget {
  /** The `inin-ratelimit-*` headers for this answer. */
  headers: Record<string, string>;
  /** Set when the token has spent its budget: wait this long (the window's end). */
  retryAfterSeconds?: number;
}

const WINDOW_MS = 60_000;

/**
 * Requests per OAuth token a minute. How Genesys's window moves is not published: here it is fixed, opening with the
 * token's first request and lasting a minute (the one trace in the reference shows `count 1`, `reset 61`), and
 * `inin-ratelimit-reset` is the seconds left in it. Whether Genesys counts the requests it refuses is unknown too;
 * they are counted here, which in a fixed window changes only `inin-ratelimit-count`.
 */
export class TokenRateLimit {
  private readonly windows = new Map<string, { opened: number; count: number }>();

  constructor(
    private readonly allowed: () => number,
    private readonly now: () => number,
  ) {}

  take(token: string): Budget {
    const now = this.now();
    let window = this.windows.get(token);
    if (!window || now >= window.opened + WINDOW_MS) {
      window = { opened: now, count: 0 };
      this.windows.set(token, window);
    }
    window.count += 1;
    const allowed = this.allowed();
    const reset = Math.max(1, Math.ceil((window.opened + WINDOW_MS - now) / 1000));
    const headers = {
      'inin-ratelimit-count': String(window.count),
      'inin-ratelimit-allowed': String(allowed),
      'inin-ratelimit-reset': String(reset),
    };
    return window.count > allowed ? { headers, retryAfterSeconds: reset } : { headers };
  }

  reset(): void {
    this.windows.clear();
  }
}
