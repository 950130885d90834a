import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { GuestSocket, type SocketClosed } from '../../../../src/genesys/guest/link/guestSocket';
import { captureLogger } from '../../../support/app';

/**
 * Keep-alive pings of the Guest API sockets: every socket is pinged once per
 * interval, a socket whose ping goes unanswered is closed, and all of them
 * share one timer (a timer per socket woke the process dozens of times a
 * second with thousands of sessions: bench/README.md).
 */

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
      connectTimeoutMs: 5000,
      pingIntervalMs,
      logger: captureLogger('debug').logger,
    },
    () => undefined,
    (c) => closed(c),
  );
  return { socket, whenClosed };
}

const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 20));
};

test('twenty sockets are each pinged every interval, from one timer', async () => {
  await startServer(true);
  const intervals = jest.spyOn(global, 'setInterval');
  const cleared = jest.spyOn(global, 'clearInterval');
  try {
    const sockets = Array.from({ length: 20 }, (_, i) => open(`d${i}`, 100));
    await Promise.all(sockets.map((s) => s.socket.connect()));
    expect(intervals).toHaveBeenCalledTimes(1);
    await until(() => pings.size === 20 && [...pings.values()].every((n) => n >= 2));
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
