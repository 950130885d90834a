import type { AddOutcome, DurableQueue, QueuedEntry } from '../durableQueue';

/**
 * A durable queue in this process's memory (one instance): it lasts as long as the process, as every record of the
 * memory store does. `onceKeys` are checked with the `claim` of the store it belongs to.
 */
export class MemoryQueue implements DurableQueue {
  /** Queued entries: value and when each is due. */
  private readonly entries = new Map<string, { value: string; dueAt: number }>();
  /** Dead letters, oldest first (a Map keeps insertion order). */
  private readonly deadLetters = new Map<string, { value: string; at: number }>();

  constructor(
    private readonly once: (key: string, ttlMs: number) => Promise<boolean>,
    private readonly forget: (key: string) => Promise<void>,
  ) {}

  async add(
    entries: readonly QueuedEntry[],
    options: { dueAt: number; max: number; onceKey: string; onceMs: number },
  ): Promise<AddOutcome> {
    const fresh = entries.filter((e) => !this.entries.has(e.id));
    if (this.entries.size + fresh.length > options.max) return 'full';
    if (!(await this.once(options.onceKey, options.onceMs))) return 'duplicate';
    // Checked again: another add may have filled the queue while the once key was claimed.
    if (this.entries.size + fresh.length > options.max) {
      await this.forget(options.onceKey);
      return 'full';
    }
    for (const e of entries) {
      // An id among the dead letters leaves them: an id is never both queued and dead.
      this.deadLetters.delete(e.id);
      this.entries.set(e.id, { value: e.value, dueAt: options.dueAt });
    }
    return 'added';
  }

  async lease(now: number, leaseMs: number, limit: number): Promise<QueuedEntry[]> {
    const due = [...this.entries]
      .filter(([, e]) => e.dueAt <= now)
      .sort((a, b) => a[1].dueAt - b[1].dueAt)
      .slice(0, limit);
    for (const [, e] of due) e.dueAt = now + leaseMs;
    return due.map(([id, e]) => ({ id, value: e.value }));
  }

  async retry(entry: QueuedEntry, dueAt: number): Promise<void> {
    if (this.entries.has(entry.id)) this.entries.set(entry.id, { value: entry.value, dueAt });
  }

  async remove(id: string): Promise<void> {
    this.entries.delete(id);
  }

  async bury(entry: QueuedEntry, at: number, options: { max: number; keepMs: number }): Promise<number> {
    if (!this.entries.delete(entry.id)) return 0;
    this.deadLetters.set(entry.id, { value: entry.value, at });
    // The oldest first by the time each was buried, not the order they came in: instances' clocks differ, so a
    // letter buried later may carry an earlier time.
    let dropped = 0;
    for (const [id, d] of this.byAge()) {
      if (d.at > at - options.keepMs && this.deadLetters.size <= options.max) break;
      this.deadLetters.delete(id);
      dropped++;
    }
    return dropped;
  }

  async dead(limit: number): Promise<QueuedEntry[]> {
    return this.byAge()
      .slice(0, limit)
      .map(([id, d]) => ({ id, value: d.value }));
  }

  /** The dead letters, oldest first by when each was buried, then by id: the Redis queue's sorted-set order. */
  private byAge(): [string, { value: string; at: number }][] {
    return [...this.deadLetters].sort(([a, x], [b, y]) => x.at - y.at || (a < b ? -1 : a > b ? 1 : 0));
  }

  async revive(entries: readonly QueuedEntry[], dueAt: number, max: number): Promise<number> {
    let revived = 0;
    for (const e of entries) {
      if (this.entries.size >= max) break;
      if (!this.deadLetters.delete(e.id)) continue;
      this.entries.set(e.id, { value: e.value, dueAt });
      revived++;
    }
    return revived;
  }

  async depth(): Promise<{ queued: number; dead: number }> {
    return { queued: this.entries.size, dead: this.deadLetters.size };
  }
}
