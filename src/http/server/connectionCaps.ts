import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AppError } from '../../domain/errors';
import { limitsRefused } from '../../observability/metrics';
import { clientAddressKey, forwardedClient } from '../middleware';
import { toProblem } from '../problem';

/**
 * How long a socket may stay open after its final answer (an error answer
 * that closes the connection, or the refusal of a connection over a cap):
 * long enough for the answer to leave, too short for a client that never
 * reads (or never closes its side) to keep the file descriptor.
 */
export const CLOSE_GRACE_MS = 1000;

/** Ends `socket` with `answer` and destroys it after CLOSE_GRACE_MS, whether or not the client ever closes its side. */
export function endAndClose(socket: Duplex, answer?: string): void {
  socket.end(answer);
  closeSoon(socket);
}

function closeSoon(socket: Duplex): void {
  const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

interface ConnectionCapOptions {
  /** Open connections one client address may hold. */
  perIp: number;
  /** Open connections the instance holds in all: one more is closed as it is accepted. */
  max: number;
  /**
   * Whether the address at `hop` (0: the socket's peer, then `X-Forwarded-For` from its nearest end) is a proxy
   * this service trusts (TRUST_PROXY; Express's `trust proxy fn`). A trusted peer's connection carries many
   * clients, so it is not counted; the requests it carries are, by the client they are forwarded for.
   */
  isTrustedProxy: (address: string, hop: number) => boolean;
  /** The IPv6 prefix that names one client (IPV6_PREFIX_LENGTH), as the other per-address limits count it. */
  ipv6PrefixLength: number;
}

/**
 * Caps on open client connections (docs/api.md#limits-the-service-enforces):
 * per instance, `server.maxConnections` closes a connection over the cap as
 * it is accepted (Node's own ceiling, before any byte is read); per client
 * address (IPv6 by its prefix, as the rate limits count it), a connection
 * over the cap gets a minimal 429 problem+json to its first request and is
 * closed, and is destroyed after CLOSE_GRACE_MS whatever the client does.
 * `guard` wraps the request handler so that no request of such a connection
 * reaches the app.
 *
 * Behind a trusted proxy the socket's peer is the proxy, so the cap counts
 * the requests in flight of each forwarded client instead (its address from
 * `X-Forwarded-For`, keyed as above): each of the client's connections at the
 * proxy reaches this service as requests in flight, a live stream holding
 * one. A request over the cap gets the same 429 and reaches nothing; the
 * proxy's connection stays open, since it carries other clients. A request
 * is counted until its response closes (finished, or aborted by either side).
 */
export function capConnections(server: http.Server, options: ConnectionCapOptions) {
  server.maxConnections = options.max;
  // Node closes a connection over maxConnections itself, before the app sees it: counted when it says so.
  server.on('drop', () => limitsRefused.inc({ limit: 'connections_max' }));
  const byAddress = new Map<string, number>();
  const overCap = new WeakSet<Socket>();
  server.on('connection', (socket: Socket) => {
    // The peer of the socket: before any request there is no X-Forwarded-For to read, and a trusted proxy's
    // connection carries many clients, so it is not counted at all.
    const peer = socket.remoteAddress;
    if (peer === undefined || options.isTrustedProxy(peer, 0)) return;
    const address = clientAddressKey(peer, options.ipv6PrefixLength);
    const open = (byAddress.get(address) ?? 0) + 1;
    byAddress.set(address, open);
    socket.once('close', () => {
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left > 0) byAddress.set(address, left);
      else byAddress.delete(address);
    });
    if (open > options.perIp) {
      limitsRefused.inc({ limit: 'connections_per_ip' });
      overCap.add(socket);
      closeSoon(socket);
    }
  });
  /** Requests in flight per forwarded client (behind a trusted proxy); an address is deleted at zero. */
  const proxied = new Map<string, number>();
  /** The key of the client a trusted proxy forwards `req` for; undefined for a direct peer or the proxy's own. */
  const proxiedClient = (req: http.IncomingMessage): string | undefined => {
    const peer = req.socket.remoteAddress;
    const header = req.headers['x-forwarded-for'];
    const forwardedFor = Array.isArray(header) ? header.join(',') : header;
    if (peer === undefined || forwardedFor === undefined || !options.isTrustedProxy(peer, 0)) return undefined;
    return clientAddressKey(forwardedClient(peer, forwardedFor, options.isTrustedProxy), options.ipv6PrefixLength);
  };
  const refuse = (res: http.ServerResponse, closing: boolean) => {
    const refusal = new AppError(
      'rate_limited',
      `Too many open connections from this address (at most ${options.perIp}); close some, or reuse one.`,
      { retryAfterSeconds: 1 },
    );
    const body = JSON.stringify(toProblem(refusal));
    res.writeHead(429, {
      'Content-Type': 'application/problem+json',
      'Content-Length': Buffer.byteLength(body),
      'Retry-After': '1',
      'X-Content-Type-Options': 'nosniff',
      ...(closing ? { Connection: 'close' } : {}),
    });
    res.end(body);
  };
  return {
    /**
     * How many client addresses hold a connection now: none once all
     * have closed, or the count would grow with every address ever seen.
     */
    addresses: () => byAddress.size,
    /** How many forwarded clients have a request in flight now: none once every response has closed. */
    proxiedClients: () => proxied.size,
    /**
     * `handler`, for connections within the caps; it stays reachable
     * as `.handler` (tests read the app's routes from it).
     */
    guard<H extends (req: http.IncomingMessage, res: http.ServerResponse) => void>(handler: H) {
      const guarded = (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (overCap.has(req.socket)) return refuse(res, true);
        const client = proxiedClient(req);
        if (client === undefined) return handler(req, res);
        const open = (proxied.get(client) ?? 0) + 1;
        if (open > options.perIp) {
          limitsRefused.inc({ limit: 'connections_per_ip' });
          return refuse(res, false);
        }
        proxied.set(client, open);
        // 'close' comes once per response, after it finished or when its connection ended first (an aborted
        // stream, an upload refused mid-body and closed, an error that closes the socket).
        res.once('close', () => {
          const left = (proxied.get(client) ?? 1) - 1;
          if (left > 0) proxied.set(client, left);
          else proxied.delete(client);
        });
        return handler(req, res);
      };
      return Object.assign(guarded, { handler });
    },
  };
}
