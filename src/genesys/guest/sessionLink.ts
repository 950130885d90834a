import type { Logger } from '../../observability/logger';
import { guestLinkTransitions } from '../../observability/metrics';
import {
  type DeliveryLedger,
  type ReadNewestPage,
  dispatchInbound,
  type GuestEvent,
  type InboundTarget,
  type DeskSocket,
  type RequestDesk,
} from './desk';
import type { GuestSession } from './guestSession';
import type { GenesysSignIn } from './rest';
import { GuestApiError, type SessionResponse } from './protocol';
import { GuestSocket, RECONNECT_ATTEMPTS_FOR_REQUESTS, withRetries, type GenesysGate, type SocketClosed } from './link';
import {
  attemptOf,
  endOf,
  heldOf,
  isClosedByServer,
  isConfigured,
  socketOf,
  transition,
  type LinkEvent,
  type LinkState,
} from './linkState';

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
  /** The circuit to Genesys (guestApiHealth.ts): while it is open, calls are refused at once. */
  upstream?: GenesysGate;
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
  /** Sends the configure frame this session needs (anonymous or signed in) and waits for its answer. */
  configure(): Promise<SessionResponse>;
  /** Told before the link holds `info` as configured. */
  configured(info: SessionResponse): void;
  emit(event: GuestEvent): void;
  /** Ends the session; GuestSession ends the link with it (`end`). */
  die(error: GuestApiError): void;
  /** An end the owner keeps itself, apart from the link's `dead` state (a stand-in for the session may). */
  dead?(): GuestApiError | undefined;
  now(): number;
}

/** A connect, or a configure again, under way: later callers join its promise. */
interface Attempt {
  promise: Promise<SessionResponse>;
}

/** A 401 mid-session configures again at most this often; one more within it fails the refused request. */
const REAUTH_COOLDOWN_MS = 10_000;

export class SessionLink implements DeskSocket {
  /** Socket, configuration, attempt under way, the session's end: one value, changed only by `apply` (linkState.ts). */
  private state: LinkState<GuestSocket, Attempt> = { kind: 'idle' };
  private lastReconfigureAt = -Infinity;
  private readonly inbound: InboundTarget;

  constructor(
    private readonly options: LinkOptions,
    private readonly owner: LinkOwner,
  ) {
    this.inbound = {
      ...owner.inbound,
      // While a reconnect is not yet announced, what the new socket brings for streams is held and follows
      // `reconnected`: a stream then catches up from where it was when the old socket dropped, not from a
      // message that overtook what it missed.
      emit: (event) => {
        const held = heldOf(this.state);
        if (held && event.type !== 'session') held.push(event);
        else owner.inbound.emit(event);
      },
    };
  }

  current(): GuestSocket | undefined {
    return socketOf(this.state);
  }

  isReady(): boolean {
    return isConfigured(this.state) && (this.current()?.isOpen ?? false);
  }

  get isConnecting(): boolean {
    return attemptOf(this.state) !== undefined;
  }

  /** What Genesys last said of the session (its SessionResponse), once configured. */
  get info(): SessionResponse | undefined {
    return this.state.info;
  }

  /** Genesys said it is closing this connection: a stream is not reconnected behind its back. */
  get closedByServer(): boolean {
    return isClosedByServer(this.state);
  }

  /** Inbound dispatch marks the current socket as one Genesys closes (ConnectionClosedEvent, logout). */
  set closedByServer(closing: boolean) {
    if (closing) this.apply({ type: 'closedByServer' });
  }

  dead(): GuestApiError | undefined {
    return endOf(this.state) ?? this.owner.dead?.();
  }

  /** Genesys described the session anew: held as the link's `info`. */
  describe(info: SessionResponse): void {
    this.apply({ type: 'infoChanged', info });
  }

  /** The session ended or left service: the socket closes and nothing reopens it. False when it had ended already. */
  end(error: GuestApiError): boolean {
    const socket = this.current();
    if (!this.apply({ type: 'sessionEnded', error })) return false;
    socket?.close();
    return true;
  }

  wake(): void {
    this.connect().catch(() => undefined);
  }

  /** Starts (or joins) connecting and configuring, with bounded retries. */
  connect(): Promise<SessionResponse> {
    const dead = this.dead();
    if (dead) return Promise.reject(dead);
    const under = attemptOf(this.state);
    if (under) return under.promise;
    // A ready link has its socket: asking again opens no second one.
    const info = this.info;
    if (info && this.isReady()) return Promise.resolve(info);
    const isReconnect = this.info !== undefined;
    const attempt = {} as Attempt;
    this.apply({ type: 'connectRequested', attempt });
    attempt.promise = this.connectWithRetries(attempt, isReconnect).finally(() => this.settled(attempt));
    return attempt.promise;
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
    const socket = this.current();
    if (attemptOf(this.state) || !this.isReady() || !socket) return this.connect();
    const attempt = {} as Attempt;
    this.apply({ type: 'reconfigureRequested', attempt });
    attempt.promise = (async () => {
      try {
        const info = await this.owner.configure();
        if (this.current() !== socket)
          throw new GuestApiError('connection_lost', 'The connection to Genesys dropped while configuring.');
        this.owner.configured(info);
        this.apply({ type: 'sessionConfigured', info });
        this.owner.desk.flush();
        return info;
      } catch (error) {
        const e = error as GuestApiError;
        if (e.fatalForSession) this.owner.die(e);
        else {
          this.abandon(socket);
          this.owner.desk.failAll(e, (p) => !p.written);
        }
        throw e;
      }
    })().finally(() => this.settled(attempt));
    return attempt.promise;
  }

  /** Closes the socket; the Genesys session is not ended. */
  close(): void {
    const socket = this.current();
    if (!socket) return;
    this.apply({ type: 'socketClosed', socket });
    socket.close();
  }

  /**
   * The one place the link's state changes: the event is allowed or refused by `transition` (linkState.ts),
   * and a change of kind is logged and counted. False when refused: the state stays as it was.
   */
  private apply(event: LinkEvent<GuestSocket, Attempt>): boolean {
    const from = this.state;
    const next = transition(from, event);
    if (!next) return false;
    this.state = next;
    if (next.kind !== from.kind) {
      this.options.logger.debug({ event: event.type, from: from.kind, to: next.kind }, 'guest link state changed');
      guestLinkTransitions.inc({ from: from.kind, to: next.kind });
    }
    return true;
  }

  /** The attempt's promise settled; a socket it left unconfigured is closed, not kept open beside nothing. */
  private settled(attempt: Attempt): void {
    const socket = this.current();
    this.apply({ type: 'attemptSettled', attempt });
    if (socket && this.current() !== socket) socket.close();
  }

  private async connectWithRetries(attempt: Attempt, isReconnect: boolean): Promise<SessionResponse> {
    const window = this.options.reconnectWindowMs ?? 300_000;
    try {
      return await withRetries(
        async () => {
          const info = await this.connectAndConfigure();
          if (isReconnect) {
            await this.owner.ledger.settleInDoubt(this.owner.desk);
            // A drop while history was checked found this loop still running and started none: go round again.
            if (!this.isReady())
              throw new GuestApiError('connection_lost', 'The connection to Genesys dropped again while reconnecting.');
            const held = heldOf(this.state) ?? [];
            this.apply({ type: 'reconnectAnnounced' });
            this.owner.emit({ type: 'session', state: 'reconnected' });
            for (const event of held) this.owner.emit(event);
          }
          this.owner.desk.flush();
          return info;
        },
        {
          keepTrying: (e, failures, startedAt) =>
            !e.fatalForSession &&
            e.failure !== 'handshake_refused' &&
            e.failure !== 'rate_limited' &&
            e.failure !== 'store_unavailable' &&
            // An open circuit answers a request at once; only live streams keep trying, to be back when it closes.
            ((e.failure !== 'circuit_open' && failures + 1 < RECONNECT_ATTEMPTS_FOR_REQUESTS) ||
              (this.owner.listeners() > 0 && this.owner.now() - startedAt < window)),
          onFirstRetry: () => {
            if (isReconnect) this.owner.emit({ type: 'session', state: 'reconnecting' });
          },
          stopped: () => this.dead(),
          now: () => this.owner.now(),
        },
      );
    } catch (error) {
      this.apply({ type: 'attemptFailed', attempt });
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
    const dead = this.dead();
    if (dead) throw dead;
    const socket = new GuestSocket(
      {
        webMessagingUrl: options.webMessagingUrl,
        deploymentId: options.deploymentId,
        origin: options.origin,
        connectTimeoutMs: options.requestTimeoutMs,
        pingIntervalMs: options.pingIntervalMs ?? 15_000,
        logger: options.logger,
      },
      // A socket this link has moved on from may still deliver a late reply; it must not settle the current
      // socket's requests.
      (frame) => {
        if (this.current() === socket) dispatchInbound(frame, this.inbound);
      },
      (closed) => this.onSocketClosed(socket, closed),
    );
    const previous = this.current();
    this.apply({ type: 'socketOpening', socket });
    // The socket this link had configured (a reconnect going round again after its proof, or a connect asked of a
    // configured link) is closed, not left open beside the new one: one socket per session at Genesys.
    previous?.close();
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
      if (this.current() !== socket)
        throw new GuestApiError('connection_lost', 'The connection to Genesys dropped while configuring.');
      owner.configured(info);
      this.apply({ type: 'sessionConfigured', info });
      return info;
    } catch (error) {
      this.abandon(socket);
      throw error;
    }
  }

  /** A socket that never got configured is closed, not left open beside the next attempt's. */
  private abandon(socket: GuestSocket): void {
    this.apply({ type: 'socketClosed', socket });
    socket.close();
  }

  private onSocketClosed(socket: GuestSocket, closed: SocketClosed): void {
    if (socket !== this.current()) return;
    const closedByServer = this.closedByServer;
    this.apply({ type: 'socketClosed', socket });
    if (!closed.unexpected) return;
    this.options.logger.info({ code: closed.code }, 'guest socket closed by the other side');
    this.owner.desk.socketLost();
    // Streams listening on a connection Genesys said it closes were told so by its ConnectionClosedEvent
    // (inboundDispatch.ts).
    const wanted = this.owner.desk.size > 0 || (this.owner.listeners() > 0 && !closedByServer);
    if (wanted && !this.isConnecting && !this.dead()) this.wake();
  }
}
