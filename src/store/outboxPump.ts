import type { DurableQueue, QueuedEntry } from './durableQueue';

export interface OutboxPumpOptions {
  queue: DurableQueue;
  /** The most entries held at once (leased and not yet handed back). */
  atOnce: number;
  /** How long a lease keeps other instances off an entry: longer than `deliver` takes with its writes. */
  leaseMs: number;
  /** How often the queue is looked at when nothing nudges it (what another instance left, retries come due). */
  pollMs: number;
  now: () => number;
  /**
   * Does one leased entry: removes, retries or buries it. What it throws is the store failing mid-way: the lease
   * lapses and the entry comes due again. The owner logs it (`onDeliveryError`).
   */
  deliver: (entry: QueuedEntry) => Promise<void>;
  onDeliveryError: (error: unknown, entry: QueuedEntry) => void;
  /** After each round whose lease the store answered (gauges of the queue's depth, say). */
  afterRound?: () => Promise<void>;
  /** The store stopped answering (once per outage), and answered again. */
  onStoreDown: (error: unknown) => void;
  onStoreBack: () => void;
  /** Whether rounds go on by themselves after one ran; false: only a nudge starts the next. True by default. */
  polling?: () => boolean;
}

/**
 * Takes entries from a DurableQueue, as many at once as `atOnce`, to a `deliver` function: the loop both outboxes
 * (webhooks, e-mails) share. Each round leases the entries due, up to the free slots; a round that filled every slot
 * runs again at once, else the next waits `pollMs` or a nudge (something was queued) or a delivery ending (a slot
 * free). One round runs at a time; a nudge during it runs another at its end. A store that does not answer skips the
 * round (the entries wait in the store), told once per outage.
 */
export class OutboxPump {
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  private running = false;
  private again = false;
  private started = false;
  private closed = false;
  private storeDown = false;

  constructor(private readonly options: OutboxPumpOptions) {}

  start(): void {
    this.started = true;
    this.later(0);
  }

  /** Something was queued: a round now rather than at the next poll. */
  nudge(): void {
    if (this.closed || !this.started) return;
    if (this.running) this.again = true;
    else this.later(0);
  }

  /** No more rounds; deliveries under way end by themselves (their leases lapse if they cannot). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private later(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.round(), ms);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    if (this.closed || this.running) return;
    const { queue, atOnce, leaseMs, now, afterRound } = this.options;
    this.running = true;
    this.again = false;
    try {
      const free = atOnce - this.inFlight;
      if (free > 0) {
        const leased = await queue.lease(now(), leaseMs, free);
        for (const entry of leased) void this.deliver(entry);
        if (leased.length === free) this.again = true;
      }
      await afterRound?.();
      if (this.storeDown) this.options.onStoreBack();
      this.storeDown = false;
    } catch (error) {
      if (!this.storeDown) this.options.onStoreDown(error);
      this.storeDown = true;
    } finally {
      this.running = false;
      if (this.again) this.later(0);
      else if (this.options.polling?.() ?? true) this.later(this.options.pollMs);
    }
  }

  private async deliver(entry: QueuedEntry): Promise<void> {
    this.inFlight++;
    try {
      await this.options.deliver(entry);
    } catch (error) {
      this.options.onDeliveryError(error, entry);
    } finally {
      this.inFlight--;
      if (!this.running && (this.options.polling?.() ?? true)) this.later(0);
    }
  }
}
