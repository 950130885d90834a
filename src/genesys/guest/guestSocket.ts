import WebSocket from 'ws';
import type { Logger } from '../../observability/logger';
import { countGenesysError, genesysSocketOpens, genesysSocketsOpen } from '../../observability/metrics';
import { GuestApiError } from './errors';
import { parseInbound, type InboundFrame } from './frames';

/**
 * One physical connection to the Guest API WebSocket (docs/genesys-protocol.md#guest-websocket): connect with
 * the configured Origin, keep it alive with protocol pings, hand every
 * parsed frame to the owner. Reconnecting is the session's decision
 * (guestSession.ts), because only the session knows what was in flight.
 */
interface GuestSocketOptions {
  /** Base such as wss://webmessaging.mypurecloud.ie; `/v1?deploymentId=` is appended. */
  webMessagingUrl: string;
  deploymentId: string;
  origin: string;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  logger: Logger;
  /** The largest inbound frame accepted, in bytes; a larger one closes the socket (1009). Default 512 KiB. */
  maxFrameBytes?: number;
}

/** Chat traffic is small (text is capped at 4096 bytes); this leaves room for large carousels and forms. */
export const DEFAULT_MAX_FRAME_BYTES = 512 * 1024;

export interface SocketClosed {
  code: number;
  /** False when we closed it ourselves. */
  unexpected: boolean;
}

/** A socket kept alive by the shared ping rounds. */
interface Pinged {
  /** Pings, or closes the connection when the last ping was never answered. */
  keepAlive(): void;
}

/**
 * One timer for the keep-alive pings of every socket with the same interval,
 * instead of one per socket: with thousands of sessions a timer each woke the
 * process dozens of times a second (bench/README.md). It ticks every second
 * (or every interval, when shorter) and pings the sockets whose interval has
 * passed, the longest-waiting first: a Map keeps insertion order, and a
 * pinged socket is moved to the end.
 */
class PingRounds {
  private static readonly byInterval = new Map<number, PingRounds>();
  private readonly due = new Map<Pinged, number>();
  private timer?: NodeJS.Timeout;

  private constructor(private readonly intervalMs: number) {}

  static every(intervalMs: number): PingRounds {
    let rounds = PingRounds.byInterval.get(intervalMs);
    if (!rounds) PingRounds.byInterval.set(intervalMs, (rounds = new PingRounds(intervalMs)));
    return rounds;
  }

  add(socket: Pinged): void {
    this.due.set(socket, Date.now() + this.intervalMs);
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), Math.min(1000, this.intervalMs));
    this.timer.unref();
  }

  delete(socket: Pinged): void {
    this.due.delete(socket);
    if (this.due.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = Date.now();
    for (const [socket, at] of this.due) {
      if (at > now) break;
      this.due.delete(socket);
      this.due.set(socket, now + this.intervalMs);
      socket.keepAlive();
    }
  }
}

export class GuestSocket {
  private ws?: WebSocket;
  private pinged?: Pinged;
  private awaitingPong = false;
  private closedByUs = false;

  constructor(
    private readonly options: GuestSocketOptions,
    private readonly onFrame: (frame: InboundFrame) => void,
    private readonly onClosed: (closed: SocketClosed) => void,
  ) {}

  static urlFor(webMessagingUrl: string, deploymentId: string): string {
    return `${webMessagingUrl.replace(/\/+$/, '')}/v1?deploymentId=${encodeURIComponent(deploymentId)}`;
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  connect(): Promise<void> {
    const { webMessagingUrl, deploymentId, origin, connectTimeoutMs } = this.options;
    const ws = new WebSocket(GuestSocket.urlFor(webMessagingUrl, deploymentId), {
      origin,
      handshakeTimeout: connectTimeoutMs,
      perMessageDeflate: false,
      maxPayload: this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    });
    this.ws = ws;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: GuestApiError) => {
        if (settled) return;
        settled = true;
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(error);
      };
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        countGenesysError(status);
        fail(
          status === 403
            ? new GuestApiError(
                'handshake_refused',
                'Genesys refused the chat connection. Check GENESYS_DEPLOYMENT_ID, that the deployment is active, and that GENESYS_ORIGIN is one of its allowed domains.',
                { genesysCode: status },
              )
            : new GuestApiError('unavailable', 'Genesys chat service is unavailable; please retry shortly.', { genesysCode: status }),
        );
      });
      ws.once('error', (error) => {
        if (!settled) countGenesysError('unreachable');
        fail(new GuestApiError('unavailable', 'Could not reach the Genesys chat service; please retry shortly.', { cause: error }));
      });
      ws.once('open', () => {
        if (settled) return;
        settled = true;
        ws.removeAllListeners('error');
        ws.removeAllListeners('unexpected-response');
        this.attach(ws);
        genesysSocketOpens.inc();
        genesysSocketsOpen.inc();
        resolve();
      });
    });
  }

  private attach(ws: WebSocket): void {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.onFrame(parseInbound(data.toString()));
    });
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    ws.on('error', (error) => this.options.logger.warn({ err: error }, 'guest socket error'));
    this.awaitingPong = false;
    const rounds = PingRounds.every(this.options.pingIntervalMs);
    const pinged: Pinged = {
      keepAlive: () => {
        // No pong since the last ping: the connection is dead even if TCP has not noticed.
        if (this.awaitingPong) {
          ws.terminate();
          return;
        }
        this.awaitingPong = true;
        ws.ping();
      },
    };
    this.pinged = pinged;
    rounds.add(pinged);
    ws.once('close', (code) => {
      genesysSocketsOpen.dec();
      rounds.delete(pinged);
      this.onClosed({ code, unexpected: !this.closedByUs });
    });
  }

  /** Resolves once the frame is handed to the operating system. */
  send(frame: object): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new GuestApiError('connection_lost', 'The connection to Genesys is not open.'));
    }
    return new Promise((resolve, reject) => {
      ws.send(JSON.stringify(frame), (error) => {
        if (error) reject(new GuestApiError('connection_lost', 'The connection to Genesys dropped while sending.', { cause: error }));
        else resolve();
      });
    });
  }

  close(): void {
    this.closedByUs = true;
    if (this.pinged) PingRounds.every(this.options.pingIntervalMs).delete(this.pinged);
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
  }
}
