import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import type { GuestEvent, GuestSession } from '../../src/genesys/guest/guestSession';
import { LiveStreams, type LiveStreamOptions, type Replay } from '../../src/http/liveStreams';
import type { NormalizedMessage } from '../../src/domain/message';

/**
 * http/liveStreams.ts on its own: a stand-in guest session the test pushes events into, and an
 * express app that serves its streams, closed (connections and all) by `closeAll`.
 */
export function fakeSession() {
  const listeners = new Set<(e: GuestEvent) => void>();
  return {
    session: {
      subscribe(listener: (e: GuestEvent) => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    } as unknown as GuestSession,
    emit: (e: GuestEvent) => listeners.forEach((l) => l(e)),
    get subscribers() {
      return listeners.size;
    },
  };
}

export const streamOptions = (over: Partial<LiveStreamOptions> = {}): LiveStreamOptions => ({
  heartbeatMs: 60_000,
  maxBufferedBytes: 1024 * 1024,
  stallMs: 60_000,
  perSession: 100,
  perIp: 100,
  logger: pino({ level: 'silent' }),
  ...over,
});

/** An outbound text message, at `time` (epoch ms; now by default). */
export const textMessage = (id: string, text = 'hi', time = Date.now(), type: NormalizedMessage['type'] = 'text'): NormalizedMessage =>
  ({ id, direction: 'outbound', type, text, time: new Date(time).toISOString() }) as NormalizedMessage;

/** What a stream is served with besides its holder. */
export interface ServeWith {
  present?: (message: NormalizedMessage) => NormalizedMessage;
  history?: Replay;
}

const servers = new Set<http.Server>();

export function closeAll(): void {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  servers.clear();
}

/** Serves `app` on a loopback port until `closeAll`; `url` is its /stream. */
export async function serveApp(app: express.Express) {
  const server = http.createServer(app);
  servers.add(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { port, url: `http://127.0.0.1:${port}/stream` };
}

/**
 * Serves `streams` at /stream: `?session=` names the holder's session (default `s`), `?ip=` its
 * address (default the client's); a refusal is answered 429 with its code, detail and retryAfterSeconds.
 */
export async function serveStreams(streams: LiveStreams, session: GuestSession, serveWith: ServeWith = {}) {
  const app = express();
  app.get('/stream', (req, res) => {
    try {
      streams.serve(res, session, { guestToken: String(req.query.session ?? 's'), ip: String(req.query.ip ?? req.ip), present: serveWith.present }, serveWith.history);
    } catch (error) {
      const { code, message, retryAfterSeconds } = error as { code?: string; message: string; retryAfterSeconds?: number };
      res.status(429).json({ code, detail: message, retryAfterSeconds });
    }
  });
  return serveApp(app);
}

/** A stream read by hand: paused (a reader that stops reading) until `readAll`, which resumes it and returns what came. */
export function pausedReader(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  socket.write('GET /stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
  socket.pause();
  return {
    socket,
    /** Everything the stream wrote, once it has ended (its last chunk written, or the connection closed). */
    readAll(): Promise<string> {
      const chunks: Buffer[] = [];
      const ended = new Promise<string>((resolve) => {
        const done = () => resolve(Buffer.concat(chunks).toString('utf8'));
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          // The kept-alive connection stays open after the answer: its end is the chunked body's last chunk.
          if (Buffer.concat(chunks.slice(-2)).toString('latin1').endsWith('\r\n0\r\n\r\n')) done();
        });
        socket.on('close', done);
      });
      socket.resume();
      return ended;
    },
  };
}
