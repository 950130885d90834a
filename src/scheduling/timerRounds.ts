import { AsyncResource } from 'node:async_hooks';

/**
 * Many periodic jobs of the same interval on one timer: each job runs once
 * per `intervalMs`, counted from when it was added, checked on a tick every
 * second (or every interval, when shorter). A timer per job (a keep-alive
 * ping per Guest API socket, a heartbeat per live stream) woke the process
 * hundreds of times a second with thousands of chats (bench/README.md); this
 * wakes it once per tick and runs what is due. A job runs up to one tick
 * late, never early. The timer exists only while there is a job. Each job
 * runs in the asynchronous context it was added from, not the timer's: a
 * job added for one deployment (observability/deploymentContext.ts) runs,
 * logs and counts as that deployment's work.
 */
export class TimerRounds {
  /**
   * Each job and when it is next due; a Map keeps insertion order, and a job
   * that ran is moved to the end, so the first one is always the next due.
   */
  private readonly due = new Map<() => void, number>();
  private timer?: NodeJS.Timeout;
  private readonly tickMs: number;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tickMs = Math.min(1000, intervalMs);
  }

  get size(): number {
    return this.due.size;
  }

  /** Runs `job` every interval until the returned function is called. */
  add(job: () => void): () => void {
    const run = AsyncResource.bind(job);
    this.due.set(run, this.now() + this.intervalMs);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
    return () => this.remove(run);
  }

  private remove(job: () => void): void {
    this.due.delete(job);
    if (this.due.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = this.now();
    for (const [job, at] of this.due) {
      if (at > now) break;
      this.due.delete(job);
      this.due.set(job, now + this.intervalMs);
      job();
    }
  }
}
