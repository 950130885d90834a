/**
 * http/liveStreams.ts on its own: a stand-in guest session the test pushes events into, an
 * express app that serves its streams (closed, connections and all, by `closeAll`), and a
 * reader that stops reading.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import express, { type Response } from 'express';
import pino from 'pino';
import type { GuestEvent, GuestSession } from '../../src/genesys/guest/guestSession';
import { LiveStreams, type LiveStreamOptions, type Replay } from '../../src/http/streams/liveStreams';
import type { NormalizedMessage } from '../../src/domain/message';
import { inDeployment } from '../../src/observability/deploymentContext';
import { StreamCaps } from '../../src/http/streams/streamCaps';
import type { ExpirySource } from '../../src/http/middleware';

export function fakeSession() {
  const listeners = new Set<(e: GuestEvent) => void>();
  let awaitingOwnEcho = false;
  return {
    session: {
      subscribe(listener: (e: GuestEvent) => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      get awaitingOwnEcho() {
        return awaitingOwnEcho;
      },
    } as unknown as GuestSession,
    emit: (e: GuestEvent) => listeners.forEach((l) => l(e)),
    /** Whether a guest message sent on the session waits for its echo (GuestSession.awaitingOwnEcho). */
    awaitEcho: (on: boolean) => (awaitingOwnEcho = on),
    get subscribers() {
      return listeners.size;
    },
  };
}

export const streamOptions = (over: Partial<LiveStreamOptions> = {}): LiveStreamOptions => ({
  heartbeatMs: 60_000,
  maxBufferedBytes: 1024 * 1024,
  stallMs: 60_000,
  caps: new StreamCaps({ perSession: 100, perIp: 100 }),
  logger: pino({ level: 'silent' }),
  ...over,
});

/** An outbound text message, at `time` (epoch ms; now by default). */
export const textMessage = (
  id: string,
  text = 'hi',
  time = Date.now(),
  type: NormalizedMessage['type'] = 'text',
): NormalizedMessage =>
  ({ id, direction: 'outbound', type, text, time: new Date(time).toISOString() }) as NormalizedMessage;

/** What a stream is served with besides its holder. */
export interface ServeWith {
  present?: (message: NormalizedMessage) => NormalizedMessage;
  history?: Replay;
  /** When the session ends unless something happens (the holder's `expiry`). */
  expiry?: ExpirySource;
  /** Served inside this deployment (as src/server.ts dispatches a site's requests); else outside any. */
  deployment?: string;
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
  /** Every answer a stream was served on, in order. */
  const answers: Response[] = [];
  app.get('/stream', (req, res) => {
    answers.push(res);
    const serve = () =>
      streams.serve(
        res,
        session,
        {
          guestToken: String(req.query.session ?? 's'),
          ip: String(req.query.ip ?? req.ip),
          present: serveWith.present,
          expiry: serveWith.expiry,
        },
        serveWith.history,
      );
    try {
      if (serveWith.deployment === undefined) serve();
      else inDeployment(serveWith.deployment, serve);
    } catch (error) {
      const { code, message, retryAfterSeconds } = error as {
        code?: string;
        message: string;
        retryAfterSeconds?: number;
      };
      res.status(429).json({ code, detail: message, retryAfterSeconds });
    }
  });
  return { ...(await serveApp(app)), answers };
}

/** A stream read by hand: paused (a reader that stops reading) until `readAll`, which resumes it and returns what came. */
export function pausedReader(port: number, headers: Record<string, string> = {}) {
  const socket = net.connect(port, '127.0.0.1');
  const head = Object.entries({ Host: 'x', Accept: 'text/event-stream', ...headers }).map(
    ([name, value]) => `${name}: ${value}\r\n`,
  );
  socket.write(`GET /stream HTTP/1.1\r\n${head.join('')}\r\n`);
  socket.pause();
  return {
    socket,
    /** Everything the stream wrote, once it has ended (its last chunk written, or the connection closed). */
    readAll(): Promise<string> {
      const chunks: Buffer[] = [];
      let tail = '';
      const ended = new Promise<string>((resolve) => {
        const done = () => {
          socket.destroy();
          resolve(Buffer.concat(chunks).toString('utf8'));
        };
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          // The kept-alive connection stays open after the answer: its end is the chunked body's last chunk.
          tail = (tail + chunk.toString('latin1')).slice(-LAST_CHUNK.length);
          if (tail === LAST_CHUNK) done();
        });
        socket.on('close', done);
      });
      socket.resume();
      return ended;
    },
  };
}

const LAST_CHUNK = '\r\n0\r\n\r\n';

/**
 * Pushes 16 KiB messages into a stream whose reader has stopped reading until the answer holds
 * `headroom` bytes the socket would not take (the kernel's buffers are full, and this much more
 * waits in the process), so the reader stays behind even as the kernel's buffers grow; or until
 * the stream is cut off, or `max` messages. Returns how many it pushed.
 */
export function fillUntilBehind(
  fake: ReturnType<typeof fakeSession>,
  answer: Response,
  { headroom = 16 * 1024 * 1024, max = 8192, time = Date.now() } = {},
): number {
  const text = 'x'.repeat(16 * 1024);
  const held = () => answer.writableLength + (answer.socket?.writableLength ?? 0);
  let pushed = 0;
  while (pushed < max && fake.subscribers > 0 && !(answer.writableNeedDrain && held() >= headroom)) {
    fake.emit({ type: 'message', message: textMessage(`fill-${pushed}`, text, time) });
    pushed++;
  }
  return pushed;
}
