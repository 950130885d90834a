import type { NormalizedMessage } from '../../src/domain/message';
import {
  InboundDispatch,
  type ConfiguredSignIn,
  type EchoLedger,
  type InboundSession,
  type ReplyDesk,
  type UploadVerdict,
  type UploadVerdicts,
} from '../../src/genesys/guest/desk/inboundDispatch';
import { PendingRequests, type Pending, type PendingKind } from '../../src/genesys/guest/desk/pendingRequests';
import type { GuestEvent, SessionNews } from '../../src/genesys/guest/desk/sessionNews';
import { GuestApiError } from '../../src/genesys/guest/protocol/errors';
import { parseInbound, type InboundFrame, type SessionResponse } from '../../src/genesys/guest/protocol/frames';
import { createLogger } from '../../src/observability/logger';

/**
 * One stand-in for each part the inbound dispatch (src/genesys/guest/desk/inboundDispatch.ts) answers and tells,
 * and `inboundHarness`, which wires them to a real InboundDispatch: feed it a frame as it comes off the socket,
 * then read what it settled, refused, proved and told the session, and each log line.
 */

export type Outcome = Error | { value: unknown };
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** The requests waiting on the socket: a real book of pending requests; what settles them is recorded. */
export class StandInDesk implements ReplyDesk {
  readonly pending: PendingRequests;
  /** Each request settled, by tracingId: its reply, or the error it failed with. */
  readonly settled = new Map<string, Outcome>();
  /** Each rate refusal (429/4029): the tracingId it named, and the error. */
  readonly refusals: [string | undefined, GuestApiError][] = [];

  constructor(
    private readonly now: () => number,
    lateWindowMs = 60_000,
  ) {
    this.pending = new PendingRequests(lateWindowMs, now);
  }

  settle(p: Pending, outcome: Outcome, gaveUp = false): void {
    if (this.pending.remove(p, gaveUp)) this.settled.set(p.tracingId, outcome);
  }

  refused(tracingId: string | undefined, error: GuestApiError): void {
    this.refusals.push([tracingId, error]);
  }

  /** A request written (at `now`) and waiting for its reply. */
  add(kind: PendingKind, tracingId: string, extra: Partial<Pending> = {}): Pending {
    const p: Pending = {
      kind,
      tracingId,
      frame: {},
      written: true,
      writtenAt: this.now(),
      inDoubt: false,
      resolve: () => undefined,
      reject: () => undefined,
      timer: setTimeout(() => undefined, 0),
      ...extra,
    };
    this.pending.add(p);
    return p;
  }

  /** The request's deadline passed: it no longer waits, and a late reply must not land elsewhere. */
  expire(p: Pending): void {
    this.settle(p, new GuestApiError('timeout', 'deadline'), true);
  }
}

/** What echoes proved: the Genesys ids accounted for, and each late echo as [our id, Genesys id]. */
export class StandInLedger implements EchoLedger {
  readonly accounted: string[] = [];
  readonly late: [string, string][] = [];

  accountFor(messageId: string): void {
    this.accounted.push(messageId);
  }

  lateEcho(ourId: string, message: NormalizedMessage): void {
    this.late.push([ourId, message.id]);
  }
}

/** The uploads waiting for Genesys's verdict, by attachment id; each verdict handed to one is recorded. */
export class StandInUploads implements UploadVerdicts {
  readonly verdicts: [string, UploadVerdict][] = [];
  private readonly waiting: Set<string>;

  constructor(waiting: string[] = []) {
    this.waiting = new Set(waiting);
  }

  uploadSettled(attachmentId: string, outcome: UploadVerdict): boolean {
    if (!this.waiting.delete(attachmentId)) return false;
    this.verdicts.push([attachmentId, outcome]);
    return true;
  }
}

export class StandInSignIn implements ConfiguredSignIn {
  constructor(public configuredSignedIn = false) {}
}

/**
 * What the session heard, in order; what Genesys said of the session is kept as a session keeps it (a
 * SessionResponse nobody asked for replaces it, read-only marks it).
 */
export class StandInSession implements InboundSession {
  readonly news: SessionNews[] = [];

  constructor(public info?: SessionResponse) {}

  hear(news: SessionNews): void {
    this.news.push(news);
    if (news.type === 'described') this.info = news.info;
    if (news.type === 'readOnly' && this.info) this.info = { ...this.info, readOnly: true };
  }

  /** What its streams heard. */
  get events(): GuestEvent[] {
    return this.news.flatMap((n) => (n.type === 'event' ? [n.event] : []));
  }

  /** Each end it was told of. */
  get ended(): GuestApiError[] {
    return this.news.flatMap((n) => (n.type === 'ended' ? [n.error] : []));
  }

  /** Each request refused with 401 mid-session: the tracingId it named, and the error. */
  get credentialsRefused(): [string | undefined, GuestApiError][] {
    return this.news.flatMap((n) => (n.type === 'credentialsRefused' ? [[n.tracingId, n.error]] : []));
  }

  /** How many times it heard news of this type. */
  heard(type: SessionNews['type']): number {
    return this.news.filter((n) => n.type === type).length;
  }
}

/** A real InboundDispatch over the stand-ins, on a clock the test moves. */
export function inboundHarness(
  options: {
    now?: number;
    /** How long a request that gave up still counts as the cause of an untraced reply (pendingRequests.ts). */
    lateWindowMs?: number;
    info?: SessionResponse;
    /** Uploads waiting for a verdict. */
    uploads?: string[];
    signedIn?: boolean;
    /** The ledger echoes prove sends in (default a stand-in). */
    ledger?: EchoLedger;
    /** The lowest level of the lines kept (default info). */
    logLevel?: 'debug' | 'info';
  } = {},
) {
  const clock = { now: options.now ?? 0 };
  const now = () => clock.now;
  const lines: LogLine[] = [];
  const logger = createLogger({
    level: options.logLevel ?? 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  const desk = new StandInDesk(now, options.lateWindowMs);
  const ledger = new StandInLedger();
  const uploads = new StandInUploads(options.uploads);
  const signIn = new StandInSignIn(options.signedIn);
  const session = new StandInSession(options.info);
  const dispatch = new InboundDispatch({
    desk,
    ledger: options.ledger ?? ledger,
    uploads,
    signIn,
    session,
    logger,
    now,
  });
  return {
    clock,
    lines,
    desk,
    ledger,
    uploads,
    signIn,
    session,
    /** A frame as it comes off the socket: raw text, or an object sent as JSON. */
    feed(frame: object | string): void {
      dispatch.dispatch(parseInbound(typeof frame === 'string' ? frame : JSON.stringify(frame)));
    },
    /** A frame already parsed. */
    dispatch(frame: InboundFrame): void {
      dispatch.dispatch(frame);
    },
  };
}

export type InboundHarness = ReturnType<typeof inboundHarness>;
