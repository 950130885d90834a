import type { AddressInfo } from 'node:net';
import { captureLogger } from '../../../support/app';
import { WebSocketServer, type WebSocket } from 'ws';
import type { InboundFrame } from '../../../../src/genesys/guest/protocol/frames';
import {
  DEFAULT_MAX_FRAME_BYTES,
  GuestSocket,
  type SocketClosed,
} from '../../../../src/genesys/guest/link/guestSocket';
import {} from '../../../support/platform';

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
