import { randomUUID } from 'node:crypto';
import type { Logger } from '../../observability/logger';
import { GuestApiError, guestErrorFromFrame } from './errors';
import {
  closeSessionFrame,
  configureSessionFrame,
  echoFrame,
  getJwtFrame,
  joinFrame,
  quickReplyFrame,
  textMessageFrame,
  typingFrame,
  type CustomAttributes,
  type InboundFrame,
  type SessionResponse,
  type StructuredMessage,
} from './frames';
import { GuestSocket, type SocketClosed } from './guestSocket';
import type { NormalizedMessage } from '../../domain/message';
import { normalizeMessage } from './normalize';

/**
 * One guest's Web Messaging session over one upstream socket (§2, §3):
 * configure, send and match replies by `tracingId`, keep the socket
 * configured across drops, and fan inbound traffic out to live streams.
 */

export type GuestEvent =
  | { type: 'message'; message: NormalizedMessage }
  | { type: 'typing'; durationMs?: number }
  | { type: 'presence'; presence: 'join' | 'disconnect' | 'clear' | 'signin'; readOnly?: boolean }
  | { type: 'session'; state: 'reconnecting' | 'reconnected' | 'expired' | 'closed' | 'cleared' | 'unavailable'; detail?: string };

export interface GuestJwt {
  jwt: string;
  /** Epoch seconds. */
  exp: number;
}

/** What the session needs to prove delivery of a message after a dropped socket. */
export type FindDeliveredMessage = (session: GuestSession, clientMessageId: string) => Promise<NormalizedMessage | undefined>;

export interface GuestSessionOptions {
  token: string;
  deploymentId: string;
  webMessagingUrl: string;
  origin: string;
  logger: Logger;
  requestTimeoutMs: number;
  pingIntervalMs?: number;
  /** How long a session with live streams keeps trying to reconnect. */
  reconnectWindowMs?: number;
  typingCooldownMs?: number;
  jwtRefreshMarginMs?: number;
  now?: () => number;
  findDeliveredMessage?: FindDeliveredMessage;
  onSocketOpened?: () => void;
  /** A handshake failed (refused, unreachable): for the `guestApi` readiness check. */
  onSocketFailed?: (error: GuestApiError) => void;
  onDead?: (session: GuestSession) => void;
}

type PendingKind = 'configure' | 'close' | 'send' | 'join' | 'jwt' | 'echo';

interface Pending {
  kind: PendingKind;
  tracingId: string;
  frame: object;
  written: boolean;
  /** A guest message whose reply was lost with the socket: it is verified, never blindly re-sent. */
  inDoubt: boolean;
  messageId?: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

const RECONNECT_DELAYS_MS = [0, 250, 1000, 2000, 5000];
/** Attempts made for a request alone; live streams keep trying for `reconnectWindowMs`. */
const RECONNECT_ATTEMPTS_FOR_REQUESTS = 4;

export class GuestSession {
  readonly token: string;
  private socket?: GuestSocket;
  private configured = false;
  private info?: SessionResponse;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(event: GuestEvent) => void>();
  private connecting?: Promise<SessionResponse>;
  private dead?: GuestApiError;
  private closedByServer = false;
  private lastTypingAt = -Infinity;
  private jwt?: GuestJwt;
  private jwtInFlight?: Promise<GuestJwt>;
  private readonly now: () => number;
  lastUsedAt: number;

  constructor(private readonly options: GuestSessionOptions) {
    this.token = options.token;
    this.now = options.now ?? Date.now;
    this.lastUsedAt = this.now();
  }

  /** The last SessionResponse, if the session has been configured. */
  get state(): SessionResponse | undefined {
    return this.info;
  }

  get isReady(): boolean {
    return this.configured && (this.socket?.isOpen ?? false);
  }

  /** True while something waits on this session: the hub must not close it. */
  get busy(): boolean {
    return this.pending.size > 0 || this.listeners.size > 0 || this.connecting !== undefined;
  }

  get isDead(): boolean {
    return this.dead !== undefined;
  }

  touch(): void {
    this.lastUsedAt = this.now();
  }

  // ------------------------------------------------------------ public actions

  /** Connects and configures (or resumes) the session with its token. */
  ready(): Promise<SessionResponse> {
    this.touch();
    if (this.dead) return Promise.reject(this.dead);
    if (this.isReady && this.info) return Promise.resolve(this.info);
    return this.wake();
  }

  /**
   * Replaces a read-only (ended) conversation with a new one: closeSession,
   * then configureSession with `startNew` (§2.1, §2.8).
   */
  async startNew(): Promise<SessionResponse> {
    await this.ready();
    await this.request('close', (t) => closeSessionFrame({ token: this.token, tracingId: t }));
    this.jwt = undefined;
    const info = await this.request<SessionResponse>('configure', (t) =>
      configureSessionFrame({ token: this.token, deploymentId: this.options.deploymentId, startNew: true, tracingId: t }),
    );
    this.info = info;
    return info;
  }

  /** Sends a guest text; resolves with Genesys's echo of it. */
  sendText(p: { text: string; messageId: string; customAttributes?: CustomAttributes }): Promise<NormalizedMessage> {
    this.touch();
    return this.request<NormalizedMessage>(
      'send',
      (t) => textMessageFrame({ token: this.token, tracingId: t, ...p }),
      p.messageId,
    );
  }

  sendQuickReply(p: {
    text: string;
    payload: string;
    messageId: string;
    originatingMessageId?: string;
    customAttributes?: CustomAttributes;
  }): Promise<NormalizedMessage> {
    this.touch();
    return this.request<NormalizedMessage>('send', (t) => quickReplyFrame({ token: this.token, tracingId: t, ...p }), p.messageId);
  }

  /** Autostart Presence Join, carrying the attributes routing needs (§2.5). */
  sendJoin(customAttributes?: CustomAttributes): Promise<NormalizedMessage> {
    this.touch();
    return this.request<NormalizedMessage>('join', (t) => joinFrame({ token: this.token, tracingId: t, customAttributes }));
  }

  /**
   * Guest typing, at most once per cooldown (Genesys asks for one per 5 s,
   * §2.5). Genesys sends no success reply, so this resolves once written.
   * Returns false when throttled.
   */
  async sendTyping(): Promise<boolean> {
    this.touch();
    const now = this.now();
    if (now - this.lastTypingAt < (this.options.typingCooldownMs ?? 5000)) return false;
    this.lastTypingAt = now;
    await this.ready();
    await this.socket!.send(typingFrame({ token: this.token, tracingId: randomUUID() }));
    return true;
  }

  echo(): Promise<NormalizedMessage> {
    return this.request<NormalizedMessage>('echo', (t) => echoFrame({ token: this.token, tracingId: t }));
  }

  /** The guest JWT for REST history, cached until shortly before `exp` (§2.7, §3.5). */
  getJwt(): Promise<GuestJwt> {
    this.touch();
    const margin = this.options.jwtRefreshMarginMs ?? 60_000;
    if (this.jwt && this.jwt.exp * 1000 - margin > this.now()) return Promise.resolve(this.jwt);
    this.jwtInFlight ??= this.request<GuestJwt>('jwt', (t) => getJwtFrame({ token: this.token, tracingId: t }))
      .then((jwt) => (this.jwt = jwt))
      .finally(() => (this.jwtInFlight = undefined));
    return this.jwtInFlight;
  }

  /** Drops the cached JWT (Genesys refused it). */
  forgetJwt(): void {
    this.jwt = undefined;
  }

  /** Ends the session at Genesys (closeSession) and closes the socket. */
  async close(): Promise<void> {
    await this.ready();
    const info = await this.request<SessionResponse>('close', (t) => closeSessionFrame({ token: this.token, tracingId: t }));
    this.info = info;
    this.disconnect();
  }

  subscribe(listener: (event: GuestEvent) => void): () => void {
    this.listeners.add(listener);
    this.touch();
    if (!this.isReady) this.ready().catch(() => undefined);
    return () => {
      this.listeners.delete(listener);
      this.touch();
    };
  }

  /** Closes the socket without ending the Genesys session (idle, eviction, shutdown). */
  disconnect(reason = 'closed by this service'): void {
    this.configured = false;
    this.socket?.close();
    this.socket = undefined;
    for (const p of this.pending.values()) this.settle(p, new GuestApiError('connection_lost', `The connection to Genesys was ${reason}.`));
  }

  // ---------------------------------------------------------------- internals

  private request<T>(kind: PendingKind, build: (tracingId: string) => object, messageId?: string): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const tracingId = randomUUID();
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        kind,
        tracingId,
        frame: build(tracingId),
        written: false,
        inDoubt: false,
        messageId,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: setTimeout(() => this.settle(p, this.timeoutError(p)), this.options.requestTimeoutMs),
      };
      p.timer.unref();
      this.pending.set(tracingId, p);
      if (kind === 'configure') {
        // Configure goes out on the socket it prepares, ahead of everything else.
        this.write(p);
      } else if (this.isReady) {
        this.write(p);
      } else {
        this.wake().catch(() => undefined);
      }
    });
  }

  private write(p: Pending): void {
    const socket = this.socket;
    if (!socket) return;
    p.written = true;
    socket.send(p.frame).catch(() => {
      // The close handler decides what happens to a frame that may or may not have left.
    });
  }

  private flush(): void {
    if (!this.isReady) return;
    for (const p of this.pending.values()) {
      if (!p.written && !p.inDoubt && p.kind !== 'configure') this.write(p);
    }
  }

  private settle(p: Pending, outcome: Error | { value: unknown }): void {
    if (this.pending.get(p.tracingId) !== p) return;
    this.pending.delete(p.tracingId);
    clearTimeout(p.timer);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome.value);
  }

  private timeoutError(p: Pending): GuestApiError {
    if (p.kind === 'send' && (p.written || p.inDoubt)) {
      return new GuestApiError(
        'timeout',
        'Genesys did not confirm the message in time; it may have been delivered. Retry with the same Idempotency-Key: a delivered message is never sent twice.',
      );
    }
    return new GuestApiError('timeout', 'Genesys did not answer in time; please retry.');
  }

  /** Starts (or joins) connecting and configuring, with bounded retries. */
  private wake(): Promise<SessionResponse> {
    if (this.dead) return Promise.reject(this.dead);
    this.connecting ??= this.reconnectLoop().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async reconnectLoop(): Promise<SessionResponse> {
    const started = this.now();
    const window = this.options.reconnectWindowMs ?? 60_000;
    const isReconnect = this.info !== undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        const info = await this.connectAndConfigure();
        if (isReconnect) {
          await this.settleInDoubt();
          // A drop while history was checked found this loop still running and started none: go round again.
          if (!this.isReady) throw new GuestApiError('connection_lost', 'The connection to Genesys dropped again while reconnecting.');
          this.emit({ type: 'session', state: 'reconnected' });
        }
        this.flush();
        return info;
      } catch (error) {
        const e = error instanceof GuestApiError ? error : new GuestApiError('unavailable', 'Could not reach Genesys.', { cause: error });
        const keepTrying =
          !e.fatalForSession &&
          e.failure !== 'handshake_refused' &&
          (attempt + 1 < RECONNECT_ATTEMPTS_FOR_REQUESTS || (this.listeners.size > 0 && this.now() - started < window));
        if (!keepTrying) {
          if (e.fatalForSession || e.failure === 'handshake_refused') this.die(e);
          else {
            for (const p of [...this.pending.values()]) this.settle(p, e);
            this.emit({ type: 'session', state: 'unavailable', detail: e.message });
          }
          throw e;
        }
        if (attempt === 0 && isReconnect) this.emit({ type: 'session', state: 'reconnecting' });
        const delay = RECONNECT_DELAYS_MS[Math.min(attempt + 1, RECONNECT_DELAYS_MS.length - 1)]!;
        await new Promise((r) => setTimeout(r, delay).unref());
        if (this.dead) throw this.dead;
      }
    }
  }

  private async connectAndConfigure(): Promise<SessionResponse> {
    this.configured = false;
    this.closedByServer = false;
    const socket = new GuestSocket(
      {
        webMessagingUrl: this.options.webMessagingUrl,
        deploymentId: this.options.deploymentId,
        origin: this.options.origin,
        connectTimeoutMs: this.options.requestTimeoutMs,
        pingIntervalMs: this.options.pingIntervalMs ?? 15_000,
        logger: this.options.logger,
      },
      (frame) => this.onFrame(frame),
      (closed) => this.onSocketClosed(socket, closed),
    );
    this.socket = socket;
    try {
      await socket.connect();
    } catch (error) {
      this.options.onSocketFailed?.(error as GuestApiError);
      throw error;
    }
    this.options.onSocketOpened?.();
    const info = await this.request<SessionResponse>('configure', (t) =>
      configureSessionFrame({ token: this.token, deploymentId: this.options.deploymentId, startNew: false, tracingId: t }),
    );
    if (this.socket !== socket) throw new GuestApiError('connection_lost', 'The connection to Genesys dropped while configuring.');
    this.info = info;
    this.configured = true;
    return info;
  }

  /**
   * Messages whose echo was lost with the socket: Genesys may or may not have
   * them. History proves delivery (our id comes back as `channel.messageId`);
   * without proof the send fails clearly rather than risk a duplicate.
   */
  private async settleInDoubt(): Promise<void> {
    const inDoubt = [...this.pending.values()].filter((p) => p.inDoubt);
    if (inDoubt.length === 0) return;
    const find = this.options.findDeliveredMessage;
    await Promise.all(
      inDoubt.map(async (p) => {
        let delivered: NormalizedMessage | undefined;
        try {
          delivered = find && p.messageId ? await find(this, p.messageId) : undefined;
        } catch (error) {
          this.options.logger.warn({ err: error }, 'could not check history for a message in doubt');
          this.settle(
            p,
            new GuestApiError(
              'connection_lost',
              'The connection to Genesys dropped while sending and delivery could not be checked. Retry with the same Idempotency-Key: a delivered message is never sent twice.',
            ),
          );
          return;
        }
        if (delivered) this.settle(p, { value: delivered });
        else
          this.settle(
            p,
            new GuestApiError('connection_lost', 'The connection to Genesys dropped while sending; the message was not delivered. It is safe to send it again.'),
          );
      }),
    );
  }

  private onSocketClosed(socket: GuestSocket, closed: SocketClosed): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.configured = false;
    if (!closed.unexpected) return;
    this.options.logger.info({ code: closed.code }, 'guest socket closed by the other side');
    for (const p of [...this.pending.values()]) {
      if (!p.written) continue;
      if (p.kind === 'configure') this.settle(p, new GuestApiError('connection_lost', 'The connection to Genesys dropped while configuring.'));
      else if (p.kind === 'send') p.inDoubt = true;
      else p.written = false; // idempotent: sent again after reconnecting
    }
    const wanted = this.pending.size > 0 || (this.listeners.size > 0 && !this.closedByServer);
    if (wanted && !this.connecting && !this.dead) this.wake().catch(() => undefined);
    else if (!wanted && this.listeners.size > 0) {
      this.emit({ type: 'session', state: 'closed', detail: 'Genesys closed this connection (another connection took its place).' });
    }
  }

  private die(error: GuestApiError): void {
    if (this.dead) return;
    this.dead = error;
    this.configured = false;
    for (const p of [...this.pending.values()]) this.settle(p, error);
    this.emit({ type: 'session', state: error.fatalForSession ? 'expired' : 'unavailable', detail: error.message });
    this.socket?.close();
    this.socket = undefined;
    this.options.onDead?.(this);
  }

  private emit(event: GuestEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.error({ err: error }, 'stream listener failed');
      }
    }
  }

  /** The oldest written request of the given kinds: for replies that carry no tracingId. */
  private oldest(kinds: PendingKind[]): Pending | undefined {
    for (const p of this.pending.values()) if (p.written && kinds.includes(p.kind)) return p;
    return undefined;
  }

  private byTracingId(tracingId: string | undefined): Pending | undefined {
    return tracingId === undefined ? undefined : this.pending.get(tracingId);
  }

  private onFrame(frame: InboundFrame): void {
    switch (frame.kind) {
      case 'session': {
        const p = this.byTracingId(frame.envelope.tracingId) ?? this.oldest(['configure', 'close']);
        if (p) this.settle(p, { value: frame.body });
        else this.info = frame.body;
        return;
      }
      case 'jwt': {
        const p = this.byTracingId(frame.envelope.tracingId) ?? this.oldest(['jwt']);
        if (p) this.settle(p, { value: frame.body });
        return;
      }
      case 'message':
        this.onStructuredMessage(frame.envelope.type, frame.envelope.tracingId, frame.body);
        return;
      case 'tooManyRequests':
      case 'error': {
        const text = frame.kind === 'error' ? frame.body : (frame.body.errorMessage ?? 'rate limited');
        const error = guestErrorFromFrame(frame.envelope, text, frame.kind === 'tooManyRequests' ? frame.body.retryAfter : undefined);
        if (error.fatalForSession) {
          this.die(error);
          return;
        }
        const p = this.byTracingId(frame.envelope.tracingId) ?? this.oldest(['send', 'join', 'jwt', 'echo', 'close', 'configure']);
        if (p) this.settle(p, error);
        else this.options.logger.warn({ genesysCode: frame.envelope.code, genesysText: text }, 'Genesys reported an error for no pending request');
        return;
      }
      case 'sessionExpired':
        this.die(new GuestApiError('session_expired', 'The chat session has expired; start a new one.'));
        return;
      case 'connectionClosed':
        this.closedByServer = true;
        this.options.logger.info({ reason: frame.body.reason }, 'Genesys closed this guest connection');
        return;
      case 'sessionCleared':
        if (this.info) this.info = { ...this.info, readOnly: true };
        this.emit({ type: 'session', state: 'cleared' });
        return;
      case 'logout':
        this.emit({ type: 'session', state: 'closed', detail: 'logged out' });
        return;
      case 'unknown':
        this.options.logger.warn({ class: frame.envelope?.class, reason: frame.reason }, 'ignored an unknown Guest API frame');
        return;
    }
  }

  private onStructuredMessage(envelopeType: string, tracingId: string | undefined, body: StructuredMessage): void {
    const message = normalizeMessage(body, new Date(this.now()));
    const p = this.byTracingId(tracingId);
    if (envelopeType === 'response') {
      // The reply to an `echo` health check, not chat traffic (§3.4).
      if (p) this.settle(p, { value: message });
      return;
    }
    if (p && (p.kind === 'send' || p.kind === 'join')) this.settle(p, { value: message });

    if (message.type === 'event') {
      if (message.direction !== 'outbound') return;
      for (const event of body.events ?? []) {
        if (event.eventType === 'Typing' && event.typing?.type !== 'Off') {
          this.emit({ type: 'typing', durationMs: event.typing?.duration });
        } else if (event.eventType === 'Presence' && event.presence?.type) {
          const presence = event.presence.type.toLowerCase() as 'join' | 'disconnect' | 'clear' | 'signin';
          const readOnly = body.metadata?.readOnly === 'true' || body.metadata?.readOnly === true;
          if (presence === 'disconnect' && readOnly && this.info) this.info = { ...this.info, readOnly: true };
          this.emit({ type: 'presence', presence, ...(presence === 'disconnect' ? { readOnly } : {}) });
        }
      }
      return;
    }
    this.emit({ type: 'message', message });
  }
}
