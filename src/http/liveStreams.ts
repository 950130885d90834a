import type { Response } from 'express';
import type { GuestEvent, GuestSession } from '../genesys/guest/guestSession';
import type { Logger } from '../observability/logger';

/**
 * Server-Sent Events for GET /messages/stream: `message`, `typing`,
 * `presence` and `session` events from the guest's upstream socket, a
 * heartbeat comment to keep proxies from timing out, and a final `session`
 * event whenever the stream ends, so the client knows whether to reconnect.
 */
export interface LiveStreamOptions {
  heartbeatMs: number;
  /** A reader this far behind is cut off; it reconnects and reloads history. */
  maxBufferedBytes: number;
  logger: Logger;
}

interface OpenStream {
  end(state: string, detail: string, reconnect: boolean): void;
}

export class LiveStreams {
  private readonly open = new Set<OpenStream>();

  constructor(private readonly options: LiveStreamOptions) {}

  get count(): number {
    return this.open.size;
  }

  serve(res: Response, session: GuestSession): void {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    res.write('retry: 2000\n\n');

    let ended = false;
    const write = (chunk: string, essential: boolean) => {
      if (ended) return;
      // A slow reader is never allowed to grow memory without bound.
      if (res.writableLength > this.options.maxBufferedBytes) {
        this.options.logger.info({ buffered: res.writableLength }, 'stream reader too slow; closing it');
        stream.end('slow_reader', 'The stream fell behind; reconnect and reload history.', true);
        return;
      }
      if (!essential && res.writableNeedDrain) return;
      res.write(chunk);
    };
    const send = (event: string, data: unknown, id?: string) =>
      write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, event !== 'typing');

    const onEvent = (event: GuestEvent) => {
      switch (event.type) {
        case 'message':
          send('message', event.message, event.message.id);
          return;
        case 'typing':
          send('typing', { durationMs: event.durationMs });
          return;
        case 'presence':
          send('presence', { presence: event.presence, ...(event.readOnly !== undefined ? { readOnly: event.readOnly } : {}) });
          return;
        case 'session':
          if (event.state === 'expired' || event.state === 'unavailable' || event.state === 'closed') {
            stream.end(event.state, event.detail ?? '', event.state !== 'expired');
          } else {
            send('session', { state: event.state, ...(event.detail ? { detail: event.detail } : {}) });
          }
          return;
      }
    };
    const heartbeat = setInterval(() => write(': heartbeat\n\n', false), this.options.heartbeatMs);
    heartbeat.unref();
    const unsubscribe = session.subscribe(onEvent);

    const stream: OpenStream = {
      end: (state, detail, reconnect) => {
        if (ended) return;
        if (res.writableLength <= this.options.maxBufferedBytes) {
          res.write(`event: session\ndata: ${JSON.stringify({ state, detail, reconnect })}\n\n`);
        }
        ended = true;
        cleanup();
        res.end();
      },
    };
    const cleanup = () => {
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      this.open.delete(stream);
    };
    this.open.add(stream);
    res.on('close', cleanup);
    send('session', { state: 'open' });
  }

  /** Ends every stream with a final event telling clients to reconnect (shutdown). */
  endAll(detail: string): void {
    for (const stream of [...this.open]) stream.end('reconnect', detail, true);
  }
}
