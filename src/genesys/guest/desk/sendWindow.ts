/**
 * A sliding-window count: at most `limit` uses in any `windowMs`, on one
 * instance. A guest session keeps two (requestDesk.ts): Genesys's message
 * rate (`onMessage` frames per session per second) and its request budget
 * (every frame per connection per minute), docs/genesys-protocol.md#limits-and-timing.
 */
export class SendWindow {
  private readonly sentAt: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Milliseconds until one more use fits under `limit` (default: the window's own); 0 when it fits now. */
  waitMs(limit = this.limit): number {
    this.prune();
    if (limit <= 0) return this.windowMs;
    if (this.sentAt.length < limit) return 0;
    return Math.max(1, this.sentAt[this.sentAt.length - limit]! + this.windowMs - this.now());
  }

  /** Milliseconds until `count` more uses have gone out one after the other at the window's pace. */
  waitForMs(count: number): number {
    return this.waitMs() + Math.max(0, count) * (this.windowMs / this.limit);
  }

  /** Records a use; returns false (and records nothing) when the window is full. */
  take(): boolean {
    if (this.waitMs() > 0) return false;
    this.sentAt.push(this.now());
    return true;
  }

  /** Records a use whether or not it fits (a frame that must go out, such as configure on a new socket). */
  force(): void {
    this.prune();
    this.sentAt.push(this.now());
  }

  /** Forgets every use (a new connection starts a new per-connection budget). */
  reset(): void {
    this.sentAt.length = 0;
  }

  private prune(): void {
    const cutoff = this.now() - this.windowMs;
    while (this.sentAt.length > 0 && this.sentAt[0]! <= cutoff) this.sentAt.shift();
  }
}
