/**
 * The pace of the history reads that watch chats past the sockets kept for them (historyWatch.ts): at most
 * `perSecond` a second for the whole process, every chat and deployment together, in the order they asked. A read
 * waits its turn rather than being refused, so with many chats each is read less often, and never a storm: over any
 * stretch of T seconds at most T × perSecond + 1 turns are given.
 */
export class ReadPacer {
  private readonly queue: Array<(granted: boolean) => void> = [];
  private readonly intervalMs: number;
  private nextAt = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.intervalMs = 1000 / perSecond;
  }

  /** Turns asked for and not given yet. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * A turn: `ready` resolves true when it comes, or false when `cancel` is called first (the watch ended), so no
   * cancelled turn spends a read.
   */
  turn(): { ready: Promise<boolean>; cancel: () => void } {
    let grant!: (granted: boolean) => void;
    const ready = new Promise<boolean>((resolve) => (grant = resolve));
    this.queue.push(grant);
    this.pump();
    return {
      ready,
      cancel: () => {
        const at = this.queue.indexOf(grant);
        if (at < 0) return;
        this.queue.splice(at, 1);
        grant(false);
      },
    };
  }

  private pump(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const grant = this.queue.shift();
        if (grant) {
          this.nextAt = this.now() + this.intervalMs;
          grant(true);
        }
        this.pump();
      },
      Math.max(0, this.nextAt - this.now()),
    );
    this.timer.unref();
  }
}
