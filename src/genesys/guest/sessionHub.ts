import type { AxiosInstance } from 'axios';
import type { Logger } from '../../observability/logger';
import type { GuestApiError } from './errors';
import { GuestHistory } from './history';
import { GuestSession } from './guestSession';

/**
 * One upstream socket per guest session per instance, shared by sends, live
 * streams and JWT fetches. Genesys allows 3 connections per session and
 * 1000 new connections per minute per deployment (§4), so sockets are
 * reused across requests, closed when idle, and bounded in number (LRU).
 */
export interface SessionHubOptions {
  deploymentId: string;
  webMessagingUrl: string;
  apiUrl: string;
  origin: string;
  http: AxiosInstance;
  logger: Logger;
  requestTimeoutMs: number;
  idleMs: number;
  maxSessions: number;
  pingIntervalMs?: number;
  reconnectWindowMs?: number;
  /** `onMessage` frames a session may send per second (Genesys: 5; tests raise it). */
  messagesPerSecond?: number;
  now?: () => number;
  /** Told about every handshake, for readiness. */
  onSocketOpened?: () => void;
  onSocketFailed?: (error: GuestApiError) => void;
}

export class SessionHub {
  /** Insertion order is recency order: a touched session moves to the end. */
  private readonly sessions = new Map<string, GuestSession>();
  private readonly sweepTimer: NodeJS.Timeout;
  private opened = 0;
  readonly history: GuestHistory;

  constructor(private readonly options: SessionHubOptions) {
    this.history = new GuestHistory(options.http, options.apiUrl, options.origin);
    this.sweepTimer = setInterval(() => this.sweepIdle(), Math.max(1000, Math.floor(options.idleMs / 2)));
    this.sweepTimer.unref();
  }

  /** Sockets opened since start, for tests, benchmarks and metrics. */
  get socketsOpened(): number {
    return this.opened;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The session for a Genesys guest token, created on first use. */
  session(token: string): GuestSession {
    let session = this.sessions.get(token);
    if (session && session.isDead) {
      this.sessions.delete(token);
      session = undefined;
    }
    if (session) {
      this.sessions.delete(token);
      this.sessions.set(token, session);
      return session;
    }
    session = new GuestSession({
      token,
      deploymentId: this.options.deploymentId,
      webMessagingUrl: this.options.webMessagingUrl,
      origin: this.options.origin,
      logger: this.options.logger,
      requestTimeoutMs: this.options.requestTimeoutMs,
      pingIntervalMs: this.options.pingIntervalMs,
      reconnectWindowMs: this.options.reconnectWindowMs,
      messagesPerSecond: this.options.messagesPerSecond,
      now: this.options.now,
      readNewestHistory: (s) => this.history.newest(s),
      onSocketOpened: () => {
        this.opened++;
        this.options.onSocketOpened?.();
      },
      onSocketFailed: this.options.onSocketFailed,
      onDead: (dead) => {
        if (this.sessions.get(token) === dead) this.sessions.delete(token);
      },
    });
    this.sessions.set(token, session);
    this.evictOverflow();
    return session;
  }

  private evictOverflow(): void {
    if (this.sessions.size <= this.options.maxSessions) return;
    // Least recently used first; an idle one if there is any.
    let victim: GuestSession | undefined;
    for (const s of this.sessions.values()) {
      if (!s.busy) {
        victim = s;
        break;
      }
    }
    victim ??= this.sessions.values().next().value;
    if (!victim) return;
    this.sessions.delete(victim.token);
    victim.disconnect('closed to make room for newer sessions');
  }

  private sweepIdle(): void {
    const cutoff = (this.options.now ?? Date.now)() - this.options.idleMs;
    for (const s of this.sessions.values()) {
      if (s.lastUsedAt > cutoff || s.busy) continue;
      this.sessions.delete(s.token);
      s.disconnect('closed after being idle');
    }
  }

  /** Closes every upstream socket (shutdown). Genesys sessions stay alive for the next instance. */
  close(): void {
    clearInterval(this.sweepTimer);
    for (const s of this.sessions.values()) s.disconnect('closed because this instance is shutting down');
    this.sessions.clear();
  }
}
