import { AppError } from '../../domain/errors';
import { limitsRefused } from '../../observability/metrics';

/** What the ceiling needs of a session it holds. */
export interface HeldSession {
  /** A session with work in flight or a live stream is never closed to make room. */
  readonly busy: boolean;
  retire(reason: string): void;
}

/**
 * The most guest sessions, one upstream socket each, this instance holds (GUEST_SOCKET_MAX), whichever deployment
 * each is for: one ceiling shared by every deployment's session hub, so a process serving several deployments holds
 * no more sockets than one serving a single deployment. When it is reached, the least recently used idle session of
 * any deployment makes room; when none is idle the new session is refused (503 with Retry-After) and nothing opens.
 */
export class SessionCeiling {
  /** Insertion order is recency order: a touched session moves to the end. Each with how its hub lets it go. */
  private readonly held = new Map<HeldSession, () => void>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.held.size;
  }

  /** Frees a place for one more session: the least recently used idle one goes, or the caller is refused. */
  admit(): void {
    if (this.held.size < this.max) return;
    for (const [session, release] of this.held) {
      if (session.busy) continue;
      this.held.delete(session);
      release();
      session.retire('closed to make room for newer sessions');
      return;
    }
    limitsRefused.inc({ limit: 'guest_socket_max' });
    throw new AppError(
      'upstream_unavailable',
      'This instance is serving as many chats as it may (GUEST_SOCKET_MAX); retry shortly.',
      { status: 503, retryAfterSeconds: 5, logDetail: { guestSockets: this.held.size } },
    );
  }

  /** Counts `session` from now on; `release` takes it out of its hub when it is closed to make room. */
  hold(session: HeldSession, release: () => void): void {
    this.held.set(session, release);
  }

  /** Marks `session` the most recently used. */
  touch(session: HeldSession): void {
    const release = this.held.get(session);
    if (release === undefined) return;
    this.held.delete(session);
    this.held.set(session, release);
  }

  /** Stops counting `session` (it closed, died or its hub let it go). */
  drop(session: HeldSession): void {
    this.held.delete(session);
  }
}
