/**
 * The one error type for expected failures, with its stable codes. Any layer
 * throws an AppError; the HTTP layer alone turns it into problem+json
 * (src/http/problem.ts) and logs it once (src/http/middleware/errorHandler.ts).
 */
export const ERROR_CODES = {
  validation_failed: {
    status: 400,
    title: 'The request is not valid',
    advice:
      'Read `detail` (and `errors`): each problem with the body, query or headers is named. ' +
      'Fix the request; sending it again unchanged fails again.',
  },
  unauthorized: {
    status: 401,
    title: 'A valid session token is required',
    advice:
      'Send `Authorization: Bearer <sessionToken>` with the newest token the service gave you. ' +
      "A tampered, expired or other website's token is refused: start a new session with POST /guest-session. " +
      'After a sign-in, only the token it answered with (and later ones) open the conversation.',
  },
  reauthentication_required: {
    status: 401,
    title: 'The customer must sign in again',
    advice:
      'Genesys no longer accepts this sign-in (the code was bad or used, or the sign-in was revoked or ran out). ' +
      'Send the customer through your identity provider again ' +
      'and start with POST /guest-session and `{ "auth": ... }`.',
  },
  identity_invalid: {
    status: 401,
    title: 'The identity token is not valid',
    advice:
      'Your backend minted an identity token this service could not verify ' +
      '(signature, expiry, issuer, audience, `iat` or lifetime). ' +
      'Mint a fresh one; check IDENTITY_* settings against your backend.',
  },
  origin_not_allowed: {
    status: 403,
    title: 'This origin may not call this service',
    advice:
      "Add the page's exact origin (scheme, host and port) to CORS_ALLOWED_ORIGINS (or the deployment's origins in " +
      'its deployments file), ' +
      'or call the service from an allowed website.',
  },
  attribute_locked: {
    status: 403,
    title: 'The attribute was set by a verified identity and cannot be changed',
    advice:
      'This key belongs to a verified identity (or is reserved for one). Leave it out of browser changes; ' +
      'set it in the identity token your backend mints.',
  },
  not_found: { status: 404, title: 'No such resource', advice: 'Check the method and path against /openapi.json.' },
  method_not_allowed: { status: 405, title: 'Method not allowed', advice: 'Check the method against /openapi.json.' },
  cannot_downgrade: {
    status: 409,
    title: 'A signed-in conversation cannot go back to anonymous',
    advice:
      'Genesys refuses to continue a signed-in session without its sign-in (error 4017). ' +
      'Sign the customer in again, or start a new anonymous session without this token.',
  },
  conflict: {
    status: 409,
    title: 'The request conflicts with the session state',
    advice:
      "The conversation's state does not allow this: for example the agent ended it " +
      '(start anew with POST /guest-session and `{ "startNew": true }`), ' +
      'or it is still open when `startNew` asked to replace it.',
  },
  session_expired: {
    status: 410,
    title: 'The chat session has ended or expired',
    advice:
      'The chat is over (it expired at Genesys, or the guest ended it), ' +
      'or the service lost its record of the chat (its shared store was emptied) ' +
      'and so cannot tell whether it was ended. ' +
      'Drop the token and start a new session with POST /guest-session.',
  },
  upload_too_slow: {
    status: 408,
    title: 'The upload arrived too slowly',
    advice:
      'The file came in slower than the service accepts ' +
      '(UPLOAD_MIN_BYTES_PER_SECOND over each UPLOAD_RATE_WINDOW_SECONDS), and was cut off to free its upload slot. ' +
      'Retry on a better connection, or with a smaller file.',
  },
  payload_too_large: {
    status: 413,
    title: 'The request body is too large',
    advice: 'Send a smaller body (BODY_LIMIT_BYTES sets the limit).',
  },
  message_too_long: {
    status: 413,
    title: 'The message is too long',
    advice: 'Genesys accepts at most 4096 UTF-8 bytes of text per message: split the text.',
  },
  attributes_too_large: {
    status: 413,
    title: 'The attributes are too large',
    advice:
      "Keys plus values must fit the deployment's maxCustomDataBytes (the session's `limits` say how many): " +
      'send fewer or shorter attributes.',
  },
  attachment_too_large: {
    status: 413,
    title: 'The file is too large',
    advice: 'The deployment accepts files up to `attachments.maxBytes` (GET /capabilities): send a smaller file.',
  },
  attachment_type_not_allowed: {
    status: 415,
    title: 'This kind of file is not accepted',
    advice:
      'The deployment accepts the types in `attachments.mediaTypes` and refuses the extensions in ' +
      '`attachments.blockedExtensions` (GET /capabilities). ' +
      'Extensions are judged on the name as a file system shows it ' +
      '(invisible and Unicode spaces, trailing dots and `::$DATA` ignored, any case). ' +
      'A program or script whose name or type says it is something else is refused.',
  },
  attachments_disabled: {
    status: 422,
    title: 'File upload is off for this deployment',
    advice:
      'The Messenger deployment does not accept files from guests ' +
      '(GET /capabilities says `attachments.enabled: false`). ' +
      'Turn on file upload in the Messenger configuration, or hide the attach button.',
  },
  authentication_disabled: {
    status: 422,
    title: 'Authenticated messaging is off for this deployment',
    advice:
      'Genesys refused the sign-in: the Messenger deployment has no sign-in set up ' +
      '(GET /capabilities says `authentication.enabled: false`), or does not allow signing in mid-chat ' +
      '(`allowSessionUpgrade: false`); a chat signing in goes on as it was. ' +
      'Set up the OpenID Connect Messenger Configuration in Genesys Cloud, or hide the sign-in button.',
  },
  sensitive_data: {
    status: 422,
    title: 'The input holds sensitive data',
    advice:
      'This deployment refuses what looks like a payment card number, an IBAN or another kind of data it names ' +
      '(`detectors` says which; the value is never echoed): nothing was sent to Genesys. Ask the customer to send it ' +
      'without, by a safer channel.',
  },
  unsupported_media_type: {
    status: 415,
    title: 'The request body must be JSON',
    advice: 'Send `Content-Type: application/json` with a UTF-8 JSON body.',
  },
  idempotency_key_reused: {
    status: 422,
    title: 'The Idempotency-Key was used for a different request',
    advice: 'A key names one message: reuse it only to retry that same message, and use a new key for a new one.',
  },
  rate_limited: {
    status: 429,
    title: 'Too many requests',
    advice: 'Wait the seconds `Retry-After` says, then try again (with the same Idempotency-Key for a message).',
  },
  internal_error: {
    status: 500,
    title: 'Internal error',
    advice: "Something failed on the service's side. Retry; if it persists, give the operator the `requestId`.",
  },
  upstream_unavailable: {
    status: 503,
    title: 'Genesys Cloud is unavailable',
    advice:
      'Genesys refused, failed or did not answer in time. ' +
      'Retry shortly (a message with the same Idempotency-Key is never sent twice); ' +
      "the operator's log has the detail.",
  },
  store_unavailable: {
    status: 503,
    title: 'The shared store is unavailable',
    advice:
      'The instances share idempotency records, limits and ended sessions in Redis (REDIS_URL), ' +
      'which did not answer; nothing was done. ' +
      'Retry shortly (a message with the same Idempotency-Key is never sent twice); ' +
      "the operator's /readyz and log say more.",
  },
  not_ready: {
    status: 503,
    title: 'The service is not ready',
    advice:
      'The instance is starting, draining or missing a dependency (/readyz says which). ' +
      'Retry, ideally on another instance.',
  },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The wait a `503` or `504` advises when the one who threw it named none: every such answer tells the client
 * when to come back (README "Errors"), so the rule lives in the type, not in each place that throws.
 */
export const DEFAULT_RETRY_AFTER_SECONDS = 2;

/** Statuses that always carry `Retry-After`: the service, or Genesys behind it, is away for now. */
export function mustAdviseRetry(status: number): boolean {
  return status === 503 || status === 504;
}

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
    this.retryAfterSeconds =
      options.retryAfterSeconds ?? (mustAdviseRetry(this.status) ? DEFAULT_RETRY_AFTER_SECONDS : undefined);
    this.logDetail = options.logDetail;
    this.extensions = options.extensions;
  }
}
