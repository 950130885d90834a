import type { Logger } from '../../../observability/logger';
import {
  type DeliveryLedger,
  type ReadNewestPage,
  dispatchInbound,
  type GuestEvent,
  type InboundTarget,
  type DeskSocket,
  type RequestDesk,
} from '../desk';
import type { GuestSession } from '../guestSession';
import type { GenesysSignIn } from '../rest';
import { GuestApiError, type SessionResponse } from '../protocol';
import { GuestSocket, type SocketClosed } from './guestSocket';
import { RECONNECT_ATTEMPTS_FOR_REQUESTS, withRetries } from './reconnect';

/**
 * A guest session's one upstream socket: opened and configured on demand,
 * reopened with bounded retries when it drops (longer while live streams
 * listen), and on the way back the messages in doubt are proven before
 * anything else goes out. The session (guestSession.ts) owns what the
 * socket carries.
 */
export interface LinkOptions {
  token: string;
  deploymentId: string;
  webMessagingUrl: string;
  origin: string;
  logger: Logger;
  requestTimeoutMs: number;
  pingIntervalMs?: number;
  /** How long a session with live streams keeps trying to reconnect. */
  reconnectWindowMs?: number;
  /** Asked before each new socket; rejects to refuse it (the hub's per-session budget). */
  beforeSocketOpen?: () => Promise<void>;
  onSocketOpened?: () => void;
  /** A handshake failed (refused, unreachable): for the `guestApi` readiness check. */
  onSocketFailed?: (error: GuestApiError) => void;
}

/** The link's options (sessionLink.ts), and what the session itself needs. */
export interface GuestSessionOptions extends LinkOptions {
  typingCooldownMs?: number;
  jwtRefreshMarginMs?: number;
  /** `onMessage` frames allowed per second (GENESYS_MESSAGES_PER_SECOND; Genesys announced 2). */
  messagesPerSecond?: number;
  /** Frames one connection may send a minute (GENESYS_REQUESTS_PER_MINUTE; Genesys's limits page: 60). */
  requestsPerMinute?: number;
  now?: () => number;
  /** The newest history page, for proving delivery after a dropped socket. */
  readNewestHistory?: (session: GuestSession) => ReturnType<ReadNewestPage>;
  onDead?: (session: GuestSession) => void;
  /** Renews a signed-in customer's JWT (authenticated messaging); without it a refused JWT ends the session. */
  renewSignIn?: (signIn: GenesysSignIn) => Promise<GenesysSignIn>;
}

/** What the link needs from its session. */
interface LinkOwner {
  readonly desk: RequestDesk;
  readonly ledger: DeliveryLedger;
  readonly inbound: InboundTarget;
  listeners(): number;
  info(): SessionResponse | undefined;
  /** Sends the configure frame this session needs (anonymous or signed in) and waits for its answer. */
  configure(): Promise<SessionResponse>;
  configured(info: SessionResponse): void;
  emit(event: GuestEvent): void;
  die(error: GuestApiError): void;
  dead(): GuestApiError | undefined;
  now(): number;
}

/** A 401 mid-session configures again at most this often; one more within it fails the refused request. */
const REAUTH_COOLDOWN_MS = 10_000;

export class SessionLink implements DeskSocket {
  private socket?: GuestSocket;
  private isConfigured = false;
  private connecting?: Promise<SessionResponse>;
  /** Genesys said it is closing this connection: a stream is not reconnected behind its back. */
  closedByServer = false;
  private lastReconfigureAt = -Infinity;
  /**
   * While a reconnect is not yet announced, what the new socket brings for streams waits here and follows
   * `reconnected`: a stream then catches up from where it was when the old socket dropped, not from a message
   * that overtook what it missed.
   */
  private unannounced?: GuestEvent[];
  private readonly inbound: InboundTarget;

  constructor(
    private readonly options: LinkOptions,
    private readonly owner: LinkOwner,
  ) {
    this.inbound = {
      ...owner.inbound,
      emit: (event) => {
        if (this.unannounced && event.type !== 'session') this.unannounced.push(event);
        else owner.inbound.emit(event);
      },
    };
  }

  current(): GuestSocket | undefined {
    return this.socket;
  }

  isReady(): boolean {
    return this.isConfigured && (this.socket?.isOpen ?? false);
  }

  get isConnecting(): boolean {
    return this.connecting !== undefined;
  }

  dead(): GuestApiError | undefined {
    return this.owner.dead();
  }

  wake(): void {
    this.connect().catch(() => undefined);
  }

  /** Starts (or joins) connecting and configuring, with bounded retries. */
  connect(): Promise<SessionResponse> {
    const dead = this.owner.dead();
    if (dead) return Promise.reject(dead);
    this.connecting ??= this.connectWithRetries().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /**
   * A 401 mid-session: the refused request (traced, or found by counting,
   * untracedRefusals.ts) goes out again once the session is configured again
   * (a signed-in customer's JWT renewed). A second 401 soon after fails the
   * refused requests instead: not delivered, safe to retry.
   */
  credentialsRefused(tracingId: string | undefined, error: GuestApiError): void {
    const renew = this.owner.now() - this.lastReconfigureAt > REAUTH_COOLDOWN_MS;
    this.owner.desk.refused(tracingId, error, renew);
    if (!renew) return;
    this.lastReconfigureAt = this.owner.now();
    this.reconfigure().catch(() => undefined);
  }

  /**
   * Configures again on the open socket (Genesys refused a request with 401
   * mid-session: a signed-in customer's JWT is renewed on the way, guestSignIn.ts);
   * requests wait meanwhile and go out once it is done. Joins a connect under way.
   */
  reconfigure(): Promise<SessionResponse> {
    if (this.connecting || !this.isReady()) return this.connect();
    const socket = this.socket;
    this.isConfigured = false;
    this.connecting = (async () => {
      try {
        const info = await this.owner.configure();
        if (this.socket !== socket)
          throw new GuestApiError('connection_lost', 'The connection to Genesys dropped while configuring.');
        this.owner.configured(info);
        this.isConfigured = true;
        this.owner.desk.flush();
        return info;
      } catch (error) {
        const e = error as GuestApiError;
        if (e.fatalForSession) this.owner.die(e);
        else if (socket) {
          this.abandon(socket);
          this.owner.desk.failAll(e, (p) => !p.written);
        }
        throw e;
      }
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Closes the socket; the Genesys session is not ended. */
  close(): void {
    this.isConfigured = false;
    this.socket?.close();
    this.socket = undefined;
  }

  private async connectWithRetries(): Promise<SessionResponse> {
    const window = this.options.reconnectWindowMs ?? 300_000;
    const isReconnect = this.owner.info() !== undefined;
    if (isReconnect) this.unannounced ??= [];
    try {
      return await withRetries(
        async () => {
          const info = await this.connectAndConfigure();
          if (isReconnect) {
            await this.owner.ledger.settleInDoubt(this.owner.desk);
            // A drop while history was checked found this loop still running and started none: go round again.
            if (!this.isReady())
              throw new GuestApiError('connection_lost', 'The connection to Genesys dropped again while reconnecting.');
            const held = this.unannounced ?? [];
            this.unannounced = undefined;
            this.owner.emit({ type: 'session', state: 'reconnected' });
            for (const event of held) this.owner.emit(event);
          }
          this.owner.desk.flush();
          return info;
        },
        {
          keepTrying: (e, attempt, startedAt) =>
            !e.fatalForSession &&
            e.failure !== 'handshake_refused' &&
            e.failure !== 'rate_limited' &&
            e.failure !== 'store_unavailable' &&
            (attempt + 1 < RECONNECT_ATTEMPTS_FOR_REQUESTS ||
              (this.owner.listeners() > 0 && this.owner.now() - startedAt < window)),
          onFirstRetry: () => {
            if (isReconnect) this.owner.emit({ type: 'session', state: 'reconnecting' });
          },
          stopped: () => this.owner.dead(),
          now: () => this.owner.now(),
        },
      );
    } catch (error) {
      this.unannounced = undefined;
      const e = error as GuestApiError;
      if (e.fatalForSession || e.failure === 'handshake_refused') this.owner.die(e);
      else {
        this.owner.desk.failAll(e);
        this.owner.emit({ type: 'session', state: 'unavailable', detail: e.message });
      }
      throw e;
    }
  }

  private async connectAndConfigure(): Promise<SessionResponse> {
    const { options, owner } = this;
    await options.beforeSocketOpen?.();
    // Retired while the budget was asked: nothing may reopen it.
    const dead = owner.dead();
    if (dead) throw dead;
    this.isConfigured = false;
    this.closedByServer = false;
    const socket = new GuestSocket(
      {
        webMessagingUrl: options.webMessagingUrl,
        deploymentId: options.deploymentId,
        origin: options.origin,
        connectTimeoutMs: options.requestTimeoutMs,
        pingIntervalMs: options.pingIntervalMs ?? 15_000,
        logger: options.logger,
      },
      // A socket this link has moved on from may still deliver a late reply; it must not settle the current socket's requests.
      (frame) => {
        if (this.socket === socket) dispatchInbound(frame, this.inbound);
      },
      (closed) => this.onSocketClosed(socket, closed),
    );
    this.socket = socket;
    owner.desk.newConnection();
    try {
      await socket.connect();
    } catch (error) {
      options.onSocketFailed?.(error as GuestApiError);
      this.abandon(socket);
      throw error;
    }
    options.onSocketOpened?.();
    try {
      const info = await owner.configure();
      if (this.socket !== socket)
        throw new GuestApiError('connection_lost', 'The connection to Genesys dropped while configuring.');
      owner.configured(info);
      this.isConfigured = true;
      return info;
    } catch (error) {
      this.abandon(socket);
      throw error;
    }
  }

  /** A socket that never got configured is closed, not left open beside the next attempt's. */
  private abandon(socket: GuestSocket): void {
    if (this.socket === socket) {
      this.socket = undefined;
      this.isConfigured = false;
    }
    socket.close();
  }

  private onSocketClosed(socket: GuestSocket, closed: SocketClosed): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.isConfigured = false;
    if (!closed.unexpected) return;
    this.options.logger.info({ code: closed.code }, 'guest socket closed by the other side');
    this.owner.desk.socketLost();
    // Streams listening on a connection Genesys said it closes were told so by its ConnectionClosedEvent (inboundDispatch.ts).
    const wanted = this.owner.desk.size > 0 || (this.owner.listeners() > 0 && !this.closedByServer);
    if (wanted && !this.connecting && !this.owner.dead()) this.wake();
  }
}
