import type { SettingNames } from '../../config/deployment';
import type { Logger } from '../../observability/logger';
import { guestLinkTransitions } from '../../observability/metrics';
import { RequestDesk, type DeskSocket, type GuestEvent, type InboundSession } from './desk';
import { GuestApiError, type InboundFrame, type SessionResponse } from './protocol';
import { GuestSocket, RECONNECT_ATTEMPTS_FOR_REQUESTS, withRetries, type SocketClosed } from './link';
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
 * A guest session's one upstream socket and the requests on it (its desk):
 * opened and configured on demand, reopened with bounded retries when it
 * drops (longer while live streams listen), and on the way back the messages
 * in doubt are proven before anything else goes out. The session
 * (guestSession.ts) owns what the socket carries.
 */
export interface LinkOptions {
  token: string;
  deploymentId: string;
  webMessagingUrl: string;
  origin: string;
  /** The deployment id and `origin` as a refused handshake names them: the settings that gave them (Deployment). */
  named: Pick<SettingNames, 'deploymentId' | 'origin'>;
  logger: Logger;
  requestTimeoutMs: number;
  pingIntervalMs?: number;
  /** How long a session with live streams keeps trying to reconnect. */
  reconnectWindowMs?: number;
  /** `onMessage` frames allowed per second (GENESYS_MESSAGES_PER_SECOND; Genesys announced 2). */
  messagesPerSecond?: number;
  /** Frames one connection may send a minute (GENESYS_REQUESTS_PER_MINUTE; Genesys's limits page: 60). */
  requestsPerMinute?: number;
  /** Asked before each new socket; rejects to refuse it (the hub's per-session budget). */
  beforeSocketOpen?: () => Promise<void>;
  onSocketOpened?: () => void;
  /** A handshake failed (refused, unreachable): for the `guestApi` readiness check. */
  onSocketFailed?: (error: GuestApiError) => void;
  now?: () => number;
}

/**
 * What the link needs of its session (guestSession.ts). It tells the session what became of the link (`hear`:
 * configured, what its streams hear, its end) as its frames do.
 */
export interface LinkSession extends InboundSession {
  /** Sends the configure this session needs on the link's socket (anonymous or signed in) and waits for its answer. */
  configureLink(): Promise<SessionResponse>;
  /** A frame off the link's current socket: the session reads what it means (desk/inboundDispatch.ts). */
  received(frame: InboundFrame): void;
  /** Whether live streams listen: a dropped socket is reopened for them, and a reconnect keeps trying longer. */
  readonly listening: boolean;
}

/** The messages whose reply was lost with a socket, proven from history before a reconnect is announced. */
export interface InDoubtSends {
  settleInDoubt(desk: RequestDesk): Promise<void>;
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
  /** The requests written on this link's sockets, within each connection's budget (desk/requestDesk.ts). */
  readonly desk: RequestDesk;
  private readonly now: () => number;

  constructor(
    private readonly options: LinkOptions,
    private readonly session: LinkSession,
    private readonly inDoubt: InDoubtSends,
  ) {
    this.now = options.now ?? Date.now;
    this.desk = new RequestDesk(
      this,
      options.requestTimeoutMs,
      { messagesPerSecond: options.messagesPerSecond ?? 2, requestsPerMinute: options.requestsPerMinute ?? 60 },
      this.now,
    );
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

  /** The session marks the current socket as one Genesys closes (its `closing` news: ConnectionClosedEvent, logout). */
  set closedByServer(closing: boolean) {
    if (closing) this.apply({ type: 'closedByServer' });
  }

  dead(): GuestApiError | undefined {
    return endOf(this.state);
  }

  /**
   * While a reconnect is not yet announced, what the new socket brings for streams is held and follows
   * `reconnected`: a stream then catches up from where it was when the old socket dropped, not from a message
   * that overtook what it missed. True when `event` was held; news of the session itself never is.
   */
  hold(event: GuestEvent): boolean {
    const held = heldOf(this.state);
    if (!held || event.type === 'session') return false;
    held.push(event);
    return true;
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
    const renew = this.now() - this.lastReconfigureAt > REAUTH_COOLDOWN_MS;
    this.desk.refused(tracingId, error, renew);
    if (!renew) return;
    this.lastReconfigureAt = this.now();
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
        const info = await this.session.configureLink();
        if (this.current() !== socket)
          throw new GuestApiError('connection_lost', 'The connection to Genesys dropped while configuring.');
        this.session.hear({ type: 'configured', info });
        this.apply({ type: 'sessionConfigured', info });
        this.desk.flush();
        return info;
      } catch (error) {
        const e = error as GuestApiError;
        if (e.fatalForSession) this.session.hear({ type: 'ended', error: e });
        else {
          this.abandon(socket);
          this.desk.failAll(e, (p) => !p.written);
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
            await this.inDoubt.settleInDoubt(this.desk);
            // A drop while history was checked found this loop still running and started none: go round again.
            if (!this.isReady())
              throw new GuestApiError('connection_lost', 'The connection to Genesys dropped again while reconnecting.');
            const held = heldOf(this.state) ?? [];
            this.apply({ type: 'reconnectAnnounced' });
            this.session.hear({ type: 'event', event: { type: 'session', state: 'reconnected' } });
            for (const event of held) this.session.hear({ type: 'event', event });
          }
          this.desk.flush();
          return info;
        },
        {
          keepTrying: (e, failures, startedAt) =>
            !e.fatalForSession &&
            e.failure !== 'handshake_refused' &&
            e.failure !== 'rate_limited' &&
            e.failure !== 'store_unavailable' &&
            // Signed in meanwhile, elsewhere: an anonymous configure again is refused again (guestSignIn.ts).
            e.failure !== 'cannot_downgrade' &&
            // An open circuit answers a request at once; only live streams keep trying, to be back when it closes.
            ((e.failure !== 'circuit_open' && failures + 1 < RECONNECT_ATTEMPTS_FOR_REQUESTS) ||
              (this.session.listening && this.now() - startedAt < window)),
          onFirstRetry: () => {
            if (isReconnect) this.session.hear({ type: 'event', event: { type: 'session', state: 'reconnecting' } });
          },
          stopped: () => this.dead(),
          now: this.now,
        },
      );
    } catch (error) {
      this.apply({ type: 'attemptFailed', attempt });
      const e = error as GuestApiError;
      if (e.fatalForSession || e.failure === 'handshake_refused') this.session.hear({ type: 'ended', error: e });
      else {
        this.desk.failAll(e);
        this.session.hear({ type: 'event', event: { type: 'session', state: 'unavailable', detail: e.message } });
      }
      throw e;
    }
  }

  private async connectAndConfigure(): Promise<SessionResponse> {
    const { options } = this;
    await options.beforeSocketOpen?.();
    // Retired while the budget was asked: nothing may reopen it.
    const dead = this.dead();
    if (dead) throw dead;
    const socket = new GuestSocket(
      {
        webMessagingUrl: options.webMessagingUrl,
        deploymentId: options.deploymentId,
        origin: options.origin,
        named: options.named,
        connectTimeoutMs: options.requestTimeoutMs,
        pingIntervalMs: options.pingIntervalMs ?? 15_000,
        logger: options.logger,
      },
      // A socket this link has moved on from may still deliver a late reply; it must not settle the current
      // socket's requests.
      (frame) => {
        if (this.current() === socket) this.session.received(frame);
      },
      (closed) => this.onSocketClosed(socket, closed),
    );
    const previous = this.current();
    this.apply({ type: 'socketOpening', socket });
    // The socket this link had configured (a reconnect going round again after its proof, or a connect asked of a
    // configured link) is closed, not left open beside the new one: one socket per session at Genesys.
    previous?.close();
    this.desk.newConnection();
    try {
      await socket.connect();
    } catch (error) {
      options.onSocketFailed?.(error as GuestApiError);
      this.abandon(socket);
      throw error;
    }
    options.onSocketOpened?.();
    try {
      const info = await this.session.configureLink();
      if (this.current() !== socket)
        throw new GuestApiError('connection_lost', 'The connection to Genesys dropped while configuring.');
      this.session.hear({ type: 'configured', info });
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
    this.desk.socketLost();
    // Streams listening on a connection Genesys said it closes were told so by its ConnectionClosedEvent
    // (inboundDispatch.ts).
    const wanted = this.desk.size > 0 || (this.session.listening && !closedByServer);
    if (wanted && !this.isConnecting && !this.dead()) this.wake();
  }
}
