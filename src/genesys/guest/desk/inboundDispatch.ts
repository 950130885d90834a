import type { NormalizedMessage } from '../../../domain/message';
import type { Logger } from '../../../observability/logger';
import { messages, receipts } from '../../../observability/metrics';
import {
  attachmentRefusal,
  GuestApiError,
  guestErrorFromFrame,
  type InboundFrame,
  type StructuredMessage,
  type AttachmentFailure,
  normalizeMessage,
} from '../protocol';
import { expiryInMetadata } from '../link';
import type { Pending, PendingRequests, ReplyClass } from './pendingRequests';
import type { GuestEvent, SessionNews } from './sessionNews';

/** An untraced error this soon after a read receipt (the newest frame waiting for nothing) reads as its refusal. */
const READ_REFUSAL_WINDOW_MS = 5000;

/** The requests a reply can answer (requestDesk.ts). */
export interface ReplyDesk {
  readonly pending: PendingRequests;
  settle(p: Pending, outcome: Error | { value: unknown }): void;
  /** Genesys refused a frame for its rate or request budget (429/4029): not accepted, written again after the wait. */
  refused(tracingId: string | undefined, error: GuestApiError): void;
}

/** What an echo proves of this session's sends (deliveryProof.ts). */
export interface EchoLedger {
  /** A Genesys message id that answered one of our sends: no other send may claim it as proof of delivery. */
  accountFor(messageId: string): void;
  /** The echo of one of our sends (our id), on time or after it gave up waiting: it proves that send, and no other. */
  lateEcho(ourId: string, message: NormalizedMessage): void;
}

export type UploadVerdict = { downloadUrl?: string } | { failure: AttachmentFailure };

/** The uploads waiting for Genesys's verdict on their file (attachmentTransfer.ts). */
export interface UploadVerdicts {
  /** UploadSuccessEvent or UploadFailureEvent for a file; false when no upload waits for it. */
  uploadSettled(attachmentId: string, outcome: UploadVerdict): boolean;
}

/** The session's sign-in, as a frame that closes the connection for a sign-in needs it (rest/guestSignIn.ts). */
export interface ConfiguredSignIn {
  /** Whether the last configure Genesys accepted was a signed-in one (configureAuthenticatedSession). */
  readonly configuredSignedIn: boolean;
}

/** The session, as what its frames tell it (guestSession.ts). */
export interface InboundSession {
  hear(news: SessionNews): void;
}

/** Who one session's inbound frames answer and tell. */
export interface InboundParts {
  desk: ReplyDesk;
  ledger: EchoLedger;
  uploads: UploadVerdicts;
  signIn: ConfiguredSignIn;
  session: InboundSession;
  logger: Logger;
  now(): number;
}

type AttachmentFrame = Extract<
  InboundFrame,
  { kind: 'presignedUrl' | 'attachmentDeleted' | 'attachmentFailed' | 'uploadSucceeded' }
>;

/**
 * What one inbound frame means for a guest session: which pending request it
 * settles (by the rules in pendingRequests.ts), and what it tells the session
 * itself. Kept apart from the socket so every shape Genesys may send can be
 * fed to it directly in tests.
 */
export class InboundDispatch {
  private readonly desk: ReplyDesk;
  private readonly session: InboundSession;
  private readonly logger: Logger;

  constructor(private readonly parts: InboundParts) {
    this.desk = parts.desk;
    this.session = parts.session;
    this.logger = parts.logger;
  }

  /** Settles what the frame answers, and tells the session the rest, in order. */
  dispatch(frame: InboundFrame): void {
    switch (frame.kind) {
      case 'session': {
        const p = this.reply(frame.envelope.tracingId, 'session');
        if (p) this.desk.settle(p, { value: frame.body });
        else this.session.hear({ type: 'described', info: frame.body });
        return;
      }
      case 'jwt': {
        const p = this.reply(frame.envelope.tracingId, 'jwt');
        if (p) this.desk.settle(p, { value: frame.body });
        return;
      }
      case 'message':
        this.onStructuredMessage(frame.envelope.type, frame.envelope.tracingId, frame.body);
        return;
      case 'receipt': {
        const { at, ...receipt } = frame.body;
        const said = { messageId: receipt.messageId, status: receipt.status };
        if (receipt.status === 'failed')
          this.logger.warn({ ...said, reasons: receipt.reasons?.map((r) => r.code) }, 'Genesys failed a guest message');
        else this.logger.debug(said, 'Genesys sent a receipt');
        receipts.inc({ receipt: receipt.status });
        this.emit({ type: 'receipt', receipt: { ...receipt, at: at ?? new Date(this.parts.now()).toISOString() } });
        return;
      }
      case 'tooManyRequests':
      case 'error':
        this.onError(frame);
        return;
      case 'sessionExpired':
        this.end(new GuestApiError('session_expired', 'The chat session has expired; start a new one.'));
        return;
      case 'connectionClosed':
        this.onConnectionClosed(frame.body.reason ?? frame.body.reasonCode);
        return;
      case 'sessionCleared': {
        this.session.hear({ type: 'readOnly' });
        const p = this.desk.pending.untracedReply('cleared');
        if (p) this.desk.settle(p, { value: undefined });
        this.emit({ type: 'session', state: 'cleared' });
        return;
      }
      case 'presignedUrl':
      case 'attachmentDeleted':
      case 'attachmentFailed':
      case 'uploadSucceeded':
        this.onAttachmentFrame(frame);
        return;
      case 'logout':
        this.session.hear({ type: 'closing' });
        this.end(new GuestApiError('signed_out', 'The customer signed out.'));
        return;
      case 'unknown':
        this.logger.warn({ class: frame.envelope?.class, reason: frame.reason }, 'ignored an unknown Guest API frame');
        return;
    }
  }

  private emit(event: GuestEvent): void {
    this.session.hear({ type: 'event', event });
  }

  private end(error: GuestApiError): void {
    this.session.hear({ type: 'ended', error });
  }

  /** Another connection took this one's place, the chat was cleared, or the customer signed in elsewhere. */
  private onConnectionClosed(reason: string | null | undefined): void {
    this.session.hear({ type: 'closing' });
    if (reason === 'signedIn' && !this.parts.signIn.configuredSignedIn) {
      // A step-up closes the session's other connections (docs/genesys-protocol.md#configureauthenticatedsession),
      // and only an anonymous session steps up: on an anonymous connection this is this very token signed in
      // through another connection (another instance took the session over), not a conversation gone elsewhere.
      this.logger.info('this session was signed in through another connection; its streams reconnect there');
      this.session.hear({ type: 'signedInElsewhere' });
      return;
    }
    if (reason === 'signedIn') {
      this.end(
        new GuestApiError(
          'signed_in_elsewhere',
          'The customer signed in, and the conversation went on in the signed-in session.',
        ),
      );
      return;
    }
    this.logger.info({ reason }, 'Genesys closed this guest connection');
    this.emit({
      type: 'session',
      state: 'closed',
      detail: reason ? `Genesys closed this connection (${reason}).` : 'Genesys closed this connection.',
    });
  }

  /**
   * The request a reply answers: by tracingId when it has one (a tracingId of a
   * request no longer waiting, or of nothing at all, is dropped), otherwise the
   * request of the one kind this reply class can answer.
   */
  private reply(tracingId: string | undefined, replyClass: ReplyClass): Pending | undefined {
    if (tracingId === undefined) return this.desk.pending.untracedReply(replyClass);
    const p = this.desk.pending.byTracingId(tracingId);
    if (p === undefined || p === 'retired') {
      this.logger.info({ replyClass, late: p === 'retired' }, 'dropped a Guest API reply that no waiting request sent');
      return undefined;
    }
    return p;
  }

  private onError(frame: Extract<InboundFrame, { kind: 'error' | 'tooManyRequests' }>): void {
    const text = frame.kind === 'error' ? frame.body : (frame.body.errorMessage ?? 'rate limited');
    const error = guestErrorFromFrame(
      frame.envelope,
      text,
      frame.kind === 'tooManyRequests' ? frame.body.retryAfter : undefined,
    );
    if (error.fatalForSession) {
      this.end(error);
      return;
    }
    const log = { genesysCode: frame.envelope.code, guestFailure: error.failure };
    const tracingId = frame.envelope.tracingId;
    if (error.failure === 'rate_limited') {
      this.logger.info(
        { ...log, traced: tracingId !== undefined, retryAfterSeconds: error.retryAfterSeconds },
        'Genesys refused a frame for its rate; it goes out again after the wait',
      );
      this.desk.refused(tracingId, error);
      return;
    }
    if (tracingId !== undefined) {
      const p = this.desk.pending.byTracingId(tracingId);
      if (error.failure === 'unauthorized' && p !== undefined && p !== 'retired' && p.kind !== 'configure')
        return this.session.hear({ type: 'credentialsRefused', tracingId, error });
      if (p !== undefined && p !== 'retired') this.desk.settle(p, error);
      else if (p === 'retired' && this.desk.pending.retiredKind(tracingId) === 'read')
        // Nothing says whether Genesys takes a web guest's read receipt (docs/genesys-protocol.md#receipts).
        this.logger.warn(
          { ...log, genesysText: text.slice(0, 200) },
          'Genesys refused a read receipt: set READ_RECEIPTS=off for this deployment',
        );
      else
        this.logger.warn(
          { ...log, late: p === 'retired' },
          'Genesys reported an error for no waiting request; dropped',
        );
      return;
    }
    const target = this.desk.pending.untracedError(frame.envelope.code, text);
    if (error.failure === 'unauthorized' && !('to' in target)) {
      // Not an answer to a configure: a request of the running session
      // was refused for its credentials; it is not left to its deadline.
      this.logger.info(log, 'Genesys refused a request with 401 mid-session; configuring again');
      this.session.hear({ type: 'credentialsRefused', error });
      return;
    }
    if ('to' in target) this.desk.settle(target.to, error);
    else if (this.desk.pending.lastRetiredWas('read', READ_REFUSAL_WINDOW_MS)) {
      // Untraced, and the newest frame written that waits for nothing is a read receipt just sent: most likely Genesys
      // refusing it, as no source says it takes one (docs/genesys-protocol.md#receipts). A log line, nothing settled.
      this.logger.warn(
        { ...log, genesysText: text.slice(0, 200), traced: false },
        'Genesys refused a read receipt: set READ_RECEIPTS=off for this deployment',
      );
    } else if ('ambiguous' in target) {
      this.logger.warn(
        { ...log, candidates: target.ambiguous },
        'Genesys reported an error without tracingId that more than one request could have caused; ' +
          'left to their own replies and deadlines',
      );
    } else this.logger.warn(log, 'Genesys reported an error for no waiting request; dropped');
  }

  private onStructuredMessage(envelopeType: string, tracingId: string | undefined, body: StructuredMessage): void {
    const message = normalizeMessage(body, new Date(this.parts.now()));
    if (envelopeType === 'response') {
      // The reply to an `echo` health check, not chat traffic; it says when the session ends now.
      const expiry = expiryInMetadata(body.metadata as Record<string, unknown> | null | undefined);
      if (expiry) this.session.hear({ type: 'expiry', ...expiry });
      const p = tracingId === undefined ? undefined : this.desk.pending.byTracingId(tracingId);
      if (p && p !== 'retired' && p.kind === 'echo') this.desk.settle(p, { value: message });
      return;
    }
    if (message.direction === 'inbound') this.settleOwnEcho(tracingId, body, message);

    if (message.type === 'event') {
      if (message.direction === 'outbound') this.emitEvents(body);
      else if (isPresence(body, 'SignIn'))
        this.emit({ type: 'session', state: 'signed_in', ...signedInCustomer(body) });
      return;
    }
    if (message.direction === 'outbound') messages.inc({ direction: 'outbound' });
    this.emit({ type: 'message', message });
  }

  /** The echo of the guest's own message or Join answers the request that sent it. */
  private settleOwnEcho(tracingId: string | undefined, body: StructuredMessage, message: NormalizedMessage): void {
    let p: Pending | undefined;
    if (tracingId !== undefined) {
      const found = this.desk.pending.byTracingId(tracingId);
      if (found === 'retired') {
        const ourId = this.desk.pending.retiredSend(tracingId);
        if (ourId !== undefined) this.parts.ledger.lateEcho(ourId, message);
        return;
      }
      p = found;
    } else if (isJoin(body)) {
      p = this.desk.pending.untracedReply('joinEcho');
    } else if (message.type !== 'event') {
      const found = this.desk.pending.untracedEcho(
        message.clientMessageId,
        message.text ?? message.buttonResponse?.text,
      );
      if (found && 'lateFor' in found) {
        this.parts.ledger.lateEcho(found.lateFor, message);
        return;
      }
      p = found;
    }
    if (!p || (p.kind !== 'send' && p.kind !== 'join')) return;
    // Remembered by our id too: a retry whose record could not be marked done proves this send by it (sendLedger.ts).
    if (p.kind === 'send') {
      if (p.messageId !== undefined) this.parts.ledger.lateEcho(p.messageId, message);
      else this.parts.ledger.accountFor(message.id);
      messages.inc({ direction: 'inbound' });
    }
    this.desk.settle(p, { value: message });
  }

  private emitEvents(body: StructuredMessage): void {
    for (const event of body.events ?? []) {
      if (event.eventType === 'Typing' && event.typing?.type !== 'Off') {
        this.emit({ type: 'typing', durationMs: event.typing?.duration ?? undefined });
      } else if (event.eventType === 'Presence' && event.presence?.type) {
        const presence = event.presence.type.toLowerCase() as 'join' | 'disconnect' | 'clear' | 'signin';
        const readOnly = body.metadata?.readOnly === 'true' || body.metadata?.readOnly === true;
        if (presence === 'disconnect' && readOnly) this.session.hear({ type: 'readOnly' });
        // Who joined or left, when Genesys names them, as a message names its author (normalize.ts).
        const name = participantName(body);
        const time = body.channel?.time;
        this.emit({
          type: 'presence',
          presence,
          ...(presence === 'disconnect' ? { readOnly } : {}),
          ...(name ? { name } : {}),
          ...(typeof time === 'string' && !Number.isNaN(Date.parse(time)) ? { time } : {}),
          ...(typeof body.id === 'string' ? { genesysId: body.id } : {}),
        });
      }
    }
  }

  /**
   * Attachment replies name their file: a reply goes to the request about that
   * file (by tracingId when it has one, which must then be that same request),
   * and an upload's verdict to the upload waiting for it.
   */
  private onAttachmentFrame(frame: AttachmentFrame): void {
    const { attachmentId } = frame.body;
    if (frame.kind === 'uploadSucceeded') {
      if (!this.parts.uploads.uploadSettled(attachmentId, { downloadUrl: frame.body.downloadUrl }))
        this.logger.info({ attachmentId }, 'an upload verdict for no waiting upload; dropped');
      return;
    }
    if (frame.kind === 'attachmentFailed' && frame.stage === 'upload') {
      if (!this.parts.uploads.uploadSettled(attachmentId, { failure: frame.body }))
        this.logger.info({ attachmentId }, 'an upload failure for no waiting upload; dropped');
      return;
    }
    const tracingId = frame.envelope.tracingId;
    const byTrace = tracingId === undefined ? undefined : this.desk.pending.byTracingId(tracingId);
    const p =
      byTrace === undefined
        ? this.desk.pending.byAttachment(attachmentId)
        : byTrace === 'retired'
          ? undefined
          : byTrace;
    if (!p || p.kind !== 'attachment' || p.attachmentId !== attachmentId) {
      // A refusal of a file whose upload already went out still ends that upload.
      if (frame.kind === 'attachmentFailed' && this.parts.uploads.uploadSettled(attachmentId, { failure: frame.body }))
        return;
      this.logger.info(
        { attachmentId, class: frame.envelope.class },
        'an attachment reply for no waiting request; dropped',
      );
      return;
    }
    if (frame.kind === 'attachmentFailed')
      this.desk.settle(p, attachmentRefusal(frame.body.errorCode ?? 0, frame.body.errorMessage));
    else this.desk.settle(p, { value: frame.kind === 'presignedUrl' ? frame.body : undefined });
  }
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
