/**
 * A small browser client for the Genesys Cloud Web Messaging BFF: fetch for
 * the JSON API, EventSource (with a stream ticket) for live events. No
 * dependencies; ships as one ES module (`dist/client/bffClient.js`).
 *
 *   const chat = new BffClient({ baseUrl: 'http://localhost:8080', tokenStore: sessionStorageTokenStore() });
 *   await chat.startSession();                 // resumes the stored session, or starts one
 *   const live = chat.stream({ message: show, open: () => chat.history().then(showAll) });
 *   await chat.send('Hello');
 *
 * The client always keeps the newest session token any response carries, and
 * every failure is a BffError carrying the problem+json `code` and, where
 * waiting helps, `retryAfterSeconds`.
 */

export type Attributes = Record<string, string>;

export interface Limits {
  maxCustomDataBytes: number;
  maxTextBytes: number;
  messagesPerSecond: number;
}

export interface SessionView {
  sessionToken: string;
  /** Stable for the session, not a secret; the client sends it as `X-Chat-Session` so a proxy keeps the session on one instance. */
  routingKey: string;
  expiresAt: string;
  /** When Genesys ends the session if nothing happens, when known; it moves later with every message. */
  sessionExpiresAt?: string | null;
  /** Genesys started a new conversation for this session. */
  newSession: boolean;
  /** The conversation was ended by the agent; `startSession({ startNew: true })` starts another. */
  readOnly: boolean;
  limits: Limits;
  attributes: Attributes;
  /** The customer is signed in (Genesys authenticated messaging): verified to the agent, one conversation across devices. */
  authenticated: boolean;
}

/**
 * A sign-in at the identity provider configured in Genesys: the code from the
 * redirect back to the page (with the PKCE verifier), or an implicit-flow ID
 * token with its nonce. The service exchanges it; the page never holds a
 * Genesys token.
 */
export type SignInGrant = { code: string; redirectUri: string; codeVerifier?: string } | { idToken: string; nonce: string };

export interface Capabilities {
  /** `enabled` is false until this service offers uploads; the rest is what the deployment accepts. */
  attachments: { enabled: boolean; mediaTypes: string[]; maxBytes: number; blockedExtensions: string[] };
  /** `endSession()` ends the conversation for the agent too (Presence Clear). */
  endChat: boolean;
  disconnect: { enabled: boolean; type: string };
  typing: { agent: boolean; guest: boolean };
  autoStart: boolean;
  languages: string[];
  defaultLanguage: string | null;
  markdown: boolean;
  authentication: { enabled: boolean; allowSessionUpgrade: boolean };
  session: { expiresAt: string | null };
}

export interface StartedSession extends SessionView {
  /** An existing session (its token was held) was resumed rather than a new one created. */
  resumed: boolean;
  /** A held token was no longer valid (expired or ended), so a new session was started instead. */
  replacedExpired: boolean;
}

export interface StartSessionOptions {
  firstName?: string;
  lastName?: string;
  email?: string;
  phone?: string;
  attributes?: Attributes;
  /** A JWT minted by your own backend for a signed-in customer. */
  identityToken?: string;
  /** Replace an ended (read-only) conversation with a new one. */
  startNew?: boolean;
  /** Start a signed-in session (authenticated messaging): it continues the customer's conversation from any device. */
  auth?: SignInGrant;
}

export interface QuickReply {
  text: string;
  payload: string;
}

/** A card button: `Link` opens `url`; `Postback` is answered with its `text` and `payload`. */
export interface CardAction {
  type?: string;
  text?: string;
  url?: string;
  payload?: string;
}

export interface DatePicker {
  title?: string;
  subtitle?: string;
  imageUrl?: string;
  /** ISO 8601. */
  dateMinimum?: string;
  dateMaximum?: string;
  /** `dateTime` (ISO 8601) is the answer's payload; `duration` as Genesys sends it (seconds). */
  availableTimes: { dateTime: string; duration?: number }[];
}

export interface ListPicker {
  id?: string;
  title?: string;
  subtitle?: string;
  imageUrl?: string;
  buttonLabel?: string;
  sections: { title?: string; multipleSelection: boolean; items: { id: string; title?: string; subtitle?: string; imageUrl?: string }[] }[];
}

/** `originatingMessageId` is the message id an answer refers to. */
export interface DatePickerPrompt extends DatePicker {
  originatingMessageId: string;
}

export interface ListPickerPrompt extends ListPicker {
  originatingMessageId: string;
}

export interface FormComponent {
  /** DatePicker, Input, ListPicker or WheelPicker. */
  type: string;
  id?: string;
  datePicker?: DatePicker;
  listPicker?: ListPicker;
  input?: {
    title?: string;
    subtitle?: string;
    placeholderText?: string;
    isRequired?: boolean;
    isMultipleLine?: boolean;
    keyboardType?: string;
    autoCompleteType?: string;
  };
  wheelPicker?: { items: { id: string; title?: string; value?: string }[] };
}

export interface ChatMessage {
  id: string;
  clientMessageId?: string;
  /** `inbound`: from the guest; `outbound`: from an agent or bot to the guest. */
  direction: 'inbound' | 'outbound';
  type: 'text' | 'structured' | 'event';
  text?: string;
  /** ISO 8601. */
  time: string;
  originatingEntity?: 'human' | 'bot';
  from?: { name?: string; image?: string };
  quickReplies?: QuickReply[];
  /** Single cards and every carousel's cards, in order. */
  cards?: { title?: string; description?: string; image?: string; video?: string; defaultAction?: CardAction; actions: CardAction[] }[];
  datePickers?: DatePickerPrompt[];
  listPickers?: ListPickerPrompt[];
  forms?: {
    originatingMessageId: string;
    cannedResponseId?: string;
    title?: string;
    subtitle?: string;
    imageUrl?: string;
    buttonLabel?: string;
    introduction?: { title?: string; subtitle?: string; imageUrl?: string; buttonText?: string };
    showSummary?: boolean;
    pages: { title?: string; subtitle?: string; components: FormComponent[] }[];
  }[];
  attachments?: { id?: string; url?: string; filename?: string; mediaType?: string; mime?: string; fileSize?: number }[];
  buttonResponse?: { text?: string; payload?: string; type?: string; originatingMessageId?: string };
  events?: { type: string; value?: string }[];
}

export interface HistoryPage {
  /** Oldest first within the page. */
  messages: ChatMessage[];
  /** 1 is the newest page. */
  page: number;
  pageSize: number;
  total: number;
}

export interface AttributesView {
  attributes: Attributes;
  /** Keys set by a verified identity; the browser cannot change them. */
  locked: string[];
}

/** A text and/or uploaded files, or exactly one answer: to a quick reply, a card's button, or a date picker. */
export type SendInput =
  | string
  | {
      text?: string;
      /** Ids from uploadAttachment (at most 10), with or without text. */
      attachmentIds?: string[];
      quickReply?: { text: string; payload: string; originatingMessageId?: string };
      button?: { text: string; payload: string; originatingMessageId?: string };
      datePicker?: { dateTime: string; originatingMessageId: string; text?: string };
    };

/** A file uploaded to Genesys, ready to be sent with `send({ attachmentIds: [id] })`. */
export interface UploadedAttachment {
  id: string;
  fileName: string;
  /** The type it went to Genesys as, judged from its content. */
  mediaType: string;
  size: number;
  /** A link on the service that always redirects to a fresh download URL (usable as `<img src>`). */
  url: string;
}

export interface UploadOptions {
  /** Default: the File's own name. */
  fileName?: string;
  /** Called with 0…1 as the bytes go out (where the browser reports upload progress). */
  onProgress?: (fraction: number) => void;
  /** Aborts the upload (the service then drops whatever reached Genesys). */
  signal?: AbortSignal;
}

export interface SendOptions {
  /** Defaults to a fresh random key; the same key is reused on every retry of this send. */
  idempotencyKey?: string;
}

/** An RFC 9457 problem document as the service sends it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  requestId?: string;
  [extension: string]: unknown;
}

/**
 * Every failure of a call. `status` 0 with code `network_error` means no
 * response reached the page: the service is down or unreachable, or the
 * browser blocked the answer (for example, this origin is not on the
 * service's CORS allowlist; the browser's console says which).
 */
export class BffError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfterSeconds?: number;
  readonly requestId?: string;
  readonly problem?: Problem;

  constructor(init: { status: number; code: string; message: string; retryAfterSeconds?: number; requestId?: string; problem?: Problem }) {
    super(init.message);
    this.name = 'BffError';
    this.status = init.status;
    this.code = init.code;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.requestId = init.requestId;
    this.problem = init.problem;
  }

  /** The session is gone for good (expired, ended, or its token refused): start a new one. */
  get sessionLost(): boolean {
    return this.code === 'session_expired' || this.code === 'unauthorized';
  }
}

/** Where the session token lives between page loads. */
export interface TokenStore {
  get(): string | undefined;
  set(token: string): void;
  clear(): void;
}

export function memoryTokenStore(): TokenStore {
  let token: string | undefined;
  return {
    get: () => token,
    set: (t) => void (token = t),
    clear: () => void (token = undefined),
  };
}

/**
 * Keeps the token in sessionStorage: it survives a reload of the tab but not
 * the tab itself, and other tabs get their own chat.
 */
export function sessionStorageTokenStore(key = 'genesys-bff.sessionToken', storage?: Storage): TokenStore {
  // Even reading window.sessionStorage throws where storage is disabled (sandboxed frames, some privacy modes).
  const store = () => storage ?? window.sessionStorage;
  return {
    get: () => {
      try {
        return store().getItem(key) ?? undefined;
      } catch {
        return undefined; // storage disabled: a reload starts a new session
      }
    },
    set: (token) => {
      try {
        store().setItem(key, token);
      } catch {
        // storage full or disabled: the token still lives in the client
      }
    },
    clear: () => {
      try {
        store().removeItem(key);
      } catch {
        // nothing to clear
      }
    },
  };
}

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
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the held token (default true). */
  auth?: boolean;
}

const TYPING_INTERVAL_MS = 5000;
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

export class BffClient {
  private readonly baseUrl: string;
  private readonly tokens: TokenStore;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private token: string | undefined;
  /** The session's routing key, sent with every request (and proposed when a session is created). */
  private routingKey: string | undefined;
  private lastTyping = 0;

  constructor(private readonly options: BffClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.tokens = options.tokenStore ?? memoryTokenStore();
    this.token = this.tokens.get();
    // Unbound fetch throws "Illegal invocation" in browsers.
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** The newest session token received, if any. */
  get sessionToken(): string | undefined {
    return this.token;
  }

  /** Forgets the session token (the next startSession starts a new session). */
  forgetSession(): void {
    this.token = undefined;
    this.routingKey = undefined;
    this.tokens.clear();
  }

  /**
   * Resumes the held session (200) or, without one, starts a new session
   * (201). A held token that is no longer valid is dropped and a new session
   * started; `replacedExpired` says so.
   */
  async startSession(options: StartSessionOptions = {}): Promise<StartedSession> {
    if (this.token !== undefined) {
      try {
        const resumed = await this.request<SessionView>('POST', '/guest-session', { body: options });
        return { ...resumed.body, resumed: true, replacedExpired: false };
      } catch (error) {
        if (!(error instanceof BffError && error.sessionLost) || options.startNew) throw error;
      }
      this.routingKey = randomKey();
      const started = await this.request<SessionView>('POST', '/guest-session', { body: options, auth: false });
      return { ...started.body, resumed: false, replacedExpired: true };
    }
    this.routingKey = randomKey();
    const started = await this.request<SessionView>('POST', '/guest-session', { body: options, auth: false });
    return { ...started.body, resumed: false, replacedExpired: false };
  }

  /** What the deployment allows a custom UI: show only what is on (attachments, end chat, typing, …). */
  async capabilities(): Promise<Capabilities> {
    return (await this.request<Capabilities>('GET', '/capabilities')).body;
  }

  async getSession(): Promise<SessionView> {
    return (await this.request<SessionView>('GET', '/guest-session')).body;
  }

  /**
   * Signs the customer in. With a session held, mid-chat: the conversation
   * goes on, signed in (the deployment must allow it: `capabilities()`
   * `authentication.allowSessionUpgrade`). Without one, starts a signed-in
   * session, which continues the customer's conversation if they have one.
   */
  async signIn(auth: SignInGrant): Promise<SessionView> {
    if (this.token === undefined) return this.startSession({ auth });
    return (await this.request<SessionView>('POST', '/guest-session/sign-in', { body: { auth } })).body;
  }

  /** Signs the customer out on every device (streams hear `signed_out`) and forgets the token. */
  async signOut(): Promise<void> {
    try {
      await this.request('POST', '/guest-session/sign-out');
    } finally {
      this.forgetSession();
    }
  }

  /** Ends the conversation (Genesys closeSession) and forgets the token. */
  async endSession(): Promise<void> {
    try {
      await this.request('DELETE', '/guest-session');
    } finally {
      this.forgetSession();
    }
  }

  async getAttributes(): Promise<AttributesView> {
    return (await this.request<AttributesView>('GET', '/guest-attributes')).body;
  }

  /** Replaces the browser-settable attributes (PUT). They reach Genesys with the next message. */
  async setAttributes(attributes: Attributes): Promise<AttributesView> {
    return (await this.request<AttributesView>('PUT', '/guest-attributes', { body: attributes })).body;
  }

  /** Merges attributes (PATCH); a `null` value removes the key. */
  async updateAttributes(changes: Record<string, string | null>): Promise<AttributesView> {
    return (await this.request<AttributesView>('PATCH', '/guest-attributes', { body: changes })).body;
  }

  /**
   * Sends the guest's text (or a quick-reply answer) and returns the message
   * as Genesys echoed it. Retried after a network error or a 429/502/503/504
   * with the same Idempotency-Key, so a retry never makes a second message.
   */
  async send(input: SendInput, options: SendOptions = {}): Promise<ChatMessage> {
    const body = typeof input === 'string' ? { text: input } : input;
    const key = options.idempotencyKey ?? randomKey();
    const retries = this.options.sendRetries ?? 2;
    const maxWait = this.options.maxRetryWaitSeconds ?? 5;
    for (let attempt = 0; ; attempt++) {
      try {
        const sent = await this.request<{ message: ChatMessage }>('POST', '/messages', { body, headers: { 'Idempotency-Key': key } });
        return sent.body.message;
      } catch (error) {
        if (!(error instanceof BffError) || attempt >= retries) throw error;
        const retryable = error.status === 0 || RETRYABLE_STATUS.has(error.status);
        const wait = error.retryAfterSeconds ?? 0.5 * 2 ** attempt;
        if (!retryable || wait > maxWait) throw error;
        await this.sleep(wait * 1000);
      }
    }
  }

  /** The guest pressed a card's button (a postback). */
  answerButton(button: { text: string; payload: string; originatingMessageId?: string }, options: SendOptions = {}): Promise<ChatMessage> {
    return this.send({ button }, options);
  }

  /** The guest picked a slot from a date picker. */
  answerDatePicker(datePicker: { dateTime: string; originatingMessageId: string; text?: string }, options: SendOptions = {}): Promise<ChatMessage> {
    return this.send({ datePicker }, options);
  }

  /**
   * Uploads a file for the next message (multipart/form-data, checked by the
   * service against the deployment's types, size and blocked extensions).
   * Send it with `send({ text, attachmentIds: [attachment.id] })`.
   */
  async uploadAttachment(file: Blob, options: UploadOptions = {}): Promise<UploadedAttachment> {
    const form = new FormData();
    const name = options.fileName ?? (file as Blob & { name?: string }).name ?? 'file';
    form.append('file', file, name);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.token !== undefined) headers.Authorization = `Bearer ${this.token}`;
    if (this.routingKey !== undefined) headers['X-Chat-Session'] = this.routingKey;
    const url = `${this.baseUrl}/attachments`;
    const answer =
      options.onProgress && typeof XMLHttpRequest !== 'undefined'
        ? await xhrUpload(url, form, headers, options)
        : await this.fetchImpl(url, { method: 'POST', headers, body: form, mode: 'cors', credentials: 'omit', signal: options.signal }).then(
            async (res) => ({ status: res.status, text: await res.text(), headers: res.headers }),
            () => ({ status: 0, text: '', headers: new Headers() }),
          );
    const body = parseJson(answer.text) as { attachment?: UploadedAttachment } & Problem;
    if (answer.status !== 201 || !body?.attachment) {
      throw new BffError({
        status: answer.status,
        code: answer.status === 0 ? (options.signal?.aborted ? 'aborted' : 'network_error') : typeof body?.code === 'string' ? body.code : `http_${answer.status}`,
        message: typeof body?.detail === 'string' ? body.detail : answer.status === 0 ? 'The upload did not reach the chat service.' : `The chat service answered ${answer.status}.`,
        retryAfterSeconds: parseRetryAfter(answer.headers.get('Retry-After')),
        problem: body,
      });
    }
    return body.attachment;
  }

  /** Drops an uploaded file that was not sent. */
  async deleteAttachment(id: string): Promise<void> {
    await this.request('DELETE', `/attachments/${encodeURIComponent(id)}`);
  }

  /** A page of history, oldest first within the page; page 1 is the newest. */
  async history(options: { page?: number; pageSize?: number } = {}): Promise<HistoryPage> {
    const query = new URLSearchParams();
    if (options.page !== undefined) query.set('page', String(options.page));
    if (options.pageSize !== undefined) query.set('pageSize', String(options.pageSize));
    const qs = query.toString();
    return (await this.request<HistoryPage>('GET', `/messages${qs ? `?${qs}` : ''}`)).body;
  }

  /** Tells the agent the guest is typing; at most once every 5 s (more is dropped here). */
  async typing(): Promise<void> {
    const now = Date.now();
    if (now - this.lastTyping < TYPING_INTERVAL_MS) return;
    this.lastTyping = now;
    await this.request('POST', '/typing');
  }

  /** A short-lived, origin-bound ticket for EventSource (which cannot send headers). */
  async streamTicket(): Promise<{ ticket: string; expiresAt: string }> {
    return (await this.request<{ ticket: string; expiresAt: string }>('POST', '/messages/stream-ticket')).body;
  }

  /** Opens the live event stream; it reconnects by itself until closed or the session ends. */
  stream(handlers: StreamHandlers, options: StreamOptions = {}): LiveStream {
    const EventSourceImpl = this.options.EventSource ?? EventSource;
    const routing = () => (this.routingKey ? `&routingKey=${encodeURIComponent(this.routingKey)}` : '');
    const resume = (id: string | undefined) => (id ? `&lastEventId=${encodeURIComponent(id)}` : '');
    return new LiveStream(
      this,
      (ticket, lastEventId) => new EventSourceImpl(`${this.baseUrl}/messages/stream?ticket=${encodeURIComponent(ticket)}${routing()}${resume(lastEventId)}`),
      handlers,
      options,
    );
  }

  private async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    const useToken = options.auth !== false && this.token !== undefined;
    if (useToken) headers.Authorization = `Bearer ${this.token}`;
    if (this.routingKey !== undefined) headers['X-Chat-Session'] = this.routingKey;
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        mode: 'cors',
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      throw new BffError({
        status: 0,
        code: 'network_error',
        message: `The chat service at ${this.baseUrl} could not be reached (it may be down, or this page's origin is not allowed to call it).`,
      });
    }
    const text = await res.text().catch(() => '');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const problem = (typeof body === 'object' && body !== null ? body : {}) as Problem;
      const error = new BffError({
        status: res.status,
        code: typeof problem.code === 'string' ? problem.code : `http_${res.status}`,
        message: typeof problem.detail === 'string' ? problem.detail : `The chat service answered ${res.status}.`,
        retryAfterSeconds: parseRetryAfter(res.headers.get('Retry-After')),
        requestId: typeof problem.requestId === 'string' ? problem.requestId : (res.headers.get('X-Request-Id') ?? undefined),
        problem,
      });
      // A token the service refuses (or a session that ended) is of no further use.
      if (useToken && error.sessionLost) this.forgetSession();
      throw error;
    }
    const { sessionToken: token, routingKey } = (body ?? {}) as { sessionToken?: unknown; routingKey?: unknown };
    if (typeof token === 'string' && token !== '') {
      this.token = token;
      this.tokens.set(token);
    }
    if (typeof routingKey === 'string' && routingKey !== '') this.routingKey = routingKey;
    return { status: res.status, body: body as T };
  }
}

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StreamHandlers {
  /** Every message: the agent's and bot's, and the guest's own echoes (dedupe by `id`). */
  message?(message: ChatMessage): void;
  typing?(event: { durationMs?: number }): void;
  /** `disconnect` with `readOnly: true` means the agent ended the conversation. */
  presence?(event: { presence: string; readOnly?: boolean }): void;
  /**
   * Session events from the service; the last one of a stream carries `reconnect`.
   * `expiring` (with `expiresAt`) comes five minutes before Genesys would end an idle session.
   * `signed_in`: the conversation is now signed in. A stream ends with `signed_out` when the
   * customer signed out (here or on another device), or `signed_in_elsewhere`.
   */
  session?(event: { state: string; detail?: string; reconnect?: boolean; expiresAt?: string }): void;
  /**
   * The stream is open. Load history here on the first open. After a
   * reconnect (`reconnected: true`) the stream itself first sends what came
   * while it was down (it resumes from the last event's id); reloading is
   * needed only when a `session` event says `replay_incomplete`.
   */
  open?(info: { reconnected: boolean }): void;
  /** The stream's state changed (for a status line). */
  state?(state: StreamState): void;
  /** The stream stopped for good: the session ended or its token was refused. */
  error?(error: BffError): void;
}

export interface StreamOptions {
  /** First reconnect delay in ms (doubles each failure, with jitter). Default 1000. */
  initialDelayMs?: number;
  /** Longest reconnect delay in ms. Default 30000. */
  maxDelayMs?: number;
}

/** The live stream: EventSource per connection, a fresh ticket for each, reconnect with backoff. */
export class LiveStream {
  private source: EventSource | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private connections = 0;
  private current: StreamState = 'connecting';
  private closed = false;
  /** The id of the last event received: a reopened stream sends what came after it first. */
  private lastEventId: string | undefined;

  constructor(
    private readonly client: BffClient,
    private readonly open: (ticket: string, lastEventId: string | undefined) => EventSource,
    private readonly handlers: StreamHandlers,
    private readonly options: StreamOptions,
  ) {
    void this.connect();
  }

  get state(): StreamState {
    return this.current;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
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
      if (error instanceof BffError && (error.sessionLost || error.status === 403)) return this.stop(error);
      return this.retry(error instanceof BffError ? error.retryAfterSeconds : undefined);
    }
    if (this.closed) return;
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
      if (message) this.handlers.message?.(message);
    });
    source.addEventListener('typing', (e) => this.handlers.typing?.((data(e) ?? {}) as { durationMs?: number }));
    source.addEventListener('presence', (e) => {
      const presence = data(e) as { presence: string; readOnly?: boolean } | undefined;
      if (presence) this.handlers.presence?.(presence);
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
        this.stop(new BffError({ status: 410, code: 'session_expired', message: event.detail || 'The chat session has ended.' }));
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

  private retry(retryAfterSeconds?: number): void {
    const initial = this.options.initialDelayMs ?? 1000;
    const max = this.options.maxDelayMs ?? 30_000;
    const backoff = Math.min(max, initial * 2 ** this.failures) * (0.8 + Math.random() * 0.4);
    this.failures++;
    this.schedule(Math.max(backoff, (retryAfterSeconds ?? 0) * 1000));
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

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** A v4 UUID from getRandomValues (randomUUID needs a secure context; a LAN http:// page is not one). */
function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An upload through XMLHttpRequest: the one browser API that reports upload progress. */
function xhrUpload(
  url: string,
  form: FormData,
  headers: Record<string, string>,
  options: UploadOptions,
): Promise<{ status: number; text: string; headers: { get(name: string): string | null } }> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) options.onProgress?.(e.loaded / e.total);
    };
    const done = () => resolve({ status: xhr.status, text: xhr.responseText, headers: { get: (name) => xhr.getResponseHeader(name) } });
    xhr.onload = done;
    xhr.onerror = done;
    xhr.onabort = done;
    options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    if (options.signal?.aborted) xhr.abort();
    else xhr.send(form);
  });
}
