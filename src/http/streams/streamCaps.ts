import { AppError } from '../../domain/errors';
import { limitsRefused } from '../../observability/metrics';

/**
 * How many live streams one session (STREAMS_PER_SESSION) and one client address (STREAMS_PER_IP) hold open on
 * this instance, whichever deployment each is for: one count shared by every deployment's streams, so a client
 * cannot open more by choosing another deployment's origin.
 */
export class StreamCaps {
  private readonly bySession = new Map<string, number>();
  private readonly byIp = new Map<string, number>();

  constructor(private readonly limits: { perSession: number; perIp: number }) {}

  /** Refuses a stream over either cap, before any work is done for it. */
  admit(session: string, ip: string): void {
    const tooMany = (what: string) =>
      new AppError('rate_limited', `Too many live streams are open for this ${what}; close one first.`, {
        retryAfterSeconds: 5,
      });
    if ((this.bySession.get(session) ?? 0) >= this.limits.perSession) {
      limitsRefused.inc({ limit: 'streams_per_session' });
      throw tooMany('session');
    }
    if ((this.byIp.get(ip) ?? 0) >= this.limits.perIp) {
      limitsRefused.inc({ limit: 'streams_per_ip' });
      throw tooMany('address');
    }
  }

  /** Counts an admitted stream; the returned function uncounts it. */
  hold(session: string, ip: string): () => void {
    count(this.bySession, session, +1);
    count(this.byIp, ip, +1);
    return () => {
      count(this.bySession, session, -1);
      count(this.byIp, ip, -1);
    };
  }
}

function count(counts: Map<string, number>, key: string, delta: number): void {
  const next = (counts.get(key) ?? 0) + delta;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}
