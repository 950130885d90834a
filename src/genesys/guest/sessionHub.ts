import type { AxiosInstance } from 'axios';
import type { SettingNames } from '../../config/deployment';
import type { Logger } from '../../observability/logger';
import { countGuestSessions, limitsRefused } from '../../observability/metrics';
import { GuestApiError } from './protocol';
import { GuestHistory, type GenesysSignIn, type NewestPage } from './rest';
import { GuestSession, type GuestEvent } from './guestSession';
import { MemoryStore, sessionKeyOf, type SharedStore } from '../../store';
import { SessionOwnership, type GenesysGate } from './link';
import type { SessionCeiling } from './sessionCeiling';

/**
 * One upstream socket per guest session per instance, shared by sends, live
 * streams and JWT fetches. Genesys allows 3 connections per session and
 * 1,000 new connections a minute per deployment
 * (docs/genesys-protocol.md#limits-and-timing), so sockets are reused across
 * requests, closed when idle, and bounded by the instance's `ceiling`, which
 * every deployment's hub shares (sessionCeiling.ts). A session may also open
 * only so many sockets a minute, so no one guest can churn through the
 * deployment's connection budget.
 */
interface SessionHubOptions {
  deploymentId: string;
  webMessagingUrl: string;
  apiUrl: string;
  origin: string;
  /** The deployment id and `origin` as a refused handshake names them: the settings that gave them (Deployment). */
  named: Pick<SettingNames, 'deploymentId' | 'origin'>;
  http: AxiosInstance;
  logger: Logger;
  requestTimeoutMs: number;
  idleMs: number;
  /** The most sessions this instance holds, across every deployment's hub. */
  ceiling: SessionCeiling;
  /** New upstream sockets one session may open per minute (reconnects included). */
  opensPerSessionPerMinute?: number;
  /**
   * Where each session's socket opens and history reads are counted: with
   * Redis, every instance's count for a session together. By default this
   * hub's own memory, on `now`.
   */
  store?: SharedStore;
  pingIntervalMs?: number;
  reconnectWindowMs?: number;
  /** `onMessage` frames a session may send per second (GENESYS_MESSAGES_PER_SECOND, default 2; tests raise it). */
  messagesPerSecond?: number;
  /** Frames one upstream socket may send a minute (GENESYS_REQUESTS_PER_MINUTE, default 60). */
  requestsPerMinute?: number;
  now?: () => number;
  /** Told about every handshake, for readiness. */
  onSocketOpened?: () => void;
  onSocketFailed?: (error: GuestApiError) => void;
  /** The circuit to Genesys (link/guestApiHealth.ts): while it is open, calls are refused at once. */
  upstream?: GenesysGate;
  /** Renews a signed-in customer's JWT (authenticated messaging). */
  renewSignIn?: (signIn: GenesysSignIn) => Promise<GenesysSignIn>;
  /** Told every event any session of the hub tells its streams, whether or not a stream listens (webhooks). */
  observe?: (token: string, event: GuestEvent) => void;
  /**
   * Told of each read of a session's newest history page, with its token (webhooks: what no socket of this hub
   * heard, or what an instance that died heard and never told).
   */
  onNewestPage?: (token: string, page: NewestPage) => void;
  /**
   * This instance's id in the shared store's session owners (sessionOwnership.ts); only used when the store is shared.
   */
  instanceId?: string;
}

export class SessionHub {
  /** Insertion order is recency order: a touched session moves to the end. */
  private readonly sessions = new Map<string, GuestSession>();
  private readonly sweepTimer: NodeJS.Timeout;
  private opened = 0;
  private readonly store: SharedStore;
  /** With a shared store: one socket per session across instances. */
  private readonly ownership?: SessionOwnership;
  readonly history: GuestHistory;
  private readonly uncount: () => void;
  private readonly unwatch: () => void;

  constructor(private readonly options: SessionHubOptions) {
    this.store = options.store ?? new MemoryStore(undefined, options.now);
    if (this.store.shared && options.instanceId) {
      this.ownership = new SessionOwnership({
        store: this.store,
        instanceId: options.instanceId,
        logger: options.logger,
        sessions: () => this.sessions.values(),
      });
    }
    this.history = new GuestHistory(options.http, options.apiUrl, options.origin, {
      logger: options.logger,
      store: this.store,
      now: options.now,
      upstream: options.upstream,
      onNewestPage: options.onNewestPage,
    });
    this.sweepTimer = setInterval(() => this.sweepIdle(), Math.max(1000, Math.floor(options.idleMs / 2)));
    this.sweepTimer.unref();
    this.uncount = countGuestSessions(() => this.sessions.size);
    // Genesys found away: each session's waiting requests are answered at once, not at their deadline.
    this.unwatch =
      options.upstream?.onOpen((refusal) => {
        for (const session of this.sessions.values()) session.release(refusal);
      }) ?? (() => undefined);
  }

  /** Sockets opened since start, for tests, benchmarks and metrics. */
  get socketsOpened(): number {
    return this.opened;
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * The session for a Genesys guest token, created on first use; `signIn`,
   * from the caller's sealed token, is what a signed-in session configures
   * with when this instance holds nothing newer.
   */
  session(token: string, signIn?: GenesysSignIn): GuestSession {
    const session = this.sessionFor(token);
    if (signIn) session.signIn.adopt(signIn);
    return session;
  }

  /**
   * Why nothing that needs Genesys can be served now: the circuit holds Genesys for away (as it refuses sends, a
   * socket still open is no proof Genesys answers). Its Retry-After says when to come back.
   */
  upstreamRefusal(): GuestApiError | undefined {
    return this.options.upstream?.refusal();
  }

  private sessionFor(token: string): GuestSession {
    let session = this.sessions.get(token);
    if (session && session.isDead) {
      this.forget(token, session);
      session = undefined;
    }
    if (session) {
      this.sessions.delete(token);
      this.sessions.set(token, session);
      this.options.ceiling.touch(session);
      return session;
    }
    this.options.ceiling.admit();
    const created: GuestSession = new GuestSession({
      token,
      deploymentId: this.options.deploymentId,
      webMessagingUrl: this.options.webMessagingUrl,
      origin: this.options.origin,
      named: this.options.named,
      // Which chat a line is about: the session's store key (a hash), never its token.
      logger: this.options.logger.child({ chat: sessionKeyOf(token) }),
      requestTimeoutMs: this.options.requestTimeoutMs,
      pingIntervalMs: this.options.pingIntervalMs,
      reconnectWindowMs: this.options.reconnectWindowMs,
      messagesPerSecond: this.options.messagesPerSecond,
      requestsPerMinute: this.options.requestsPerMinute,
      now: this.options.now,
      readNewestHistory: (s) => this.history.newestForProof(s),
      upstream: this.options.upstream,
      beforeSocketOpen: () => {
        // No socket is opened to a Genesys the circuit holds for away: a stream's reconnect loop waits its turn.
        const refused = this.options.upstream?.refusal();
        return refused ? Promise.reject(refused) : this.allowOpen(token);
      },
      onSocketOpened: () => {
        this.opened++;
        this.ownership?.take(token);
        this.options.onSocketOpened?.();
      },
      onSocketFailed: this.options.onSocketFailed,
      renewSignIn: this.options.renewSignIn,
      observe: this.options.observe && ((event) => this.options.observe!(token, event)),
      // Only a live session dies (retire() marks one dead before it leaves), and a live session is its token's entry.
      onDead: () => this.forget(token, created),
    });
    this.sessions.set(token, created);
    this.options.ceiling.hold(created, () => this.sessions.delete(token));
    return created;
  }

  /** Lets a session go from this hub and from the instance's ceiling. */
  private forget(token: string, session: GuestSession): void {
    if (this.sessions.get(token) === session) this.sessions.delete(token);
    this.options.ceiling.drop(session);
  }

  /** The per-session budget of new sockets (a sliding minute), counted across instances when the store is shared. */
  private async allowOpen(token: string): Promise<void> {
    let waitMs: number;
    try {
      waitMs = await this.store.take(
        `rate:socket-opens:${sessionKeyOf(token)}`,
        this.options.opensPerSessionPerMinute ?? 12,
        60_000,
      );
    } catch (error) {
      throw new GuestApiError(
        'store_unavailable',
        'The shared store (Redis) did not answer, so no connection to Genesys was opened; retry shortly.',
        {
          retryAfterSeconds: 1,
          cause: error,
        },
      );
    }
    if (waitMs > 0) {
      limitsRefused.inc({ limit: 'socket_opens_per_session' });
      throw new GuestApiError('rate_limited', 'This chat reconnected too often; wait a moment before trying again.', {
        retryAfterSeconds: Math.ceil(waitMs / 1000),
      });
    }
  }

  private sweepIdle(): void {
    const cutoff = (this.options.now ?? Date.now)() - this.options.idleMs;
    for (const s of this.sessions.values()) {
      if (s.lastUsedAt > cutoff || s.busy) continue;
      this.forget(s.token, s);
      s.retire('closed after being idle');
    }
  }

  /** Closes every upstream socket (shutdown). Genesys sessions stay alive for the next instance. */
  close(): void {
    clearInterval(this.sweepTimer);
    this.uncount();
    this.unwatch();
    this.ownership?.close();
    for (const s of this.sessions.values()) {
      this.options.ceiling.drop(s);
      s.retire('closed because this instance is shutting down');
    }
    this.sessions.clear();
  }
}
