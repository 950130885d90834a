import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import type { GuestEvent, GuestSession } from '../../src/genesys/guest/guestSession';
import { LiveStreams } from '../../src/http/liveStreams';
import { openStream } from '../support/sse';

/** A stand-in for the guest session: the test pushes events into it. */
function fakeSession() {
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

async function serve(streams: LiveStreams, session: GuestSession) {
  const app = express();
  app.get('/stream', (_req, res) => streams.serve(res, session));
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { server, port, url: `http://127.0.0.1:${port}/stream` };
}

test('heartbeat comments keep an idle stream alive', async () => {
  const streams = new LiveStreams({ heartbeatMs: 40, maxBufferedBytes: 64 * 1024, logger: pino({ level: 'silent' }) });
  const fake = fakeSession();
  const { server, url } = await serve(streams, fake.session);
  const stream = await openStream(url);
  await new Promise((r) => setTimeout(r, 200));
  expect(stream.comments).toBeGreaterThanOrEqual(2);
  stream.close();
  await new Promise((r) => setTimeout(r, 20));
  expect(fake.subscribers).toBe(0);
  expect(streams.count).toBe(0);
  server.close();
});

test('a reader that stops reading is cut off instead of growing memory without bound', async () => {
  const cap = 32 * 1024;
  const streams = new LiveStreams({ heartbeatMs: 60_000, maxBufferedBytes: cap, logger: pino({ level: 'silent' }) });
  const fake = fakeSession();
  const { server, port } = await serve(streams, fake.session);
  const socket = net.connect(port, '127.0.0.1');
  socket.write('GET /stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
  socket.pause(); // never read
  await new Promise((r) => setTimeout(r, 50));
  const text = 'x'.repeat(2000);
  for (let i = 0; i < 5000 && fake.subscribers > 0; i++) {
    fake.emit({ type: 'message', message: { id: String(i), direction: 'outbound', type: 'text', text, time: new Date().toISOString() } });
  }
  expect(fake.subscribers).toBe(0);
  expect(streams.count).toBe(0);
  socket.destroy();
  server.close();
});

test('typing and message events reach a reader that keeps up, in order', async () => {
  const streams = new LiveStreams({ heartbeatMs: 60_000, maxBufferedBytes: 1024 * 1024, logger: pino({ level: 'silent' }) });
  const fake = fakeSession();
  const { server, url } = await serve(streams, fake.session);
  const stream = await openStream(url);
  await stream.next((e) => e.event === 'session');
  fake.emit({ type: 'typing', durationMs: 5000 });
  fake.emit({ type: 'message', message: { id: 'm1', direction: 'outbound', type: 'text', text: 'hi', time: new Date().toISOString() } });
  await stream.next((e) => e.event === 'message');
  expect(stream.events.map((e) => e.event)).toEqual(['session', 'typing', 'message']);
  stream.close();
  server.close();
});
