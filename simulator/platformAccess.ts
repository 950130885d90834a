/**
 * Who may read what on the Platform API, and how often: the OAuth client's permissions by division, and the
 * per-token request budget (docs/genesys-protocol.md#errors-and-retries, #availability).
 */

/** Every org has a Home division; objects not placed in another belong to it (the id is the simulator's own). */
export const HOME_DIVISION_ID = '3b1f5c2e-8d4a-4e6b-9f0c-1a2b3c4d5e6f';

/** The permission each availability endpoint needs, and whether the SDK docs say ALL or ANY of it. */
export const AVAILABILITY_PERMISSIONS = {
  estimatedWait: { permission: 'routing:queue:view', any: false },
  queueObservations: { permission: 'analytics:queueObservation:view', any: true },
  scheduleGroup: { permission: 'routing:scheduleGroup:view', any: false },
  schedule: { permission: 'routing:schedule:view', any: false },
  emergencyGroup: { permission: 'routing:emergencyGroup:view', any: false },
} as const;

export type Grants = Record<string, readonly string[] | '*'>;

/** The default OAuth client: every availability permission, in every division. */
export const ALL_AVAILABILITY_GRANTS: Grants = Object.fromEntries(
  Object.values(AVAILABILITY_PERMISSIONS).map(({ permission }) => [permission, '*']),
);

/** Whether the grants cover `permission` in `divisionId`. */
export function holds(grants: Grants, permission: string, divisionId: string): boolean {
  const divisions = grants[permission];
  return divisions === '*' || (divisions?.includes(divisionId) ?? false);
}

/** The division as Genesys embeds it in an object (`WritableDivision {id, name, selfUri}`). */
export function divisionRef(id: string) {
  return { id, ...(id === HOME_DIVISION_ID ? { name: 'Home' } : {}), selfUri: `/api/v2/authorization/divisions/${id}` };
}

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
