import { BffError } from './errors.js';
import type { ChatStream, LiveStream, StreamHandlers, StreamOptions, StreamState } from './stream.js';
import type { ChatTabs, TabNote } from './tabs.js';
import type { Availability, ChatMessage, NoticeEvent, ReceiptEvent } from './types.js';

/**
 * One live stream for every tab of the site: the tab holding the `stream` lock (Web Locks) keeps the
 * connection and relays each event over the tabs' BroadcastChannel; the others hand what they hear to their
 * own handlers. When the leading tab closes (or its page goes), the next tab in the lock's queue takes over,
 * resuming after the last event id any tab saw, so nothing is missed (the service replays what came after it)
 * and nothing doubles (a message keeps its id). A stream that stopped for good (the session ended) stops in
 * every tab.
 */

type Relayed =
  | { what: 'message'; message: ChatMessage }
  | { what: 'receipt'; event: ReceiptEvent }
  | { what: 'notice'; event: NoticeEvent }
  | { what: 'typing'; event: { durationMs?: number } }
  | { what: 'presence'; event: { presence: string; readOnly?: boolean } }
  | { what: 'availability'; event: Availability }
  | { what: 'session'; event: Parameters<NonNullable<StreamHandlers['session']>>[0] }
  | { what: 'open' }
  | { what: 'state'; state: StreamState }
  | { what: 'error'; error: { status: number; code: string; message: string; retryAfterSeconds?: number } }
  /** A tab that just opened its share asks the leader how things stand. */
  | { what: 'hello' }
  /** The leader's answer to one tab's hello. */
  | { what: 'welcome'; state: StreamState };

export class SharedStream implements ChatStream {
  private current: StreamState = 'connecting';
  private closed = false;
  private opened = false;
  private live: LiveStream | undefined;
  private release: (() => void) | undefined;
  private lastEventId: string | undefined;
  private readonly giveUp = new AbortController();
  private readonly unlisten: () => void;

  constructor(
    private readonly tabs: ChatTabs,
    private readonly connect: (handlers: StreamHandlers, options: StreamOptions) => LiveStream,
    private readonly handlers: StreamHandlers,
    private readonly options: StreamOptions,
  ) {
    this.lastEventId = options.lastEventId;
    this.unlisten = tabs.listen((note) => this.heard(note));
    this.send({ what: 'hello' });
    tabs.lead('stream', this.giveUp.signal, () => this.lead());
  }

  get state(): StreamState {
    return this.current;
  }

  get leading(): boolean {
    return this.live !== undefined;
  }

  get catchingUp(): boolean {
    return this.live?.catchingUp ?? false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.giveUp.abort();
    this.unlisten();
    this.live?.close();
    this.live = undefined;
    this.release?.();
    this.setState('closed');
  }

  private async lead(): Promise<void> {
    // Notes sent before the lock came (a final error from the tab that held it) are heard first.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (this.closed) return;
    const held = new Promise<void>((resolve) => (this.release = resolve));
    this.live = this.connect(this.relay(), { ...this.options, lastEventId: this.lastEventId });
    return held;
  }

  /** The leader's handlers: each event for this tab and, with the id it came with, for the others. */
  private relay(): StreamHandlers {
    const tell = (note: Relayed) => {
      this.lastEventId = this.live?.lastEvent ?? this.lastEventId;
      this.send(note);
    };
    const { handlers } = this;
    return {
      message: (message) => {
        tell({ what: 'message', message });
        handlers.message?.(message);
      },
      receipt: (event) => {
        tell({ what: 'receipt', event });
        handlers.receipt?.(event);
      },
      notice: (event) => {
        tell({ what: 'notice', event });
        handlers.notice?.(event);
      },
      typing: (event) => {
        tell({ what: 'typing', event });
        handlers.typing?.(event);
      },
      presence: (event) => {
        tell({ what: 'presence', event });
        handlers.presence?.(event);
      },
      availability: (event) => {
        tell({ what: 'availability', event });
        handlers.availability?.(event);
      },
      session: (event) => {
        tell({ what: 'session', event });
        handlers.session?.(event);
      },
      open: () => {
        tell({ what: 'open' });
        this.opens();
      },
      state: (state) => {
        // A leader's own close is not the stream's: another tab takes over.
        if (state === 'closed') return;
        tell({ what: 'state', state });
        this.setState(state);
      },
      error: (error) => {
        const { status, code, message, retryAfterSeconds } = error;
        tell({ what: 'error', error: { status, code, message, retryAfterSeconds } });
        this.close();
        handlers.error?.(error);
      },
    };
  }

  private heard(note: TabNote): void {
    if (note.kind !== 'stream' || this.closed) return;
    const relayed = note as unknown as Relayed & TabNote;
    if (typeof note.lastEventId === 'string') this.lastEventId = note.lastEventId;
    if (this.live) {
      if (relayed.what === 'hello') this.send({ what: 'welcome', state: this.current }, note.from);
      return;
    }
    switch (relayed.what) {
      case 'message':
        return this.handlers.message?.(relayed.message);
      case 'receipt':
        return this.handlers.receipt?.(relayed.event);
      case 'notice':
        return this.handlers.notice?.(relayed.event);
      case 'typing':
        return this.handlers.typing?.(relayed.event);
      case 'presence':
        return this.handlers.presence?.(relayed.event);
      case 'availability':
        return this.handlers.availability?.(relayed.event);
      case 'session':
        return this.handlers.session?.(relayed.event);
      case 'open':
        return this.opens();
      case 'state':
        return this.setState(relayed.state);
      case 'welcome':
        this.setState(relayed.state);
        if (relayed.state === 'open' && !this.opened) this.opens();
        return;
      case 'error':
        this.close();
        this.handlers.error?.(new BffError(relayed.error));
        return;
    }
  }

  /** Open in this tab: the first time loads history, a later one (a reconnect or a takeover) catches up. */
  private opens(): void {
    const reconnected = this.opened;
    this.opened = true;
    this.setState('open');
    this.handlers.open?.({ reconnected });
  }

  private send(note: Relayed, to?: string): void {
    this.tabs.post({ kind: 'stream', ...note, lastEventId: this.lastEventId, ...(to ? { to } : {}) });
  }

  private setState(state: StreamState): void {
    if (state === this.current) return;
    this.current = state;
    this.handlers.state?.(state);
  }
}
