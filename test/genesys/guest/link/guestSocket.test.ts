import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import {
  GuestSocket,
  DEFAULT_MAX_FRAME_BYTES,
  type SocketClosed,
} from '../../../../src/genesys/guest/link/guestSocket';
import { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import type { InboundFrame } from '../../../../src/genesys/guest/protocol/frames';
import { registry } from '../../../../src/observability/metrics';
import { captureLogger } from '../../../support/app';
import {} from '../../../support/platform';
import { waitFor } from '../../../support/wait';
import { VARIABLE_NAMES } from '../../../support/settingNames';

/**
 * One Guest API socket (src/genesys/guest/link/guestSocket.ts; docs/genesys-protocol.md#guest-websocket):
 * its handshake and sends, each way they can fail a typed error whose message the caller answers
 * with, counted in genesys_bff_genesys_errors_total{code}; the bound on an inbound frame, which it
 * refuses instead of buffering; and its keep-alive pings, once per interval from one timer for all
 * sockets, a socket whose ping goes unanswered closed.
 */

describe('the handshake and sends', () => {
  let server: WebSocketServer | undefined;
  let answer: { ok: boolean; status?: number };

  afterEach(async () => {
    jest.restoreAllMocks();
    if (!server) return;
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  async function startServer(): Promise<string> {
    answer = { ok: true };
    server = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      verifyClient: (_info: unknown, done: (ok: boolean, status?: number) => void) => done(answer.ok, answer.status),
    });
    await new Promise((resolve) => server!.once('listening', resolve));
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** A port nothing listens on: one a server had, then gave back. */
  async function closedPort(): Promise<string> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    return `ws://127.0.0.1:${port}`;
  }

  const socketTo = (webMessagingUrl: string) =>
    new GuestSocket(
      {
        webMessagingUrl,
        deploymentId: 'd',
        origin: 'https://shop.example.com',
        named: {
          ...VARIABLE_NAMES,
          origin: 'GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://shop.example.com)',
        },
        connectTimeoutMs: 5000,
        pingIntervalMs: 60_000,
        logger: captureLogger('debug').logger,
      },
      () => undefined,
      () => undefined,
    );

  async function errorsCounted(code: string): Promise<number> {
    const metric = await registry.getSingleMetric('genesys_bff_genesys_errors_total')!.get();
    return metric.values.find((v) => v.labels.code === code)?.value ?? 0;
  }

  async function failure(promise: Promise<unknown>): Promise<GuestApiError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GuestApiError);
    return error as GuestApiError;
  }

  describe('the handshake', () => {
    test('a host that cannot be reached: unavailable, with the network error as its cause, counted once as unreachable', async () => {
      const before = await errorsCounted('unreachable');
      const error = await failure(socketTo(await closedPort()).connect());
      expect(error).toMatchObject({
        failure: 'unavailable',
        code: 'upstream_unavailable',
        message: 'Could not reach the Genesys chat service; please retry shortly.',
      });
      expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
      expect(await errorsCounted('unreachable')).toBe(before + 1);
    });

    test('a handshake answered 503: unavailable, with the status for the log', async () => {
      const url = await startServer();
      answer = { ok: false, status: 503 };
      const before = await errorsCounted('503');
      const error = await failure(socketTo(url).connect());
      expect(error).toMatchObject({
        failure: 'unavailable',
        message: 'Genesys chat service is unavailable; please retry shortly.',
        logDetail: { genesysCode: 503 },
      });
      expect(await errorsCounted('503')).toBe(before + 1);
    });

    test('a handshake refused with 403: handshake_refused, naming the Origin as it was chosen, with the status', async () => {
      const url = await startServer();
      answer = { ok: false, status: 403 };
      const error = await failure(socketTo(url).connect());
      expect(error).toMatchObject({ failure: 'handshake_refused', logDetail: { genesysCode: 403 } });
      // The Origin was derived (GENESYS_ORIGIN unset): the message says so rather than blame a setting nobody wrote.
      expect(error.message).toBe(
        'Genesys refused the chat connection. Check GENESYS_DEPLOYMENT_ID, that the deployment is active, and that ' +
          'GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://shop.example.com) ' +
          'is one of its allowed domains.',
      );
    });

    test('a handshake refused with 429: rate_limited (429), waiting as Genesys says, else 3 s', async () => {
      const refusing = http.createServer();
      let retryAfter: string | undefined = '7';
      refusing.on('upgrade', (_req, socket) => {
        const headers = retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`;
        socket.end(`HTTP/1.1 429 Too Many Requests\r\n${headers}Connection: close\r\nContent-Length: 0\r\n\r\n`);
      });
      await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
      try {
        const url = `ws://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
        const before = await errorsCounted('429');
        expect(await failure(socketTo(url).connect())).toMatchObject({
          failure: 'rate_limited',
          code: 'rate_limited',
          status: 429,
          retryAfterSeconds: 7,
          message: 'Genesys accepts only so many new chat connections a minute; retry after the given time.',
          logDetail: { genesysCode: 429 },
        });
        retryAfter = undefined;
        expect(await failure(socketTo(url).connect())).toMatchObject({ failure: 'rate_limited', retryAfterSeconds: 3 });
        expect(await errorsCounted('429')).toBe(before + 2);
        // Whole seconds, as many as it says, none included; 3 s for one it cannot read.
        for (const [said, waits] of [
          ['0', 0],
          ['1.5', 2],
          ['-1', 3],
          ['Wed, 21 Oct 2015 07:28:00 GMT', 3],
        ] as const) {
          retryAfter = said;
          expect(await failure(socketTo(url).connect())).toMatchObject({ retryAfterSeconds: waits });
        }
      } finally {
        await new Promise((resolve) => refusing.close(resolve));
      }
    });

    test('closed while the handshake is under way: the connect fails and no socket stays open', async () => {
      const url = await startServer();
      const socket = socketTo(url);
      const connecting = socket.connect();
      socket.close();
      await failure(connecting);
      expect(socket.isOpen).toBe(false);
    });
  });

  test('the handshake carries the configured Origin to the socket URL, and offers no compression', async () => {
    const url = await startServer();
    const asked: Array<{ url?: string; origin?: string; extensions?: string }> = [];
    server!.on('headers', (_headers, req) =>
      asked.push({
        url: req.url,
        origin: req.headers.origin,
        extensions: req.headers['sec-websocket-extensions'] as string | undefined,
      }),
    );
    const socket = socketTo(`${url}//`);
    await socket.connect();
    socket.close();
    expect(asked).toEqual([{ url: '/v1?deploymentId=d', origin: 'https://shop.example.com', extensions: undefined }]);
  });

  test('the socket URL drops every trailing slash of the base and encodes the deployment id', () => {
    expect(GuestSocket.urlFor('wss://webmessaging.example.com//', 'a b&c')).toBe(
      'wss://webmessaging.example.com/v1?deploymentId=a%20b%26c',
    );
  });

  describe('sends', () => {
    test('before the socket is open: connection_lost, saying so', async () => {
      const error = await failure(socketTo('ws://127.0.0.1:1').send({ action: 'echo' }));
      expect(error).toMatchObject({ failure: 'connection_lost', message: 'The connection to Genesys is not open.' });
    });

    test('after close(), a send is refused as not open', async () => {
      const socket = socketTo(await startServer());
      await socket.connect();
      socket.close();
      expect(await failure(socket.send({ action: 'echo' }))).toMatchObject({
        failure: 'connection_lost',
        message: 'The connection to Genesys is not open.',
      });
    });

    test('a write that fails: connection_lost, with the write error as its cause', async () => {
      const socket = socketTo(await startServer());
      await socket.connect();
      const broken = new Error('write EPIPE');
      jest.spyOn(WebSocket.prototype, 'send').mockImplementation(function (
        this: WebSocket,
        _data: unknown,
        cb?: unknown,
      ) {
        (cb as (error?: Error) => void)(broken);
      });
      const error = await failure(socket.send({ action: 'echo' }));
      expect(error).toMatchObject({
        failure: 'connection_lost',
        message: 'The connection to Genesys dropped while sending.',
      });
      expect(error.cause).toBe(broken);
      socket.close();
    });
  });
});

describe('an inbound frame larger than its bound', () => {
  /** The socket refuses an inbound frame larger than its bound instead of buffering it. */
  let server: WebSocketServer;
  let serverSide: Promise<WebSocket>;
  let url: string;

  beforeEach(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    serverSide = new Promise((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  function open(maxFrameBytes?: number) {
    const frames: InboundFrame[] = [];
    let closed: (c: SocketClosed) => void = () => undefined;
    const whenClosed = new Promise<SocketClosed>((resolve) => (closed = resolve));
    const log = captureLogger('debug');
    const socket = new GuestSocket(
      {
        webMessagingUrl: url,
        deploymentId: 'd',
        origin: 'https://shop.example.com',
        named: {
          ...VARIABLE_NAMES,
          origin: 'GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://shop.example.com)',
        },
        connectTimeoutMs: 5000,
        pingIntervalMs: 60_000,
        logger: log.logger,
        maxFrameBytes,
      },
      (frame) => frames.push(frame),
      (c) => closed(c),
    );
    return { socket, frames, whenClosed, log };
  }

  const frameOfSize = (bytes: number) => {
    const shell = '{"type":"message","class":"StructuredMessage","code":200,"body":{"id":"x","type":"Text","text":""}}';
    return shell.replace('"text":""', `"text":"${'a'.repeat(bytes - shell.length)}"`);
  };

  test('a frame within the bound is delivered; a larger one closes the socket with 1009 and is never parsed', async () => {
    const { socket, frames, whenClosed, log } = open(1024);
    await socket.connect();
    const peer = await serverSide;
    const peerClosed = new Promise<number>((resolve) => peer.once('close', resolve));

    peer.send(frameOfSize(1024));
    peer.send(frameOfSize(1025));
    const closed = await whenClosed;

    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ kind: 'message', body: { id: 'x' } });
    expect(closed.unexpected).toBe(true);
    expect(await peerClosed).toBe(1009);
    expect(log.lines().find((l) => l.msg === 'guest socket error')).toMatchObject({
      level: 40,
      err: { message: expect.stringMatching(/max payload size exceeded/i) },
    });
  });

  test('a binary frame is never parsed or delivered; the text frames around it are', async () => {
    const { socket, frames, whenClosed } = open(1024);
    await socket.connect();
    const peer = await serverSide;
    peer.send(frameOfSize(200));
    peer.send(Buffer.from(frameOfSize(200)), { binary: true });
    peer.send(frameOfSize(200));
    peer.close();
    await whenClosed;
    expect(frames).toHaveLength(2);
  });

  test('a socket its owner closes, even twice, ends with the closing handshake: 1000, not unexpected', async () => {
    const { socket, whenClosed } = open();
    await socket.connect();
    await serverSide;
    socket.close();
    socket.close();
    expect(await whenClosed).toEqual({ code: 1000, unexpected: false });
  });

  test('without an option the bound is 512 KiB', async () => {
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(512 * 1024);
    const { socket, frames, whenClosed } = open();
    await socket.connect();
    const peer = await serverSide;
    peer.send(frameOfSize(DEFAULT_MAX_FRAME_BYTES));
    peer.send(frameOfSize(DEFAULT_MAX_FRAME_BYTES + 1));
    await whenClosed;
    expect(frames.map((f) => f.kind)).toEqual(['message']);
  });
});

/**
 * Keep-alive pings of the Guest API sockets: every socket is pinged once per
 * interval, a socket whose ping goes unanswered is closed, and all of them
 * share one timer (a timer per socket woke the process dozens of times a
 * second with thousands of sessions: bench/README.md).
 */
describe('keep-alive pings', () => {
  let server: WebSocketServer;
  let url: string;
  const pings = new Map<string, number>();

  async function startServer(autoPong: boolean) {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong });
    server.on('connection', (client, req) => {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('deploymentId') ?? '?';
      client.on('ping', () => pings.set(id, (pings.get(id) ?? 0) + 1));
    });
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  afterEach(async () => {
    pings.clear();
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  function open(deploymentId: string, pingIntervalMs: number) {
    let closed: (c: SocketClosed) => void = () => undefined;
    const whenClosed = new Promise<SocketClosed>((resolve) => (closed = resolve));
    const socket = new GuestSocket(
      {
        webMessagingUrl: url,
        deploymentId,
        origin: 'https://shop.example.com',
        named: {
          ...VARIABLE_NAMES,
          origin: 'GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://shop.example.com)',
        },
        connectTimeoutMs: 5000,
        pingIntervalMs,
        logger: captureLogger('debug').logger,
      },
      () => undefined,
      (c) => closed(c),
    );
    return { socket, whenClosed };
  }

  test('twenty sockets are each pinged every interval, from one timer', async () => {
    await startServer(true);
    const intervals = jest.spyOn(global, 'setInterval');
    const cleared = jest.spyOn(global, 'clearInterval');
    try {
      const sockets = Array.from({ length: 20 }, (_, i) => open(`d${i}`, 100));
      await Promise.all(sockets.map((s) => s.socket.connect()));
      expect(intervals).toHaveBeenCalledTimes(1);
      await waitFor(() => pings.size === 20 && [...pings.values()].every((n) => n >= 2));
      expect(pings.size).toBe(20);
      expect(Math.min(...pings.values())).toBeGreaterThanOrEqual(2);
      for (const s of sockets) s.socket.close();
      await Promise.all(sockets.map((s) => s.whenClosed));
      // The last socket gone, the shared timer goes too.
      expect(cleared).toHaveBeenCalledWith(intervals.mock.results[0]!.value);
    } finally {
      intervals.mockRestore();
      cleared.mockRestore();
    }
  });

  test('a socket whose ping is never answered is closed as lost', async () => {
    await startServer(false);
    const { socket, whenClosed } = open('silent', 100);
    await socket.connect();
    const closed = await whenClosed;
    expect(closed.unexpected).toBe(true);
    expect(pings.get('silent')).toBeGreaterThanOrEqual(1);
  });
});
