import { AppError } from '../../domain/errors';
import { limitsRefused } from '../../observability/metrics';

/**
 * The uploads this instance runs at once (UPLOADS_MAX: each holds a spooled file and a Genesys upload) and one
 * client address runs (UPLOADS_PER_IP), whichever deployment each is for: one set of slots shared by every
 * deployment, so a client cannot take more slots by choosing another deployment's origin. A session has one slot of
 * its own besides (Genesys takes one file at a time).
 */
export class UploadSlots {
  private readonly uploading = new Set<string>();
  private readonly byIp = new Map<string, number>();

  constructor(private readonly limits: { max: number; perIp: number }) {}

  /**
   * Reserves the session's slot before the body is read, within the instance's and the client address's share;
   * the returned function frees it (once, however often it is called).
   */
  reserve(session: string, ip: string): () => void {
    if (this.uploading.has(session)) {
      limitsRefused.inc({ limit: 'uploads_in_flight' });
      throw new AppError('rate_limited', 'A file is already being uploaded in this session; send one file at a time.', {
        retryAfterSeconds: 2,
      });
    }
    const fromIp = this.byIp.get(ip) ?? 0;
    if (fromIp >= this.limits.perIp) {
      limitsRefused.inc({ limit: 'uploads_per_ip' });
      throw new AppError(
        'rate_limited',
        `At most ${this.limits.perIp} uploads at once from one address; wait for one to finish.`,
        { retryAfterSeconds: 5 },
      );
    }
    if (this.uploading.size >= this.limits.max) {
      limitsRefused.inc({ limit: 'uploads_in_flight' });
      throw new AppError('rate_limited', 'This instance is busy uploading files; retry shortly.', {
        retryAfterSeconds: 5,
      });
    }
    this.uploading.add(session);
    this.byIp.set(ip, fromIp + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.uploading.delete(session);
      const left = (this.byIp.get(ip) ?? 1) - 1;
      if (left > 0) this.byIp.set(ip, left);
      else this.byIp.delete(ip);
    };
  }
}
