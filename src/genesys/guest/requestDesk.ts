import { randomUUID } from 'node:crypto';
import { countGenesysError, limitsRefused, sendsInDoubt } from '../../observability/metrics';
import { endClientSpan, startClientSpan, tracingOn } from '../../observability/tracing';
import { GuestApiError } from './errors';
import type { GuestSocket } from './guestSocket';
import { PendingRequests, type Pending, type PendingKind } from './pendingRequests';
import { SendWindow } from './sendWindow';

/**
 * Where a guest session's requests wait: each gets a tracingId, a deadline
 * and a place in the book (pendingRequests.ts) until its reply settles it.
 * Frames that count toward Genesys's per-session message rate pass the send
 * window first (sendWindow.ts); frames written while the socket is down go
 * out once it is configured again.
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

/** Requests that are `onMessage` frames, which Genesys counts toward its rate. */
const COUNTED: ReadonlySet<PendingKind> = new Set(['send', 'join', 'clear']);

export class RequestDesk {
  readonly pending: PendingRequests;
  private readonly window: SendWindow;

  constructor(
    private readonly socket: DeskSocket,
    private readonly requestTimeoutMs: number,
    messagesPerSecond: number,
    private readonly now: () => number,
  ) {
    this.pending = new PendingRequests(2 * requestTimeoutMs, now);
    this.window = new SendWindow(messagesPerSecond, 1000, now);
  }

  get size(): number {
    return this.pending.size;
  }

  request<T>(kind: PendingKind, build: (tracingId: string) => object, about?: { messageId?: string; text?: string; attachmentId?: string }): Promise<T> {
    const dead = this.socket.dead();
    if (dead) return Promise.reject(dead);
    if (COUNTED.has(kind)) {
      const waitMs = this.window.waitMs();
      if (waitMs > 0 || !this.window.take()) {
        limitsRefused.inc({ limit: 'session_send_rate' });
        return Promise.reject(
          new GuestApiError('rate_limited', 'Genesys accepts at most 5 messages a second in a session; retry shortly.', {
            retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
          }),
        );
      }
    }
    const tracingId = randomUUID();
    // From the request to its matched reply (tracing on), a child of the HTTP request that asked.
    const span = tracingOn() ? startClientSpan(`guest ${kind}`, { 'genesys.guest.request': kind, 'genesys.guest.tracing_id': tracingId }) : undefined;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        kind,
        tracingId,
        span,
        frame: build(tracingId),
        written: false,
        inDoubt: false,
        messageId: about?.messageId,
        text: about?.text,
        attachmentId: about?.attachmentId,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: setTimeout(() => this.settle(p, timeoutError(p), true), this.requestTimeoutMs),
      };
      p.timer.unref();
      this.pending.add(p);
      // Configure goes out on the socket it prepares, ahead of everything else.
      if (kind === 'configure' || this.socket.isReady()) this.write(p);
      else this.socket.wake();
    });
  }

  /**
   * A frame Genesys sends no reply to (typing): it counts toward the rate,
   * and its errors must not land on another request. False when the window is full.
   */
  async sendWithoutReply(build: (tracingId: string) => object): Promise<boolean> {
    const socket = this.socket.current();
    if (!socket || !this.window.take()) return false;
    const tracingId = randomUUID();
    this.pending.sentWithoutReply(tracingId, 'typing');
    await socket.send(build(tracingId));
    return true;
  }

  /** Writes what waited for a configured socket. */
  flush(): void {
    if (!this.socket.isReady()) return;
    for (const p of this.pending.values()) {
      if (!p.written && !p.inDoubt && p.kind !== 'configure') this.write(p);
    }
  }

  settle(p: Pending, outcome: Error | { value: unknown }, gaveUp = false): void {
    if (!this.pending.remove(p, gaveUp)) return;
    clearTimeout(p.timer);
    endClientSpan(p.span, outcome instanceof Error ? outcome : undefined);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome.value);
  }

  /**
   * Fails waiting requests with an error that is the session's, not a reply
   * to them: a guest message already written may have arrived all the same,
   * so it fails as in doubt (proven on retry, never re-sent blindly), unless
   * the session itself is over.
   */
  failAll(error: GuestApiError, filter: (p: Pending) => boolean = () => true): void {
    this.pending.failAll(error, (p, e) => this.settle(p, mayHaveArrived(p) && !e.fatalForSession ? inDoubtError(e) : e), filter);
  }

  /**
   * The socket closed under written requests: a guest message may or may not
   * have arrived (in doubt, proven later, never blindly re-sent); the rest is
   * idempotent and goes out again after reconnecting.
   */
  socketLost(): void {
    for (const p of [...this.pending.values()]) {
      if (!p.written) continue;
      if (p.kind === 'configure') this.settle(p, new GuestApiError('connection_lost', 'The connection to Genesys dropped while configuring.'));
      else if (p.kind === 'send') p.inDoubt = true;
      else p.written = false;
    }
  }

  private write(p: Pending): void {
    const socket = this.socket.current();
    if (!socket) return;
    p.written = true;
    p.writtenAt ??= this.now();
    socket.send(p.frame).catch(() => {
      // The close handler decides what happens to a frame that may or may not have left.
    });
  }
}

function mayHaveArrived(p: Pending): boolean {
  return p.kind === 'send' && (p.written || p.inDoubt);
}

function inDoubtError(cause: GuestApiError): GuestApiError {
  sendsInDoubt.inc();
  return new GuestApiError(
    'connection_lost',
    'The connection to Genesys was lost before it confirmed the message; it may have been delivered. Retry with the same Idempotency-Key: a delivered message is never sent twice.',
    { retryAfterSeconds: cause.retryAfterSeconds, cause },
  );
}

function timeoutError(p: Pending): GuestApiError {
  countGenesysError('timeout');
  if (p.kind === 'send' && (p.written || p.inDoubt)) {
    sendsInDoubt.inc();
    return new GuestApiError(
      'timeout',
      'Genesys did not confirm the message in time; it may have been delivered. Retry with the same Idempotency-Key: a delivered message is never sent twice.',
    );
  }
  return new GuestApiError('timeout', 'Genesys did not answer in time; please retry.');
}
