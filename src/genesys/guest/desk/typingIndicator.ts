/**
 * The guest's typing indicator: at most one per cooldown (Genesys asks for 5 s), and free again as soon as the guest's
 * own message echo arrives, as the SDK clears it on the echo (core/MessagingClientImpl.kt, `userTypingProvider`).
 */
export class TypingIndicator {
  private lastSentAt = -Infinity;

  constructor(
    /** Writes one indicator: true once written (no reply comes), else false. */
    private readonly write: () => Promise<boolean>,
    private readonly cooldownMs: number,
    private readonly now: () => number,
  ) {}

  /** Sends one unless one went within the cooldown: true once written, else false. */
  async send(): Promise<boolean> {
    const now = this.now();
    if (now - this.lastSentAt < this.cooldownMs) return false;
    const sent = await this.write();
    if (sent) this.lastSentAt = now;
    return sent;
  }

  /** The guest's own message came back: the next indicator may go at once. */
  echoed(): void {
    this.lastSentAt = -Infinity;
  }
}
