import { AsyncResource } from 'node:async_hooks';
import WebSocket from 'ws';
import type { SettingNames } from '../../../config/deployment';
import type { Logger } from '../../../observability/logger';
import { countGenesysError, genesysSocketOpens, genesysSocketsOpen } from '../../../observability/metrics';
import { GuestApiError, parseInbound, type InboundFrame } from '../protocol';
import { TimerRounds } from '../../../scheduling/timerRounds';

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
  /** The deployment id and `origin` as a refused handshake names them: the settings that gave them (Deployment). */
  named: Pick<SettingNames, 'deploymentId' | 'origin'>;
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

/**
 * The wait a handshake refused for the deployment's rate (429) advises when Genesys names none: whether it sends
 * `Retry-After` on the upgrade is not in the sources; Genesys's own REST SDKs wait 3 s when a 429 says nothing
 * (docs/genesys-protocol.md#errors-and-retries).
 */
const HANDSHAKE_RETRY_AFTER_SECONDS = 3;

/** What an upgrade Genesys answered with an HTTP status instead of a WebSocket means. */
function handshakeRefusal(
  status: number,
  retryAfter: string | undefined,
  named: Pick<SettingNames, 'deploymentId' | 'origin'>,
): GuestApiError {
  if (status === 403)
    return new GuestApiError(
      'handshake_refused',
      `Genesys refused the chat connection. Check ${named.deploymentId}, that the deployment is active, ` +
        `and that ${named.origin} is one of its allowed domains.`,
      { genesysCode: status },
    );
  // 1,000 new connections a minute per deployment (docs/genesys-protocol.md#limits-and-timing): Genesys is there.
  if (status === 429) {
    const named = Number(retryAfter);
    return new GuestApiError(
      'rate_limited',
      'Genesys accepts only so many new chat connections a minute; retry after the given time.',
      {
        genesysCode: status,
        retryAfterSeconds: retryAfter && named >= 0 ? Math.ceil(named) : HANDSHAKE_RETRY_AFTER_SECONDS,
      },
    );
  }
  return new GuestApiError('unavailable', 'Genesys chat service is unavailable; please retry shortly.', {
    genesysCode: status,
  });
}

/** The keep-alive rounds of every socket, one timer per interval (domain/timerRounds.ts). */
const pingRounds = new Map<number, TimerRounds>();
const pingRoundsOf = (intervalMs: number): TimerRounds => {
  let rounds = pingRounds.get(intervalMs);
  if (!rounds) pingRounds.set(intervalMs, (rounds = new TimerRounds(intervalMs)));
  return rounds;
};

export class GuestSocket {
  private ws?: WebSocket;
  private stopPinging?: () => void;
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
    // One outcome each: a failure removes every listener (the open one too); the open removes the error one (attach()
    // adds its own), and no unexpected response can follow an open.
    return new Promise<void>((resolve, reject) => {
      const fail = (error: GuestApiError) => {
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(error);
      };
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        countGenesysError(status);
        fail(handshakeRefusal(status, res.headers['retry-after'], this.options.named));
      });
      ws.once('error', (error) => {
        countGenesysError('unreachable');
        fail(
          new GuestApiError('unavailable', 'Could not reach the Genesys chat service; please retry shortly.', {
            cause: error,
          }),
        );
      });
      ws.once('open', () => {
        ws.removeAllListeners('error');
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
    const stopPinging = pingRoundsOf(this.options.pingIntervalMs).add(() => {
      // No pong since the last ping: the connection is dead even if TCP has not noticed.
      if (this.awaitingPong) {
        ws.terminate();
        return;
      }
      this.awaitingPong = true;
      ws.ping();
    });
    this.stopPinging = stopPinging;
    // Bound to the socket's context: a socket ended from elsewhere (a ping round another deployment's socket
    // started, a shutdown) still closes as its deployment's, its gauge and what follows included.
    ws.once(
      'close',
      AsyncResource.bind((code: number) => {
        genesysSocketsOpen.dec();
        stopPinging();
        this.onClosed({ code, unexpected: !this.closedByUs });
      }),
    );
  }

  /** Resolves once the frame is handed to the operating system. */
  send(frame: object): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new GuestApiError('connection_lost', 'The connection to Genesys is not open.'));
    }
    return new Promise((resolve, reject) => {
      ws.send(JSON.stringify(frame), (error) => {
        if (error)
          reject(
            new GuestApiError('connection_lost', 'The connection to Genesys dropped while sending.', { cause: error }),
          );
        else resolve();
      });
    });
  }

  close(): void {
    this.closedByUs = true;
    this.stopPinging?.();
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
  }
}
