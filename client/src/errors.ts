/** An RFC 9457 problem document as the service sends it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  requestId?: string;
  [extension: string]: unknown;
}

/**
 * Every failure of a call. `status` 0 means no response reached the page:
 * code `cors_refused` when the service is up but refuses this page's origin
 * (add `origin` to the service's `CORS_ALLOWED_ORIGINS`), `network_error`
 * when it could not be reached at all, `aborted` for a cancelled upload.
 */
export class BffError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfterSeconds?: number;
  readonly requestId?: string;
  readonly problem?: Problem;
  /** With `cors_refused`: the page's origin, the one to allow. */
  readonly origin?: string;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    retryAfterSeconds?: number;
    requestId?: string;
    problem?: Problem;
    origin?: string;
  }) {
    super(init.message);
    this.name = 'BffError';
    this.status = init.status;
    this.code = init.code;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.requestId = init.requestId;
    this.problem = init.problem;
    this.origin = init.origin;
  }

  /** The session is gone for good (expired, ended, or its token refused): start a new one. */
  get sessionLost(): boolean {
    return this.code === 'session_expired' || this.code === 'unauthorized';
  }

  /** The service is up but its CORS allowlist does not hold this page's origin: waiting will not help. */
  get corsRefused(): boolean {
    return this.code === 'cors_refused';
  }
}

/** The BffError for a problem+json answer (or any other non-2xx answer). */
export function problemError(status: number, body: unknown, header: (name: string) => string | null): BffError {
  const problem = (typeof body === 'object' && body !== null ? body : {}) as Problem;
  return new BffError({
    status,
    code: typeof problem.code === 'string' ? problem.code : `http_${status}`,
    message: typeof problem.detail === 'string' ? problem.detail : `The chat service answered ${status}.`,
    retryAfterSeconds: parseRetryAfter(header('Retry-After')),
    requestId: typeof problem.requestId === 'string' ? problem.requestId : (header('X-Request-Id') ?? undefined),
    problem,
  });
}

export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

export function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
