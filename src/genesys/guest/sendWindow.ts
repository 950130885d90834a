/**
 * A sliding-window count: at most `limit` uses in any `windowMs`, on one
 * instance. Guest sessions use it for Genesys's message rate.
 *
 * Genesys allows a guest session 5 `onMessage` frames a second and answers
 * the excess with 429/4029 (docs/genesys-protocol.md#limits-and-timing). This
 * sliding window counts every `onMessage` the service sends on the session
 * (messages, the autostart Join, typing, Clear), so the service itself never
 * crosses that line: a send that would is refused here with the wait.
 */
export class SendWindow {
  private readonly sentAt: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Milliseconds until one more frame fits; 0 when it fits now. */
  waitMs(): number {
    this.prune();
    if (this.sentAt.length < this.limit) return 0;
    return this.sentAt[this.sentAt.length - this.limit]! + this.windowMs - this.now();
  }

  /** Records a frame; returns false (and records nothing) when the window is full. */
  take(): boolean {
    if (this.waitMs() > 0) return false;
    this.sentAt.push(this.now());
    return true;
  }

  private prune(): void {
    const cutoff = this.now() - this.windowMs;
    while (this.sentAt.length > 0 && this.sentAt[0]! <= cutoff) this.sentAt.shift();
  }
}
