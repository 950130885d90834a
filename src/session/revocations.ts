import { sessionKeyOf, type SharedStore } from '../store/sharedStore';

/**
 * What a sealed token cannot say for itself: that its chat was ended, that
 * a sign-in replaced it, or that a stream ticket was already used. Tokens are sealed, not stored, so
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
  /**
   * Refuses every token of `guestToken`'s conversation issued before `atMs` (a sign-in changed who the
   * conversation belongs to), for `lifetimeMs`, after which any of them would have expired anyway.
   */
  cutOff(guestToken: string, atMs: number, lifetimeMs: number): Promise<void>;
  /** The ended flag and the cut-off (epoch ms, 0 when none) of `guestToken`'s conversation, read together. */
  standing(guestToken: string): Promise<{ ended: boolean; cutOffMs: number }>;
}

/**
 * Key prefixes of the records that must outlive any flood of others: the
 * in-memory store gives them a bound of their own (src/store/sharedStore.ts).
 */
export const SECURITY_RECORD_PREFIXES: readonly string[] = ['ended:', 'notbefore:'];

/** Ended sessions and used tickets as keys in the shared store (in memory, or Redis for every instance). */
export class StoreRevocations implements Revocations {
  constructor(
    private readonly store: SharedStore,
    private readonly now: () => number = Date.now,
  ) {}

  async markEnded(guestToken: string, untilMs: number): Promise<void> {
    await this.store.put(`ended:${sessionKeyOf(guestToken)}`, '1', Math.max(1, untilMs - this.now()));
  }

  async isEnded(guestToken: string): Promise<boolean> {
    return (await this.store.get(`ended:${sessionKeyOf(guestToken)}`)) !== undefined;
  }

  async cutOff(guestToken: string, atMs: number, lifetimeMs: number): Promise<void> {
    await this.store.put(`notbefore:${sessionKeyOf(guestToken)}`, String(atMs), lifetimeMs);
  }

  async standing(guestToken: string): Promise<{ ended: boolean; cutOffMs: number }> {
    const key = sessionKeyOf(guestToken);
    const [ended, cutOff] = await Promise.all([this.store.get(`ended:${key}`), this.store.get(`notbefore:${key}`)]);
    return { ended: ended !== undefined, cutOffMs: cutOff === undefined ? 0 : Number(cutOff) || 0 };
  }

  async claimTicket(ticketId: string, untilMs: number): Promise<boolean> {
    return this.store.claim(`ticket:${ticketId}`, '1', Math.max(1, untilMs - this.now()));
  }

  async ticketUsed(ticketId: string): Promise<boolean> {
    return (await this.store.get(`ticket:${ticketId}`)) !== undefined;
  }
}
