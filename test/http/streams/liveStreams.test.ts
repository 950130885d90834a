import express from 'express';
import { LiveStreams } from '../../../src/http/streams/liveStreams';
import {
  closeAll,
  fakeSession,
  pausedReader,
  serveApp,
  serveStreams,
  streamOptions,
} from '../../support/liveStreamHarness';
import { openStream } from '../../support/sse';
import { waitFor } from '../../support/wait';

afterEach(() => closeAll());

test('heartbeat comments keep an idle stream alive', async () => {
  const streams = new LiveStreams(streamOptions({ heartbeatMs: 40, maxBufferedBytes: 64 * 1024 }));
  const fake = fakeSession();
  const { url } = await serveStreams(streams, fake.session);
  const stream = await openStream(url);
  // However slow the machine, two heartbeats come; the wait is bounded, the verdict is not a clock.
  await waitFor(() => stream.comments >= 2, 10_000);
  stream.close();
  await waitFor(() => fake.subscribers === 0 && streams.count === 0, 10_000);
});

test('a reader that stops reading is cut off instead of growing memory without bound', async () => {
  const cap = 32 * 1024;
  const streams = new LiveStreams(streamOptions({ maxBufferedBytes: cap }));
  const fake = fakeSession();
  const { port } = await serveStreams(streams, fake.session);
  const { socket } = pausedReader(port); // never read
  await waitFor(() => fake.subscribers === 1);
  const text = 'x'.repeat(2000);
  let sent = 0;
  while (sent < 5000 && fake.subscribers > 0) {
    fake.emit({
      type: 'message',
      message: { id: String(sent), direction: 'outbound', type: 'text', text, time: new Date().toISOString() },
    });
    sent++;
  }
  // Events reached the stream, and it was cut while they kept coming, long before the 10 MB offered.
  expect(sent).toBeGreaterThan(1);
  expect(sent).toBeLessThan(5000);
  expect(fake.subscribers).toBe(0);
  expect(streams.count).toBe(0);
  socket.destroy();
});

test('typing and message events reach a reader that keeps up, in order', async () => {
  const streams = new LiveStreams(streamOptions());
  const fake = fakeSession();
  const { url } = await serveStreams(streams, fake.session);
  const stream = await openStream(url);
  await stream.next((e) => e.event === 'session');
  fake.emit({ type: 'typing', durationMs: 5000 });
  fake.emit({
    type: 'message',
    message: { id: 'm1', direction: 'outbound', type: 'text', text: 'hi', time: new Date().toISOString() },
  });
  await stream.next((e) => e.event === 'message');
  expect(stream.events.map((e) => e.event)).toEqual(['session', 'typing', 'message']);
  stream.close();
});

test('a session may hold only so many streams, and so may one address; a closed stream frees its place', async () => {
  const streams = new LiveStreams(streamOptions({ perSession: 2, perIp: 3 }));
  const fake = fakeSession();
  const { url } = await serveStreams(streams, fake.session);
  const a1 = await openStream(`${url}?session=a`);
  const a2 = await openStream(`${url}?session=a`);
  const refusedA = await fetch(`${url}?session=a`);
  expect(refusedA.status).toBe(429);
  const b1 = await openStream(`${url}?session=b`);
  const refusedIp = await fetch(`${url}?session=c`);
  expect(refusedIp.status).toBe(429);
  expect(streams.count).toBe(3);
  a1.close();
  await waitFor(() => streams.count === 2, 10_000);
  const a3 = await openStream(`${url}?session=a`);
  expect(streams.count).toBe(3);
  for (const s of [a2, b1, a3]) s.close();
});

test('a reader that leaves data unread past the stall limit is cut off, whatever the kernel still buffers', async () => {
  let clock = 0;
  const streams = new LiveStreams(
    streamOptions({ maxBufferedBytes: 64 * 1024 * 1024, stallMs: 1000, now: () => clock }),
  );
  const fake = fakeSession();
  const { port } = await serveStreams(streams, fake.session);
  const { socket } = pausedReader(port); // never read
  await waitFor(() => fake.subscribers === 1);
  const text = 'x'.repeat(16 * 1024);
  let sent = 0;
  while (sent < 20_000 && fake.subscribers > 0) {
    fake.emit({
      type: 'message',
      message: { id: String(sent), direction: 'outbound', type: 'text', text, time: new Date(0).toISOString() },
    });
    sent++;
    if (sent % 50 === 0) clock += 100;
  }
  expect(sent).toBeGreaterThan(0);
  expect(fake.subscribers).toBe(0);
  expect(streams.count).toBe(0);
  // Cut by the stall limit (about a second of the fake clock behind), long before the 64 MB byte cap.
  expect(sent * text.length).toBeLessThan(32 * 1024 * 1024);
  socket.destroy();
});

test('a client that left while the stream was being prepared gets nothing held for it', async () => {
  const streams = new LiveStreams(streamOptions());
  const fake = fakeSession();
  const signal = () => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  };
  const entered = signal();
  const prepared = signal();
  const clientGone = signal();
  const served = signal();
  const app = express();
  app.get('/stream', async (req, res) => {
    res.on('close', clientGone.resolve);
    entered.resolve();
    await prepared.promise; // as the route waits for Genesys
    streams.serve(res, fake.session, { guestToken: 's', ip: req.ip ?? '' });
    served.resolve();
  });
  const { url } = await serveApp(app);
  const controller = new AbortController();
  const request = fetch(url, { signal: controller.signal }).catch(() => undefined);
  await entered.promise;
  controller.abort();
  await request;
  await clientGone.promise;
  prepared.resolve();
  await served.promise;
  expect(streams.count).toBe(0);
  expect(fake.subscribers).toBe(0);
});
