import {
  BffError,
  type BffClient,
  type ChatMessage,
  type ChatStream,
  type SendInput,
  type SignInGrant,
  type StartedSession,
  type StartSessionOptions,
} from '../index.js';
import {
  ANNOUNCED_ENDS,
  followsOtherTab,
  holdsMessage,
  initialChatState,
  olderPageOf,
  transition,
  type AnnouncedEnd,
  type ChatEvent,
  type ChatState,
  type RequestedEnd,
} from './chatState.js';

const DEFAULT_TYPING_MS = 5000;

export interface GuestChatOptions {
  /** What a new session starts with; `start(details)` adds to it. */
  start?: StartSessionOptions;
  /** Messages per history page. */
  pageSize: number;
  /** The clock presence lines and the agent's typing are timed by. Default `Date.now`. */
  now?: () => number;
}

/** A message that came live and the page did not hold; `sound: false` where another tab of the chat sounds it. */
export type ArrivalListener = (message: ChatMessage, options: { sound: boolean }) => void;

/**
 * The guest's chat as the page runs it: its state (chatState.ts), changed in one place (`apply`) by the events the
 * session start, the live stream, the typing timer, the calls and the site's other tabs give, and what follows from
 * each change: the stream lives exactly while the chat is live, and the typing timer while the agent is shown typing.
 * `useChat` shows it through `useSyncExternalStore`; the actions are bound, to hand to components as they are.
 */
export class GuestChat {
  private state: ChatState = initialChatState;
  private readonly listeners = new Set<() => void>();
  private readonly arrivals = new Set<ArrivalListener>();
  private stream: ChatStream | undefined;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  /** The start on its way: StrictMode's mount, unmount, mount joins it rather than opening a second session. */
  private pendingStart: Promise<StartedSession> | undefined;
  /** The `start` option with the details `start()` added: what `startNew()` and another tab's new chat use. */
  private startOptions: StartSessionOptions;
  private readonly now: () => number;

  constructor(
    readonly client: BffClient,
    private readonly options: GuestChatOptions,
  ) {
    this.startOptions = options.start ?? {};
    this.now = options.now ?? Date.now;
  }

  /** For `useSyncExternalStore`: hears every change of the state. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly snapshot = (): ChatState => this.state;

  /** Hears each message that came live and was new to the page (for the unread count and its alerts). */
  onArrival(listener: ArrivalListener): () => void {
    this.arrivals.add(listener);
    return () => this.arrivals.delete(listener);
  }

  /** The page shows the chat (mounted): starts or resumes it as `autoStart` says. The function returned lets go. */
  attach(autoStart: boolean | 'resume'): () => void {
    if (autoStart === true || (autoStart === 'resume' && this.client.sessionToken !== undefined))
      void this.begin(this.startOptions, { rejoin: true });
    // Let go, whatever started the chat (this or `start()`): its stream closes and what is on its way is stale.
    return () => void this.apply({ type: 'detached' });
  }

  /** The site's other tabs share this chat: what one does to it shows here, with the reason it happened. */
  followOtherTabs(): () => void {
    return this.client.onOtherTab((event) => {
      switch (event.type) {
        case 'ending':
          this.apply({ type: 'endRequested', as: 'guest' });
          return;
        case 'end_failed':
          this.apply({ type: 'endFailed' });
          return;
        case 'ended':
          this.apply({ type: 'chatEnded', as: 'guest' });
          return;
        case 'started':
          if (followsOtherTab(this.state, event.routingKey)) void this.begin(this.startOptions, { fresh: true });
          return;
      }
    });
  }

  readonly start = (details: StartSessionOptions = {}): Promise<void> => {
    const attributes = { ...this.startOptions.attributes, ...details.attributes };
    this.startOptions = {
      ...this.startOptions,
      ...details,
      ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    };
    // A second submit (a double click) joins the start on its way: one session.
    return this.begin(this.startOptions, { rejoin: true });
  };

  /** An ended conversation still held (the agent ended it) is replaced; without a token, a plain start is new. */
  readonly startNew = (): Promise<void> =>
    this.begin({ ...this.startOptions, ...(this.client.sessionToken ? { startNew: true } : {}) });

  readonly send = async (input: SendInput): Promise<boolean> => {
    try {
      this.apply({ type: 'sent', message: await this.client.send(input) });
      return true;
    } catch (error) {
      this.apply({ type: 'sendFailed', error: failureOf(error) });
      return false;
    }
  };

  readonly loadOlder = async (): Promise<void> => {
    const page = olderPageOf(this.state);
    if (page === undefined) return;
    const { attempt } = this.state;
    try {
      const read = await this.client.history({ page, pageSize: this.options.pageSize });
      this.apply({ type: 'olderPageLoaded', attempt, page: read });
    } catch (error) {
      this.showFailure(error);
    }
  };

  readonly endChat = (): Promise<void> => this.end('guest', () => this.client.endSession());

  readonly signIn = async (grant: SignInGrant): Promise<void> => {
    try {
      await this.client.signIn(grant);
      this.apply({ type: 'signedIn' });
    } catch (error) {
      this.showFailure(error);
    }
  };

  readonly signOut = (): Promise<void> => this.end('signed_out', () => this.client.signOut());

  readonly notifyTyping = (): void => void this.client.typing().catch(() => undefined);

  readonly dismissError = (): void => void this.apply({ type: 'errorDismissed' });

  /** A failure elsewhere on the page (an upload), for the notice. */
  readonly showFailure = (error: unknown): void => void this.apply({ type: 'requestFailed', error: failureOf(error) });

  /** The one place the state changes. False when the event is refused: the state stays as it was. */
  private apply(event: ChatEvent): boolean {
    const next = transition(this.state, event);
    if (!next) return false;
    this.state = next;
    if (next.phase !== 'live') this.closeStream();
    if (next.phase !== 'live' || !next.typing) clearTimeout(this.typingTimer);
    for (const listener of this.listeners) listener();
    return true;
  }

  /**
   * Ends the chat here as the guest asked (`endSession`, `signOut`). The stream may hear the end before the answer
   * comes: that stop is this end, not an expiry. Answered or not, the client has let go of the session's token, so
   * a failure ends the chat here too, with the failure to show.
   */
  private async end(as: RequestedEnd, ask: () => Promise<void>): Promise<void> {
    this.apply({ type: 'endRequested', as });
    try {
      await ask();
      this.apply({ type: 'chatEnded', as });
    } catch (error) {
      this.apply({ type: 'chatEnded', as, error: failureOf(error) });
    }
  }

  /** `fresh`: start on a clean page whatever the answer says; `rejoin`: join a start on its way. */
  private async begin(options: StartSessionOptions, { rejoin = false, fresh = false } = {}): Promise<void> {
    this.apply({ type: 'startRequested', fresh: fresh || options.startNew === true });
    const { attempt } = this.state;
    const pending = (rejoin && this.pendingStart) || this.client.startSession(options);
    this.pendingStart = pending;
    let session: StartedSession;
    try {
      session = await pending;
    } catch (error) {
      this.apply({ type: 'startFailed', attempt, error: failureOf(error) });
      return;
    } finally {
      if (this.pendingStart === pending) this.pendingStart = undefined;
    }
    if (!this.apply({ type: 'sessionStarted', attempt, session })) return;
    if (this.state.phase === 'live') this.openStream(attempt);
    this.client.capabilities().then(
      (capabilities) => this.apply({ type: 'capabilitiesRead', attempt, capabilities }),
      () => undefined,
    );
  }

  private openStream(attempt: number): void {
    this.stream = this.client.stream(
      {
        open: ({ reconnected }) => {
          if (this.apply({ type: 'streamOpened', attempt })) void this.reload(attempt, reconnected);
        },
        state: (state) => {
          if (state === 'reconnecting') this.apply({ type: 'streamReconnecting', attempt });
        },
        message: (message) => this.arrived(attempt, message),
        receipt: (receipt) => this.apply({ type: 'receiptArrived', attempt, receipt }),
        notice: (notice) => {
          const id = notice.code === 'masked' ? (notice.messageId ?? notice.attachmentId) : undefined;
          if (id !== undefined) this.apply({ type: 'inputMasked', attempt, id });
        },
        typing: (event) => this.showTyping(attempt, event.durationMs ?? DEFAULT_TYPING_MS),
        presence: (presence) => this.apply({ type: 'presenceChanged', attempt, presence, at: this.now() }),
        availability: (availability) => this.apply({ type: 'availabilityChanged', attempt, availability }),
        session: (event) => {
          if (event.state === 'expiring') this.apply({ type: 'expiryWarned', attempt });
          if (event.state === 'expiry_cleared') this.apply({ type: 'expiryCleared', attempt });
          if (event.state === 'signed_in') this.apply({ type: 'signedIn' });
          if (isAnnouncedEnd(event.state)) this.apply({ type: 'endAnnounced', attempt, as: event.state });
        },
        error: (error) => this.apply({ type: 'streamFailed', attempt, error }),
      },
      { catchUpPageSize: this.options.pageSize },
    );
    // A stream whose handlers ended the chat while it was being made is not kept.
    if (this.state.phase !== 'live') this.closeStream();
  }

  private closeStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    stream?.close();
  }

  /**
   * Every (re)open: the stream resumes from its last event. Reloading the newest page after a reconnect also covers a
   * gap it could not replay, waiting out a Retry-After; the stream itself does the same on `replay_incomplete`,
   * handing what it reloads to `message`.
   */
  private async reload(attempt: number, reconnected: boolean): Promise<void> {
    const pageSize = this.options.pageSize;
    try {
      if (reconnected) this.apply({ type: 'caughtUp', attempt, messages: await this.client.catchUp({ pageSize }) });
      else this.apply({ type: 'newestPageLoaded', attempt, page: await this.client.history({ page: 1, pageSize }) });
    } catch (error) {
      this.showFailure(error);
    }
  }

  private arrived(attempt: number, message: ChatMessage): void {
    const fresh = !holdsMessage(this.state, message.id);
    if (!this.apply({ type: 'messageArrived', attempt, message }) || !fresh) return;
    // Sounded by the tab holding the stream only; every hidden tab counts it and may notify (one per id).
    const sound = this.stream?.leading ?? true;
    for (const listener of this.arrivals) listener(message, { sound });
  }

  private showTyping(attempt: number, durationMs: number): void {
    const until = this.now() + durationMs;
    if (!this.apply({ type: 'agentTyping', attempt, until })) return;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.apply({ type: 'typingLapsed', until }), durationMs);
  }
}

function isAnnouncedEnd(state: string): state is AnnouncedEnd {
  return (ANNOUNCED_ENDS as readonly string[]).includes(state);
}

function failureOf(error: unknown): BffError {
  return error instanceof BffError ? error : new BffError({ status: 0, code: 'unknown', message: String(error) });
}
