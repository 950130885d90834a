import { BffError } from './errors.js';
import type { Availability, ChatMessage, NoticeEvent, ReceiptEvent } from './types.js';

/**
 * The live event stream with resume: one EventSource per connection, a fresh
 * ticket for each, the last event's id carried over so a reopened stream
 * first sends what came while it was down, and reconnect with backoff.
 */

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StreamHandlers {
  /** Every message: the agent's and bot's, and the guest's own echoes (dedupe by `id`). */
  message?(message: ChatMessage): void;
  /**
   * What Genesys said of one of the guest's messages (delivered, read, failed with its reasons). A reopened stream
   * sends again those since its place: apply them by message id, a status only moving forward (`applyReceipt`).
   */
  receipt?(event: ReceiptEvent): void;
  /** The service hid sensitive data in the guest's message (or file name) before Genesys saw it (`NoticeEvent`). */
  notice?(event: NoticeEvent): void;
  typing?(event: { durationMs?: number }): void;
  /** A join or a disconnect; `name`: who, when Genesys names them; `readOnly`: the agent ended the conversation. */
  presence?(event: { presence: string; readOnly?: boolean; name?: string; time?: string }): void;
  /**
   * Session events from the service; the last one of a stream carries `reconnect`.
   * `expiring` (with `expiresAt`) comes five minutes before Genesys would end an idle session.
   * `signed_in`: the conversation is now signed in (with the customer's name, when Genesys gives it);
   * `existing_session_cleared`: this sign-in ended the customer's older signed-in conversation. A stream ends with `signed_out` when the
   * customer signed out (here or on another device), `signed_in_elsewhere`, or `reauthentication_required`
   * when Genesys asked the customer to sign in again.
   */
  session?(event: {
    state: string;
    detail?: string;
    reconnect?: boolean;
    expiresAt?: string;
    /** With `signed_in`: the customer's name, when Genesys gives it. */
    customer?: { firstName?: string; lastName?: string };
  }): void;
  /**
   * While the guest waits for an agent (none has joined yet): whether anyone is there and the estimated wait, when
   * the estimate changes noticeably or the centre closes. The same shape as `client.availability()`.
   */
  availability?(event: Availability): void;
  /**
   * The stream is open. Load history here on the first open. After a
   * reconnect (`reconnected: true`) the stream itself first sends what came
   * while it was down (it resumes from the last event's id). When it cannot
   * (a `session` event says `replay_incomplete`), the stream reloads
   * history itself, from the newest page back to the one holding its place
   * (at most CATCH_UP_PAGES), waiting out any `Retry-After` and trying again
   * until it has it (or the stream closes), and hands those messages to
   * `message` (unless `catchUp: false`).
   */
  open?(info: { reconnected: boolean }): void;
  /** The stream's state changed (for a status line). */
  state?(state: StreamState): void;
  /** The stream stopped for good: the session ended, its token was refused, or the service refuses this page's origin. */
  error?(error: BffError): void;
}

export interface StreamOptions {
  /** First reconnect delay in ms (doubles each failure that gives no Retry-After, with jitter). Default 1000. */
  initialDelayMs?: number;
  /** Longest reconnect delay in ms. Default 30000. */
  maxDelayMs?: number;
  /** Reload the newest history when the stream could not replay what was missed (default true). */
  catchUp?: boolean;
  /** Messages per page of that reload (the service's default when unset). */
  catchUpPageSize?: number;
  /** Resume after this event id (one another tab's stream saw): the first connection sends what came after it. */
  lastEventId?: string;
}

/** A live stream as the page holds it: its own connection, or its share of one another tab holds. */
export interface ChatStream {
  readonly state: StreamState;
  /** This tab holds the connection (always, unless the stream is shared with other tabs and another holds it). */
  readonly leading: boolean;
  /**
   * The stream is reloading what a reopened stream could not replay (after `replay_incomplete`, waiting out any
   * `Retry-After`): messages from the gap are still on their way, worth a "loading" line on the page.
   */
  readonly catchingUp: boolean;
  close(): void;
}

/** What the stream needs from the client: a fresh ticket per connection, and forgetting an ended session. */
export interface TicketSource {
  streamTicket(): Promise<{ ticket: string }>;
  forgetSession(): void;
  /** A sign-in under way or in doubt may have replaced the token: a refusal of it is not the session's end. */
  readonly signInInDoubt?: boolean;
  /** Where a stream that has seen no event id yet starts (BffClient.streamPosition). */
  readonly streamPosition?: string;
  /**
   * The newest history's messages, back to `after` (where the gap began) when given, each read retried after its
   * Retry-After (BffClient.catchUp).
   */
  catchUp?(options: { pageSize?: number; after?: string }): Promise<ChatMessage[]>;
}

/** The live stream: EventSource per connection, a fresh ticket for each, reconnect with backoff. */
export class LiveStream implements ChatStream {
  readonly leading = true;
  private source: EventSource | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private connections = 0;
  private current: StreamState = 'connecting';
  private closed = false;
  /** The id of the last event received: a reopened stream sends what came after it first. */
  private lastEventId: string | undefined;
  /**
   * Where the client is as the service places it: where this connection resumed from, then the id each message
   * came with. A `replay_incomplete` names no place of its own worth keeping (after a failed replay it carries the
   * moment the stream opened, later than the gap), so the catch-up reads back to this one.
   */
  private place: string | undefined;
  /** A catch-up after `replay_incomplete` is under way. */
  private recovering = false;
  /**
   * A `replay_incomplete` that came while a catch-up was under way, with the place it named: the catch-up's reads may
   * have been made before that gap began, so another follows from there once it is done.
   */
  private recoverAgain: { after: string | undefined } | undefined;
  /** Ends the wait between two catch-up rounds (the stream closed). */
  private wakeCatchUp: (() => void) | undefined;

  constructor(
    private readonly client: TicketSource,
    private readonly open: (ticket: string, lastEventId: string | undefined) => EventSource,
    private readonly handlers: StreamHandlers,
    private readonly options: StreamOptions,
  ) {
    this.lastEventId = options.lastEventId;
    void this.connect();
  }

  get state(): StreamState {
    return this.current;
  }

  get catchingUp(): boolean {
    return this.recovering;
  }

  /** The id of the last event received (where a stream opened elsewhere would resume). */
  get lastEvent(): string | undefined {
    return this.lastEventId;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.wakeCatchUp?.();
    this.source?.close();
    this.source = undefined;
    this.setState('closed');
  }

  private setState(state: StreamState): void {
    if (state === this.current) return;
    this.current = state;
    this.handlers.state?.(state);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    this.setState(this.connections === 0 && this.failures === 0 ? 'connecting' : 'reconnecting');
    let ticket: string;
    try {
      ticket = (await this.client.streamTicket()).ticket;
    } catch (error) {
      // Refused for a token a sign-in may have replaced (its answer lost, or refused for now): the sign-in, or the
      // same one again, brings the new token, and the stream goes on with it.
      if (error instanceof BffError && error.sessionLost && this.client.signInInDoubt) return this.retry();
      // A lost session, a refused ticket or a refused origin: reconnecting cannot help.
      if (error instanceof BffError && (error.sessionLost || error.status === 403 || error.corsRefused))
        return this.stop(error);
      return this.retry(error instanceof BffError ? error.retryAfterSeconds : undefined);
    }
    if (this.closed) return;
    this.place = this.lastEventId ?? this.client.streamPosition;
    const source = this.open(ticket, this.lastEventId);
    this.source = source;
    const data = (event: Event): unknown => {
      const id = (event as MessageEvent<string>).lastEventId;
      if (id) this.lastEventId = id;
      try {
        return JSON.parse((event as MessageEvent<string>).data);
      } catch {
        return undefined;
      }
    };
    source.addEventListener('message', (e) => {
      const message = data(e) as ChatMessage | undefined;
      const id = (e as MessageEvent<string>).lastEventId;
      if (message && id && source === this.source) this.place = id;
      if (message) this.handlers.message?.(message);
    });
    source.addEventListener('receipt', (e) => {
      const receipt = data(e) as ReceiptEvent | undefined;
      if (receipt) this.handlers.receipt?.(receipt);
    });
    source.addEventListener('notice', (e) => {
      const notice = data(e) as NoticeEvent | undefined;
      if (notice) this.handlers.notice?.(notice);
    });
    source.addEventListener('typing', (e) => this.handlers.typing?.((data(e) ?? {}) as { durationMs?: number }));
    source.addEventListener('presence', (e) => {
      const presence = data(e) as { presence: string; readOnly?: boolean; name?: string; time?: string } | undefined;
      if (presence) this.handlers.presence?.(presence);
    });
    source.addEventListener('availability', (e) => {
      const availability = data(e) as Availability | undefined;
      if (availability) this.handlers.availability?.(availability);
    });
    source.addEventListener('session', (e) => {
      const event = data(e) as { state: string; detail?: string; reconnect?: boolean } | undefined;
      if (!event || source !== this.source) return;
      if (event.state === 'open') {
        const reconnected = this.connections > 0 || this.failures > 0;
        this.connections++;
        this.failures = 0;
        this.setState('open');
        this.handlers.open?.({ reconnected });
        return;
      }
      this.handlers.session?.(event);
      if (event.state === 'replay_incomplete') this.recover(this.place);
      if (event.reconnect === undefined) return;
      // The stream's final event.
      source.close();
      this.source = undefined;
      if (event.reconnect) {
        // Another instance can take over at once; a little jitter spreads the herd.
        this.schedule(Math.random() * 250);
      } else {
        // The session is gone for good; its token is of no further use.
        this.client.forgetSession();
        this.stop(
          new BffError({
            status: 410,
            code: 'session_expired',
            message: event.detail || 'The chat session has ended.',
          }),
        );
      }
    });
    // EventSource would retry with the same (soon expired) ticket; reconnect with a new one instead.
    source.addEventListener('error', () => {
      if (source !== this.source || this.closed) return;
      source.close();
      this.source = undefined;
      this.retry();
    });
  }

  /**
   * The replay could not give what was missed: history does, once it can be read, from the newest page back to the
   * page holding `after`, where the client was (the newest page alone may no longer reach it: a catch-up that waited
   * out refusals while the chat went on found the gap's messages pushed to an older page). One catch-up at a time:
   * a second `replay_incomplete` meanwhile (a later gap, which the reads under way may have come too early for) is
   * caught up from its own place once the one under way is done. Nothing else reads that gap again while
   * the stream stays open, so the catch-up goes on until it has it or the stream closes: each round retries its reads
   * after their Retry-After (BffClient.catchUp), and a round that gives up is followed by another after a wait that
   * doubles up to `maxDelayMs`, or as long as the last refusal's Retry-After when that is longer. Only a refusal no
   * wait can change (the session lost, this origin refused) ends it.
   */
  private recover(after: string | undefined): void {
    if (this.options.catchUp === false || !this.client.catchUp || this.closed) return;
    if (this.recovering) {
      // The oldest place not yet caught up is where the next catch-up starts.
      this.recoverAgain ??= { after };
      return;
    }
    this.recovering = true;
    void this.catchUpUntilShown(this.client.catchUp.bind(this.client), after).finally(() => {
      this.recovering = false;
      const again = this.recoverAgain;
      this.recoverAgain = undefined;
      if (again) this.recover(again.after);
    });
  }

  private async catchUpUntilShown(catchUp: NonNullable<TicketSource['catchUp']>, after?: string): Promise<void> {
    for (let round = 0; !this.closed; round++) {
      try {
        const messages = await catchUp({ pageSize: this.options.catchUpPageSize, after });
        if (!this.closed) for (const message of messages) this.handlers.message?.(message);
        return;
      } catch (error) {
        if (error instanceof BffError && (error.sessionLost || error.status === 403 || error.corsRefused)) {
          // No wait changes that answer: a catch-up queued behind this one would only be refused the same way.
          this.recoverAgain = undefined;
          return;
        }
        const initial = this.options.initialDelayMs ?? 1000;
        const backoff = Math.min(this.options.maxDelayMs ?? 30_000, initial * 2 ** round);
        const told = error instanceof BffError ? (error.retryAfterSeconds ?? 0) * 1000 : 0;
        await this.pause(Math.max(backoff, told) * (0.8 + Math.random() * 0.4));
      }
    }
  }

  /** Waits `ms`, or less when the stream closes meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeCatchUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeCatchUp = done;
    });
  }

  /**
   * The next try after a failure. A refusal that says when to come back (Retry-After: the service knows how long
   * its outage lasts) is retried then, a fifth later at most for the herd, and does not lengthen the backoff: after
   * a long outage of Redis or Genesys the stream is back within seconds of the service, not half a minute later.
   * A failure that says nothing (EventSource shows no status) backs off, doubling, up to `maxDelayMs`.
   */
  private retry(retryAfterSeconds?: number): void {
    if (retryAfterSeconds !== undefined) {
      this.schedule(retryAfterSeconds * 1000 * (1 + Math.random() * 0.2));
      return;
    }
    const initial = this.options.initialDelayMs ?? 1000;
    const max = this.options.maxDelayMs ?? 30_000;
    const backoff = Math.min(max, initial * 2 ** this.failures) * (0.8 + Math.random() * 0.4);
    this.failures++;
    this.schedule(backoff);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.setState('reconnecting');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), ms);
  }

  private stop(error: BffError): void {
    this.close();
    this.handlers.error?.(error);
  }
}
