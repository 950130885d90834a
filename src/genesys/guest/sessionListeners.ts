import type { Logger } from '../../observability/logger';
import type { GuestEvent } from './desk';

/** The live streams listening to one guest session: each event reaches each of them, and one that throws is logged. */
export class SessionListeners {
  private readonly all = new Set<(event: GuestEvent) => void>();

  constructor(private readonly logger: Logger) {}

  get size(): number {
    return this.all.size;
  }

  /** Adds a listener; the function returned removes it. */
  add(listener: (event: GuestEvent) => void): () => void {
    this.all.add(listener);
    return () => void this.all.delete(listener);
  }

  /** Tells one listener, if it still listens. */
  tellOne(listener: (event: GuestEvent) => void, event: GuestEvent): void {
    if (!this.all.has(listener)) return;
    try {
      listener(event);
    } catch (error) {
      this.logger.error({ err: error }, 'stream listener failed');
    }
  }

  tell(event: GuestEvent): void {
    for (const listener of this.all) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error }, 'stream listener failed');
      }
    }
  }
}
