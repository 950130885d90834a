/**
 * A queue that outlives the instance that wrote to it (the webhook outbox): entries wait until they are due, one
 * worker at a time holds each for a lease, and what could not be done waits in a dead-letter list for an operator.
 *
 * What it promises rests on the store keeping its records (Redis with persistence, as the shipped files run it): an
 * entry is removed only when its worker says it is done, so a worker that dies mid-lease leaves the entry to come due
 * again when the lease ends (done at least once, possibly twice). Each entry is a string value under an id; at most
 * `max` wait at once, a real ceiling.
 */
export interface QueuedEntry {
  id: string;
  value: string;
}

export type AddOutcome = 'added' | 'duplicate' | 'full';

export interface DurableQueue {
  /**
   * Adds the entries, due at `dueAt` (epoch ms), all or none: `duplicate` when `onceKey` was given to an add in the
   * last `onceMs` (nothing added), `full` when the queue would hold more than `max` (nothing added). An id already
   * queued takes the new value and time; one among the dead letters leaves them and counts as new.
   */
  add(
    entries: readonly QueuedEntry[],
    options: { dueAt: number; max: number; onceKey: string; onceMs: number },
  ): Promise<AddOutcome>;
  /**
   * Up to `limit` entries due by `now`, each leased to the caller: due again at `now + leaseMs` unless it is
   * retried, removed or buried first.
   */
  lease(now: number, leaseMs: number, limit: number): Promise<QueuedEntry[]>;
  /** The entry waits again, with a new value, until `dueAt`; nothing when it is no longer queued. */
  retry(entry: QueuedEntry, dueAt: number): Promise<void>;
  /** The entry is done: removed. */
  remove(id: string): Promise<void>;
  /**
   * The entry moves to the dead-letter list with a new value (nothing when it is no longer queued); dead letters
   * older than `keepMs` leave it, and past `max` the oldest do: answers how many left.
   */
  bury(entry: QueuedEntry, at: number, options: { max: number; keepMs: number }): Promise<number>;
  /** The dead letters, oldest first, at most `limit`. */
  dead(limit: number): Promise<QueuedEntry[]>;
  /** Dead letters back in the queue with new values, due at `dueAt`, while it holds fewer than `max`: how many. */
  revive(entries: readonly QueuedEntry[], dueAt: number, max: number): Promise<number>;
  /** How many entries wait (leased ones included), and how many dead letters there are. */
  depth(): Promise<{ queued: number; dead: number }>;
}
