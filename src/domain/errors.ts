/**
 * The one error type for expected failures, with its stable codes. Any layer
 * throws an AppError; the HTTP layer alone turns it into problem+json
 * (src/http/problem.ts) and logs it once (src/http/errorHandler.ts).
 */
export const ERROR_CODES = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  unauthorized: { status: 401, title: 'A valid session token is required' },
  identity_invalid: { status: 401, title: 'The identity token is not valid' },
  origin_not_allowed: { status: 403, title: 'This origin may not call this service' },
  attribute_locked: { status: 403, title: 'The attribute was set by a verified identity and cannot be changed' },
  not_found: { status: 404, title: 'No such resource' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'The request conflicts with the session state' },
  session_expired: { status: 410, title: 'The chat session has ended or expired' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  message_too_long: { status: 413, title: 'The message is too long' },
  attributes_too_large: { status: 413, title: 'The attributes are too large' },
  unsupported_media_type: { status: 415, title: 'The request body must be JSON' },
  idempotency_key_reused: { status: 422, title: 'The Idempotency-Key was used for a different request' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal error' },
  upstream_unavailable: { status: 503, title: 'Genesys Cloud is unavailable' },
  not_ready: { status: 503, title: 'The service is not ready' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

interface AppErrorOptions {
  status?: number;
  retryAfterSeconds?: number;
  /** Detail for the operator's log only (never sent to the client). */
  logDetail?: Record<string, unknown>;
  /** Extra members of the problem document, safe for the client. */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfterSeconds?: number;
  readonly logDetail?: Record<string, unknown>;
  readonly extensions?: Record<string, unknown>;

  constructor(code: ErrorCode, detail: string, options: AppErrorOptions = {}) {
    super(detail, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.logDetail = options.logDetail;
    this.extensions = options.extensions;
  }
}
