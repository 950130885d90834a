import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { Stack } from './stack';
import { EVENT_WAIT_MS, waitFor } from './wait';

/** An upload written by hand on a raw socket, so the test decides when each byte goes and when the client vanishes. */
export function rawUpload(
  stack: Pick<Stack, 'service'>,
  token: string,
  options: { fileName?: string; type?: string; contentLength?: number; forwardedFor?: string } = {},
) {
  const boundary = `raw-${randomUUID()}`;
  const { port } = new URL(stack.service.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  let answer = '';
  socket.setEncoding('latin1').on('data', (d: string) => (answer += d));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const forwarded = options.forwardedFor ? `X-Forwarded-For: ${options.forwardedFor}\r\n` : '';
  const length =
    options.contentLength !== undefined
      ? `Content-Length: ${options.contentLength}\r\n`
      : 'Transfer-Encoding: chunked\r\n';
  const chunked = options.contentLength === undefined;
  const write = (data: Buffer | string) => {
    const bytes = Buffer.from(data);
    if (!socket.destroyed)
      socket.write(
        chunked ? Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]) : bytes,
      );
  };
  socket.write(
    `POST /attachments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n${forwarded}Content-Type: multipart/form-data; boundary=${boundary}\r\n${length}\r\n`,
  );
  write(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${options.fileName ?? 'photo.png'}"\r\nContent-Type: ${options.type ?? 'image/png'}\r\n\r\n`,
  );
  return {
    socket,
    write,
    finish(): void {
      write(`\r\n--${boundary}--\r\n`);
      if (chunked && !socket.destroyed) socket.write('0\r\n\r\n');
    },
    /** The answer's status, once its status line is in. */
    async status(timeoutMs = EVENT_WAIT_MS): Promise<number> {
      await waitFor(() => /^HTTP\/1\.1 \d{3}/.test(answer), timeoutMs);
      return Number(answer.slice(9, 12));
    },
    answer: () => answer,
    closed,
  };
}
