import type { NormalizedMessage } from '../../../domain/message';
import type { Logger } from '../../../observability/logger';
import { messages } from '../../../observability/metrics';
import {
  GuestApiError,
  guestErrorFromFrame,
  type InboundFrame,
  type SessionResponse,
  type StructuredMessage,
  type AttachmentFailure,
  normalizeMessage,
} from '../protocol';
import { AttachmentTransfer } from './attachmentTransfer';
import { expiryInMetadata } from '../link';
import type { Pending, PendingRequests, ReplyClass } from './pendingRequests';

/**
 * What one inbound frame means for a guest session: which pending request it
 * settles (by the rules in pendingRequests.ts), and what the live streams
 * hear. Kept apart from the socket so every shape Genesys may send can be
 * fed to it directly in tests.
 */
export type GuestEvent =
  | { type: 'message'; message: NormalizedMessage }
  | { type: 'typing'; durationMs?: number }
  | { type: 'presence'; presence: 'join' | 'disconnect' | 'clear' | 'signin'; readOnly?: boolean; name?: string }
  | { type: 'session'; state: SessionState; detail?: string; customer?: { firstName?: string; lastName?: string } };

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

export interface InboundTarget {
  readonly pending: PendingRequests;
  readonly logger: Logger;
  now(): number;
  settle(p: Pending, outcome: Error | { value: unknown }): void;
  /**
   * Genesys refused a frame for its rate or request budget (429/4029):
   * not accepted, written again after the wait (requestDesk.ts).
   */
  refused(tracingId: string | undefined, error: GuestApiError): void;
  /** Genesys refused a request with 401 mid-session (no configure waiting): configure again and write it again. */
  unauthorized?(tracingId: string | undefined, error: GuestApiError): void;
  emit(event: GuestEvent): void;
  die(error: GuestApiError): void;
  /** An echo reply said when the session ends (its metadata's durationSeconds and expirationDate). */
  expiryReported?(durationSeconds: number | undefined, expirationDate: number | undefined): void;
  /** A SessionResponse nobody asked for, or the session turned read-only. */
  updateInfo(change: (info: SessionResponse | undefined) => SessionResponse | undefined): void;
  /** Genesys announced it is closing this connection (another took its place, or the chat was cleared). */
  closingByServer(): void;
  /** Whether this connection was configured as a signed-in customer (configureAuthenticatedSession). */
  configuredSignedIn(): boolean;
  /**
   * This session's own token was signed in on another of its connections (the instance that holds the session
   * now): nothing ended, the chat goes on there, so the streams here reconnect to it.
   */
  signedInOnAnotherConnection(): void;
  /** A Genesys message id that answered one of our sends: no other send may claim it as proof of delivery. */
  accountFor(messageId: string): void;
  /**
   * Genesys's verdict on an uploaded file (UploadSuccessEvent / UploadFailureEvent); false when no upload waits for it.
   */
  uploadSettled(attachmentId: string, outcome: { downloadUrl?: string } | { failure: AttachmentFailure }): boolean;
  /** The echo of one of our sends (our id), on time or after it gave up waiting: it proves that send, and no other. */
  lateEcho(messageId: string, message: NormalizedMessage): void;
}

export function dispatchInbound(frame: InboundFrame, t: InboundTarget): void {
  switch (frame.kind) {
    case 'session': {
      const p = reply(t, frame.envelope.tracingId, 'session');
      if (p) t.settle(p, { value: frame.body });
      else t.updateInfo(() => frame.body);
      return;
    }
    case 'jwt': {
      const p = reply(t, frame.envelope.tracingId, 'jwt');
      if (p) t.settle(p, { value: frame.body });
      return;
    }
    case 'message':
      onStructuredMessage(t, frame.envelope.type, frame.envelope.tracingId, frame.body);
      return;
    case 'tooManyRequests':
    case 'error':
      onError(t, frame);
      return;
    case 'sessionExpired':
      t.die(new GuestApiError('session_expired', 'The chat session has expired; start a new one.'));
      return;
    case 'connectionClosed': {
      // Another connection took this one's place, the chat was cleared, or the customer signed in elsewhere.
      const reason = frame.body.reason ?? frame.body.reasonCode;
      t.closingByServer();
      if (reason === 'signedIn' && !t.configuredSignedIn()) {
        // A step-up closes the session's other connections (docs/genesys-protocol.md#configureauthenticatedsession),
        // and only an anonymous session steps up: on an anonymous connection this is this very token signed in
        // through another connection (another instance took the session over), not a conversation gone elsewhere.
        t.logger.info('this session was signed in through another connection; its streams reconnect there');
        t.signedInOnAnotherConnection();
        return;
      }
      if (reason === 'signedIn') {
        t.die(
          new GuestApiError(
            'signed_in_elsewhere',
            'The customer signed in, and the conversation went on in the signed-in session.',
          ),
        );
        return;
      }
      t.logger.info({ reason }, 'Genesys closed this guest connection');
      t.emit({
        type: 'session',
        state: 'closed',
        detail: reason ? `Genesys closed this connection (${reason}).` : 'Genesys closed this connection.',
      });
      return;
    }
    case 'sessionCleared': {
      t.updateInfo((info) => (info ? { ...info, readOnly: true } : info));
      const p = t.pending.untracedReply('cleared');
      if (p) t.settle(p, { value: undefined });
      t.emit({ type: 'session', state: 'cleared' });
      return;
    }
    case 'presignedUrl':
    case 'attachmentDeleted':
    case 'attachmentFailed':
    case 'uploadSucceeded':
      onAttachmentFrame(t, frame);
      return;
    case 'logout':
      t.closingByServer();
      t.die(new GuestApiError('signed_out', 'The customer signed out.'));
      return;
    case 'unknown':
      t.logger.warn({ class: frame.envelope?.class, reason: frame.reason }, 'ignored an unknown Guest API frame');
      return;
  }
}

/**
 * The request a reply answers: by tracingId when it has one (a tracingId of a
 * request no longer waiting, or of nothing at all, is dropped), otherwise the
 * request of the one kind this reply class can answer.
 */
function reply(t: InboundTarget, tracingId: string | undefined, replyClass: ReplyClass): Pending | undefined {
  if (tracingId === undefined) return t.pending.untracedReply(replyClass);
  const p = t.pending.byTracingId(tracingId);
  if (p === undefined || p === 'retired') {
    t.logger.info({ replyClass, late: p === 'retired' }, 'dropped a Guest API reply that no waiting request sent');
    return undefined;
  }
  return p;
}

function onError(t: InboundTarget, frame: Extract<InboundFrame, { kind: 'error' | 'tooManyRequests' }>): void {
  const text = frame.kind === 'error' ? frame.body : (frame.body.errorMessage ?? 'rate limited');
  const error = guestErrorFromFrame(
    frame.envelope,
    text,
    frame.kind === 'tooManyRequests' ? frame.body.retryAfter : undefined,
  );
  if (error.fatalForSession) {
    t.die(error);
    return;
  }
  const log = { genesysCode: frame.envelope.code, guestFailure: error.failure };
  const tracingId = frame.envelope.tracingId;
  if (error.failure === 'rate_limited') {
    t.logger.info(
      { ...log, traced: tracingId !== undefined, retryAfterSeconds: error.retryAfterSeconds },
      'Genesys refused a frame for its rate; it goes out again after the wait',
    );
    t.refused(tracingId, error);
    return;
  }
  if (tracingId !== undefined) {
    const p = t.pending.byTracingId(tracingId);
    if (
      error.failure === 'unauthorized' &&
      p !== undefined &&
      p !== 'retired' &&
      p.kind !== 'configure' &&
      t.unauthorized
    )
      return t.unauthorized(tracingId, error);
    if (p !== undefined && p !== 'retired') t.settle(p, error);
    else t.logger.warn({ ...log, late: p === 'retired' }, 'Genesys reported an error for no waiting request; dropped');
    return;
  }
  const target = t.pending.untracedError(frame.envelope.code, text);
  if (error.failure === 'unauthorized' && !('to' in target) && t.unauthorized) {
    // Not an answer to a configure: a request of the running session
    // was refused for its credentials; it is not left to its deadline.
    t.logger.info(log, 'Genesys refused a request with 401 mid-session; configuring again');
    t.unauthorized(undefined, error);
    return;
  }
  if ('to' in target) t.settle(target.to, error);
  else if ('ambiguous' in target) {
    t.logger.warn(
      { ...log, candidates: target.ambiguous },
      'Genesys reported an error without tracingId that more than one request could have caused; ' +
        'left to their own replies and deadlines',
    );
  } else t.logger.warn(log, 'Genesys reported an error for no waiting request; dropped');
}

function onStructuredMessage(
  t: InboundTarget,
  envelopeType: string,
  tracingId: string | undefined,
  body: StructuredMessage,
): void {
  const message = normalizeMessage(body, new Date(t.now()));
  if (envelopeType === 'response') {
    // The reply to an `echo` health check, not chat traffic; it says when the session ends now.
    const expiry = expiryInMetadata(body.metadata as Record<string, unknown> | null | undefined);
    if (expiry) t.expiryReported?.(expiry.durationSeconds, expiry.expirationDate);
    const p = tracingId === undefined ? undefined : t.pending.byTracingId(tracingId);
    if (p && p !== 'retired' && p.kind === 'echo') t.settle(p, { value: message });
    return;
  }
  if (message.direction === 'inbound') settleOwnEcho(t, tracingId, body, message);

  if (message.type === 'event') {
    if (message.direction === 'outbound') emitEvents(t, body);
    else if (isPresence(body, 'SignIn')) t.emit({ type: 'session', state: 'signed_in', ...signedInCustomer(body) });
    return;
  }
  if (message.direction === 'outbound') messages.inc({ direction: 'outbound' });
  t.emit({ type: 'message', message });
}

/** The echo of the guest's own message or Join answers the request that sent it. */
function settleOwnEcho(
  t: InboundTarget,
  tracingId: string | undefined,
  body: StructuredMessage,
  message: NormalizedMessage,
): void {
  let p: Pending | undefined;
  if (tracingId !== undefined) {
    const found = t.pending.byTracingId(tracingId);
    if (found === 'retired') {
      const ourId = t.pending.retiredSend(tracingId);
      if (ourId !== undefined) t.lateEcho(ourId, message);
      return;
    }
    p = found;
  } else if (isJoin(body)) {
    p = t.pending.untracedReply('joinEcho');
  } else if (message.type !== 'event') {
    const found = t.pending.untracedEcho(message.clientMessageId, message.text ?? message.buttonResponse?.text);
    if (found && 'lateFor' in found) {
      t.lateEcho(found.lateFor, message);
      return;
    }
    p = found;
  }
  if (!p || (p.kind !== 'send' && p.kind !== 'join')) return;
  // Remembered by our id too: a retry whose record could not be marked done proves this send by it (sendLedger.ts).
  if (p.kind === 'send') {
    if (p.messageId !== undefined) t.lateEcho(p.messageId, message);
    else t.accountFor(message.id);
    messages.inc({ direction: 'inbound' });
  }
  t.settle(p, { value: message });
}

function participantName(body: StructuredMessage): string | undefined {
  const from = body.channel?.from;
  return from?.nickname || [from?.firstName, from?.lastName].filter(Boolean).join(' ') || undefined;
}

function isJoin(body: StructuredMessage): boolean {
  return isPresence(body, 'Join');
}

/** The signed-in customer's name, as the SDK reads it off the SignIn event (core/events/EventHandlerImpl.kt). */
function signedInCustomer(body: StructuredMessage): { customer?: { firstName?: string; lastName?: string } } {
  const from = body.channel?.from;
  const customer = {
    ...(from?.firstName ? { firstName: from.firstName } : {}),
    ...(from?.lastName ? { lastName: from.lastName } : {}),
  };
  return Object.keys(customer).length > 0 ? { customer } : {};
}

function isPresence(body: StructuredMessage, type: string): boolean {
  return (body.events ?? []).some((e) => e.eventType === 'Presence' && e.presence?.type === type);
}

function emitEvents(t: InboundTarget, body: StructuredMessage): void {
  for (const event of body.events ?? []) {
    if (event.eventType === 'Typing' && event.typing?.type !== 'Off') {
      t.emit({ type: 'typing', durationMs: event.typing?.duration ?? undefined });
    } else if (event.eventType === 'Presence' && event.presence?.type) {
      const presence = event.presence.type.toLowerCase() as 'join' | 'disconnect' | 'clear' | 'signin';
      const readOnly = body.metadata?.readOnly === 'true' || body.metadata?.readOnly === true;
      if (presence === 'disconnect' && readOnly) t.updateInfo((info) => (info ? { ...info, readOnly: true } : info));
      // Who joined or left, when Genesys names them, as a message names its author (normalize.ts).
      const name = participantName(body);
      t.emit({
        type: 'presence',
        presence,
        ...(presence === 'disconnect' ? { readOnly } : {}),
        ...(name ? { name } : {}),
      });
    }
  }
}

type AttachmentFrame = Extract<
  InboundFrame,
  { kind: 'presignedUrl' | 'attachmentDeleted' | 'attachmentFailed' | 'uploadSucceeded' }
>;

/**
 * Attachment replies name their file: a reply goes to the request about that
 * file (by tracingId when it has one, which must then be that same request),
 * and an upload's verdict to the upload waiting for it.
 */
function onAttachmentFrame(t: InboundTarget, frame: AttachmentFrame): void {
  const { attachmentId } = frame.body;
  if (frame.kind === 'uploadSucceeded') {
    if (!t.uploadSettled(attachmentId, { downloadUrl: frame.body.downloadUrl }))
      t.logger.info({ attachmentId }, 'an upload verdict for no waiting upload; dropped');
    return;
  }
  if (frame.kind === 'attachmentFailed' && frame.stage === 'upload') {
    if (!t.uploadSettled(attachmentId, { failure: frame.body }))
      t.logger.info({ attachmentId }, 'an upload failure for no waiting upload; dropped');
    return;
  }
  const tracingId = frame.envelope.tracingId;
  const byTrace = tracingId === undefined ? undefined : t.pending.byTracingId(tracingId);
  const p = byTrace === undefined ? t.pending.byAttachment(attachmentId) : byTrace === 'retired' ? undefined : byTrace;
  if (!p || p.kind !== 'attachment' || p.attachmentId !== attachmentId) {
    // A refusal of a file whose upload already went out still ends that upload.
    if (frame.kind === 'attachmentFailed' && t.uploadSettled(attachmentId, { failure: frame.body })) return;
    t.logger.info({ attachmentId, class: frame.envelope.class }, 'an attachment reply for no waiting request; dropped');
    return;
  }
  if (frame.kind === 'attachmentFailed') t.settle(p, AttachmentTransfer.refusal(frame.body));
  else t.settle(p, { value: frame.kind === 'presignedUrl' ? frame.body : undefined });
}
