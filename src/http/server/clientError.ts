import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../../domain/errors';
import { endAndClose } from './connectionCaps';
import { toProblem } from '../problem';

/**
 * A request so malformed that Node's HTTP parser refuses it (bad framing,
 * headers over the size limit, a header with a NUL) never reaches Express.
 * It still gets a problem+json answer (docs/api.md#errors-you-will-meet) rather than Node's bare
 * one, then the connection closes (in full, after CLOSE_GRACE_MS at most). Mount with `server.on('clientError', ...)`.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // Mid-response, or the client already went away: nothing sensible can be written.
  if (error.code === 'ECONNRESET' || !socket.writable || (socket as Duplex & { bytesWritten?: number }).bytesWritten) {
    socket.destroy();
    return;
  }
  const [status, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'The request headers are larger than this service accepts.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request did not arrive in time.']
        : [400, 'The request is not valid HTTP/1.1.'];
  const body = JSON.stringify(toProblem(new AppError('validation_failed', detail, { status })));
  // Closed in full soon after: a client that never reads nor closes its side cannot keep the socket.
  endAndClose(
    socket,
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      'X-Content-Type-Options: nosniff\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
