import type { NormalizedMessage, ReceiptEvent } from '../../../domain/message';
import type { GuestApiError, SessionResponse } from '../protocol';

/** What a guest session's live streams hear (http/streams/ turns each into a Server-Sent Event). */
export type GuestEvent =
  | { type: 'message'; message: NormalizedMessage }
  | { type: 'receipt'; receipt: ReceiptEvent }
  | { type: 'typing'; durationMs?: number }
  | {
      type: 'presence';
      presence: 'join' | 'disconnect' | 'clear' | 'signin';
      readOnly?: boolean;
      name?: string;
      /** When Genesys says it happened (the event's `channel.time`), so a page can place it among the messages. */
      time?: string;
    }
  | { type: 'session'; state: SessionState; detail?: string; customer?: { firstName?: string; lastName?: string } }
  | NoticeEvent;

/** What this service itself tells the guest's streams about the guest's own input (docs/api.md#masking). */
export interface NoticeEvent {
  type: 'notice';
  /** `masked`: sensitive data was hidden before anything else saw it. */
  code: 'masked';
  detectors: string[];
  /** The message it was hidden in, or the file in whose name. */
  messageId?: string;
  attachmentId?: string;
}

type SessionState =
  | 'reconnecting'
  | 'reconnected'
  | 'expired'
  | 'closed'
  | 'cleared'
  | 'unavailable'
  | 'signed_in'
  | 'signed_out'
  | 'signed_in_elsewhere'
  | 'reauthentication_required'
  | 'existing_session_cleared';

/**
 * What a frame, or the session's link, tells the session beyond the request it answers. The session applies
 * each in one place (guestSession.ts `hear`), in the order it comes.
 */
export type SessionNews =
  /** Live streams hear it (held while a reconnect is not yet announced, sessionLink.ts). */
  | { type: 'event'; event: GuestEvent }
  /** The session is over: expired, signed out or in elsewhere, refused for good. */
  | { type: 'ended'; error: GuestApiError }
  /** Genesys answered the configure of the link's socket (sessionLink.ts). */
  | { type: 'configured'; info: SessionResponse }
  /** A SessionResponse no request asked for: what Genesys now says of the session. */
  | { type: 'described'; info: SessionResponse }
  /** The conversation turned read-only (cleared, or disconnected in ReadOnly mode). */
  | { type: 'readOnly' }
  /** An echo reply said when the session ends (its metadata's durationSeconds and expirationDate). */
  | { type: 'expiry'; durationSeconds?: number; expirationDate?: number }
  /** Genesys announced it is closing this connection (another took its place, the chat was cleared, a logout). */
  | { type: 'closing' }
  /**
   * This session's own token was signed in on another of its connections (the instance that holds the session
   * now): nothing ended, the chat goes on there, so the streams here reconnect to it.
   */
  | { type: 'signedInElsewhere' }
  /** Genesys refused a request with 401 mid-session (no configure waiting): configure again and write it again. */
  | { type: 'credentialsRefused'; tracingId?: string; error: GuestApiError };
