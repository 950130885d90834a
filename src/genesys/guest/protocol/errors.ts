import { AppError, type ErrorCode } from '../../../domain/errors';
import { countGenesysError } from '../../../observability/metrics';
import type { Envelope } from './frames';

/**
 * Why a Guest API call failed, in this product's terms. Each reason maps to
 * one public error code; the Genesys code and text go to the
 * log, not to the browser.
 */
type GuestFailure =
  | 'session_expired' // 4006, SessionExpiredEvent
  | 'session_not_found' // 4007
  | 'message_too_long' // 4011
  | 'attributes_too_large' // 4013
  | 'rate_limited' // 429 / 4029
  | 'read_only' // the conversation was disconnected in ReadOnly mode
  | 'forbidden' // class "string" 403 (a feature is off, or access refused)
  | 'bad_request' // class "string" 400 and other 4xxx codes
  | 'handshake_refused' // HTTP 403 on the WebSocket upgrade
  | 'unavailable' // socket could not be opened, 5xx
  | 'connection_lost' // the socket dropped while waiting
  | 'timeout' // no reply in time (or none before the circuit found Genesys away: then 503, not 504)
  | 'attachment_refused' // 4000-4005 on a file: disabled, type, size, name (the public code says which)
  | 'unauthorized' // class "string" 401: the sign-in JWT was refused (refresh it, configure again)
  | 'reauthentication_required' // 403 "Session authentication failed…" / "Try authenticate again…"
  | 'cannot_downgrade' // 4017: a signed-in session configured without its sign-in
  | 'sign_in_refused' // class "string" 403 to configureAuthenticatedSession but the re-auth texts: sign-in off here
  | 'signed_out' // LogoutEvent: the customer signed out (on any device)
  | 'signed_in_elsewhere' // ConnectionClosedEvent reason signedIn: the conversation moved to a signed-in session
  | 'store_unavailable' // not Genesys: the shared store (Redis) could not count a new socket, so none was opened
  | 'circuit_open'; // not asked: Genesys failed or hung just now, and nothing goes to it until a probe succeeds

const CONTRACT_CODE: Record<GuestFailure, ErrorCode> = {
  session_expired: 'session_expired',
  session_not_found: 'session_expired',
  message_too_long: 'message_too_long',
  attributes_too_large: 'attributes_too_large',
  rate_limited: 'rate_limited',
  read_only: 'conflict',
  forbidden: 'upstream_unavailable',
  bad_request: 'upstream_unavailable',
  handshake_refused: 'upstream_unavailable',
  unavailable: 'upstream_unavailable',
  connection_lost: 'upstream_unavailable',
  timeout: 'upstream_unavailable',
  attachment_refused: 'attachment_type_not_allowed',
  unauthorized: 'reauthentication_required',
  reauthentication_required: 'reauthentication_required',
  cannot_downgrade: 'cannot_downgrade',
  sign_in_refused: 'authentication_disabled',
  signed_out: 'session_expired',
  signed_in_elsewhere: 'session_expired',
  store_unavailable: 'store_unavailable',
  circuit_open: 'upstream_unavailable',
};

const STATUS: Partial<Record<GuestFailure, number>> = {
  forbidden: 502,
  bad_request: 502,
  handshake_refused: 502,
  timeout: 504,
};

/**
 * Failures after which the session token is of no further use. Not `cannot_downgrade`: 4017 refuses an anonymous
 * configure of a conversation signed in meanwhile (through another connection or instance), which a request with
 * the signed-in token configures again with its credentials.
 */
const FATAL = new Set<GuestFailure>([
  'session_expired',
  'session_not_found',
  'reauthentication_required',
  'signed_out',
  'signed_in_elsewhere',
]);

/** Texts of a 403 that asks for a new sign-in (the official SDK compares their starts, ignoring case). */
const REAUTHENTICATE = /^(session authentication failed|try (to )?authenticate again)/i;

/**
 * Longer waits than this are not advice a browser can act on; a bogus `retryAfter` must not become `Retry-After: 1e12`.
 */
export const MAX_RETRY_AFTER_SECONDS = 300;

/** Keeps a Genesys wait within 0…MAX_RETRY_AFTER_SECONDS; not a number gives undefined. */
function clampRetryAfterSeconds(seconds: number | undefined): number | undefined {
  if (seconds === undefined || Number.isNaN(seconds)) return undefined;
  return Math.min(Math.max(seconds, 0), MAX_RETRY_AFTER_SECONDS);
}

export class GuestApiError extends AppError {
  constructor(
    readonly failure: GuestFailure,
    detail: string,
    options: {
      genesysCode?: number;
      genesysText?: string;
      retryAfterSeconds?: number;
      cause?: unknown;
      refusal?: ErrorCode;
      /** Instead of the failure's own status. */
      status?: number;
    } = {},
  ) {
    super(options.refusal ?? CONTRACT_CODE[failure], detail, {
      status: options.status ?? STATUS[failure],
      retryAfterSeconds: clampRetryAfterSeconds(options.retryAfterSeconds),
      logDetail: { guestFailure: failure, genesysCode: options.genesysCode, genesysText: options.genesysText },
      cause: options.cause,
    });
    this.name = 'GuestApiError';
  }

  /** How a live stream hears that the session ended with this error. */
  get endState(): 'expired' | 'unavailable' | 'signed_out' | 'signed_in_elsewhere' | 'reauthentication_required' {
    if (this.failure === 'signed_in_elsewhere') return 'signed_in_elsewhere';
    // Genesys asked the customer to authenticate again: not a sign-out, which the customer did not do.
    if (this.failure === 'reauthentication_required') return 'reauthentication_required';
    if (this.failure === 'signed_out') return 'signed_out';
    return this.fatalForSession ? 'expired' : 'unavailable';
  }

  /** True when the session token can never be used again. */
  get fatalForSession(): boolean {
    return FATAL.has(this.failure);
  }
}

/**
 * Genesys's file refusals 4000-4005 (docs/genesys-protocol.md#error-codes),
 * in this product's terms; other codes are a generic refusal.
 */
export function attachmentRefusal(code: number, text: string | undefined): GuestApiError {
  const options = { genesysCode: code, genesysText: text };
  switch (code) {
    case 4000:
      return new GuestApiError('attachment_refused', 'File upload is off for this deployment.', {
        ...options,
        refusal: 'attachments_disabled',
      });
    case 4001:
    case 4003:
    case 4004:
    case 4005:
      return new GuestApiError('attachment_refused', 'Genesys does not accept this file.', {
        ...options,
        refusal: 'attachment_type_not_allowed',
      });
    case 4002:
      return new GuestApiError('attachment_refused', 'The file is larger than Genesys accepts.', {
        ...options,
        refusal: 'attachment_too_large',
      });
    default:
      return new GuestApiError('bad_request', 'Genesys refused the file.', options);
  }
}

/**
 * Maps an error frame (`class:"string"` or TooManyRequestsErrorMessage)
 * to a typed error (docs/genesys-protocol.md#error-codes).
 */
export function guestErrorFromFrame(envelope: Envelope, text: string, retryAfter?: number): GuestApiError {
  const code = envelope.code;
  const options = { genesysCode: code, genesysText: text };
  // Counted where Genesys's answer becomes ours; a 429/4029 frame counts as rate limiting too.
  countGenesysError(code);
  switch (code) {
    case 4006:
      return new GuestApiError('session_expired', 'The chat session has expired; start a new one.', options);
    case 4007:
      return new GuestApiError(
        'session_expired',
        'The chat session no longer exists at Genesys; start a new one.',
        options,
      );
    case 4011:
      return new GuestApiError('message_too_long', 'The message is longer than Genesys accepts (4096 bytes).', options);
    case 4013:
      return new GuestApiError(
        'attributes_too_large',
        'The custom attributes are larger than the deployment allows.',
        options,
      );
    case 429:
    case 4029:
      return new GuestApiError('rate_limited', 'Genesys asks to slow down; retry after the given time.', {
        ...options,
        retryAfterSeconds: clampRetryAfterSeconds(retryAfter) ?? 1,
      });
    case 4000:
    case 4001:
    case 4002:
    case 4003:
    case 4004:
    case 4005:
      // As a `class:"string"` frame too, not only inside GenerateUrlError / UploadFailureEvent.
      return attachmentRefusal(code, text);
    case 4008:
    case 4010:
      return new GuestApiError(
        'attachment_refused',
        'The attachment has expired or was not fully uploaded; upload it again.',
        { ...options, refusal: 'validation_failed' },
      );
    case 4009:
      return new GuestApiError('attachment_refused', 'No such attachment in this session.', {
        ...options,
        refusal: 'not_found',
      });
    case 401:
      return new GuestApiError('unauthorized', 'Genesys refused the sign-in; sign in again.', options);
    case 4017:
      return new GuestApiError(
        'cannot_downgrade',
        'This conversation is signed in; it cannot continue anonymously. Sign in again.',
        options,
      );
    case 403:
      if (REAUTHENTICATE.test(text))
        return new GuestApiError('reauthentication_required', 'Genesys asks the customer to sign in again.', options);
      return new GuestApiError('forbidden', 'Genesys refused the request for this deployment.', options);
    default:
      return new GuestApiError('bad_request', 'Genesys refused the request.', options);
  }
}
