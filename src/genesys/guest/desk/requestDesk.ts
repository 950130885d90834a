import { randomUUID } from 'node:crypto';
import { endClientSpan, startClientSpan, tracingOn } from '../../../observability/tracing';
import { GuestApiError } from '../protocol';
import { genesysCircuitReleases } from '../../../observability/metrics';
import {
  configureLost,
  inDoubtError,
  mayHaveArrived,
  queueRefusal,
  type QueueLimit,
  releasedError,
  timeoutError,
  waitOf,
} from './deskErrors';
import type { GuestSocket } from '../link';
import type { ReplyDesk } from './inboundDispatch';
import { PendingRequests, type NoReplyKind, type Pending, type PendingKind } from './pendingRequests';
import { SendWindow } from './sendWindow';
import { UntracedRefusals } from './untracedRefusals';

/**
 * Where a guest session's requests wait: each gets a tracingId, a deadline
 * and a place in the book (pendingRequests.ts) until its reply settles it.
 *
 * Genesys's budgets are spent here, never overrun
 * (docs/genesys-protocol.md#limits-and-timing):
 * - `onMessage` frames (messages, Join, Clear, typing) are paced to the
 *   session's message rate and go out one at a time, in order: the next
 *   waits until the one before is answered (or briefly, `LANE_HOLD_MS`), so
 *   a refused message is sent again before the ones after it;
 * - every frame counts against the connection's request budget; requests
 *   other than messages leave a reserve for them, so a burst of attachment
 *   links never starves a send;
 * - a wait longer than 70 % of the request deadline is refused at once with
 *   its Retry-After instead of running into the deadline.
 *
 * A 429 means the frame was not accepted: the request it names (by
 * tracingId, or by counting: untracedRefusals.ts) goes out again after
 * `retryAfter`; none that was accepted is ever written twice
 * (docs/genesys-protocol.md#rate-limits-and-refusals).
 */
export interface DeskSocket {
  /** The socket requests are written to, when there is one. */
  current(): GuestSocket | undefined;
  isReady(): boolean;
  /** Asks for a connection; the desk flushes when it is configured. */
  wake(): void;
  /** Set when the session can no longer be used. */
  dead(): GuestApiError | undefined;
}

export interface DeskLimits {
  /** `onMessage` frames a second (GENESYS_MESSAGES_PER_SECOND). */
  messagesPerSecond: number;
  /** Frames a connection may send a minute (GENESYS_REQUESTS_PER_MINUTE). */
  requestsPerMinute: number;
  /** How long a message holds the lane while its reply is awaited (default 1 s; 0 lets messages overlap). */
  laneHoldMs?: number;
}

/**
 * A request not yet written that will be: not in doubt (proven, never re-sent).
 * A configure is never one: it is written when asked for (`request`).
 */
const waitingItsTurn = (p: Pending): boolean => !p.written && !p.inDoubt;

/** Requests that are `onMessage` frames, which Genesys counts toward its message rate. */
const COUNTED: ReadonlySet<PendingKind> = new Set(['send', 'join', 'clear']);

/**
 * How long a message holds the lane while its reply is awaited: a refusal
 * comes quickly, an answer that does not must not hold the session up.
 */
const LANE_HOLD_MS = 1000;
/** Added to each window: the service's clock and Genesys's see a frame at slightly different times. */
const CLOCK_SLACK_MS = 100;
/** The share of its deadline a request may wait for its turn (a 10-message burst at 2 a second fits in 10 s). */
export const MAX_QUEUE_SHARE = 0.7;

export class RequestDesk implements ReplyDesk {
  readonly pending: PendingRequests;
  private readonly messages: SendWindow;
  private readonly budget: SendWindow;
  private readonly budgetLimit: number;
  private readonly laneHoldMs: number;
  /** Budget kept for messages and configure (half): other requests (attachment links, JWTs) stop short of it. */
  private readonly reserve: number;
  /** Nothing is written before this (a 429 asked to wait). */
  private holdUntil = 0;
  /** Refusals without tracingId, attributed by counting (untracedRefusals.ts). */
  private readonly untraced: UntracedRefusals;
  private pumpTimer?: NodeJS.Timeout;
  /** Set while flush() runs: a request it refuses must not start another pump inside it. */
  private pumping = false;

  constructor(
    private readonly socket: DeskSocket,
    private readonly requestTimeoutMs: number,
    limits: DeskLimits,
    private readonly now: () => number,
  ) {
    this.pending = new PendingRequests(2 * requestTimeoutMs, now);
    this.messages = new SendWindow(limits.messagesPerSecond, 1000 + CLOCK_SLACK_MS, now);
    this.budget = new SendWindow(limits.requestsPerMinute, 60_000 + CLOCK_SLACK_MS, now);
    this.budgetLimit = limits.requestsPerMinute;
    this.laneHoldMs = limits.laneHoldMs ?? LANE_HOLD_MS;
    this.untraced = new UntracedRefusals({
      pending: this.pending,
      now,
      holdUntil: () => this.holdUntil,
      refused: (p, error, fail) => (fail ? this.settle(p, error) : this.writeAgainLater(p, error)),
    });
    this.reserve = Math.min(Math.max(1, Math.floor(limits.requestsPerMinute / 2)), limits.requestsPerMinute - 1);
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * The longest a request may wait for its turn before it is refused
   * instead: the rest of its deadline is Genesys's to answer.
   */
  private get maxQueueMs(): number {
    return this.requestTimeoutMs * MAX_QUEUE_SHARE;
  }

  request<T>(
    kind: PendingKind,
    build: (tracingId: string) => object,
    about?: { messageId?: string; text?: string; payload?: string; attachmentId?: string; carriesFiles?: boolean },
  ): Promise<T> {
    const dead = this.socket.dead();
    if (dead) return Promise.reject(dead);
    // A configure with no socket to prepare (it closed while a signed-in
    // customer's JWT was renewed) fails now, not at its deadline.
    if (kind === 'configure' && !this.socket.current()) return Promise.reject(configureLost());
    if (kind !== 'configure') {
      const { waitMs, limit } = this.projectedWait(COUNTED.has(kind));
      if (waitMs > this.maxQueueMs) return Promise.reject(queueRefusal(limit, waitMs));
    }
    const tracingId = randomUUID();
    // From the request to its matched reply (tracing on), a child of the HTTP request that asked.
    const span = tracingOn()
      ? startClientSpan(`guest ${kind}`, { 'genesys.guest.request': kind, 'genesys.guest.tracing_id': tracingId })
      : undefined;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        kind,
        tracingId,
        span,
        frame: build(tracingId),
        written: false,
        inDoubt: false,
        deadline: this.now() + this.requestTimeoutMs,
        messageId: about?.messageId,
        text: about?.text,
        payload: about?.payload,
        attachmentId: about?.attachmentId,
        carriesFiles: about?.carriesFiles,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: setTimeout(() => this.deadlinePassed(p), this.requestTimeoutMs),
      };
      p.timer.unref();
      this.pending.add(p);
      // Configure goes out on the socket it prepares, ahead of everything else.
      if (kind === 'configure') {
        this.budget.force();
        this.write(p);
      } else if (this.socket.isReady()) this.flush();
      else this.socket.wake();
    });
  }

  /**
   * A frame Genesys sends no reply to (typing, a read receipt): it takes a message slot and
   * the request budget, and its errors must not land on another request.
   * False when it does not fit now (it is dropped, never queued).
   */
  async sendWithoutReply(build: (tracingId: string) => object, kind: NoReplyKind = 'typing'): Promise<boolean> {
    const socket = this.socket.current();
    const now = this.now();
    if (
      !socket ||
      now < this.holdUntil ||
      this.laneBusyMs(now) > 0 ||
      this.some((p) => COUNTED.has(p.kind) && !p.written && !p.inDoubt)
    )
      return false;
    if (this.budget.waitMs(this.budgetLimit - this.reserve) > 0 || !this.messages.take()) return false;
    this.budget.force();
    const tracingId = randomUUID();
    this.pending.sentWithoutReply(tracingId, kind);
    await socket.send(build(tracingId));
    return true;
  }

  /** A new socket: a new per-connection budget, and no reply to the old one's frames can come on it. */
  newConnection(): void {
    this.budget.reset();
    this.untraced.reset();
    this.pending.newConnection();
  }

  /**
   * A request's deadline fell due. A busy loop runs its timers before it reads its sockets: it is judged on the next
   * turn, once what arrived has been read (a reply read meanwhile came in time), and is never written meanwhile.
   */
  private deadlinePassed(p: Pending): void {
    p.due = true;
    setImmediate(() => {
      // Answered, refused or failed meanwhile: it is no timeout, and counts as none.
      if (this.pending.byTracingId(p.tracingId) === p) this.settle(p, timeoutError(p), true);
    });
  }

  settle(p: Pending, outcome: Error | { value: unknown }, gaveUp = false): void {
    if (!this.pending.remove(p, gaveUp)) return;
    clearTimeout(p.timer);
    endClientSpan(p.span, outcome instanceof Error ? outcome : undefined);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome.value);
    // An answer frees the message lane, and may leave an untraced 429 only one place to belong.
    this.untraced.attribute();
    if (this.pending.size > 0 && !this.pumping) this.flush();
  }

  /**
   * Genesys refused a frame: for its rate or budget (429/4029), or its
   * credentials (401 mid-session). Not accepted, so the request it answers is
   * written again after the wait (`rewrite`), or fails now when that is past
   * its deadline or `rewrite` is false.
   */
  refused(tracingId: string | undefined, error: GuestApiError, rewrite = true): void {
    this.holdUntil = Math.max(this.holdUntil, this.now() + waitOf(error));
    if (tracingId !== undefined) {
      const p = this.pending.byTracingId(tracingId);
      if (p !== undefined && p !== 'retired') {
        if (rewrite) this.writeAgainLater(p, error);
        else this.settle(p, error);
      }
      return;
    }
    this.untraced.add(rewrite ? undefined : error);
  }

  /**
   * Fails waiting requests with an error that is the session's, not a reply
   * to them: a guest message already written may have arrived all the same,
   * so it fails as in doubt (proven on retry, never re-sent blindly), unless
   * the session itself is over.
   */
  failAll(error: GuestApiError, filter: (p: Pending) => boolean = () => true): void {
    this.pending.failAll(
      error,
      (p, e) => this.settle(p, mayHaveArrived(p) && !e.fatalForSession ? inDoubtError(e) : e),
      filter,
    );
  }

  /**
   * The circuit to Genesys opened: every request still waiting is answered now (deskErrors.ts `releasedError`),
   * as at its deadline but sooner. None is written meanwhile, and a late reply to one is known for what it answers.
   */
  release(refusal: GuestApiError): void {
    const waiting = [...this.pending.values()];
    this.pumping = true;
    try {
      for (const p of waiting) this.settle(p, releasedError(p, refusal), true);
    } finally {
      this.pumping = false;
    }
    if (waiting.length > 0) genesysCircuitReleases.inc(waiting.length);
  }

  /**
   * The socket closed under written requests: a guest message may or may not
   * have arrived (in doubt, proven later, never blindly re-sent); the rest is
   * idempotent and goes out again after reconnecting.
   */
  socketLost(): void {
    for (const p of [...this.pending.values()]) {
      if (!p.written) continue;
      if (p.kind === 'configure') this.settle(p, configureLost());
      else if (p.kind === 'send') p.inDoubt = true;
      else p.written = false;
    }
  }

  // ---------------------------------------------------------------- internals

  /** How long a new request of this kind would wait for its turn, and what holds it: Genesys's own wait if longest. */
  private projectedWait(counted: boolean): { waitMs: number; limit: QueueLimit } {
    const held = Math.max(0, this.holdUntil - this.now());
    let ours: number;
    if (!counted) ours = this.budget.waitMs(this.budgetLimit - this.reserve);
    else {
      let queued = 0;
      for (const p of this.pending.values()) if (COUNTED.has(p.kind) && !p.written && !p.inDoubt) queued++;
      ours = Math.max(this.budget.waitMs(), this.messages.waitForMs(queued));
    }
    return { waitMs: Math.max(held, ours), limit: held > ours ? 'genesys_wait' : counted ? 'messages' : 'budget' };
  }

  /**
   * Writes every request whose turn has come (what waited for a configured
   * socket too), in order, and wakes up when the next one's will.
   */
  flush(): void {
    this.pumping = true;
    try {
      this.pumpOnce();
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    // A session that died fails what waits (failAll settles each, which pumps): nothing more is written for it.
    if (!this.socket.isReady() || this.socket.dead()) return;
    const now = this.now();
    if (now < this.holdUntil) {
      this.refuseWhatCannotWait();
      return this.pumpAgainIn(this.holdUntil - now);
    }
    let wait = Infinity;
    const laneBusy = this.laneBusyMs(now);
    // Messages go one at a time and in order: once one cannot go, none after it may.
    let laneBlocked = laneBusy > 0;
    if (laneBusy > 0) wait = laneBusy;
    // Attachment requests too go one at a time: a refusal without
    // tracingId (a plain 4009) then has one request to belong to.
    let fileBusy = this.some((p) => p.kind === 'attachment' && p.written && !p.inDoubt);
    for (const p of [...this.pending.values()]) {
      if (p.written || p.inDoubt || p.due) continue;
      const counted = COUNTED.has(p.kind);
      if (counted && laneBlocked) continue;
      if (p.kind === 'attachment' && fileBusy) continue;
      const blockedFor = Math.max(
        (p.notBefore ?? 0) - now,
        this.budget.waitMs(counted ? this.budgetLimit : this.budgetLimit - this.reserve),
        counted ? this.messages.waitMs() : 0,
      );
      if (blockedFor > 0) {
        if (now + blockedFor + this.laneHoldMs > (p.deadline ?? Infinity)) {
          // Its turn would come after its deadline: refused now with the wait (not written, so safe to retry).
          this.settle(
            p,
            new GuestApiError('rate_limited', 'Genesys allows only so many requests; retry after the given time.', {
              retryAfterSeconds: Math.max(1, Math.ceil(blockedFor / 1000)),
            }),
          );
          continue;
        }
        wait = Math.min(wait, blockedFor);
        if (counted) laneBlocked = true;
        continue;
      }
      if (counted) {
        this.messages.take();
        laneBlocked = this.laneHoldMs > 0;
        if (this.laneHoldMs > 0) wait = Math.min(wait, this.laneHoldMs);
      }
      if (p.kind === 'attachment') fileBusy = true;
      this.budget.force();
      this.write(p);
    }
    // Only for a request still waiting its turn: a free lane is found by the next request's own flush, and a
    // timer per message would wake the process once more for every message sent.
    if (wait < Infinity && this.some(waitingItsTurn)) this.pumpAgainIn(wait);
  }

  /**
   * Genesys asked to wait past some requests' deadlines: those not yet
   * written fail now (not delivered, safe to retry), not at their deadline.
   */
  private refuseWhatCannotWait(): void {
    const retryAfterSeconds = Math.max(1, Math.ceil((this.holdUntil - this.now()) / 1000));
    for (const p of [...this.pending.values()]) {
      if (p.written || p.inDoubt || (p.deadline ?? Infinity) > this.holdUntil + this.laneHoldMs) continue;
      this.settle(
        p,
        new GuestApiError('rate_limited', 'Genesys asks to slow down; retry after the given time.', {
          retryAfterSeconds,
        }),
      );
    }
  }

  private pumpAgainIn(ms: number): void {
    this.pumpTimer = setTimeout(() => this.flush(), Math.max(1, Math.ceil(ms)));
    this.pumpTimer.unref();
  }

  /** Milliseconds until the message written last stops holding the lane (0: free). */
  private laneBusyMs(now: number): number {
    let busy = 0;
    for (const p of this.pending.values()) {
      if (COUNTED.has(p.kind) && p.written && !p.inDoubt && p.lastWrittenAt !== undefined)
        busy = Math.max(busy, p.lastWrittenAt + this.laneHoldMs - now);
    }
    return busy;
  }

  private some(test: (p: Pending) => boolean): boolean {
    for (const p of this.pending.values()) if (test(p)) return true;
    return false;
  }

  /**
   * A refused request goes out again after the wait, or fails now
   * (not delivered: safe to retry) when that is past its deadline.
   */
  private writeAgainLater(p: Pending, error: GuestApiError): void {
    const notBefore = Math.max(this.holdUntil, this.now() + waitOf(error));
    if (p.kind === 'configure' || notBefore + this.laneHoldMs > (p.deadline ?? Infinity)) {
      this.settle(p, error);
      return;
    }
    p.written = false;
    p.notBefore = notBefore;
    this.pumpAgainIn(notBefore - this.now());
  }

  private write(p: Pending): void {
    const socket = this.socket.current();
    if (!socket) return;
    p.written = true;
    p.writtenAt ??= this.now();
    p.lastWrittenAt = this.now();
    socket.send(p.frame).catch(() => {
      // The close handler decides what happens to a frame that may or may not have left.
    });
  }
}
