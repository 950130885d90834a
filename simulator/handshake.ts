import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** Who may open a Guest API WebSocket, and how a refused handshake is answered. */

/**
 * docs/genesys-protocol.md#guest-websocket / [SAF]: the allowlist is compared on the Origin's hostname (ports are
 * ignored, which the reference marks unverified), matching an entry exactly
 * or as a parent domain (`shop.example.com` matches entry `example.com`).
 */
export function originAllowed(origin: string | undefined, allowedDomains: readonly string[]): boolean {
  if (!origin) return false;
  let hostname: string;
  try {
    hostname = new URL(origin.includes('://') ? origin : `https://${origin}`).hostname.toLowerCase();
  } catch {
    return false;
  }
  return allowedDomains.some((entry) => {
    const domain = entry.includes('://') ? safeHostname(entry) : entry.trim().toLowerCase().replace(/:\d+$/, '');
    return domain !== '' && (hostname === domain || hostname.endsWith(`.${domain}`));
  });
}

function safeHostname(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return '';
  }
}

export function refuseUpgrade(socket: Duplex, status: number, retryAfterSeconds?: number): void {
  const text = STATUS_CODES[status] ?? 'Error';
  const retryAfter = retryAfterSeconds === undefined ? '' : `Retry-After: ${retryAfterSeconds}\r\n`;
  socket.on('error', () => {});
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${retryAfter}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
