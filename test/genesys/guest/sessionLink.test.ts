import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { GuestSession } from '../../../src/genesys/guest/guestSession';
import type { SessionLink } from '../../../src/genesys/guest/sessionLink';
import { waitFor } from '../../support/wait';

/**
 * The link's sockets against a Guest API the test scripts frame by frame:
 * what happens to a socket whose configureSession failed.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- frames are whatever the client sent */

interface FakeGuestApi {
  url: string;
  /** Every connection, in the order they were opened. */
  sockets: WebSocket[];
  /** Called with each connection's configureSession frame and its index. */
  onConfigure?: (frame: any, index: number, socket: WebSocket) => void;
  close(): Promise<void>;
}

async function fakeGuestApi(): Promise<FakeGuestApi> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeGuestApi = {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets: [],
    async close() {
      for (const socket of wss.clients) socket.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  wss.on('connection', (socket) => {
    const index = fake.sockets.push(socket) - 1;
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.action === 'configureSession') fake.onConfigure?.(frame, index, socket);
    });
  });
  return fake;
}

const sessionResponse = (body: object, tracingId?: string) =>
  JSON.stringify({ type: 'response', class: 'SessionResponse', code: 200, body: { connected: true, newSession: false, readOnly: false, ...body }, ...(tracingId ? { tracingId } : {}) });

let fake: FakeGuestApi;
let session: GuestSession | undefined;
beforeEach(async () => {
  fake = await fakeGuestApi();
});
afterEach(async () => {
  session?.retire('closed by the test');
  await fake.close();
});

function linkOf(s: GuestSession): SessionLink {
  return (s as unknown as { link: SessionLink }).link;
}

test('a socket whose configure failed is closed, and its late SessionResponse never answers the next socket', async () => {
  const closed = new Set<number>();
  fake.onConfigure = (frame, index, socket) => {
    socket.on('close', () => closed.add(index));
    if (index === 0) {
      // Genesys refuses the first configure (not for good: the link tries again on a new socket).
      socket.send(JSON.stringify({ type: 'response', class: 'string', code: 400, body: 'Request failed.', tracingId: frame.tracingId }));
      return;
    }
    // The first socket, if still open, now delivers a stale SessionResponse without tracingId; only
    // once the client has read it (its pong follows) or the socket is gone does the real answer go out.
    const first = fake.sockets[0]!;
    const answer = () => socket.send(sessionResponse({ maxCustomDataBytes: 2222 }, frame.tracingId));
    if (first.readyState !== WebSocket.OPEN) {
      answer();
      return;
    }
    let answered = false;
    const once = () => {
      if (answered) return;
      answered = true;
      answer();
    };
    first.send(sessionResponse({ maxCustomDataBytes: 1111, readOnly: true }));
    first.once('pong', once);
    first.once('close', once);
    first.ping();
  };
  session = new GuestSession({
    token: randomUUID(),
    deploymentId: 'deployment',
    webMessagingUrl: fake.url,
    origin: 'http://localhost:3000',
    logger: pino({ level: 'silent' }),
    requestTimeoutMs: 5000,
  });
  const info = await linkOf(session).connect();
  expect(fake.sockets).toHaveLength(2);
  expect(info).toMatchObject({ maxCustomDataBytes: 2222, readOnly: false });
  expect(session.state).toMatchObject({ maxCustomDataBytes: 2222 });
  // The refused socket is closed by the client, not left open beside the new one.
  await waitFor(() => closed.has(0));
  expect(fake.sockets[1]!.readyState).toBe(WebSocket.OPEN);
});
