import { randomUUID } from 'node:crypto';
import type { NormalizedMessage } from '../../domain/message';
import type { Logger } from '../../observability/logger';
import { proveDelivery, type ReadNewestPage, type SentMessage } from './deliveryProof';
import { GuestApiError } from './errors';
import {
  clearFrame,
  closeSessionFrame,
  configureSessionFrame,
  echoFrame,
  getJwtFrame,
  joinFrame,
  quickReplyFrame,
  textMessageFrame,
  typingFrame,
  type CustomAttributes,
  type SessionResponse,
} from './frames';
import { GuestSocket, type SocketClosed } from './guestSocket';
import { dispatchInbound, type GuestEvent, type InboundTarget } from './inboundDispatch';
import { PendingRequests, type Pending, type PendingKind } from './pendingRequests';
import { RECONNECT_ATTEMPTS_FOR_REQUESTS, withRetries } from './reconnect';
import { SendWindow } from './sendWindow';

export type { GuestEvent } from './inboundDispatch';

/**
 * One guest's Web Messaging session over one upstream socket
 * (docs/genesys-protocol.md#guest-websocket): configure, send and match
 * replies (pendingRequests.ts, inboundDispatch.ts), keep the socket
 * configured across drops (reconnect.ts), prove delivery of a message whose
 * reply was lost (deliveryProof.ts), and fan inbound traffic out to streams.
 */

export interface GuestJwt {
  jwt: string;
  /** Epoch seconds. */
  exp: number;
}

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
  /** `onMessage` frames allowed per second (Genesys: 5). */
  messagesPerSecond?: number;
  now?: () => number;
  /** The newest history page, for proving delivery after a dropped socket. */
  readNewestHistory?: (session: GuestSession) => ReturnType<ReadNewestPage>;
  /** Asked before each new socket; throws to refuse it (the hub's per-session budget). */
  beforeSocketOpen?: () => void;
  onSocketOpened?: () => void;
  /** A handshake failed (refused, unreachable): for the `guestApi` readiness check. */
  onSocketFailed?: (error: GuestApiError) => void;
  onDead?: (session: GuestSession) => void;
}

/** How many Genesys ids of answered sends a session remembers, so delivery proof never claims one twice. */
const ACCOUNTED_IDS = 200;

export class GuestSession {
  readonly token: string;
  private socket?: GuestSocket;
  private configured = false;
  private info?: SessionResponse;
  private readonly pending: PendingRequests;
  private readonly listeners = new Set<(event: GuestEvent) => void>();
  private readonly window: SendWindow;
  private readonly accounted = new Set<string>();
  private connecting?: Promise<SessionResponse>;
  private dead?: GuestApiError;
  private closedByServer = false;
  private lastTypingAt = -Infinity;
  private jwt?: GuestJwt;
  private jwtInFlight?: Promise<GuestJwt>;
  private readonly now: () => number;
  /** What inboundDispatch.ts may do to this session. */
  private readonly inbound: InboundTarget;
  lastUsedAt: number;

  constructor(private readonly options: GuestSessionOptions) {
    this.token = options.token;
    this.now = options.now ?? Date.now;
    this.lastUsedAt = this.now();
    this.pending = new PendingRequests(2 * options.requestTimeoutMs, this.now);
    this.window = new SendWindow(options.messagesPerSecond ?? 5, 1000, this.now);
    this.inbound = {
      pending: this.pending,
      logger: options.logger,
      now: this.now,
      settle: (p, outcome) => this.settle(p, outcome),
      emit: (event) => this.emit(event),
      die: (error) => this.die(error),
      updateInfo: (change) => {
        this.info = change(this.info);
      },
      closingByServer: () => {
        this.closedByServer = true;
      },
      accountFor: (id) => this.accountFor(id),
    };
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

  /**
   * Connects and configures (or resumes) the session with its token, within
   * the request deadline even while live streams keep a longer reconnect going.
   */
  ready(): Promise<SessionResponse> {
    this.touch();
    if (this.dead) return Promise.reject(this.dead);
    if (this.isReady && this.info) return Promise.resolve(this.info);
    return withDeadline(this.wake(), this.options.requestTimeoutMs, () => new GuestApiError('timeout', 'Genesys did not answer in time; please retry.'));
  }

  /** Replaces a read-only (ended) conversation with a new one: closeSession, then configureSession with `startNew`. */
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
    return this.request<NormalizedMessage>('send', (t) => textMessageFrame({ token: this.token, tracingId: t, ...p }), {
      messageId: p.messageId,
      text: p.text,
    });
  }

  sendQuickReply(p: {
    text: string;
    payload: string;
    messageId: string;
    originatingMessageId?: string;
    customAttributes?: CustomAttributes;
  }): Promise<NormalizedMessage> {
    this.touch();
    return this.request<NormalizedMessage>('send', (t) => quickReplyFrame({ token: this.token, tracingId: t, ...p }), {
      messageId: p.messageId,
      text: p.text,
    });
  }

  /** Autostart Presence Join, carrying the attributes routing needs. */
  sendJoin(customAttributes?: CustomAttributes): Promise<NormalizedMessage> {
    this.touch();
    return this.request<NormalizedMessage>('join', (t) => joinFrame({ token: this.token, tracingId: t, customAttributes }));
  }

  /**
   * Guest typing, at most once per cooldown (Genesys asks for one per 5 s).
   * Genesys sends no success reply, so this resolves once written. Returns
   * false when throttled.
   */
  async sendTyping(): Promise<boolean> {
    this.touch();
    const now = this.now();
    if (now - this.lastTypingAt < (this.options.typingCooldownMs ?? 5000)) return false;
    await this.ready();
    if (!this.window.take()) return false;
    this.lastTypingAt = now;
    const tracingId = randomUUID();
    this.pending.sentWithoutReply(tracingId, 'typing');
    await this.socket!.send(typingFrame({ token: this.token, tracingId }));
    return true;
  }

  echo(): Promise<NormalizedMessage> {
    return this.request<NormalizedMessage>('echo', (t) => echoFrame({ token: this.token, tracingId: t }));
  }

  /** The guest JWT for REST history, cached until shortly before `exp`. */
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

  /** Closes the connections at Genesys (closeSession) and the socket; the conversation stays open for the agent. */
  async close(): Promise<void> {
    await this.ready();
    const info = await this.request<SessionResponse>('close', (t) => closeSessionFrame({ token: this.token, tracingId: t }));
    this.info = info;
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
    await this.request('clear', (t) => clearFrame({ token: this.token, tracingId: t }));
    this.jwt = undefined;
    this.disconnect('closed after the chat was ended');
  }

  subscribe(listener: (event: GuestEvent) => void): () => void {
    this.listeners.add(listener);
    this.touch();
    if (!this.isReady) this.wake().catch(() => undefined);
    return () => {
      this.listeners.delete(listener);
      this.touch();
    };
  }

  /**
   * Takes the session out of service (idle, eviction, shutdown): the socket
   * closes and nothing reopens it; the Genesys session lives on, and the hub
   * makes a new object for the token's next request.
   */
  retire(reason: string): void {
    if (!this.dead) this.dead = new GuestApiError('unavailable', `The connection to Genesys was ${reason}; please retry.`);
    this.disconnect(reason);
  }

  /** Closes the socket without ending the Genesys session. */
  disconnect(reason = 'closed by this service'): void {
    this.configured = false;
    this.socket?.close();
    this.socket = undefined;
    this.pending.failAll(new GuestApiError('connection_lost', `The connection to Genesys was ${reason}.`), (p, e) => this.settle(p, e));
  }

  // ---------------------------------------------------------------- requests

  private request<T>(kind: PendingKind, build: (tracingId: string) => object, message?: { messageId: string; text: string }): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    if (kind === 'send' || kind === 'join' || kind === 'clear') {
      const waitMs = this.window.waitMs();
      if (waitMs > 0 || !this.window.take()) {
        return Promise.reject(
          new GuestApiError('rate_limited', 'Genesys accepts at most 5 messages a second in a session; retry shortly.', {
            retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
          }),
        );
      }
    }
    const tracingId = randomUUID();
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        kind,
        tracingId,
        frame: build(tracingId),
        written: false,
        inDoubt: false,
        messageId: message?.messageId,
        text: message?.text,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: setTimeout(() => this.settle(p, this.timeoutError(p), true), this.options.requestTimeoutMs),
      };
      p.timer.unref();
      this.pending.add(p);
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
    p.writtenAt ??= this.now();
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

  private settle(p: Pending, outcome: Error | { value: unknown }, gaveUp = false): void {
    if (!this.pending.remove(p, gaveUp)) return;
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

  // ------------------------------------------------------------- connection

  /** Starts (or joins) connecting and configuring, with bounded retries. */
  private wake(): Promise<SessionResponse> {
    if (this.dead) return Promise.reject(this.dead);
    this.connecting ??= this.connectWithRetries().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectWithRetries(): Promise<SessionResponse> {
    const window = this.options.reconnectWindowMs ?? 60_000;
    const isReconnect = this.info !== undefined;
    try {
      return await withRetries(
        async () => {
          const info = await this.connectAndConfigure();
          if (isReconnect) {
            await this.settleInDoubt();
            // A drop while history was checked found this loop still running and started none: go round again.
            if (!this.isReady) throw new GuestApiError('connection_lost', 'The connection to Genesys dropped again while reconnecting.');
            this.emit({ type: 'session', state: 'reconnected' });
          }
          this.flush();
          return info;
        },
        {
          keepTrying: (e, attempt, startedAt) =>
            !e.fatalForSession &&
            e.failure !== 'handshake_refused' &&
            e.failure !== 'rate_limited' &&
            (attempt + 1 < RECONNECT_ATTEMPTS_FOR_REQUESTS || (this.listeners.size > 0 && this.now() - startedAt < window)),
          onFirstRetry: () => {
            if (isReconnect) this.emit({ type: 'session', state: 'reconnecting' });
          },
          stopped: () => this.dead,
          now: this.now,
        },
      );
    } catch (error) {
      const e = error as GuestApiError;
      if (e.fatalForSession || e.failure === 'handshake_refused') this.die(e);
      else {
        this.pending.failAll(e, (p, err) => this.settle(p, err));
        this.emit({ type: 'session', state: 'unavailable', detail: e.message });
      }
      throw e;
    }
  }

  private async connectAndConfigure(): Promise<SessionResponse> {
    this.options.beforeSocketOpen?.();
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
      (frame) => dispatchInbound(frame, this.inbound),
      (closed) => this.onSocketClosed(socket, closed),
    );
    this.socket = socket;
    this.pending.newConnection();
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

  /** Messages whose reply was lost with the socket: delivered, not delivered, or honestly unknown. */
  private async settleInDoubt(): Promise<void> {
    const inDoubt = [...this.pending.values()].filter((p) => p.inDoubt);
    await Promise.all(
      inDoubt.map(async (p) => {
        const verdict = await this.proveDelivery({ messageId: p.messageId ?? '', text: p.text, sentAt: p.writtenAt ?? this.now() });
        if (verdict.verdict === 'delivered') {
          this.accountFor(verdict.message.id);
          this.settle(p, { value: verdict.message });
        } else if (verdict.verdict === 'not_delivered') {
          this.settle(p, new GuestApiError('connection_lost', 'The connection to Genesys dropped while sending; the message was not delivered. It is safe to send it again.'));
        } else {
          this.settle(
            p,
            new GuestApiError(
              'connection_lost',
              'The connection to Genesys dropped while sending and delivery could not be checked; it may have been delivered. Retry with the same Idempotency-Key: a delivered message is never sent twice.',
            ),
          );
        }
      }),
    );
  }

  /** Whether a message whose confirmation was lost reached Genesys (deliveryProof.ts). */
  proveDelivery(sent: SentMessage) {
    const read = this.options.readNewestHistory;
    if (!read) return Promise.resolve({ verdict: 'unknown', reason: 'no history reader' } as const);
    return proveDelivery(sent, () => read(this), this.accounted, this.options.logger);
  }

  private accountFor(messageId: string): void {
    this.accounted.add(messageId);
    if (this.accounted.size > ACCOUNTED_IDS) this.accounted.delete(this.accounted.values().next().value!);
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
    else if (!wanted && this.listeners.size > 0 && !this.closedByServer) {
      this.emit({ type: 'session', state: 'closed', detail: 'Genesys closed this connection (another connection took its place, or the chat ended).' });
    }
  }

  private die(error: GuestApiError): void {
    if (this.dead) return;
    this.dead = error;
    this.configured = false;
    this.pending.failAll(error, (p, e) => this.settle(p, e));
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
}

function withDeadline<T>(work: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
    timer.unref();
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
