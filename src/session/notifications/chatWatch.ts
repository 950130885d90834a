import { notifyWatchedChats } from '../../observability/metrics';
import { INDEX_BUCKETS, changeIndex, listed, parseRecord, recordKeys } from './pushRecords';
import { Watch } from './watch';
import type { ChatWatchOptions, WatchMode } from './watchOptions';

export type { ChatWatchOptions, WatchedAlso } from './watchOptions';

/**
 * The lease's and the scan interval's ceilings. A chat whose watching instance dies is watched again within 15 s
 * (docs/operations.md): its lease lapses at most a lease after the death (renewed every lease/3), a living
 * instance's scan reaches it within a scan interval and its walk of the lists, then the chat's socket opens. At
 * 6 s and 3 s that leaves 6 s to the walk and the socket on a busy machine; a lease still outlives 4 s of an
 * instance's stalls before another takes the chat (one socket more, no reply lost or pushed twice).
 */
const LEASE_MAX_MS = 6000;
const SCAN_MAX_MS = 3000;
/** After a history-mode watch failed to move to a socket, no watch tries for this long (Genesys may be refusing). */
const MOVE_RETRY_MS = 30_000;
/**
 * Watches chats nobody is looking at, and pushes their agent's and bot's replies. Every `scanMs` an instance reads
 * the subscription lists (pushRecords.ts) and takes the lease of each chat that no page stream has had open for
 * NOTIFY_AFTER_SECONDS and that no instance watches (a lease it takes over when the watching instance dies and
 * stops renewing it). Up to its ceiling a watched chat keeps a guest socket open (its own hub, counted apart from
 * live chats), and on start and after a reconnect reads the newest history page for what came since the page left;
 * past the ceiling the chat is watched by reading that page at a paced, backed-off rate (historyWatch.ts), until a
 * socket's place frees on this instance: then the deployment's longest-waiting history-mode watch moves to it.
 * Each reply is claimed in the store before it is pushed (one push per message across instances), replies within
 * a few seconds go as one push, and a push service's 404/410 removes the subscription. The watch ends when a page
 * stream opens again, the chat ends or expires, the subscription goes, or the lease is lost. A listed chat with an
 * opt-in of `also` (e-mail) is watched the same way, with or without a subscription, and `also` hears every reply.
 */
export class ChatWatch {
  /** This instance's watches, in the order they began: the first in history mode has waited longest for a socket. */
  private readonly watches = new Map<string, Watch>();
  /** A history-mode watch moving to a socket: one at a time, so each takes a place it was seen to have. */
  private promoting = false;
  /** No move before this (epoch ms): the last one failed. */
  private promoteAfter = 0;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  readonly leaseMs: number;
  readonly scanMs: number;
  /** How often a watch renews its lease and looks for a page: a third of the lease. */
  readonly renewMs: number;
  private scanning = false;
  private closed = false;

  constructor(private readonly options: ChatWatchOptions) {
    this.now = options.now ?? Date.now;
    this.leaseMs = Math.min(LEASE_MAX_MS, Math.max(3000, options.afterMs));
    this.scanMs = Math.min(SCAN_MAX_MS, Math.max(500, Math.floor(options.afterMs / 2)));
    this.renewMs = Math.floor(this.leaseMs / 3);
    this.timer = setInterval(() => void this.scan(), this.scanMs);
    this.timer.unref();
  }

  get size(): number {
    return this.watches.size;
  }

  /** A page stream of the chat opened here: a watch of it here ends at once (elsewhere, at its next renewal). */
  pageOpened(sk: string): void {
    this.watches.get(sk)?.stop('a page is open again', true);
  }

  /** The chat's subscription was removed (DELETE, the chat ended): a watch of it here ends. */
  forget(sk: string): void {
    this.watches.get(sk)?.stop('the subscription was removed', true);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const watch of [...this.watches.values()]) watch.stop('this instance is shutting down', true);
  }

  private async scan(): Promise<void> {
    if (this.scanning || this.closed) return;
    this.scanning = true;
    try {
      this.promote();
      for (let bucket = 0; bucket < INDEX_BUCKETS; bucket++) {
        for (const sk of await listed(this.options.store, bucket)) {
          if (this.closed) return;
          if (!this.watches.has(sk)) await this.consider(sk);
        }
      }
    } catch (error) {
      this.options.logger.debug({ err: error }, 'push watch scan stopped; the shared store did not answer');
    } finally {
      this.scanning = false;
    }
  }

  /** Takes the chat's watch when nobody looks at it and nobody watches it, and this instance has room. */
  private async consider(sk: string): Promise<void> {
    const { store } = this.options;
    const keys = recordKeys(sk);
    if ((await store.get(keys.lease)) !== undefined) return;
    if ((await store.get(keys.seen)) !== undefined) return;
    const record = this.options.sender ? parseRecord(await store.get(keys.record)) : undefined;
    const chat = record?.chat ?? (await this.options.also?.sealedChat(sk));
    if (chat === undefined) {
      // The subscription (and any other opt-in) expired or was removed: the list forgets it.
      await changeIndex(store, sk, false, this.options.recordMs);
      return;
    }
    const mode: WatchMode = this.options.room() ? 'socket' : 'history';
    if (!(await store.claim(keys.lease, this.options.instanceId, this.leaseMs))) return;
    // Read again once the lease is held: a page stream that opened meanwhile wrote `notify-seen` before it looked
    // for a lease (ChatNotifications.pageOpened), so either it waits for this watch or this one opens nothing. An
    // instance that closed meanwhile (it drains) starts nothing either: close() has stopped the watches it knew.
    if ((await store.get(keys.seen)) !== undefined || this.closed) {
      await store.swap(keys.lease, this.options.instanceId, undefined, 1);
      return;
    }
    const watch = new Watch(sk, chat, record, mode, this.options, this.leaseMs, this.renewMs, this.now, (was) => {
      this.watches.delete(sk);
      // A socket's place freed (once its session has left the ceiling): the longest waiting moves to it.
      if (was === 'socket' && !this.closed) setImmediate(() => this.promote());
    });
    this.watches.set(sk, watch);
    notifyWatchedChats.inc({ mode });
    // Not awaited: a chat whose socket is slow to open does not hold up the scan of the others.
    void watch.start();
  }

  /**
   * While this instance has room for a socket, moves its longest-waiting history-mode watch to one, then the next;
   * called when a socket watch ends and at every scan (a socket's place frees once its session has left).
   */
  private promote(): void {
    if (this.promoting || this.closed || this.now() < this.promoteAfter || !this.options.room()) return;
    const watch = [...this.watches.values()].find((w) => w.movable);
    if (!watch) return;
    this.promoting = true;
    void watch.toSocket().then((outcome) => {
      this.promoting = false;
      if (outcome === 'moved') this.promote();
      else if (outcome === 'failed') this.promoteAfter = this.now() + MOVE_RETRY_MS;
    });
  }
}
