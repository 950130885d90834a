import type { Logger } from '../../../observability/logger';
import { sessionKeyOf, type SharedStore } from '../../../store';

/**
 * One Genesys socket per guest session across instances, after restarts and
 * scaling too. The proxy keeps a session's requests on one instance, but
 * when the set of instances changes a session's requests move (to another
 * instance while its own is down, back when it returns) while its live
 * stream stays where it was: two sockets, and with sends in flight a third
 * (Genesys allows 3 and closes the oldest on a 4th).
 *
 * So each session has an owner in the shared store (`owner:<session hash>`,
 * this instance's random id, expiring unless renewed): an instance that
 * opens the session's socket takes it (the proxy sent the session here, so
 * this is where it lives now), and every `intervalMs` an instance renews the
 * sessions whose socket it holds. One that finds another owner hands its
 * session over: its streams end telling their clients to reconnect (through
 * the proxy, to the new owner) and its socket closes. A session therefore
 * holds two sockets for at most about `intervalMs` after it moves, and
 * never three. While the store cannot answer nothing is handed over (an
 * outage must not close streams).
 */
export interface OwnedSession {
  readonly token: string;
  /** The socket is open (or opening): worth renewing. */
  readonly holdsSocket: boolean;
  /** Something waits on the session right now (a send in flight): hand it over on a later round. */
  readonly hasRequestsInFlight: boolean;
  handOver(): void;
}

interface SessionOwnershipOptions {
  store: SharedStore;
  instanceId: string;
  logger: Logger;
  /** The sessions this instance holds now. */
  sessions: () => Iterable<OwnedSession>;
  /** How often ownership is renewed and checked (ms); default 1000. */
  intervalMs?: number;
  /** How long an owner record lives without renewal (ms); default 15000. */
  ttlMs?: number;
}

export class SessionOwnership {
  private readonly timer: NodeJS.Timeout;
  private running = false;
  private readonly ttlMs: number;

  constructor(private readonly options: SessionOwnershipOptions) {
    this.ttlMs = options.ttlMs ?? 15_000;
    this.timer = setInterval(() => void this.round(), options.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** This instance opened the session's socket: it is the owner now. */
  take(token: string): void {
    this.options.store.put(keyOf(token), this.options.instanceId, this.ttlMs).catch(() => undefined);
  }

  private async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const session of [...this.options.sessions()]) {
        if (!session.holdsSocket) continue;
        const owner = await this.renew(session.token);
        if (owner === 'other' && !session.hasRequestsInFlight) {
          this.options.logger.info(
            { chat: sessionKeyOf(session.token) },
            'session moved to another instance; handing it over',
          );
          session.handOver();
        }
      }
    } catch {
      // The store did not answer: keep everything as it is until it does.
    } finally {
      this.running = false;
    }
  }

  /** Renews this instance's claim; 'other' when another instance holds the session. */
  private async renew(token: string): Promise<'mine' | 'other'> {
    const { store, instanceId } = this.options;
    const key = keyOf(token);
    if (await store.swap(key, instanceId, instanceId, this.ttlMs)) return 'mine';
    if (await store.claim(key, instanceId, this.ttlMs)) return 'mine';
    return (await store.get(key)) === instanceId ? 'mine' : 'other';
  }

  close(): void {
    clearInterval(this.timer);
  }
}

function keyOf(token: string): string {
  return `owner:${sessionKeyOf(token)}`;
}
