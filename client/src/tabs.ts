import { randomKey } from './transport.js';

/**
 * The tabs of one site that share a chat: a BroadcastChannel between them, and Web Locks
 * (`navigator.locks`) to choose the one that holds the live stream and to let one tab at a
 * time start a session. Where either is missing (older browsers, some embedded views), each
 * tab keeps its own stream and `canShareStream` is false.
 */

/** What a tab tells the others about the conversation, so each shows the same thing. */
export type TabEvent =
  /** The guest is ending the chat in another tab (the streams' end that follows is theirs, not an expiry). */
  | { type: 'ending' }
  /** The guest ended the chat in another tab. */
  | { type: 'ended' }
  /** The end asked for in another tab failed: the chat goes on. */
  | { type: 'end_failed' }
  /** Another tab started a new session (its `routingKey` names it; not a secret): resume it here. */
  | { type: 'started'; routingKey: string };

/** The browser pieces the tabs use; tests or other runtimes pass their own. */
export interface TabPlatform {
  BroadcastChannel?: typeof BroadcastChannel;
  locks?: LockManager;
}

/** A note on the channel: from which tab object, and what. */
export interface TabNote {
  from: string;
  to?: string;
  kind: string;
  [field: string]: unknown;
}

export class ChatTabs {
  /** This tab object's id on the channel (a page may hold more than one client). */
  readonly id = randomKey();
  private channel: BroadcastChannel | undefined;
  private readonly listeners = new Set<(note: TabNote) => void>();
  private readonly ChannelImpl: typeof BroadcastChannel | undefined;
  private readonly locks: LockManager | undefined;

  constructor(
    readonly name: string,
    platform: TabPlatform = {},
  ) {
    const global = globalThis as { BroadcastChannel?: typeof BroadcastChannel; navigator?: { locks?: LockManager } };
    this.ChannelImpl = platform.BroadcastChannel ?? global.BroadcastChannel;
    this.locks = platform.locks ?? global.navigator?.locks;
  }

  /** One stream for all tabs needs both a channel to relay its events and a lock to choose who holds it. */
  get canShareStream(): boolean {
    return this.ChannelImpl !== undefined && this.locks !== undefined;
  }

  /** Sends a note to the other tabs (nothing without a BroadcastChannel). */
  post(note: Omit<TabNote, 'from'>): void {
    this.open()?.postMessage({ ...note, from: this.id });
  }

  /** Hears the other tabs' notes (not this object's own). */
  listen(listener: (note: TabNote) => void): () => void {
    this.open();
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  announce(event: TabEvent): void {
    this.post({ kind: 'announce', event });
  }

  /** Hears what the other tabs announce. */
  onAnnouncement(listener: (event: TabEvent) => void): () => void {
    return this.listen((note) => note.kind === 'announce' && listener(note.event as TabEvent));
  }

  /** Runs `task` while no other tab runs one under the same `lock` (at once, without Web Locks). */
  async exclusive<T>(lock: string, task: () => Promise<T>): Promise<T> {
    if (!this.locks) return task();
    let result: T | undefined;
    await this.locks.request(`${this.name}:${lock}`, async () => {
      result = await task();
    });
    return result as T;
  }

  /**
   * Waits for `lock` (behind every other tab that asked first) and holds it until `held` settles: the tab
   * that holds it leads. Giving up (`signal`) before it is granted leaves the queue.
   */
  lead(lock: string, signal: AbortSignal, held: () => Promise<void>): void {
    if (!this.locks) return;
    this.locks.request(`${this.name}:${lock}`, { signal }, held).catch(() => undefined);
  }

  private open(): BroadcastChannel | undefined {
    if (this.channel || !this.ChannelImpl) return this.channel;
    // Made on first use: React's StrictMode makes and drops a client that should leave no channel behind.
    this.channel = new this.ChannelImpl(this.name);
    this.channel.onmessage = (event: MessageEvent<TabNote>) => {
      const note = event.data;
      if (!note || note.from === this.id || (note.to !== undefined && note.to !== this.id)) return;
      for (const listener of [...this.listeners]) listener(note);
    };
    return this.channel;
  }
}
