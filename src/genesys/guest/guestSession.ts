import type { NormalizedMessage } from '../../domain/message';
import { GuestJwtCache, type GuestJwt, GuestSignIn, type GenesysSignIn } from './rest';
import {
  AttachmentTransfer,
  DeliveryLedger,
  InboundDispatch,
  type DeliveryVerdict,
  type SentMessage,
  type GuestEvent,
  type NoticeEvent,
  type ReadNewestPage,
  type RequestDesk,
  type SessionNews,
  TypingIndicator,
} from './desk';
import {
  GuestApiError,
  type InboundFrame,
  type SessionResponse,
  answerFrame,
  clearFrame,
  closeSessionFrame,
  configureAuthenticatedSessionFrame,
  configureSessionFrame,
  echoFrame,
  getJwtFrame,
  joinFrame,
  readReceiptFrame,
  textMessageFrame,
  typingFrame,
  type AnswerKind,
  type CustomAttributes,
} from './protocol';
import { withDeadline, SessionExpiry, type GenesysGate } from './link';
import { SessionLink, type LinkOptions, type LinkSession } from './sessionLink';
import { SessionListeners } from './sessionListeners';

export type { GuestEvent, NoticeEvent } from './desk';

/** The link's options (sessionLink.ts), and what the session itself needs. */
export interface GuestSessionOptions extends LinkOptions {
  typingCooldownMs?: number;
  jwtRefreshMarginMs?: number;
  /** The newest history page, for proving delivery after a dropped socket. */
  readNewestHistory?: (session: GuestSession) => ReturnType<ReadNewestPage>;
  onDead?: (session: GuestSession) => void;
  /** Renews a signed-in customer's JWT (authenticated messaging); without it a refused JWT ends the session. */
  renewSignIn?: (signIn: GenesysSignIn) => Promise<GenesysSignIn>;
  /** The circuit to Genesys (guestApiHealth.ts): while it is open, calls are refused at once. */
  upstream?: GenesysGate;
  /** Told every event the streams are told, whether or not one listens. */
  observe?: (event: GuestEvent) => void;
}

/**
 * One guest's Web Messaging session over one upstream socket (docs/genesys-protocol.md#guest-websocket), in parts:
 * the link keeps the socket configured across drops (sessionLink.ts), and its requests wait at the desk
 * (desk/requestDesk.ts) until a reply settles them; what each frame means is read by the inbound dispatch
 * (desk/inboundDispatch.ts), and what it tells the session is applied here, in `hear`; the ledger proves delivery
 * of a message whose reply was lost (desk/deliveryProof.ts). This class is what the rest of the service calls, and
 * fans inbound traffic out to streams.
 */

const tooLate = () => new GuestApiError('timeout', 'Genesys did not answer in time; please retry.');

export class GuestSession implements LinkSession {
  readonly token: string;
  private readonly listeners: SessionListeners;
  /** While this service ends the chat, Genesys closing the connection is the end asked for: no reason to reconnect. */
  private ending = false;
  private readonly typing: TypingIndicator;
  /** When Genesys ends the session if nothing happens: it slides with every message (sessionExpiry.ts). */
  readonly expiry: SessionExpiry;
  private readonly jwt: GuestJwtCache;
  private readonly now: () => number;
  private readonly link: SessionLink;
  private readonly desk: RequestDesk;
  private readonly ledger: DeliveryLedger;
  /** What each frame off the socket answers and tells this session. */
  private readonly inbound: InboundDispatch;
  /** Files: upload, fresh links, delete (attachmentTransfer.ts). */
  readonly attachments: AttachmentTransfer;
  /** The customer's sign-in, when the session is authenticated (guestSignIn.ts). */
  readonly signIn: GuestSignIn;
  lastUsedAt: number;

  constructor(private readonly options: GuestSessionOptions) {
    const { logger, readNewestHistory: read } = options;
    this.token = options.token;
    this.now = options.now ?? Date.now;
    this.lastUsedAt = this.now();
    this.listeners = new SessionListeners(logger);
    this.signIn = new GuestSignIn(options.renewSignIn, logger);
    this.ledger = new DeliveryLedger(read ? () => read(this) : undefined, logger, this.now);
    this.link = new SessionLink({ ...options, now: this.now }, this, this.ledger);
    this.desk = this.link.desk;
    this.expiry = new SessionExpiry(this.now, () => this.askExpiry());
    this.jwt = new GuestJwtCache(() => this.fetchJwt(), options.jwtRefreshMarginMs ?? 60_000, this.now);
    this.typing = new TypingIndicator(() => this.writeTyping(), options.typingCooldownMs ?? 5000, this.now);
    this.attachments = new AttachmentTransfer({
      token: this.token,
      desk: this.desk,
      ready: () => this.ready(),
      requestTimeoutMs: options.requestTimeoutMs,
      // Real upload URLs are HTTPS; plain HTTP only against a local simulator on ws://.
      allowHttpUploads: options.webMessagingUrl.startsWith('ws:'),
    });
    const { desk, ledger, attachments: uploads, signIn } = this;
    this.inbound = new InboundDispatch({ desk, ledger, uploads, signIn, session: this, logger, now: this.now });
  }

  /** Whether live streams listen to this session. */
  get listening(): boolean {
    return this.listeners.size > 0;
  }

  /** A frame off the link's socket. */
  received(frame: InboundFrame): void {
    this.inbound.dispatch(frame);
  }

  /** What a frame or the link tells the session: the one place it is applied. */
  hear(news: SessionNews): void {
    switch (news.type) {
      case 'event':
        if (!this.link.hold(news.event)) this.emit(news.event);
        return;
      case 'ended':
        return this.die(news.error);
      case 'configured':
        return this.sessionResponded(news.info);
      case 'described':
        return this.sessionResponded(this.described(news.info));
      case 'readOnly': {
        const info = this.link.info;
        if (info) this.sessionResponded(this.described({ ...info, readOnly: true }));
        return;
      }
      case 'expiry':
        return this.expiry.reported(news.durationSeconds, news.expirationDate);
      case 'closing':
        this.link.closedByServer = true;
        return;
      case 'signedInElsewhere':
        return this.handOver('This chat was signed in on another instance; reconnect.');
      case 'credentialsRefused':
        return this.link.credentialsRefused(news.tracingId, news.error);
    }
  }

  /** The configure the link's new socket needs: anonymous, or as the signed-in customer. */
  configureLink(): Promise<SessionResponse> {
    return this.configure(false);
  }

  /** Every SessionResponse, as the SDK's handleSessionResponse takes it: its expiry, and the guest JWT dropped. */
  private sessionResponded(info: SessionResponse): void {
    this.expiry.reported(info.durationSeconds, info.expirationDate);
    this.jwt.forget();
    // The SDK's ExistingAuthSessionCleared: this sign-in ended the customer's older signed-in conversation.
    if (info.clearedExistingSession === true) this.emit({ type: 'session', state: 'existing_session_cleared' });
  }

  /** The last SessionResponse, if the session has been configured. */
  get state(): SessionResponse | undefined {
    return this.link.info;
  }

  get isReady(): boolean {
    return this.link.isReady();
  }

  /** True while something waits on this session: the hub must not close it. */
  get busy(): boolean {
    return this.desk.size > 0 || this.listeners.size > 0 || this.link.isConnecting;
  }

  /** For sessionOwnership.ts: the socket is open or opening; a request waits on Genesys. */
  get holdsSocket(): boolean {
    return !this.isDead && (this.link.isReady() || this.link.isConnecting);
  }
  get hasRequestsInFlight(): boolean {
    return this.desk.size > 0;
  }

  /**
   * For a live stream's place (http/streams/liveStreams.ts): a guest message sent here waits for its echo. Genesys
   * may deliver a reply to it before the echo, so a message that comes meanwhile does not show where history is.
   */
  get awaitingOwnEcho(): boolean {
    return this.desk.pending.awaitingSendEcho;
  }

  get isDead(): boolean {
    return this.link.dead() !== undefined;
  }

  touch(): void {
    this.lastUsedAt = this.now();
  }

  /** Connects and configures (or resumes) the session within the request deadline, though streams may wait longer. */
  ready(): Promise<SessionResponse> {
    this.touch();
    const refused = this.link.dead() ?? this.options.upstream?.refusal();
    if (refused) return Promise.reject(refused);
    const info = this.link.info;
    if (this.isReady && info) return Promise.resolve(info);
    // A connect may be a live stream's reconnect loop: a request stops waiting for it once the circuit opens.
    return this.viaGenesys(() => withDeadline(this.link.connect(), this.options.requestTimeoutMs, tooLate), true);
  }

  // Refused at once while the circuit is open. Only a connect's failure counts there: a request's repeats
  // its socket's or its proof's, counted where they fail.
  private viaGenesys<T>(call: () => Promise<T>, connect = false): Promise<T> {
    return this.options.upstream?.watch(call, { abandonOnOpen: connect, countFailures: connect }) ?? call();
  }

  /** Replaces a read-only (ended) conversation with a new one: closeSession, then configureSession with `startNew`. */
  async startNew(): Promise<SessionResponse> {
    await this.ready();
    await this.desk.request('close', (t) => closeSessionFrame({ token: this.token, tracingId: t }));
    this.jwt.forget();
    return this.described(await this.configure(true));
  }

  /**
   * Signs the customer in on this session's socket (authenticated messaging step-up); the conversation goes on.
   * `again`: Genesys may have taken this sign-in already (a retry of it): a socket configured signed in here needs
   * nothing more, and one still to be opened is configured signed in from the start, since Genesys refuses an
   * anonymous configure of a signed-in conversation (4017).
   */
  async upgrade(signIn: GenesysSignIn, again = false): Promise<SessionResponse> {
    if (again && this.isReady && this.signIn.configuredSignedIn) return this.ready();
    if (again && !this.isReady) return this.described(await this.signIn.stepUp(signIn, () => this.ready()));
    await this.ready();
    return this.described(await this.signIn.stepUp(signIn, () => this.configure(false)));
  }

  /** The customer signed out here: live streams hear it, and the session leaves service. */
  signedOut(): void {
    this.die(new GuestApiError('signed_out', 'The customer signed out.'));
  }

  /** Sends a guest text and/or uploaded files; resolves with Genesys's echo of it. */
  sendText(p: {
    text?: string;
    attachmentIds?: string[];
    messageId: string;
    customAttributes?: CustomAttributes;
  }): Promise<NormalizedMessage> {
    this.touch();
    return this.viaGenesys(() =>
      this.desk.request<NormalizedMessage>('send', (t) => textMessageFrame({ token: this.token, tracingId: t, ...p }), {
        messageId: p.messageId,
        text: p.text,
        carriesFiles: (p.attachmentIds?.length ?? 0) > 0,
      }),
    );
  }

  /** The guest's answer to a quick reply, a card button or a date picker. */
  sendAnswer(p: {
    kind: AnswerKind;
    text: string;
    payload: string;
    messageId: string;
    originatingMessageId?: string;
    customAttributes?: CustomAttributes;
  }): Promise<NormalizedMessage> {
    this.touch();
    return this.viaGenesys(() =>
      this.desk.request<NormalizedMessage>('send', (t) => answerFrame({ token: this.token, tracingId: t, ...p }), {
        messageId: p.messageId,
        text: p.text,
        payload: p.payload,
      }),
    );
  }

  /** Autostart Presence Join, carrying the attributes routing needs. */
  sendJoin(customAttributes?: CustomAttributes): Promise<NormalizedMessage> {
    this.touch();
    return this.viaGenesys(() =>
      this.desk.request<NormalizedMessage>('join', (t) =>
        joinFrame({ token: this.token, tracingId: t, customAttributes }),
      ),
    );
  }

  /** Guest typing, at most once per cooldown (desk/typingIndicator.ts): true once written, else false. */
  sendTyping(): Promise<boolean> {
    this.touch();
    return this.typing.send();
  }

  /**
   * Tells Genesys the guest read the message `messageId` (a read receipt): true once written, false when the
   * session's request budget has no room for it now.
   */
  async markRead(messageId: string): Promise<boolean> {
    this.touch();
    await this.ready();
    return this.desk.sendWithoutReply(
      (tracingId) => readReceiptFrame({ token: this.token, tracingId, messageId }),
      'read',
    );
  }

  echo(): Promise<NormalizedMessage> {
    return this.desk.request<NormalizedMessage>('echo', (t) => echoFrame({ token: this.token, tracingId: t }));
  }

  /** The guest JWT for REST history, cached until shortly before `exp`. */
  getJwt(): Promise<GuestJwt> {
    this.touch();
    return this.jwt.get();
  }

  /** Drops the cached JWT (Genesys refused it). */
  forgetJwt(): void {
    this.jwt.forget();
  }

  /** Closes the connections at Genesys (closeSession) and the socket; the conversation stays open for the agent. */
  async close(): Promise<void> {
    await this.ready();
    this.described(
      await this.whileEnding(
        this.desk.request<SessionResponse>('close', (t) => closeSessionFrame({ token: this.token, tracingId: t })),
      ),
    );
    this.disconnect();
  }

  /**
   * Ends the conversation the way Genesys's own Messenger does: Presence
   * Clear, answered by SessionClearedEvent (then ConnectionClosedEvent), or a
   * 403 when the deployment has conversation clear off
   * (docs/genesys-protocol.md#onmessage-events-typing-join-clear).
   */
  async clear(): Promise<void> {
    await this.ready();
    await this.whileEnding(this.desk.request('clear', (t) => clearFrame({ token: this.token, tracingId: t })));
    this.jwt.forget();
    this.disconnect('closed after the chat was ended');
  }

  /**
   * The chat was ended (clear or closeSession went through): live streams
   * hear that the session is over, and the session leaves service for good.
   */
  end(): void {
    this.die(new GuestApiError('session_expired', 'The chat was ended; start a new session.'));
  }

  /** Whether a message whose confirmation was lost reached Genesys (deliveryProof.ts). */
  proveDelivery(sent: SentMessage): Promise<DeliveryVerdict> {
    return this.ledger.prove(sent);
  }

  /** What this service tells the session's live streams of the guest's own input (a notice that it was masked). */
  notice(event: NoticeEvent): void {
    this.listeners.tell(event);
  }

  /**
   * Adds a listener (a live stream, a push watch). A session already out of service (handed over to another
   * instance, retired or ended while its subscriber got ready: the stream route waits for its ticket meanwhile)
   * tells nothing more, so the new listener hears why on the next turn, as the listeners then did: no stream stays
   * open on it hearing nothing.
   */
  subscribe(listener: (event: GuestEvent) => void): () => void {
    const leave = this.listeners.add(listener);
    this.touch();
    const out = this.link.dead();
    if (out) {
      const why: GuestEvent = { type: 'session', state: out.endState, detail: out.message };
      queueMicrotask(() => this.listeners.tellOne(listener, why));
    } else if (!this.isReady) this.link.wake();
    return () => {
      leave();
      this.touch();
    };
  }

  /**
   * Takes the session out of service (idle, eviction, shutdown): the socket
   * closes and nothing reopens it; the Genesys session lives on, and the hub
   * makes a new object for the token's next request.
   */
  retire(reason: string): void {
    if (!this.isDead)
      this.link.end(new GuestApiError('unavailable', `The connection to Genesys was ${reason}; please retry.`));
    this.disconnect(reason);
  }

  /** Another instance owns the session (sessionOwnership.ts): the socket closes, streams reconnect via the proxy. */
  handOver(detail = 'This chat moved to another instance of the service; reconnect.'): void {
    this.emit({ type: 'session', state: 'unavailable', detail });
    this.retire('handed over to another instance');
  }

  /** The circuit to Genesys opened: what waits on Genesys is answered now, with the circuit's wait. */
  release(refusal: GuestApiError): void {
    this.desk.release(refusal);
  }

  /** Closes the socket without ending the Genesys session. */
  disconnect(reason = 'closed by this service'): void {
    this.link.close();
    this.desk.failAll(new GuestApiError('connection_lost', `The connection to Genesys was ${reason}.`));
  }

  /** Configures on the current socket: anonymously, or as the signed-in customer (renewing a refused JWT). */
  private configure(startNew: boolean): Promise<SessionResponse> {
    const { token, deploymentId } = this.options;
    return this.signIn.configure((jwt) =>
      this.desk.request<SessionResponse>('configure', (tracingId) =>
        jwt
          ? configureAuthenticatedSessionFrame({ token, deploymentId, startNew, tracingId, jwt })
          : configureSessionFrame({ token, deploymentId, startNew, tracingId }),
      ),
    );
  }

  /** The expiry asks Genesys with an echo, on a socket that is there. */
  private async askExpiry(): Promise<void> {
    if (!this.isDead && this.isReady) await this.echo();
  }

  private fetchJwt(): Promise<GuestJwt> {
    return this.desk.request<GuestJwt>('jwt', (tracingId) => getJwtFrame({ token: this.token, tracingId }));
  }

  private async writeTyping(): Promise<boolean> {
    await this.ready();
    return this.desk.sendWithoutReply((tracingId) => typingFrame({ token: this.token, tracingId }));
  }

  /** The session's end: the link goes `dead` (its socket closes), what waits fails, and streams hear why. */
  private die(error: GuestApiError): void {
    if (!this.link.end(error)) return;
    this.desk.failAll(error);
    this.emit({ type: 'session', state: error.endState, detail: error.message });
    this.options.onDead?.(this);
  }

  /** What Genesys said of the session, held by the link as its `info`. */
  private described(info: SessionResponse): SessionResponse {
    this.link.describe(info);
    return info;
  }

  private async whileEnding<T>(request: Promise<T>): Promise<T> {
    this.ending = true;
    try {
      return await request;
    } catch (error) {
      this.ending = false;
      throw error;
    }
  }

  private emit(event: GuestEvent): void {
    // Each message, either way, moves the session's expiry (when its lifetime is still unknown, an echo asks).
    if (event.type === 'message') this.expiry.activity();
    // The guest's own echo ends the typing cooldown, as the SDK's `userTypingProvider.clear()` does on it.
    if (event.type === 'message' && event.message.direction === 'inbound') this.typing.echoed();
    // The end this service asked for is announced by end(), not as a closed connection to reopen.
    if (this.ending && event.type === 'session' && event.state === 'closed') return;
    this.options.observe?.(event);
    this.listeners.tell(event);
  }
}
