import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import { Writable } from 'node:stream';
import express, { type Request, type Response } from 'express';
import pino from 'pino';
import type { Availability } from '../../../src/domain/availability';
import type { NormalizedMessage, ReceiptEvent } from '../../../src/domain/message';
import { POSITION_SKEW_MS, positionAt } from '../../../src/domain/streamPosition';
import { PROOF_PAGE_SIZE } from '../../../src/genesys/guest/rest/history';
import { EXPIRY_WARNING_MS } from '../../../src/http/middleware/expiryWarning';
import { LiveStreams, resumeAfter } from '../../../src/http/streams/liveStreams';
import { StreamCaps } from '../../../src/http/streams/streamCaps';
import { limitsRefused, streamsOpen } from '../../../src/observability/metrics';
import {
  closeAll,
  fakeSession,
  pausedReader,
  serveApp,
  serveStreams,
  streamOptions,
  fillUntilBehind,
  textMessage,
  type ServeWith,
} from '../../support/liveStreamHarness';
import { openStream, dataOf, parseEventStream } from '../../support/sse';
import { waitFor } from '../../support/wait';

/**
 * src/http/streams/liveStreams.ts: the caps and the cut-offs themselves (heartbeats, a reader that
 * stops reading or stalls, the per-session and per-address caps), and the rules the API suites pass
 * through without stating: what each refusal says and counts, when a reader is behind and what it is
 * spared meanwhile, what a final event says, how a resume and a replay place the client, and what
 * the answer's head is.
 */
afterEach(() => closeAll());

/**
 * An answer served without a connection, holding `held` bytes unwritten to its reader whatever is written to it;
 * `written` is every chunk, and `ended` whether it was ended (a write after that is recorded too, as an error would be
 * lost on a real answer).
 */
function fakeAnswer(held = 0) {
  const written: string[] = [];
  /** The status and headers set, and whether they were sent before the first write. */
  const head = { status: 0, headers: {} as Record<string, string>, flushed: false };
  const res = Object.assign(new EventEmitter(), {
    destroyed: false,
    writableLength: held,
    writableNeedDrain: false,
    ended: false,
    status: (code: number) => ((head.status = code), res),
    setHeaders: (headers: Map<string, string>) => {
      for (const [name, value] of headers) head.headers[name.toLowerCase()] = value;
      return res;
    },
    setHeader: (name: string, value: string) => ((head.headers[name.toLowerCase()] = value), res),
    flushHeaders: () => void (head.flushed = written.length === 0),
    write: (chunk: string) => written.push(res.ended ? `after the end: ${chunk}` : chunk) > 0,
    end: () => {
      res.ended = true;
      res.emit('close');
    },
  });
  return { res: res as unknown as Response, written, head };
}

/** Lets every callback already due run: a replay whose history answered has written what it found by then. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** The events in what was written to a fake answer, as [event, data]. */
const eventsIn = (written: string[]) =>
  parseEventStream(`HTTP/1.1 200 OK\r\n\r\n${written.join('')}`)
    .filter((e) => e.event)
    .map((e) => [e.event, e.data]);

describe('what a stream writes, in order', () => {
  const T = 1_800_000_000_000;
  /** One stream event as written: its id line (the client's place), its name and its data. */
  const written = (id: string, event: string, data: unknown) =>
    `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

  // First in this file: a stream whose serving broke shows here as a transcript that differs, not as a wait.
  test('its head, open, a heartbeat, each event with the place it leaves the client at, then the final event', () => {
    jest.useFakeTimers({ now: T });
    try {
      const streams = new LiveStreams(streamOptions({ heartbeatMs: 1000, now: () => Date.now() }));
      const fake = fakeSession();
      const answer = fakeAnswer();
      streams.serve(answer.res, fake.session, { guestToken: 'a', ip: '127.0.0.1' });
      expect(answer.head).toEqual({
        status: 200,
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        },
        flushed: true,
      });
      expect([streams.count, fake.subscribers]).toEqual([1, 1]);
      jest.advanceTimersByTime(1000);
      const m1 = textMessage('m1', 'hi', T);
      const r1: ReceiptEvent = { messageId: 'm1', status: 'read', at: new Date(T).toISOString() };
      fake.emit({ type: 'typing', durationMs: 5 });
      fake.emit({ type: 'message', message: m1 });
      fake.emit({ type: 'receipt', receipt: r1 });
      fake.emit({ type: 'presence', presence: 'join', name: 'Alex' });
      fake.emit({ type: 'session', state: 'reconnecting', detail: 'socket lost' });
      fake.emit({ type: 'session', state: 'expired' });
      fake.emit({ type: 'message', message: textMessage('m2', 'too late', T) });
      const opened = positionAt(T);
      expect(answer.written).toEqual([
        'retry: 2000\n\n',
        written(opened, 'session', { state: 'open' }),
        ': heartbeat\n\n',
        written(opened, 'typing', { durationMs: 5 }),
        written('m1', 'message', m1),
        written('m1', 'receipt', r1),
        written('m1', 'presence', { presence: 'join', name: 'Alex' }),
        written('m1', 'session', { state: 'reconnecting', detail: 'socket lost' }),
        'event: session\ndata: {"state":"expired","detail":"","reconnect":false}\n\n',
      ]);
      expect([streams.count, fake.subscribers]).toEqual([0, 0]);

      // A client that leaves: its close alone lets everything go, and nothing more is written to it.
      const left = fakeAnswer();
      streams.serve(left.res, fake.session, { guestToken: 'b', ip: '127.0.0.1' });
      (left.res as unknown as EventEmitter).emit('close');
      fake.emit({ type: 'typing', durationMs: 5 });
      jest.advanceTimersByTime(5000);
      expect([streams.count, fake.subscribers, left.written.length]).toEqual([0, 0, 2]);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('the caps and the cut-offs', () => {
  test('heartbeat comments keep an idle stream alive', async () => {
    const streams = new LiveStreams(streamOptions({ heartbeatMs: 40, maxBufferedBytes: 64 * 1024 }));
    const fake = fakeSession();
    const { url } = await serveStreams(streams, fake.session);
    const stream = await openStream(url);
    // However slow the machine, two heartbeats come; the wait is bounded, the verdict is not a clock.
    await waitFor(() => stream.comments >= 2);
    stream.close();
    await waitFor(() => fake.subscribers === 0 && streams.count === 0);
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

  test('the byte cap is a ceiling it may reach: at the cap the stream goes on and its final event is told; past it, neither', () => {
    const cap = 1000;
    const streams = new LiveStreams(streamOptions({ maxBufferedBytes: cap }));
    const fake = fakeSession();

    const atCap = fakeAnswer(cap);
    streams.serve(atCap.res, fake.session, { guestToken: 'a', ip: '127.0.0.1' });
    fake.emit({ type: 'message', message: textMessage('m1') });
    streams.endAll('restarting');
    expect(eventsIn(atCap.written)).toEqual([
      ['session', JSON.stringify({ state: 'open' })],
      ['message', expect.stringContaining('"id":"m1"')],
      ['session', JSON.stringify({ state: 'reconnect', detail: 'restarting', reconnect: true })],
    ]);

    // Cut at its first event; a final event would only add to what the reader has not taken.
    const pastCap = fakeAnswer(cap + 1);
    streams.serve(pastCap.res, fake.session, { guestToken: 'b', ip: '127.0.0.1' });
    expect(pastCap.written).toEqual(['retry: 2000\n\n']);
    expect([streams.count, fake.subscribers]).toEqual([0, 0]);
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
    const streams = new LiveStreams(streamOptions({ caps: new StreamCaps({ perSession: 2, perIp: 3 }) }));
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
    await waitFor(() => streams.count === 2);
    const a3 = await openStream(`${url}?session=a`);
    expect(streams.count).toBe(3);
    for (const s of [a2, b1, a3]) s.close();
  });

  test("one address's cap holds across deployments: their streams share the instance's caps", async () => {
    const caps = new StreamCaps({ perSession: 5, perIp: 2 });
    const [shop, clinic] = [new LiveStreams(streamOptions({ caps })), new LiveStreams(streamOptions({ caps }))];
    const [a, b] = [await serveStreams(shop, fakeSession().session), await serveStreams(clinic, fakeSession().session)];
    const held = [await openStream(`${a.url}?session=a`), await openStream(`${b.url}?session=b`)];
    expect((await fetch(`${b.url}?session=c`)).status).toBe(429);
    expect((await fetch(`${a.url}?session=d`)).status).toBe(429);
    held[0]!.close();
    await waitFor(() => shop.count === 0);
    const again = await openStream(`${b.url}?session=c`);
    expect(clinic.count).toBe(2);
    for (const s of [held[1]!, again]) s.close();
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
});

describe('what each answer, refusal and event says', () => {
  const T0 = 1_800_000_000_000;
  async function opened(serveWith: ServeWith = {}, over: Parameters<typeof streamOptions>[0] = {}) {
    const streams = new LiveStreams(streamOptions({ now: () => T0, ...over }));
    const fake = fakeSession();
    const { url, port, answers } = await serveStreams(streams, fake.session, serveWith);
    return { streams, fake, url, port, answers };
  }

  /** Availability as the case tells it: `tell(reason)` reaches every stream subscribed (`listeners`). */
  function availabilityFeed() {
    const listeners = new Set<(answer: Availability) => void>();
    const availability = {
      subscribe: (listener: (answer: Availability) => void) => {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    };
    const tell = (reason: string) => listeners.forEach((l) => l({ reason } as unknown as Availability));
    return { listeners, availability, tell };
  }

  const refusals = async (limit: string) =>
    (await limitsRefused.get()).values.find((v) => v.labels.limit === limit)?.value ?? 0;

  describe('a stream refused for a cap says which, when to retry, and is counted under its own limit', () => {
    test.each([
      ['session', 'streams_per_session', { perSession: 1, perIp: 100 }, ['?session=a&ip=1', '?session=a&ip=2']],
      ['address', 'streams_per_ip', { perSession: 100, perIp: 1 }, ['?session=a&ip=1', '?session=b&ip=1']],
    ] as const)('too many for one %s', async (what, limit, caps, [first, second]) => {
      const { streams, fake, url } = await opened({}, { caps: new StreamCaps(caps) });
      const held = await openStream(`${url}${first}`);
      const before = { perSession: await refusals('streams_per_session'), perIp: await refusals('streams_per_ip') };
      const refused = await fetch(`${url}${second}`);
      expect([refused.status, await refused.json()]).toEqual([
        429,
        {
          code: 'rate_limited',
          detail: `Too many live streams are open for this ${what}; close one first.`,
          retryAfterSeconds: 5,
        },
      ]);
      const after = { perSession: await refusals('streams_per_session'), perIp: await refusals('streams_per_ip') };
      expect(after).toEqual(
        limit === 'streams_per_session'
          ? { ...before, perSession: before.perSession + 1 }
          : { ...before, perIp: before.perIp + 1 },
      );
      held.close();
      await waitFor(() => streams.count === 0 && fake.subscribers === 0);
    });
  });

  test('a stream that ends is counted out of genesys_bff_streams_open once, though its answer closes after it', async () => {
    const { streams, fake, url, answers } = await opened();
    const open = async () => (await streamsOpen.get()).values[0]?.value ?? 0;
    const before = await open();
    const stream = await openStream(url);
    await stream.next((e) => e.event === 'session');
    expect(await open()).toBe(before + 1);
    fake.emit({ type: 'session', state: 'expired' });
    await stream.ended;
    await waitFor(() => streams.count === 0 && fake.subscribers === 0);
    // The answer's own close comes after the end, and must not count the stream out again.
    if (!answers[0]!.closed) await once(answers[0]!, 'close');
    expect(await open()).toBe(before);
  });

  test("a stream whose client leaves is counted out under the deployment that served it, not the connection's", async () => {
    const { streams, url } = await opened({ deployment: 'brand-a' });
    const open = async (deployment: string) =>
      (await streamsOpen.get()).values.find((v) => v.labels.deployment === deployment)?.value ?? 0;
    const before = { a: await open('brand-a'), other: await open('default') };
    const stream = await openStream(url);
    await stream.next((e) => e.event === 'session');
    expect(await open('brand-a')).toBe(before.a + 1);
    stream.close();
    await waitFor(() => streams.count === 0);
    expect({ a: await open('brand-a'), other: await open('default') }).toEqual(before);
  });

  test('a closed stream leaves nothing counted for its session or address', async () => {
    const caps = new StreamCaps({ perSession: 100, perIp: 100 });
    const { streams, url } = await opened({}, { caps });
    for (let i = 0; i < 3; i++) {
      const stream = await openStream(`${url}?session=s${i}&ip=10.0.0.${i}`);
      stream.close();
    }
    await waitFor(() => streams.count === 0);
    // The counts are private, and no answer shows them: a count left at zero for every client ever seen would grow without bound.
    const counts = caps as unknown as { bySession: Map<string, number>; byIp: Map<string, number> };
    expect([counts.bySession.size, counts.byIp.size]).toEqual([0, 0]);
  });

  test('a reader that keeps up is never behind, however long the stream runs', async () => {
    let clock = T0;
    const { fake, url } = await opened({}, { stallMs: 1000, now: () => clock });
    const stream = await openStream(url);
    await stream.next((e) => e.event === 'session');
    fake.emit({ type: 'message', message: textMessage('first') });
    await stream.next((e) => e.id === 'first');
    clock += 5000;
    fake.emit({ type: 'message', message: textMessage('second') });
    await stream.next((e) => e.id === 'second');
    expect(fake.subscribers).toBe(1);
    stream.close();
  });

  describe('a reader that falls behind', () => {
    test('is cut off once it has left data unread for longer than the stall limit, not sooner, with a final event that says why', async () => {
      let clock = T0;
      const { fake, port, answers } = await opened(
        {},
        { maxBufferedBytes: 256 * 1024 * 1024, stallMs: 1000, now: () => clock },
      );
      const reader = pausedReader(port);
      await waitFor(() => fake.subscribers === 1);
      fillUntilBehind(fake, answers[0]!, { time: T0 });
      // Behind, on a clock that has not moved: not cut.
      expect([answers[0]!.writableNeedDrain, fake.subscribers]).toEqual([true, 1]);
      clock += 1000;
      fake.emit({ type: 'message', message: textMessage('at-the-limit', 'a', T0) });
      expect(fake.subscribers).toBe(1);
      clock += 1;
      fake.emit({ type: 'message', message: textMessage('past-it', 'b', T0) });
      expect(fake.subscribers).toBe(0);
      const blocks = parseEventStream(await reader.readAll());
      expect(blocks.at(-1)).toEqual({
        event: 'session',
        data: JSON.stringify({
          state: 'slow_reader',
          detail: 'The stream fell behind; reconnect and reload history.',
          reconnect: true,
        }),
      });
      expect(blocks.filter((b) => b.event === 'message').at(-1)?.id).toBe('at-the-limit');
    });

    test('a reader that catches up is behind no longer: the stall limit does not cut it off later', async () => {
      let clock = T0;
      const { fake, port, answers } = await opened(
        {},
        { maxBufferedBytes: 256 * 1024 * 1024, stallMs: 1000, now: () => clock },
      );
      const reader = pausedReader(port);
      await waitFor(() => fake.subscribers === 1);
      const pushed = fillUntilBehind(fake, answers[0]!, { time: T0 });
      expect(answers[0]!.writableNeedDrain).toBe(true);
      let received = '';
      reader.socket.on('data', (chunk: Buffer) => (received = (received + chunk.toString('latin1')).slice(-64 * 1024)));
      reader.socket.resume();
      await waitFor(() => received.includes(`id: fill-${pushed - 1}`) && !answers[0]!.writableNeedDrain);
      clock += 5000;
      fake.emit({ type: 'message', message: textMessage('caught-up', 'a', T0) });
      expect(fake.subscribers).toBe(1);
      await waitFor(() => received.includes('id: caught-up'));
    });

    test('past the byte cap it is cut off without a final event (that would only add to what it holds), and the cut is logged', async () => {
      const lines: Record<string, unknown>[] = [];
      const logger = pino(
        new Writable({
          write: (chunk: Buffer, _encoding, done) => (
            lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>),
            done()
          ),
        }),
      );
      const { fake, port } = await opened({}, { maxBufferedBytes: 64 * 1024, logger });
      const reader = pausedReader(port);
      await waitFor(() => fake.subscribers === 1);
      // Until it is cut off: past the kernel's buffers, the answer holds the rest.
      const big = 'x'.repeat(16 * 1024);
      for (let i = 0; i < 8192 && fake.subscribers > 0; i++)
        fake.emit({ type: 'message', message: textMessage(`fill-${i}`, big, T0) });
      expect(fake.subscribers).toBe(0);
      const blocks = parseEventStream(await reader.readAll());
      expect(blocks.filter((b) => b.event === 'session').map((b) => dataOf(b).state)).toEqual(['open']);
      const cut = lines.find((l) => l.msg === 'stream reader too slow; closing it');
      expect(cut?.buffered).toBeGreaterThan(64 * 1024);
    });

    test('a reader found behind by the notice a message withdraws is cut off once, and logged once', async () => {
      const lines: Record<string, unknown>[] = [];
      const logger = pino(
        new Writable({
          write: (chunk: Buffer, _encoding, done) => (
            lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>),
            done()
          ),
        }),
      );
      const cap = 1000;
      const streams = new LiveStreams(streamOptions({ maxBufferedBytes: cap, logger, now: () => T0 }));
      const fake = fakeSession();
      const { res, written } = fakeAnswer();
      // Within the warning's reach: the `expiring` notice is given at once.
      let expiresAt = Date.now() + EXPIRY_WARNING_MS - 1000;
      streams.serve(res, fake.session, { guestToken: 'a', ip: '127.0.0.1', expiry: { at: () => expiresAt } });
      try {
        await waitFor(() =>
          eventsIn(written).some(([event, data]) => event === 'session' && JSON.parse(data!).state === 'expiring'),
        );
        // The reader falls past the cap; a message moves the expiry, and the notice it withdraws is the write that
        // finds the reader behind.
        (res as unknown as { writableLength: number }).writableLength = cap + 1;
        expiresAt = Date.now() + 10 * EXPIRY_WARNING_MS;
        fake.emit({ type: 'message', message: textMessage('m1') });
        expect([streams.count, fake.subscribers]).toEqual([0, 0]);
        expect(eventsIn(written).map(([event]) => event)).toEqual(['session', 'session']);
        expect(lines.filter((l) => l.msg === 'stream reader too slow; closing it')).toHaveLength(1);
      } finally {
        streams.endAll('the case is over');
      }
    });

    test('is spared typing and heartbeats while it is behind, never a message', async () => {
      const { fake, port, answers } = await opened({}, { maxBufferedBytes: 256 * 1024 * 1024, heartbeatMs: 20 });
      const reader = pausedReader(port);
      await waitFor(() => fake.subscribers === 1);
      const pushed = fillUntilBehind(fake, answers[0]!, { time: T0 });
      expect(answers[0]!.writableNeedDrain).toBe(true);
      fake.emit({ type: 'typing', durationMs: 5000 });
      fake.emit({ type: 'message', message: textMessage('while-behind', 'c', T0) });
      await new Promise((resolve) => setTimeout(resolve, 150)); // several heartbeats' time
      fake.emit({ type: 'session', state: 'expired', detail: 'done' });
      const blocks = parseEventStream(await reader.readAll());
      const behind = blocks.slice(blocks.findIndex((b) => b.id === `fill-${pushed - 1}`));
      expect(behind.filter((b) => b.comment === 'heartbeat' || b.event === 'typing')).toEqual([]);
      expect(behind.filter((b) => b.event === 'message').map((b) => b.id)).toEqual([
        `fill-${pushed - 1}`,
        'while-behind',
      ]);
    });
  });

  describe('what each event says', () => {
    test('a message as Genesys sent it, or as the holder presents it; the holder presents messages only', async () => {
      const plain = await opened();
      const stream = await openStream(plain.url);
      await stream.next((e) => e.event === 'session');
      const message = textMessage('m1', 'hello', T0);
      plain.fake.emit({ type: 'message', message });
      expect(dataOf(await stream.next((e) => e.event === 'message'))).toEqual(message);
      stream.close();

      const presented = await opened({ present: (m) => ({ ...m, text: `shown: ${m.text}` }) });
      const shown = await openStream(presented.url);
      presented.fake.emit({ type: 'typing', durationMs: 3000 });
      presented.fake.emit({ type: 'message', message });
      await shown.next((e) => e.event === 'message');
      expect(shown.events.map((e) => [e.event, dataOf(e)])).toEqual([
        ['session', { state: 'open' }],
        ['typing', { durationMs: 3000 }],
        ['message', { ...message, text: 'shown: hello' }],
      ]);
      shown.close();
    });

    test('a notice, a presence with its name and a sign-in with its customer pass on as told', async () => {
      const { fake, url } = await opened();
      const stream = await openStream(url);
      await stream.next((e) => e.event === 'session');
      const time = new Date(T0).toISOString();
      fake.emit({ type: 'notice', code: 'masked', detectors: ['card'], messageId: 'm1' });
      fake.emit({ type: 'presence', presence: 'join', name: 'Ada', time, genesysId: 'never-streamed' });
      fake.emit({ type: 'session', state: 'signed_in', customer: { firstName: 'Ada' } });
      await stream.next((e) => e.event === 'session' && dataOf(e).state === 'signed_in');
      expect(stream.events.slice(1).map((e) => [e.event, dataOf(e)])).toStrictEqual([
        ['notice', { code: 'masked', detectors: ['card'], messageId: 'm1' }],
        ['presence', { presence: 'join', name: 'Ada', time }],
        ['session', { state: 'signed_in', customer: { firstName: 'Ada' } }],
      ]);
      stream.close();
    });

    test('an empty name, time or detail is told as none', async () => {
      const { fake, url } = await opened();
      const stream = await openStream(url);
      await stream.next((e) => e.event === 'session');
      fake.emit({ type: 'presence', presence: 'join', name: '', time: '' });
      fake.emit({ type: 'session', state: 'reconnecting', detail: '' });
      await stream.next((e) => e.event === 'session' && dataOf(e).state === 'reconnecting');
      expect(stream.events.slice(1).map((e) => [e.event, dataOf(e)])).toStrictEqual([
        ['presence', { presence: 'join' }],
        ['session', { state: 'reconnecting' }],
      ]);
      stream.close();
    });

    test('a guest waiting for an agent hears availability until a person of the centre writes; a bot or the guest does not stop it', async () => {
      const { listeners, availability, tell } = availabilityFeed();
      const { fake, url } = await opened({}, { availability });
      const stream = await openStream(url);
      await stream.next((e) => e.event === 'session');
      const from = (id: string, direction: string, originatingEntity: string) =>
        fake.emit({
          type: 'message',
          message: { ...textMessage(id), direction, originatingEntity } as NormalizedMessage,
        });
      tell('open');
      from('bot-1', 'outbound', 'bot');
      tell('no_agents');
      from('guest-1', 'inbound', 'human');
      tell('closed');
      from('agent-1', 'outbound', 'human');
      tell('holiday');
      // The final event comes whatever the stream sends or holds back before it.
      fake.emit({ type: 'session', state: 'expired' });
      await stream.ended;
      expect(stream.events.filter((e) => e.event === 'availability').map((e) => dataOf(e).reason)).toEqual([
        'open',
        'no_agents',
        'closed',
      ]);
      expect(listeners.size).toBe(0);
    });

    test('an expiry notice is withdrawn by a message alone: typing and presence leave it standing', async () => {
      // Within the warning's reach, standing still until a message moves it.
      let expiresAt = Date.now() + EXPIRY_WARNING_MS - 1000;
      const { fake, url } = await opened({ expiry: { at: () => expiresAt } });
      const stream = await openStream(url);
      await stream.next((e) => e.event === 'session' && dataOf(e).state === 'expiring');
      fake.emit({ type: 'typing', durationMs: 1000 });
      fake.emit({ type: 'presence', presence: 'join' });
      await stream.next((e) => e.event === 'presence');
      expect(stream.events.some((e) => e.event === 'session' && dataOf(e).state === 'expiry_cleared')).toBe(false);
      expiresAt = Date.now() + 10 * EXPIRY_WARNING_MS;
      fake.emit({ type: 'message', message: textMessage('m1') });
      fake.emit({ type: 'typing', durationMs: 1000 });
      await stream.next((e) => e.event === 'typing' && e.id === 'm1');
      expect(stream.events.map((e) => (e.event === 'session' ? dataOf(e).state : e.event))).toEqual([
        'open',
        'expiring',
        'typing',
        'presence',
        // Withdrawn as the message goes out, just before it.
        'expiry_cleared',
        'message',
        'typing',
      ]);
      stream.close();
    });

    test('a message comes once; an id the stream would not write is never an id line', async () => {
      const { fake, url } = await opened();
      const stream = await openStream(url);
      fake.emit({ type: 'message', message: textMessage('m1') });
      fake.emit({ type: 'message', message: textMessage('m1') });
      fake.emit({ type: 'message', message: textMessage('not an id: it has spaces') });
      fake.emit({ type: 'message', message: textMessage('m2') });
      await stream.next((e) => e.id === 'm2');
      expect(stream.events.map((e) => e.id)).toEqual([positionAt(T0), 'm1', 'm1', 'm2']);
      stream.close();
    });

    test(`the last ${2 * PROOF_PAGE_SIZE} message ids are remembered, and no more`, async () => {
      const { fake, url } = await opened();
      const stream = await openStream(url);
      const ids = Array.from({ length: 2 * PROOF_PAGE_SIZE }, (_, i) => `m${i}`);
      for (const id of ids) fake.emit({ type: 'message', message: textMessage(id) });
      fake.emit({ type: 'message', message: textMessage('m0') }); // still remembered: not sent again
      fake.emit({ type: 'message', message: textMessage('newer') }); // m0 is forgotten now
      fake.emit({ type: 'message', message: textMessage('m0') });
      await stream.next(
        (e) => e.event === 'message' && e.id === 'm0' && stream.events.filter((x) => x.id === 'm0').length === 2,
      );
      expect(stream.events.filter((e) => e.event === 'message').map((e) => e.id)).toEqual([...ids, 'newer', 'm0']);
      stream.close();
    });

    test('session events: a final one says whether to reconnect and ends the stream; any other passes on with its detail', async () => {
      const finals = [
        ['expired', false],
        ['unavailable', true],
        ['closed', true],
        ['signed_out', false],
        ['signed_in_elsewhere', false],
        ['reauthentication_required', false],
      ] as const;
      for (const [state, reconnect] of finals) {
        const { fake, url } = await opened();
        const stream = await openStream(url);
        fake.emit({ type: 'session', state: 'reconnecting', detail: 'socket lost' });
        fake.emit({ type: 'session', state: 'cleared' });
        fake.emit({ type: 'session', state });
        await stream.ended;
        expect(stream.events.map((e) => dataOf(e))).toEqual([
          { state: 'open' },
          { state: 'reconnecting', detail: 'socket lost' },
          { state: 'cleared' },
          { state, detail: '', reconnect },
        ]);
        expect(fake.subscribers).toBe(0);
      }
    });
  });

  describe('a resumed stream and a replay', () => {
    const history = (
      after: string | undefined,
      messages: NormalizedMessage[] | (() => Promise<NormalizedMessage[]>),
      receipts: ReceiptEvent[] = [],
    ) => {
      const reads: string[] = [];
      return {
        reads,
        history: {
          after,
          readNewest: async (reason: 'resume' | 'reconnect') => {
            reads.push(reason);
            return { messages: typeof messages === 'function' ? await messages() : messages, receipts };
          },
        },
      };
    };

    test('two final events held behind a replay end the stream once, as the first says, and nothing follows', async () => {
      let release: (() => void) | undefined;
      const page = [textMessage('m1', 'hi', T0 - 2_000), textMessage('m2', 'hi', T0 - 1_000)];
      const read = history('m1', () => new Promise((resolve) => (release = () => resolve(page))));
      const streams = new LiveStreams(streamOptions({ now: () => T0 }));
      const fake = fakeSession();
      const { res, written } = fakeAnswer();
      streams.serve(res, fake.session, { guestToken: 'a', ip: '127.0.0.1' }, read.history);
      try {
        expect(read.reads).toEqual(['resume']);
        fake.emit({ type: 'session', state: 'signed_out', detail: 'signed out' });
        fake.emit({ type: 'session', state: 'closed', detail: 'the agent ended it' });
        release!();
        await settle();
        expect(written.filter((chunk) => chunk.startsWith('after the end'))).toEqual([]);
        expect(eventsIn(written).map(([event, data]) => [event, JSON.parse(data!)])).toEqual([
          ['session', { state: 'open' }],
          ['message', expect.objectContaining({ id: 'm2' })],
          ['session', { state: 'signed_out', detail: 'signed out', reconnect: false }],
        ]);
        expect([streams.count, fake.subscribers]).toEqual([0, 0]);
      } finally {
        streams.endAll('the case is over');
      }
    });

    const from = (id: string, time: number, originatingEntity: string, direction = 'outbound', type = 'text') =>
      ({
        ...textMessage(id, 'hello', time, type as NormalizedMessage['type']),
        direction,
        originatingEntity,
      }) as NormalizedMessage;
    test.each([
      [
        'an agent wrote before the place',
        [from('a1', T0 - 2_000, 'human'), textMessage('m1', 'hi', T0 - 1_000)],
        false,
      ],
      ['the place is what an agent wrote', [from('m0', T0 - 2_000, 'bot'), from('m1', T0 - 1_000, 'human')], false],
      [
        'only a bot, the guest and an agent joining came before it',
        [
          from('b1', T0 - 4_000, 'bot'),
          from('g1', T0 - 3_000, 'human', 'inbound'),
          from('e1', T0 - 2_000, 'human', 'outbound', 'event'),
          from('m1', T0 - 1_000, 'bot'),
        ],
        true,
      ],
    ])('a resume where %s: availability is told only while no agent has written', async (_name, page, told) => {
      const { availability, tell } = availabilityFeed();
      const { fake, url } = await opened(history('m1', page), { availability });
      const stream = await openStream(url);
      await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
      tell('closed');
      fake.emit({ type: 'typing', durationMs: 1000 });
      await stream.next((e) => e.event === 'typing');
      expect(stream.events.map((e) => e.event)).toEqual(
        told ? ['session', 'availability', 'typing'] : ['session', 'typing'],
      );
      stream.close();
    });

    test('says `open` with the id the client resumes from, then sends what came after it, messages only', async () => {
      const page = [
        textMessage('m0'),
        textMessage('m1'),
        textMessage('m2'),
        textMessage('e3', 'joined', Date.now(), 'event'),
        textMessage('m4'),
      ];
      const { url } = await opened(history('m1', page));
      const stream = await openStream(url);
      await stream.next((e) => e.id === 'm4');
      expect(stream.events.map((e) => [e.event, e.id, e.event === 'session' ? dataOf(e) : undefined])).toEqual([
        ['session', 'm1', { state: 'open' }],
        ['message', 'm2', undefined],
        ['message', 'm4', undefined],
      ]);
      stream.close();
    });

    test("a receipt comes live as a `receipt` event; a resume sends again those since the client's place, lost or not", async () => {
      const receipt = (messageId: string, status: ReceiptEvent['status'], at: number): ReceiptEvent => ({
        messageId,
        status,
        at: new Date(at).toISOString(),
        ...(status === 'failed' ? { reasons: [{ code: 'DataFiltered' as const }] } : {}),
      });
      // The client's place is g2 (T0 - 3000); g1's Read came after it, g1's Delivered before it, further back than
      // the clocks' skew (the client had it).
      const page = [
        textMessage('g1', 'guest', T0 - 3000 - POSITION_SKEW_MS - 2000),
        textMessage('g2', 'guest', T0 - 3000),
        textMessage('r1', 'agent', T0 - 1000),
      ];
      const receipts = [
        receipt('g1', 'delivered', T0 - 3000 - POSITION_SKEW_MS - 1),
        receipt('g1', 'read', T0 - 2000),
        receipt('g2', 'failed', T0 - 2000),
      ];
      const { fake, url } = await opened(history('g2', page, receipts));
      const stream = await openStream(url);
      // Live after the resume's replay, whatever it sent: the events before it are all the replay's.
      fake.emit({ type: 'receipt', receipt: receipt('r1', 'read', T0) });
      await stream.next((e) => e.event === 'receipt' && dataOf(e).messageId === 'r1');
      expect(stream.events.map((e) => [e.event, e.id, e.event === 'receipt' ? dataOf(e) : undefined])).toEqual([
        ['session', 'g2', undefined],
        ['message', 'r1', undefined],
        ['receipt', 'r1', receipts[1]],
        ['receipt', 'r1', receipts[2]],
        ['receipt', 'r1', receipt('r1', 'read', T0)],
      ]);
      stream.close();
    });

    test('resumed from the oldest message of the page: all after it, and every receipt from the clock skew before it, the edge included', async () => {
      const receipt = (messageId: string, status: ReceiptEvent['status'], at: number): ReceiptEvent => ({
        messageId,
        status,
        at: new Date(at).toISOString(),
      });
      const page = [textMessage('g1', 'guest', T0 - 3000), textMessage('r1', 'agent', T0 - 2000), textMessage('r2')];
      const receipts = [
        receipt('g1', 'delivered', T0 - 3000 - POSITION_SKEW_MS - 1),
        receipt('g1', 'delivered', T0 - 3000 - POSITION_SKEW_MS),
        receipt('g1', 'read', T0 - 2000),
      ];
      const { url } = await opened(history('g1', page, receipts));
      const stream = await openStream(url);
      await stream.next((e) => e.event === 'receipt' && dataOf(e).status === 'read');
      expect(stream.events.map((e) => [e.event, e.event === 'receipt' ? dataOf(e) : e.id])).toEqual([
        ['session', 'g1'],
        ['message', 'r1'],
        ['message', 'r2'],
        ['receipt', receipts[1]],
        ['receipt', receipts[2]],
      ]);
      stream.close();
    });

    test('resumed from the newest message there is: nothing to send, and its events keep that id', async () => {
      const { fake, url } = await opened(history('m1', [textMessage('m1')]));
      const stream = await openStream(url);
      await stream.next((e) => e.event === 'session');
      fake.emit({ type: 'typing', durationMs: 1000 });
      await stream.next((e) => e.event === 'typing');
      expect(stream.events.map((e) => e.id)).toEqual(['m1', 'm1']);
      stream.close();
    });

    test('a message from before the place that comes live again (a handover with Genesys slowed) is not sent again', async () => {
      // The client had all four from the old instance's socket. The new instance's socket was open beside it for
      // the handover, and Genesys, slowed, delivers it the last two only now: one while the replay reads history,
      // one after it.
      let release!: (messages: NormalizedMessage[]) => void;
      const replay = history('r2', () => new Promise((resolve) => (release = resolve)));
      const { fake, url } = await opened(replay);
      const stream = await openStream(url);
      expect(replay.reads).toEqual(['resume']);
      fake.emit({ type: 'message', message: textMessage('g2', 'guest', T0 - 3000) });
      release([
        textMessage('g1', 'guest', T0 - 5000),
        textMessage('r1', 'agent', T0 - 4000),
        textMessage('g2', 'guest', T0 - 3000),
        textMessage('r2', 'agent', T0 - 2000),
      ]);
      await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
      fake.emit({ type: 'message', message: textMessage('r2', 'agent', T0 - 2000) });
      fake.emit({ type: 'message', message: textMessage('new', 'agent', T0 + 1000) });
      await stream.next((e) => e.id === 'new');
      expect(stream.events.map((e) => [e.event, e.id])).toEqual([
        ['session', 'r2'],
        ['message', 'new'],
      ]);
      stream.close();
    });

    test('a message before the place is not sent again after a drop, though the page pushed it out of the ids remembered', async () => {
      // The stream sent as many ids as it remembers; after the drop the newest page holds the oldest of them, one the
      // client had from another instance's socket (a handover), and the place.
      const ids = Array.from({ length: 2 * PROOF_PAGE_SIZE }, (_, i) => `m${i}`);
      const replay = history(undefined, [
        textMessage('m0', 'hi', T0 - 3000),
        textMessage('elsewhere', 'hi', T0 - 2000),
        textMessage(ids.at(-1)!, 'hi', T0 - 1000),
      ]);
      const { fake, url } = await opened(replay);
      const stream = await openStream(url);
      for (const id of ids) fake.emit({ type: 'message', message: textMessage(id) });
      await stream.next((e) => e.id === ids.at(-1));
      fake.emit({ type: 'session', state: 'reconnected' });
      expect(replay.reads).toEqual(['reconnect']);
      fake.emit({ type: 'message', message: textMessage('after') });
      await stream.next((e) => e.id === 'after');
      const from = stream.events.findIndex((e) => e.event === 'session' && dataOf(e).state === 'reconnected');
      expect(stream.events.slice(from).map((e) => [e.event, e.id])).toEqual([
        ['session', ids.at(-1)],
        ['message', 'after'],
      ]);
      stream.close();
    });

    test('a reply that overtakes the echo of a guest message sent here is not the place: a resume sends the message', async () => {
      // Genesys, slowed, delivers the reply to a guest message before the echo of the message, and the stream is cut
      // between the two (its instance killed). History places the guest message g7 before the reply r7.
      const first = await opened();
      const cut = await openStream(first.url);
      await cut.next((e) => e.event === 'session');
      first.fake.emit({ type: 'message', message: textMessage('a1', 'agent', T0 - 3000) });
      first.fake.awaitEcho(true);
      first.fake.emit({ type: 'message', message: textMessage('r7', 'You said: g7', T0 - 1000) });
      await cut.next((e) => e.event === 'message' && dataOf(e).id === 'r7');
      const place = cut.events.at(-1)!.id!;
      // Once the echo is in, the place moves again: to the echo, then to what follows.
      first.fake.awaitEcho(false);
      first.fake.emit({ type: 'message', message: textMessage('g7', 'g7', T0 - 2000) });
      first.fake.emit({ type: 'message', message: textMessage('a8', 'agent', T0) });
      await cut.next((e) => e.event === 'message' && dataOf(e).id === 'a8');
      expect(cut.events.filter((e) => e.event === 'message').map((e) => [dataOf(e).id, e.id])).toEqual([
        ['a1', 'a1'],
        ['r7', 'a1'],
        ['g7', 'g7'],
        ['a8', 'a8'],
      ]);
      cut.close();

      // The client resumes from the place the cut left it at, on another instance.
      const page = [
        textMessage('a1', 'agent', T0 - 3000),
        textMessage('g7', 'g7', T0 - 2000),
        textMessage('r7', 'You said: g7', T0 - 1000),
      ];
      const { url } = await opened(history(place, page));
      const resumed = await openStream(url);
      await resumed.next((e) => e.event === 'message' && dataOf(e).id === 'r7');
      expect(resumed.events.map((e) => [e.event, e.id])).toEqual([
        ['session', 'a1'],
        ['message', 'g7'],
        ['message', 'r7'],
      ]);
      resumed.close();
    });

    test('from a time position: every message since, reaching back for the clock skew, and a full page says more may have come', async () => {
      const since = T0 - 60_000;
      const page = [
        textMessage('too-old', 'a', since - POSITION_SKEW_MS - 1),
        textMessage('at-the-skew', 'b', since - POSITION_SKEW_MS),
        textMessage('since', 'c', since),
        textMessage('an-event', 'd', since + 1, 'event'),
      ];
      const partial = await opened(history(positionAt(since), page));
      const stream = await openStream(partial.url);
      // A live event after the replay: what came before it is all the replay sent.
      partial.fake.emit({ type: 'typing', durationMs: 1 });
      await stream.next((e) => e.event === 'typing');
      expect(stream.events.map((e) => [e.event, e.id, e.event === 'session' ? dataOf(e).state : undefined])).toEqual([
        ['session', positionAt(since), 'open'],
        ['message', 'at-the-skew', undefined],
        ['message', 'since', undefined],
        ['typing', 'since', undefined],
      ]);
      stream.close();

      const pageOf = (oldest: number) =>
        Array.from({ length: PROOF_PAGE_SIZE }, (_, i) => textMessage(`p${i}`, 'e', (i === 0 ? oldest : since) + i));
      const full = await opened(history(positionAt(since), pageOf(since)));
      const all = await openStream(full.url);
      full.fake.emit({ type: 'typing', durationMs: 1 });
      await all.next((e) => e.event === 'typing');
      expect(all.events.map((e) => e.id).slice(2)).toEqual([
        ...Array.from({ length: PROOF_PAGE_SIZE }, (_, i) => `p${i}`),
        `p${PROOF_PAGE_SIZE - 1}`,
      ]);
      expect(all.events.slice(0, 2).map((e) => [e.event, dataOf(e)])).toEqual([
        ['session', { state: 'open' }],
        [
          'session',
          {
            state: 'replay_incomplete',
            detail: 'More came since the stream position than one history page holds; reload the history.',
          },
        ],
      ]);
      all.close();

      // A full page whose oldest message is from before the position holds all that came since.
      const covered = await opened(history(positionAt(since), pageOf(since - POSITION_SKEW_MS - 1000)));
      const some = await openStream(covered.url);
      await some.next((e) => e.id === `p${PROOF_PAGE_SIZE - 1}`);
      expect(some.events.filter((e) => e.event === 'session').map((e) => dataOf(e).state)).toEqual(['open']);
      some.close();
    });

    test("a time position later than the stream itself is taken as the stream's opening", async () => {
      const { fake, url } = await opened(history(positionAt(T0 + 60_000), []));
      const stream = await openStream(url);
      fake.emit({ type: 'typing', durationMs: 1000 });
      await stream.next((e) => e.event === 'typing');
      expect(stream.events.map((e) => e.id)).toEqual([positionAt(T0), positionAt(T0)]);
      stream.close();
    });

    test('after the upstream socket comes back, history is read once; live events wait behind what was missed', async () => {
      let release!: (messages: NormalizedMessage[]) => void;
      const replay = history(undefined, () => new Promise((resolve) => (release = resolve)));
      const { fake, url } = await opened(replay);
      const stream = await openStream(url);
      // Times of their own, before the stream opened (T0): the replay runs from the client's place, m1, whatever the
      // date, never from the moment the stream opened.
      const m1 = textMessage('m1', 'hi', T0 - 60_000);
      fake.emit({ type: 'message', message: m1 });
      fake.emit({ type: 'session', state: 'reconnecting' });
      await stream.next((e) => e.event === 'session' && dataOf(e).state === 'reconnecting');
      expect(replay.reads).toEqual([]);
      fake.emit({ type: 'session', state: 'reconnected' });
      fake.emit({ type: 'message', message: textMessage('live', 'hi', T0 - 10_000) });
      expect(replay.reads).toEqual(['reconnect']);
      release([m1, textMessage('missed', 'a', T0 - 30_000)]);
      await stream.next((e) => e.id === 'live');
      expect(stream.events.filter((e) => e.event === 'message').map((e) => e.id)).toEqual(['m1', 'missed', 'live']);
      expect(replay.reads).toEqual(['reconnect']);
      stream.close();
    });

    test('a final event that waited behind a replay ends the stream: nothing that waited after it is written', async () => {
      let release!: (messages: NormalizedMessage[]) => void;
      const replay = history(undefined, () => new Promise((resolve) => (release = resolve)));
      const { fake, url } = await opened(replay);
      const stream = await openStream(url);
      fake.emit({ type: 'session', state: 'reconnected' });
      fake.emit({ type: 'session', state: 'expired', detail: 'gone' });
      fake.emit({ type: 'message', message: textMessage('after-the-end') });
      expect(replay.reads).toEqual(['reconnect']);
      release([textMessage('missed', 'a', T0 + 1)]);
      await stream.ended;
      expect(stream.events.map((e) => [e.event, e.event === 'session' ? dataOf(e).state : e.id])).toEqual([
        ['session', 'open'],
        ['session', 'reconnected'],
        ['message', 'missed'],
        ['session', 'expired'],
      ]);
    });

    test('a replay that ends after its client left shows nothing: what it finds is not told as shown', async () => {
      let release!: (messages: NormalizedMessage[]) => void;
      const replay = history(undefined, () => new Promise((resolve) => (release = resolve)));
      // What the stream tells as shown is never pushed (src/http/routes/stream.ts).
      const shown: string[] = [];
      const present = (m: NormalizedMessage) => (shown.push(m.id), m);
      const { streams, fake, url } = await opened({ ...replay, present });
      const stream = await openStream(url);
      await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
      fake.emit({ type: 'session', state: 'reconnected' });
      fake.emit({ type: 'message', message: textMessage('held') });
      expect(replay.reads).toEqual(['reconnect']);
      // The page closes (the customer left) while the replay's history read is under way.
      stream.close();
      await waitFor(() => streams.count === 0);
      release([textMessage('missed', 'a', T0 + 1)]);
      await settle();
      expect(shown).toEqual([]);
    });

    test('resumed from an id the newest page does not hold: says so at the place it had, then sends the whole page', async () => {
      const streams = new LiveStreams(streamOptions({ now: () => T0 }));
      const fake = fakeSession();
      const { res, written } = fakeAnswer();
      const page = [textMessage('m1', 'hi', T0 - 2000), textMessage('m2', 'hi', T0 - 1000)];
      const gone = history('gone', page);
      streams.serve(res, fake.session, { guestToken: 'a', ip: '127.0.0.1' }, gone.history);
      try {
        expect(gone.reads).toEqual(['resume']);
        await settle();
        const sent = parseEventStream(`HTTP/1.1 200 OK\r\n\r\n${written.join('')}`).filter((e) => e.event);
        expect(sent.map((e) => [e.id, e.event, JSON.parse(e.data!)])).toEqual([
          [positionAt(T0), 'session', { state: 'open' }],
          [
            positionAt(T0),
            'session',
            {
              state: 'replay_incomplete',
              detail: 'The last event seen is older than the newest history page; reload the history.',
            },
          ],
          ['m1', 'message', page[0]],
          ['m2', 'message', page[1]],
        ]);
      } finally {
        streams.endAll('the case is over');
      }
    });

    test('history that cannot be read says so, then what waited behind the read follows, in order', async () => {
      const streams = new LiveStreams(streamOptions({ now: () => T0 }));
      const fake = fakeSession();
      const { res, written } = fakeAnswer();
      const unreadable = history(undefined, () => Promise.reject(new Error('Genesys said 503')));
      streams.serve(res, fake.session, { guestToken: 'a', ip: '127.0.0.1' }, unreadable.history);
      try {
        fake.emit({ type: 'session', state: 'reconnected' });
        fake.emit({ type: 'message', message: textMessage('after', 'hi', T0 + 1) });
        expect(unreadable.reads).toEqual(['reconnect']);
        await settle();
        expect(eventsIn(written).map(([event, data]) => [event, JSON.parse(data!)])).toEqual([
          ['session', { state: 'open' }],
          ['session', { state: 'reconnected' }],
          ['session', { state: 'replay_incomplete', detail: 'Could not read what was missed; reload the history.' }],
          ['message', expect.objectContaining({ id: 'after' })],
        ]);
      } finally {
        streams.endAll('the case is over');
      }
    });

    test('history that cannot be read says so, and the stream goes on', async () => {
      const { fake, url } = await opened(history(undefined, () => Promise.reject(new Error('Genesys said 503'))));
      const stream = await openStream(url);
      fake.emit({ type: 'session', state: 'reconnected' });
      const incomplete = await stream.next((e) => e.event === 'session' && dataOf(e).state === 'replay_incomplete');
      expect(dataOf(incomplete)).toEqual({
        state: 'replay_incomplete',
        detail: 'Could not read what was missed; reload the history.',
      });
      fake.emit({ type: 'message', message: textMessage('after') });
      await stream.next((e) => e.id === 'after');
      stream.close();
    });
  });

  describe('the answer', () => {
    test('is an unbuffered event stream that tells the client how soon to reconnect, first thing', async () => {
      const { port } = await opened();
      // The client asks to close: the keep-alive is the stream's own, not Node's default for HTTP/1.1.
      const reader = pausedReader(port, { Connection: 'close' });
      const head = await new Promise<string>((resolve) => {
        let text = '';
        reader.socket.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('"state":"open"')) resolve(text);
        });
        reader.socket.resume();
      });
      expect(head).toMatch(/\r\nContent-Type: text\/event-stream; charset=utf-8\r\n/i);
      expect(head).toMatch(/\r\nCache-Control: no-cache, no-transform\r\n/i);
      expect(head).toMatch(/\r\nX-Accel-Buffering: no\r\n/i);
      expect(head).toMatch(/\r\nConnection: keep-alive\r\n/i);
      expect(parseEventStream(head).slice(0, 2)).toEqual([
        { retry: '2000' },
        { event: 'session', id: positionAt(T0), data: '{"state":"open"}' },
      ]);
      reader.socket.destroy();
    });

    test("sends each event as it is written: its socket's Nagle delay is off", async () => {
      const noDelay = jest.spyOn(net.Socket.prototype, 'setNoDelay');
      try {
        const { url, port } = await opened();
        const stream = await openStream(url);
        await stream.next((e) => e.event === 'session');
        // The answer's own socket (the client's fetch turns the delay off on its side too).
        const served = noDelay.mock.calls.filter(
          (_call, i) => (noDelay.mock.contexts[i] as net.Socket).localPort === port,
        );
        expect(served.length).toBeGreaterThan(0);
        expect(served.at(-1)).toEqual([true]);
        stream.close();
      } finally {
        noDelay.mockRestore();
      }
    });
  });

  describe('the id a stream resumes after', () => {
    const request = (lastEventId?: string) =>
      ({ headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId } }) as unknown as Request;

    test('the Last-Event-ID header, else ?lastEventId= (an empty header counts as none)', () => {
      expect(resumeAfter(request('from-header'), 'from-query')).toBe('from-header');
      expect(resumeAfter(request(), 'from-query')).toBe('from-query');
      expect(resumeAfter(request(''), 'from-query')).toBe('from-query');
      expect(resumeAfter(request(), undefined)).toBeUndefined();
    });

    test('one the stream would not write is refused, with what it must be', () => {
      expect(() => resumeAfter(request('has spaces'), undefined)).toThrow(
        expect.objectContaining({
          code: 'validation_failed',
          message: 'Last-Event-ID must be an event id this service sent (1 to 128 of A-Z a-z 0-9 _ -).',
        }),
      );
    });
  });
});
