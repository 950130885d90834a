/**
 * What a sealed token cannot say for itself: that its chat was ended, or
 * that a stream ticket was already used. Tokens are sealed, not stored, so
 * they cannot be revoked; instead the Genesys guest token of an ended chat
 * is remembered until any token for it would have expired anyway, and each
 * ticket's id until the ticket expires.
 *
 * In memory this holds for the instance that saw the DELETE or the ticket;
 * the shared store (REDIS_URL) makes it hold for every instance.
 */
export interface Revocations {
  /** Remembers `guestToken` as ended until `untilMs` (epoch ms). */
  markEnded(guestToken: string, untilMs: number): Promise<void>;
  isEnded(guestToken: string): Promise<boolean>;
  /** True the first time a ticket id is claimed, false ever after (until `untilMs`). */
  claimTicket(ticketId: string, untilMs: number): Promise<boolean>;
  /** Whether a ticket id was already claimed; claims nothing. */
  ticketUsed(ticketId: string): Promise<boolean>;
}

/** A bounded map of keys to expiry times; the oldest entries go first when full. */
class ExpiringSet {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  has(key: string): boolean {
    const until = this.until.get(key);
    return until !== undefined && until > this.now();
  }

  add(key: string, untilMs: number): void {
    this.until.delete(key);
    this.until.set(key, untilMs);
    const now = this.now();
    for (const [k, until] of this.until) {
      if (this.until.size <= this.maxEntries && until > now) break;
      this.until.delete(k);
    }
  }
}

export class MemoryRevocations implements Revocations {
  private readonly ended: ExpiringSet;
  private readonly tickets: ExpiringSet;

  constructor(maxEntries = 100_000, now: () => number = Date.now) {
    this.ended = new ExpiringSet(maxEntries, now);
    this.tickets = new ExpiringSet(maxEntries, now);
  }

  async markEnded(guestToken: string, untilMs: number): Promise<void> {
    this.ended.add(guestToken, untilMs);
  }

  async isEnded(guestToken: string): Promise<boolean> {
    return this.ended.has(guestToken);
  }

  async claimTicket(ticketId: string, untilMs: number): Promise<boolean> {
    if (this.tickets.has(ticketId)) return false;
    this.tickets.add(ticketId, untilMs);
    return true;
  }

  async ticketUsed(ticketId: string): Promise<boolean> {
    return this.tickets.has(ticketId);
  }
}
