import type { Span } from '@opentelemetry/api';
import type { GuestApiError } from '../protocol';

/**
 * The requests a guest session has sent and not yet seen answered, and the
 * rules that decide which of them an inbound frame answers.
 *
 * Genesys copies a request's `tracingId` onto some replies but not all: the
 * official SDK's fixtures show SessionResponse, JwtResponse, error frames,
 * TooManyRequestsErrorMessage and the Presence Join echo without one
 * (docs/genesys-protocol.md#envelope-and-correlation-tracingid). So a reply is
 * matched by `tracingId` when it has one, otherwise by what it can answer,
 * and an error goes to a request only when exactly one request, live or
 * recently given up on, could have caused it. A reply is never handed to a
 * request it does not answer: when in doubt it is logged and dropped, and the
 * request waits for its own answer or its deadline.
 */

export type PendingKind = 'configure' | 'close' | 'clear' | 'send' | 'join' | 'jwt' | 'echo' | 'attachment';

export interface Pending {
  kind: PendingKind;
  tracingId: string;
  frame: object;
  written: boolean;
  /** When the frame was last written (the session's clock). */
  writtenAt?: number;
  /** When the frame was written this last time (it is written again after a 429). */
  lastWrittenAt?: number;
  /** When the request gives up (the session's clock): a refused frame is written again only before this. */
  deadline?: number;
  /** Genesys refused the frame (429) and asked to wait: it goes out again no sooner than this. */
  notBefore?: number;
  /** A guest message whose reply was lost with the socket: it is verified, never blindly re-sent. */
  inDoubt: boolean;
  /** Our id for a guest message (`message.metadata.id`). */
  messageId?: string;
  /** The text of a guest message, for matching an echo that carries no `tracingId`. */
  text?: string;
  /** The payload of a guest's answer (quick reply, button): with its text, how history shows it (deliveryProof.ts). */
  payload?: string;
  /** The file an attachment request is about: every attachment reply names it. */
  attachmentId?: string;
  /** A guest message that names uploaded files: only such a send can be refused for a file (4008-4010). */
  carriesFiles?: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  /** Its deadline fell due: judged on the loop's next turn (a reply read meanwhile still answers it), never written. */
  due?: boolean;
  /** Its span from request to reply, with tracing on. */
  span?: Span;
}

/** Frames sent with no reply expected: the guest typing, a read receipt. */
export type NoReplyKind = 'typing' | 'read';

/** What a request that is no longer waiting leaves behind, so its late replies are recognised. */
interface Retired {
  kind: PendingKind | NoReplyKind;
  at: number;
  /** Our id of a guest message, so its late echo is known for what it answers. */
  messageId?: string;
  /** Its text: a late echo without tracingId or our id looks like any send's with the same text. */
  text?: string;
}

/** The inbound reply classes that carry no correlation of their own, and what they can answer. */
export type ReplyClass = 'session' | 'jwt' | 'joinEcho' | 'cleared';

const ANSWERS: Record<ReplyClass, readonly PendingKind[]> = {
  session: ['configure', 'close'],
  jwt: ['jwt'],
  joinEcho: ['join'],
  cleared: ['clear'],
};

/**
 * Which kinds of request can provoke an error code (docs/genesys-protocol.md#error-codes).
 * Codes not listed can come from any request.
 */
const ERROR_SOURCES: Partial<Record<number, readonly (PendingKind | NoReplyKind)[]>> = {
  401: ['configure'],
  4000: ['attachment'],
  4001: ['attachment'],
  4002: ['attachment'],
  4003: ['attachment'],
  4004: ['attachment'],
  4005: ['attachment'],
  4008: ['attachment', 'send'],
  4009: ['attachment', 'send'],
  4010: ['attachment', 'send'],
  4011: ['send'],
  4013: ['send', 'join'],
  4017: ['configure'],
  4020: ['send', 'join', 'configure', 'clear'],
};

/**
 * Error texts that name their cause (docs/genesys-protocol.md#error-codes):
 * a 403 about conversation clear answers a Clear, one about the feature
 * toggle answers typing, whatever else was waiting.
 */
const ERROR_TEXT_SOURCES: [RegExp, readonly (PendingKind | NoReplyKind)[]][] = [
  [/conversation clear/i, ['clear']],
  [/feature toggle/i, ['typing']],
];

type ErrorTarget = { to: Pending } | { ambiguous: number } | { none: true };

export class PendingRequests {
  private readonly pending = new Map<string, Pending>();
  private readonly retired = new Map<string, Retired>();

  /**
   * @param lateWindowMs how long a request that gave up (timed out) or a
   * fire-and-forget frame (typing) still counts as the possible cause of a
   * reply that carries no tracingId.
   */
  constructor(
    private readonly lateWindowMs: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  values(): IterableIterator<Pending> {
    return this.pending.values();
  }

  /** A guest message waits for its echo (queued, written or in doubt): Genesys may place it before what comes first. */
  get awaitingSendEcho(): boolean {
    for (const p of this.pending.values()) if (p.kind === 'send') return true;
    return false;
  }

  add(p: Pending): void {
    this.pending.set(p.tracingId, p);
  }

  /** Takes a request out of the book; `gaveUp` keeps its tracingId so a late reply is dropped, not misrouted. */
  remove(p: Pending, gaveUp: boolean): boolean {
    if (this.pending.get(p.tracingId) !== p) return false;
    this.pending.delete(p.tracingId);
    if (gaveUp && p.written) this.retire(p.tracingId, { kind: p.kind, messageId: p.messageId, text: p.text });
    return true;
  }

  /** A frame sent with no reply expected (typing, a read receipt): its errors must not land on another request. */
  sentWithoutReply(tracingId: string, kind: NoReplyKind): void {
    this.retire(tracingId, { kind });
  }

  /** The request a frame with this tracingId answers; `retired` when it belongs to one no longer waiting. */
  byTracingId(tracingId: string): Pending | 'retired' | undefined {
    const p = this.pending.get(tracingId);
    if (p) return p;
    this.prune();
    return this.retired.has(tracingId) ? 'retired' : undefined;
  }

  /** Whether the newest frame written on this socket that no longer waits is of `kind`, and was written within `ms`. */
  lastRetiredWas(kind: PendingKind | NoReplyKind, ms: number): boolean {
    this.prune();
    let last: Retired | undefined;
    for (const r of this.retired.values()) last = r;
    return last !== undefined && last.kind === kind && this.now() - last.at <= ms;
  }

  /** What kind of request a no-longer-waiting tracingId was sent by, if it is remembered. */
  retiredKind(tracingId: string): PendingKind | NoReplyKind | undefined {
    this.prune();
    return this.retired.get(tracingId)?.kind;
  }

  /** Our id of the guest message a no-longer-waiting send with this tracingId carried. */
  retiredSend(tracingId: string): string | undefined {
    this.prune();
    const r = this.retired.get(tracingId);
    return r?.kind === 'send' ? r.messageId : undefined;
  }

  /** The oldest written request a reply of this class can answer, if any. */
  untracedReply(reply: ReplyClass): Pending | undefined {
    const kinds = ANSWERS[reply];
    for (const p of this.pending.values()) if (p.written && kinds.includes(p.kind)) return p;
    return undefined;
  }

  /**
   * The guest message an echo without tracingId answers: the written send
   * with our id (`lateFor` when that send no longer waits), else the only
   * written send with the same text. The text decides only when nothing
   * else could have sent it: not a send that gave up recently (its late echo
   * looks the same), and not a send in doubt, whose echo may come late on
   * the new socket; such a send is proved from history instead.
   */
  untracedEcho(messageId: string | undefined, text: string | undefined): Pending | { lateFor: string } | undefined {
    this.prune();
    const sends = [...this.pending.values()].filter((p) => p.written && p.kind === 'send');
    if (messageId !== undefined) {
      const byId = sends.find((p) => p.messageId === messageId);
      if (byId) return byId;
      for (const r of this.retired.values())
        if (r.kind === 'send' && r.messageId === messageId) return { lateFor: messageId };
    }
    if (text === undefined) return undefined;
    const same = sends.filter((p) => p.text === text);
    const gaveUpWithSameText = [...this.retired.values()].some((r) => r.kind === 'send' && r.text === text);
    return same.length === 1 && !gaveUpWithSameText && !same[0]!.inDoubt ? same[0] : undefined;
  }

  /** The written attachment request about this file, if one waits. */
  byAttachment(attachmentId: string): Pending | undefined {
    for (const p of this.pending.values())
      if (p.written && p.kind === 'attachment' && p.attachmentId === attachmentId) return p;
    return undefined;
  }

  /** The one request an untraced error frame can belong to, or how many it could; `text` is the frame's error text. */
  untracedError(code: number, text: string): ErrorTarget {
    this.prune();
    const sources = ERROR_TEXT_SOURCES.find(([pattern]) => pattern.test(text))?.[1] ?? ERROR_SOURCES[code];
    const could = (kind: PendingKind | NoReplyKind) => sources === undefined || sources.includes(kind);
    const fileCode = code === 4008 || code === 4009 || code === 4010;
    // A send in doubt was written on a socket that is gone: no frame on this one answers it.
    const live = [...this.pending.values()].filter(
      (p) => p.written && !p.inDoubt && could(p.kind) && !(fileCode && p.kind === 'send' && !p.carriesFiles),
    );
    let gone = 0;
    for (const r of this.retired.values()) if (could(r.kind)) gone++;
    if (live.length === 1 && gone === 0) return { to: live[0]! };
    if (live.length + gone === 0) return { none: true };
    return { ambiguous: live.length + gone };
  }

  /**
   * What an untraced 429 received at `at` can answer: the requests written
   * before it on this socket and still unanswered (`live`), and how many
   * others it could belong to instead (`gone`): requests that gave up
   * recently, and frames with no reply (typing, read receipts) younger than `typingMs`.
   */
  refusalCandidates(at: number, typingMs: number): { live: Pending[]; gone: number } {
    this.prune();
    const live = [...this.pending.values()].filter(
      (p) => p.written && !p.inDoubt && (p.lastWrittenAt ?? p.writtenAt ?? 0) <= at,
    );
    let gone = 0;
    for (const r of this.retired.values())
      if ((r.kind !== 'typing' && r.kind !== 'read') || r.at > at - typingMs) gone++;
    return { live, gone };
  }

  /** Replies to frames sent on an earlier socket cannot arrive on a new one. */
  newConnection(): void {
    this.retired.clear();
  }

  /** Settles every request with the same error (the socket or the session is gone). */
  failAll(
    error: GuestApiError,
    settle: (p: Pending, e: GuestApiError) => void,
    filter: (p: Pending) => boolean = () => true,
  ): void {
    for (const p of [...this.pending.values()]) if (filter(p)) settle(p, error);
  }

  private retire(tracingId: string, what: Omit<Retired, 'at'>): void {
    this.prune();
    this.retired.set(tracingId, { ...what, at: this.now() });
  }

  private prune(): void {
    const cutoff = this.now() - this.lateWindowMs;
    for (const [id, r] of this.retired) {
      if (r.at >= cutoff) break; // insertion order is time order
      this.retired.delete(id);
    }
  }
}
