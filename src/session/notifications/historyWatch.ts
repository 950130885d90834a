import { type GenesysSignIn, GuestApiError, type NewestPage, type SessionHub } from '../../genesys/guest';
import type { Logger } from '../../observability/logger';
import { notifyHistoryReads } from '../../observability/metrics';
import type { ReadPacer } from './readPacer';

/** A guest JWT is fetched again this long before it expires. */
const JWT_MARGIN_MS = 60_000;
/** A wait is lengthened by up to this share, so that chats watched together drift apart. */
const JITTER = 0.1;

/** What watching by history reads needs, beyond the sockets kept for watching (NOTIFY_SOCKETS_MAX). */
export interface HistoryWatchParts {
  /**
   * The deployment's hub of brief sockets that only fetch a chat's guest JWT (getJwt), under a small ceiling of
   * their own; its `history` reads the newest page, counted in the session's history budget.
   */
  hub: SessionHub;
  /** Whether the hub may open one more brief socket now. */
  room: () => boolean;
  /** The process-wide pace of these reads (NOTIFY_HISTORY_READS_PER_SECOND). */
  pacer: ReadPacer;
  /** NOTIFY_POLL_SECONDS and NOTIFY_POLL_MAX_SECONDS, in ms. */
  pollMs: number;
  pollMaxMs: number;
}

interface HistoryPollOptions {
  parts: HistoryWatchParts;
  guestToken: string;
  signIn?: GenesysSignIn;
  /** Takes a page read: how many replies on it are new (to push). */
  take: (page: NewestPage) => Promise<number>;
  /** The chat is over at Genesys: the watch ends and its records go. */
  over: (reason: string) => void;
  logger: Logger;
}

/**
 * Watches one chat without a socket: reads its newest history page at a backed-off pace. The first read comes at
 * once (what came before the watch); after a read with new replies the next comes NOTIFY_POLL_SECONDS later, and
 * each read that finds nothing new (or that Genesys fails) doubles the wait up to NOTIFY_POLL_MAX_SECONDS. A 429
 * waits at least its Retry-After; a read held back here before it went out comes again when the refusal says.
 * Every read waits its turn at the process-wide pacer, and goes out only inside the half of the session's history
 * budget no client asked for (GuestHistory `reconnect`). The guest JWT a read needs comes from a brief socket
 * (getJwt) closed as soon as it answers, and is kept until shortly before it expires.
 */
export class HistoryPoll {
  private delayMs: number;
  private timer?: NodeJS.Timeout;
  private cancelTurn?: () => void;
  private jwt?: { jwt: string; exp: number };
  private stopped = false;
  /** What a history read needs of the chat: its token, and its JWT from a brief socket. */
  private readonly session: { token: string; getJwt: () => Promise<{ jwt: string; exp: number }>; forgetJwt(): void };

  constructor(private readonly options: HistoryPollOptions) {
    this.delayMs = options.parts.pollMs;
    this.session = {
      token: options.guestToken,
      getJwt: () => this.fetchJwt(),
      forgetJwt: () => (this.jwt = undefined),
    };
  }

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.cancelTurn?.();
  }

  private schedule(waitMs: number): void {
    if (this.stopped) return;
    const jittered = waitMs + Math.floor(Math.random() * waitMs * JITTER);
    this.timer = setTimeout(() => void this.poll(), jittered);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const { parts, take, logger } = this.options;
    const turn = parts.pacer.turn();
    this.cancelTurn = turn.cancel;
    if (!(await turn.ready) || this.stopped) return;
    this.cancelTurn = undefined;
    let waitMs: number;
    try {
      const fresh = await take(await parts.hub.history.newest(this.session, 'reconnect'));
      if (this.stopped) return;
      notifyHistoryReads.inc({ outcome: fresh > 0 ? 'replies' : 'nothing_new' });
      if (fresh > 0) this.delayMs = parts.pollMs;
      waitMs = this.delayMs;
      if (fresh === 0) this.delayMs = Math.min(this.delayMs * 2, parts.pollMaxMs);
    } catch (error) {
      if (this.stopped) return;
      const outcome = outcomeOf(error);
      notifyHistoryReads.inc({ outcome });
      if (outcome === 'ended') return this.options.over('the chat is over at Genesys');
      const retryAfterMs = error instanceof GuestApiError ? (error.retryAfterSeconds ?? 0) * 1000 : 0;
      if (outcome === 'refused') {
        // Held back here (the session's budget, the brief sockets' ceiling), never sent: Genesys said nothing, so
        // the pace stays; the read comes again when the refusal said, NOTIFY_POLL_SECONDS at the soonest.
        logger.debug({ err: error }, 'a history read watching a chat was held back; it comes again shortly');
        waitMs = Math.max(parts.pollMs, retryAfterMs);
      } else {
        logger.info({ err: error, outcome }, 'a history read watching a chat did not answer; it waits longer');
        this.delayMs = Math.min(this.delayMs * 2, parts.pollMaxMs);
        waitMs = Math.max(this.delayMs, retryAfterMs);
      }
    }
    this.schedule(waitMs);
  }

  private async fetchJwt(): Promise<{ jwt: string; exp: number }> {
    if (this.jwt && this.jwt.exp * 1000 - JWT_MARGIN_MS > Date.now()) return this.jwt;
    const { hub, room } = this.options.parts;
    if (!room()) {
      throw new GuestApiError('rate_limited', 'As many brief sockets fetch history credentials as may; later.', {
        retryAfterSeconds: 1,
      });
    }
    const session = hub.session(this.options.guestToken, this.options.signIn);
    try {
      this.jwt = await session.getJwt();
      return this.jwt;
    } finally {
      session.retire('closed once it gave a credential for history reads');
    }
  }
}

function outcomeOf(error: unknown): 'rate_limited' | 'refused' | 'ended' | 'failed' {
  if (!(error instanceof GuestApiError)) return 'failed';
  if (error.fatalForSession) return 'ended';
  if (error.failure !== 'rate_limited') return 'failed';
  // Genesys's own 429 carries its code; a read the session's budget (or the ceiling) held back never went out.
  return error.logDetail?.genesysCode === 429 ? 'rate_limited' : 'refused';
}
