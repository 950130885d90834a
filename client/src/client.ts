import { deleteAttachment, uploadAttachment, type UploadOptions } from './attachments.js';
import { availability } from './availability.js';
import {
  CATCH_UP_PAGES,
  CATCH_UP_POLICY,
  history,
  newestPages,
  reachesPlace,
  send,
  TypingIndicator,
  type RetryPolicy,
  type SendOptions,
} from './messages.js';
import {
  capabilities,
  endSession,
  getAttributes,
  getSession,
  setAttributes,
  startSession,
  updateAttributes,
} from './session.js';
import { PageEvents, SeenIds, type PageEventsOptions } from './pageEvents.js';
import type { PushSubscriptionBody } from './push.js';
import { SIGN_IN_POLICY, signIn, signOut } from './signIn.js';
import { BffError } from './errors.js';
import { SharedStream } from './sharedStream.js';
import { LiveStream, type ChatStream, type StreamHandlers, type StreamOptions } from './stream.js';
import { ChatTabs, type TabEvent, type TabPlatform } from './tabs.js';
import type { TokenStore } from './tokenStore.js';
import { fetchTranscript, type Transcript, type TranscriptFormat, type TranscriptReader } from './transcript.js';
import { Transport } from './transport.js';
import type {
  Attributes,
  AttributesView,
  Availability,
  AvailabilityAnswer,
  Capabilities,
  ChatMessage,
  EmailOptIn,
  EmailOptInView,
  HistoryPage,
  SendInput,
  SessionView,
  SignInGrant,
  StartedSession,
  StartSessionOptions,
  UploadedAttachment,
} from './types.js';

export interface BffClientOptions {
  /** The service's base URL, e.g. `https://chat-bff.example.com`. */
  baseUrl: string;
  /** Default: memory only (a reload starts a new session). */
  tokenStore?: TokenStore;
  /** How often a send is retried (same Idempotency-Key) after a network error, 429, 502, 503 or 504. Default 2. */
  sendRetries?: number;
  /** A 429 is retried only when Retry-After is at most this many seconds. Default 5. */
  maxRetryWaitSeconds?: number;
  /** Injected for tests or other runtimes. Default: the global fetch and EventSource. */
  fetch?: typeof fetch;
  EventSource?: typeof EventSource;
  /** Default setTimeout-based sleep; tests may shorten it. */
  sleep?: (ms: number) => Promise<void>;
  /** The page's origin, named when the service refuses it (CORS). Default: `location.origin`. */
  pageOrigin?: string;
  /**
   * Share one chat among the site's tabs: one live stream for all (held by one tab, relayed over a
   * BroadcastChannel, taken over when that tab goes), one session start at a time, and each tab told when
   * another ends or starts the chat. Default: on when the token store is shared (`localStorageTokenStore`).
   * Without BroadcastChannel or Web Locks each tab keeps its own stream. An object passes the browser pieces
   * (tests) and, as `name`, the channel's name (default: one per service URL).
   */
  shareTabs?: boolean | (TabPlatform & { name?: string });
  /**
   * Tell the site's analytics what the chat did: `genesys-bff:<event>` CustomEvents on `window` (default on;
   * `false` for none), and with `dataLayer` the same pushed to Google Tag Manager's data layer. No message text
   * unless `messageText` (client/README.md#analytics-events).
   */
  pageEvents?: boolean | PageEventsOptions;
}

/**
 * A small browser client for the Genesys Cloud Web Messaging BFF: fetch for
 * the JSON API, EventSource (with a stream ticket) for live events. It always
 * keeps the newest session token any response carries, and every failure is
 * a BffError carrying the problem+json `code` and, where waiting helps,
 * `retryAfterSeconds`.
 *
 *   const chat = new BffClient({ baseUrl: 'http://localhost:8080', tokenStore: sessionStorageTokenStore() });
 *   await chat.startSession();                 // resumes the stored session, or starts one
 *   const live = chat.stream({ message: show, open: () => chat.history().then(showAll) });
 *   await chat.send('Hello');
 */
export class BffClient {
  private readonly transport: Transport;
  private readonly fetchImpl: typeof fetch;
  private readonly retry: RetryPolicy;
  private readonly typingIndicator: TypingIndicator;
  /** The site's other tabs, when the chat is shared with them. */
  private readonly tabs: ChatTabs | undefined;
  private readonly events: PageEvents;
  /** Agent and bot messages already told to the page. */
  private readonly told = new SeenIds();
  /** The chat's end was told to the page (once per chat), or is the ending tab's to tell. */
  private endTold = false;
  /** The last availability told to the page (`open:reason`): told again only when it changes. */
  private availabilityTold: string | undefined;

  constructor(private readonly options: BffClientOptions) {
    // Unbound fetch throws "Illegal invocation" in browsers.
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.transport = new Transport({
      baseUrl: options.baseUrl,
      tokenStore: options.tokenStore,
      fetch: this.fetchImpl,
      pageOrigin: options.pageOrigin,
    });
    this.retry = {
      retries: options.sendRetries ?? 2,
      maxWaitSeconds: options.maxRetryWaitSeconds ?? 5,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    };
    this.typingIndicator = new TypingIndicator(this.transport);
    this.events = new PageEvents(options.pageEvents);
    const share = options.shareTabs ?? options.tokenStore?.subscribe !== undefined;
    if (share) {
      const platform = typeof share === 'object' ? share : {};
      this.tabs = new ChatTabs(platform.name ?? `genesys-bff:${this.transport.baseUrl}`, platform);
      // The tab where the guest ends the chat tells the page; this one's stream hearing the end does not. A chat
      // another tab started is a new one to tell the end of. (An end this stream replays after that note, from
      // before it, is told and marks the new chat's as told: the note names no chat to match the end against.)
      this.tabs.onAnnouncement((event) => {
        if (event.type === 'ending') this.endTold = true;
        if (event.type === 'end_failed' || event.type === 'started') this.endTold = false;
      });
    }
  }

  /** Whether this client shares its chat with the site's other tabs (`shareTabs`). */
  get sharedWithTabs(): boolean {
    return this.tabs !== undefined;
  }

  /**
   * Hears what the site's other tabs did to the chat (ended it, started a new one): show the same here.
   * Returns the way to stop listening. Nothing is heard unless the chat is shared with other tabs.
   */
  onOtherTab(listener: (event: TabEvent) => void): () => void {
    return this.tabs?.onAnnouncement(listener) ?? (() => undefined);
  }

  /** The service's base URL, without a trailing slash. */
  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /** The newest session token received, if any. */
  get sessionToken(): string | undefined {
    return this.transport.token;
  }

  /** Where a stream that has seen no event id yet starts: the first position since the session was started or resumed here. */
  get streamPosition(): string | undefined {
    return this.transport.streamPosition;
  }

  /** Forgets the session token (the next startSession starts a new session). */
  forgetSession(): void {
    this.transport.forget();
  }

  /**
   * Resumes the held session (200) or, without one, starts a new session
   * (201). A held token that is no longer valid is dropped and a new session
   * started; `replacedExpired` says so.
   */
  async startSession(options: StartSessionOptions = {}): Promise<StartedSession> {
    const started = await this.reporting('startSession', () => this.startOrResume(options));
    if (!started.resumed || started.replacedExpired) this.endTold = false;
    this.events.emit('chat-opened', { resumed: started.resumed });
    return started;
  }

  private async startOrResume(options: StartSessionOptions): Promise<StartedSession> {
    const { tabs } = this;
    if (!tabs) return startSession(this.transport, options);
    // One tab at a time: a tab that waited resumes the session the one before it started.
    const started = await tabs.exclusive('start', () => {
      this.transport.reload();
      return startSession(this.transport, options);
    });
    if (!started.resumed) tabs.announce({ type: 'started', routingKey: started.routingKey });
    return started;
  }

  /** `work`'s answer; a refusal is told to the page (`error`, with what was being done) and thrown on. */
  private async reporting<T>(during: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof BffError)
        this.events.emit('error', {
          code: error.code,
          status: error.status,
          retryAfterSeconds: error.retryAfterSeconds,
          during,
        });
      throw error;
    }
  }

  /** The chat is over (`by` whom): told to the page once. */
  private ended(by: 'guest' | 'agent' | 'expiry'): void {
    if (this.endTold) return;
    this.endTold = true;
    this.events.emit('chat-ended', { by });
  }

  /** What the deployment allows a custom UI: show only what is on (attachments, end chat, typing, …). */
  capabilities(): Promise<Capabilities> {
    return capabilities(this.transport);
  }

  /**
   * Whether anyone is there and how long the wait is (no session needed): open or why not, when it opens next, the
   * estimated wait. `maxAgeSeconds` says when to ask again (`useAvailability` does); a refusal for now is retried
   * after its Retry-After, as a send is.
   */
  async availability(): Promise<AvailabilityAnswer> {
    const answer = await this.reporting('availability', () => availability(this.transport, this.retry));
    this.tellAvailability(answer);
    return answer;
  }

  /** An availability the page read, told when it is open or closed for another reason than the last one told. */
  private tellAvailability({ open, reason, estimatedWaitSeconds }: Availability): void {
    const key = `${open}:${reason}`;
    if (key === this.availabilityTold) return;
    this.availabilityTold = key;
    this.events.emit('availability', { open, reason, estimatedWaitSeconds });
  }

  getSession(): Promise<SessionView> {
    return getSession(this.transport);
  }

  /**
   * Signs the customer in: mid-chat with a session held, or starting a signed-in session without one. Mid-chat, an
   * answer lost or refused for now (network error, 429, 502, 503, 504) is asked for again with the same grant, up to
   * 8 times, as `Retry-After` says: the service hands a sign-in Genesys took its token. Still in doubt after that,
   * the same sign-in is sent again (the grant is held in memory only) when a request is refused for the held token
   * (409 `cannot_downgrade`, or 401), and that request then goes with the signed-in token.
   */
  signIn(auth: SignInGrant): Promise<SessionView> {
    return this.reporting('signIn', () => signIn(this.transport, auth, { ...this.retry, ...SIGN_IN_POLICY }));
  }

  /**
   * A sign-in is under way, or the last one ended without an answer to go by: the service may have signed in and
   * refuse the held token meanwhile. The held token is kept, for the same sign-in again; the live stream waits.
   */
  get signInInDoubt(): boolean {
    return this.transport.replacementPending;
  }

  /** Signs the customer out on every device (streams hear `signed_out`) and forgets the token. */
  signOut(): Promise<void> {
    return signOut(this.transport);
  }

  /** Ends the conversation (Genesys closeSession) and forgets the token. */
  async endSession(): Promise<void> {
    // Told first: the other tabs' streams end as soon as the service has it, and that end is the guest's.
    this.tabs?.announce({ type: 'ending' });
    // The stream may hear the end before the answer comes: it is the guest's, told below.
    const told = this.endTold;
    this.endTold = true;
    try {
      await this.reporting('endSession', () => endSession(this.transport));
    } catch (error) {
      this.endTold = told;
      this.tabs?.announce({ type: 'end_failed' });
      throw error;
    }
    this.tabs?.announce({ type: 'ended' });
    if (!told) this.events.emit('chat-ended', { by: 'guest' });
  }

  getAttributes(): Promise<AttributesView> {
    return getAttributes(this.transport);
  }

  /** Replaces the browser-settable attributes (PUT). They reach Genesys with the next message. */
  setAttributes(attributes: Attributes): Promise<AttributesView> {
    return setAttributes(this.transport, attributes);
  }

  /** Merges attributes (PATCH); a `null` value removes the key. */
  updateAttributes(changes: Record<string, string | null>): Promise<AttributesView> {
    return updateAttributes(this.transport, changes);
  }

  /**
   * Sends the guest's text (or an answer) and returns the message as Genesys
   * echoed it. Retried after a network error or a 429/502/503/504 with the
   * same Idempotency-Key, so a retry never makes a second message.
   */
  async send(input: SendInput, options: SendOptions = {}): Promise<ChatMessage> {
    const sent = await this.reporting('send', () => send(this.transport, input, options, this.retry));
    const kind =
      typeof input === 'string'
        ? 'text'
        : input.button
          ? 'button'
          : input.datePicker
            ? 'datePicker'
            : input.quickReply
              ? 'quickReply'
              : 'text';
    const attachments = typeof input === 'string' ? 0 : (input.attachmentIds?.length ?? 0);
    const text = this.events.withText && sent.text ? { text: sent.text } : {};
    this.events.emit('message-sent', { messageId: sent.id, kind, attachments, ...text });
    return sent;
  }

  /** The guest pressed a card's button (a postback). */
  answerButton(
    button: { text: string; payload: string; originatingMessageId?: string },
    options: SendOptions = {},
  ): Promise<ChatMessage> {
    return this.send({ button }, options);
  }

  /** The guest picked a slot from a date picker. */
  answerDatePicker(
    datePicker: { dateTime: string; originatingMessageId: string; text?: string },
    options: SendOptions = {},
  ): Promise<ChatMessage> {
    return this.send({ datePicker }, options);
  }

  /** Uploads a file for the next message; send it with `send({ text, attachmentIds: [attachment.id] })`. */
  uploadAttachment(file: Blob, options: UploadOptions = {}): Promise<UploadedAttachment> {
    return this.reporting('uploadAttachment', () => uploadAttachment(this.transport, this.fetchImpl, file, options));
  }

  /** Drops an uploaded file that was not sent. */
  deleteAttachment(id: string): Promise<void> {
    return deleteAttachment(this.transport, id);
  }

  /** A page of history, oldest first within the page; page 1 is the newest. */
  history(options: { page?: number; pageSize?: number } = {}): Promise<HistoryPage> {
    return history(this.transport, options);
  }

  /**
   * What a stream's replay could not give (`replay_incomplete`): the messages of the newest `pages` history pages
   * (default 1), oldest first, each read tried again after the `Retry-After` it was refused with. With `after`, the
   * place the gap began at (the stream's last event id before it: a message id or a time position), older pages
   * are read too until one reaches it, up to `pages` (default CATCH_UP_PAGES): however long the catch-up waited
   * and however much came meanwhile, the gap is read whole. A stream opened with `stream()` does this by itself
   * and hands them to its `message` handler (dedupe by `id`).
   */
  async catchUp(options: { pageSize?: number; pages?: number; after?: string } = {}): Promise<ChatMessage[]> {
    const { after, ...rest } = options;
    const reading =
      after === undefined ? rest : { ...rest, pages: rest.pages ?? CATCH_UP_PAGES, reaches: reachesPlace(after) };
    const pages = await newestPages(this.transport, reading, { ...this.retry, ...CATCH_UP_POLICY });
    return pages.reverse().flatMap((page) => page.messages);
  }

  /**
   * The whole conversation as a file to keep (`GET /messages/transcript`): plain text (default) or a
   * self-contained HTML page. Refused (a BffError) once the guest ended the session (410) or while the session's
   * history reads are spent (429, `retryAfterSeconds`); `buildTranscript(messages)` makes the same file from the
   * messages the page holds, and `saveTranscript` offers either as a download. With `lang` (a language the kit
   * ships) and `timeZone` (an IANA zone), in that language with every moment in that zone; else English and UTC.
   */
  transcript(options: { format?: TranscriptFormat } & TranscriptReader = {}): Promise<Transcript> {
    const { format = 'text', ...reader } = options;
    return fetchTranscript(this.transport, format, reader);
  }

  /** Tells the agent the guest is typing; at most once every 5 s (more is dropped here). */
  typing(): Promise<void> {
    return this.typingIndicator.typing();
  }

  /**
   * Tells Genesys the page showed the message `messageId` (the newest agent or bot message it shows in a visible
   * tab): only where `capabilities().readReceipts` is on. The service tells Genesys once per message, whatever
   * tabs and reloads report it again.
   */
  async markRead(messageId: string): Promise<void> {
    await this.transport.request('POST', '/messages/read', { body: { messageId } });
  }

  /**
   * Hands the service this browser's push subscription (`PushSubscription.toJSON()`): while no page of the chat is
   * open, a reply comes as a notification. `subscribeToReplies` asks the customer and calls this.
   */
  async enablePush(subscription: PushSubscriptionBody): Promise<void> {
    await this.transport.request('PUT', '/notifications/push', { body: subscription });
  }

  /** No more notifications for this chat. */
  async disablePush(): Promise<void> {
    await this.transport.request('DELETE', '/notifications/push');
  }

  /**
   * E-mails the chat's unread human replies to `address` while the customer is away (where
   * `capabilities().notifications.email` is true). Unless the signed-in identity has this address, the service
   * first sends it a confirmation e-mail, and nothing else until its link is opened: `{ confirmed: false }`.
   * `url`: the chat page an e-mail links back to (this page, by default the site's `/`).
   */
  async notifyByEmail(address: string, options: { url?: string } = {}): Promise<EmailOptInView> {
    const body: EmailOptIn = { address, ...(options.url !== undefined ? { url: options.url } : {}) };
    return (await this.transport.request<EmailOptInView>('PUT', '/notifications/email', { body })).body;
  }

  /** No more e-mails for this chat. */
  async stopEmail(): Promise<void> {
    await this.transport.request('DELETE', '/notifications/email');
  }

  /** A short-lived, origin-bound ticket for EventSource (which cannot send headers). */
  async streamTicket(): Promise<{ ticket: string; expiresAt: string }> {
    return (await this.transport.request<{ ticket: string; expiresAt: string }>('POST', '/messages/stream-ticket'))
      .body;
  }

  /**
   * Opens the live event stream; it reconnects by itself until closed or the session ends. Shared with the
   * site's other tabs (`shareTabs`), one tab holds the connection and the others hear its events.
   */
  stream(handlers: StreamHandlers, options: StreamOptions = {}): ChatStream {
    if (this.tabs?.canShareStream) {
      return new SharedStream(this.tabs, (relay, opened) => this.liveStream(relay, opened), handlers, options);
    }
    return this.liveStream(handlers, options);
  }

  private liveStream(handlers: StreamHandlers, options: StreamOptions): LiveStream {
    const EventSourceImpl = this.options.EventSource ?? EventSource;
    // No event id seen yet: start from the session's stream position, so nothing before the first event is missed.
    const open = (ticket: string, lastEventId: string | undefined) =>
      new EventSourceImpl(this.transport.streamUrl(ticket, lastEventId ?? this.transport.streamPosition));
    return new LiveStream(this, open, this.tellingPage(handlers), options);
  }

  /**
   * `handlers`, with what the conversation did told to the page as it happens: only the tab holding the live
   * stream runs these, so the site's other tabs do not tell the same event again.
   */
  private tellingPage(handlers: StreamHandlers): StreamHandlers {
    const { events } = this;
    return {
      ...handlers,
      message: (message) => {
        if (message.direction === 'outbound' && message.type !== 'event' && this.told.first(message.id)) {
          const text = events.withText && message.text ? { text: message.text } : {};
          const from = message.originatingEntity === 'bot' ? 'bot' : 'agent';
          events.emit('message-received', { messageId: message.id, from, kind: message.type, ...text });
        }
        handlers.message?.(message);
      },
      presence: (event) => {
        if (event.presence === 'join') events.emit('agent-joined', event.name ? { name: event.name } : {});
        if (event.presence === 'disconnect' && event.readOnly) this.ended('agent');
        handlers.presence?.(event);
      },
      availability: (event) => {
        this.tellAvailability(event);
        handlers.availability?.(event);
      },
      session: (event) => {
        if (event.state === 'expired') this.ended('expiry');
        handlers.session?.(event);
      },
      error: (error) => {
        if (error.code === 'session_expired') this.ended('expiry');
        else events.emit('error', { code: error.code, status: error.status, during: 'stream' });
        handlers.error?.(error);
      },
    };
  }
}
