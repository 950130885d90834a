import { BffError, parseJson, problemError } from './errors.js';
import { memoryTokenStore, type TokenStore } from './tokenStore.js';

/**
 * The HTTP side of the client: where every request is built (URL, token,
 * routing key), sent, and its answer turned into a body or a BffError. It
 * holds the session's token and routing key and keeps the newest of each
 * that any answer carries.
 */

export interface TransportOptions {
  baseUrl: string;
  tokenStore?: TokenStore;
  fetch?: typeof fetch;
  /** The page's origin, named in a CORS refusal. Default: `location.origin`. */
  pageOrigin?: string;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the held token (default true). */
  auth?: boolean;
  /**
   * This request's answer replaces the held token (a sign-in, within `replacingToken`): it is not sent again for a
   * refusal of the token it replaces.
   */
  replacesToken?: boolean;
}

export class Transport {
  readonly baseUrl: string;
  private readonly tokens: TokenStore;
  private readonly fetchImpl: typeof fetch;
  private readonly pageOrigin: string | undefined;
  private heldToken: string | undefined;
  /** The session's routing key, sent with every request (and proposed when a session is created). */
  private routingKey: string | undefined;
  /** The first stream position since the session was started or resumed here: where a stream without event ids yet starts. */
  private position: string | undefined;
  /** Work whose answer replaces the held token (a sign-in and its retries), while it is under way. */
  private replacing: Promise<unknown> | undefined;
  /**
   * The last sign-in, when it ended without an answer to go by (the network, a 502, 503 or 504): the service may have
   * signed in and refuse the held token. Sent again as it was (the same grant, held in memory only) when the held
   * token is refused for it, it brings the token Genesys now takes.
   */
  private signInInDoubt: (() => Promise<unknown>) | undefined;
  /**
   * Counts the times the held token was replaced other than by an ordinary answer: a sign-in's answer, another tab's
   * token, a forget. An answer to a request sent before then carries a token that was replaced: it is not kept.
   */
  private tokenEra = 0;
  /** Whether the console was told that the service refuses this page's origin (once a client, not once a call). */
  private toldDeveloper = false;

  constructor(options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.tokens = options.tokenStore ?? memoryTokenStore();
    this.heldToken = this.tokens.get();
    // Another tab of the site stored a newer token (or ended the session): the next request uses what it left.
    this.tokens.subscribe?.((token) => this.adopt(token));
    // Unbound fetch throws "Illegal invocation" in browsers.
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.pageOrigin = options.pageOrigin ?? (globalThis as { location?: { origin?: string } }).location?.origin;
  }

  get token(): string | undefined {
    return this.heldToken;
  }

  forget(): void {
    this.tokenEra++;
    this.signInInDoubt = undefined;
    this.heldToken = undefined;
    this.routingKey = undefined;
    this.position = undefined;
    this.tokens.clear();
  }

  /** Takes the token the store holds now: another tab may have started a session since this one looked. */
  reload(): void {
    this.adopt(this.tokens.get());
  }

  private adopt(token: string | undefined): void {
    if (token === this.heldToken) return;
    this.tokenEra++;
    this.heldToken = token;
    if (token === undefined) {
      this.routingKey = undefined;
      this.position = undefined;
    }
  }

  /** A session is being started or resumed here: its stream starts from that answer's position. */
  restartStream(): void {
    this.position = undefined;
  }

  /**
   * Where a live stream that has seen no event id yet starts (`t-` and epoch ms, from the answer
   * that started or resumed the session), so no message before its first event is missed.
   */
  get streamPosition(): string | undefined {
    return this.position;
  }

  /** A new session is about to be created: propose a fresh routing key for it. */
  proposeRoutingKey(): void {
    this.routingKey = randomKey();
  }

  /**
   * The service's URL for `path` (which may carry a query), with the session's routing key as the
   * `routingKey` query parameter: the one place every request can carry it, fetch and EventSource
   * alike, so the one expression a proxy hashes on (README "Scaling out").
   */
  url(path: string): string {
    if (this.routingKey === undefined) return `${this.baseUrl}${path}`;
    return `${this.baseUrl}${path}${path.includes('?') ? '&' : '?'}routingKey=${encodeURIComponent(this.routingKey)}`;
  }

  /** The live stream's URL: EventSource cannot send headers, so the ticket rides in the query. */
  streamUrl(ticket: string, lastEventId: string | undefined): string {
    const query = new URLSearchParams({ ticket });
    if (lastEventId) query.set('lastEventId', lastEventId);
    return this.url(`/messages/stream?${query.toString()}`);
  }

  /** The headers every call carries: the held token (unless `auth` is false) and the routing key (for proxies configured on the header before). */
  headers(extra: Record<string, string> = {}, auth = true): Record<string, string> {
    const headers: Record<string, string> = { Accept: 'application/json', ...extra };
    if (auth && this.heldToken !== undefined) headers.Authorization = `Bearer ${this.heldToken}`;
    if (this.routingKey !== undefined) headers['X-Chat-Session'] = this.routingKey;
    return headers;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    return this.requestOnce<T>(method, path, options, !options.replacesToken);
  }

  /**
   * Runs `work` (a sign-in, retries and all), whose answer replaces the held token: the service refuses the old one
   * from the moment it signed in, so a request refused for it meanwhile waits for `work` and goes again with the new
   * token. Ended without an answer to go by, the sign-in is in doubt until the next one (`replacementPending`).
   */
  async replacingToken<T>(work: () => Promise<T>): Promise<T> {
    this.signInInDoubt = undefined;
    const done = work();
    this.replacing = done;
    try {
      return await done;
    } catch (error) {
      const inDoubt =
        error instanceof BffError && (error.code === 'network_error' || [502, 503, 504].includes(error.status));
      if (inDoubt) this.signInInDoubt = () => this.replacingToken(work);
      throw error;
    } finally {
      if (this.replacing === done) this.replacing = undefined;
    }
  }

  /**
   * A sign-in under way, or one whose outcome is unknown, may have replaced the held token: a refusal of the token
   * is then no sign the session is lost (the sign-in, or the same one again, brings its successor).
   */
  get replacementPending(): boolean {
    return this.replacing !== undefined || this.signInInDoubt !== undefined;
  }

  private async requestOnce<T>(
    method: string,
    path: string,
    options: RequestOptions,
    mayRepeat: boolean,
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const extra =
      options.body === undefined ? { ...options.headers } : { ...options.headers, 'Content-Type': 'application/json' };
    const useToken = options.auth !== false && this.heldToken !== undefined;
    const sent = this.heldToken;
    const era = this.tokenEra;
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path), {
        method,
        headers: this.headers(extra, options.auth !== false),
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        mode: 'cors',
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      throw await this.unreachable();
    }
    const body = parseJson(await res.text().catch(() => ''));
    if (!res.ok) {
      const error = problemError(res.status, body, (name) => res.headers.get(name));
      if (useToken && mayRepeat && (error.sessionLost || error.code === 'cannot_downgrade')) {
        // Refused for a token a sign-in (or another tab) has replaced since: the same request, with the new one.
        if (await this.replacedSince(sent)) return this.requestOnce<T>(method, path, options, false);
        // Refused for a sign-in in doubt that Genesys took (409 cannot_downgrade, or 401 once the service recorded
        // it): the same sign-in again brings the signed-in token, then the same request goes with it.
        if (await this.signedInAgain(sent)) return this.requestOnce<T>(method, path, options, false);
      }
      if (useToken && error.sessionLost) {
        // A token the service refuses (or a session that ended) is of no further use; a newer one is kept, and
        // so is one a sign-in in doubt may have replaced: the same sign-in again needs it.
        const replacement = options.replacesToken ? this.signInInDoubt !== undefined : this.replacementPending;
        if (this.heldToken === sent && !replacement) this.forget();
      }
      throw error;
    }
    this.keep(body, options.replacesToken ? 'replaces' : era === this.tokenEra ? 'current' : 'replaced');
    return { status: res.status, body: body as T, headers: res.headers };
  }

  /**
   * A GET whose answer is a document, not JSON (a transcript): its text and headers. A failure is a BffError, as
   * from `request`.
   */
  async requestText(path: string, accept: string): Promise<{ text: string; header(name: string): string | null }> {
    const useToken = this.heldToken !== undefined;
    const sent = this.heldToken;
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path), {
        method: 'GET',
        headers: this.headers({ Accept: accept }),
        mode: 'cors',
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      throw await this.unreachable();
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      const error = problemError(res.status, parseJson(text), (name) => res.headers.get(name));
      if (useToken && error.sessionLost && this.heldToken === sent && !this.replacementPending) this.forget();
      throw error;
    }
    return { text, header: (name) => res.headers.get(name) };
  }

  /** Sends the sign-in in doubt again, if there is one and `sent` is still held: whether it replaced the token. */
  private async signedInAgain(sent: string | undefined): Promise<boolean> {
    const again = this.signInInDoubt;
    if (again === undefined || this.heldToken !== sent) return false;
    await again().catch(() => undefined);
    return this.heldToken !== undefined && this.heldToken !== sent;
  }

  /** Whether the held token is a newer one than `sent`, once a sign-in under way has answered. */
  private async replacedSince(sent: string | undefined): Promise<boolean> {
    if (this.heldToken === sent && this.replacing) await this.replacing.catch(() => undefined);
    return this.heldToken !== undefined && this.heldToken !== sent;
  }

  /**
   * Keeps the session token and routing key an answer carries. `token`: whether the answer's token replaces the held
   * one (`replaces`: a sign-in's), is the newest of it (`current`), or came to a request sent before the held token
   * was replaced (`replaced`), which the service may already refuse: not kept.
   */
  keep(body: unknown, token: 'replaces' | 'current' | 'replaced' = 'current'): void {
    const { sessionToken, routingKey } = (body ?? {}) as { sessionToken?: unknown; routingKey?: unknown };
    if (typeof sessionToken === 'string' && sessionToken !== '' && token !== 'replaced') {
      this.heldToken = sessionToken;
      this.tokens.set(sessionToken);
      if (token === 'replaces') this.tokenEra++;
    }
    if (typeof routingKey === 'string' && routingKey !== '') this.routingKey = routingKey;
    const { streamPosition } = (body ?? {}) as { streamPosition?: unknown };
    if (typeof streamPosition === 'string' && streamPosition !== '') this.position ??= streamPosition;
  }

  /**
   * Why no answer reached the page. A browser hides a CORS refusal behind the
   * same network error as an outage, so ask `/healthz` without CORS: an
   * (opaque) answer means the service is up and refuses this origin.
   */
  async unreachable(): Promise<BffError> {
    let up = false;
    try {
      const probe = await this.fetchImpl(`${this.baseUrl}/healthz`, {
        mode: 'no-cors',
        credentials: 'omit',
        cache: 'no-store',
      });
      up = probe.type === 'opaque';
    } catch {
      up = false;
    }
    if (up) {
      const origin = this.pageOrigin ?? 'this page’s origin';
      const message = `The chat service at ${this.baseUrl} is up but does not allow calls from ${origin}: add ${origin} to its CORS_ALLOWED_ORIGINS.`;
      // For the page's developer, once: a customer is shown only that chat is not available here.
      // eslint-disable-next-line no-console -- the one word for the page's developer: no customer can act on it
      if (!this.toldDeveloper) console.error(message);
      this.toldDeveloper = true;
      return new BffError({ status: 0, code: 'cors_refused', origin: this.pageOrigin, message });
    }
    return new BffError({
      status: 0,
      code: 'network_error',
      message: `The chat service at ${this.baseUrl} could not be reached: it may be down, or the network is.`,
    });
  }
}

/** A v4 UUID from getRandomValues (randomUUID needs a secure context; a LAN http:// page is not one). */
export function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
