import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { capConnections } from '../../../src/http/server/connectionCaps';
import { waitFor } from '../../support/wait';

/**
 * The per-address cap of src/http/server/connectionCaps.ts on a bare server: the refusal's every header and
 * word, the count as connections close, and the trusted proxy it never counts.
 * connectionCaps.test.ts shows the caps on the whole service.
 */

interface Client {
  socket: net.Socket;
  received: () => string;
}

const servers: http.Server[] = [];
const clients: net.Socket[] = [];

afterEach(async () => {
  for (const socket of clients.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function capped(perIp: number, trusted = false) {
  const server = http.createServer();
  servers.push(server);
  const caps = capConnections(server, { perIp, max: 100, isTrustedProxy: () => trusted });
  const handler = (_req: http.IncomingMessage, res: http.ServerResponse) => void res.end('ok');
  const guarded = caps.guard(handler);
  server.on('request', guarded);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const open = () =>
    new Promise<number>((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
  return { server, port, open, guarded, handler, addresses: caps.addresses };
}

/** A connection that asks once and keeps its socket. */
async function ask(port: number): Promise<Client> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  clients.push(socket);
  let data = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await waitFor(() => /\r\n\r\n/.test(data), 5000, 5);
  return { socket, received: () => data };
}

const statusOf = (client: Client) => Number(client.received().split(' ')[1]);

it('refuses a connection over the cap with a complete 429 problem+json', async () => {
  const { port } = await capped(1);
  expect(statusOf(await ask(port))).toBe(200);
  const over = await ask(port);
  await waitFor(() => over.received().endsWith('}'), 5000, 5);
  const [head, body] = over.received().split('\r\n\r\n');
  const headers = Object.fromEntries(
    head!
      .split('\r\n')
      .slice(1)
      .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 2)]),
  );
  expect(head!.split('\r\n')[0]).toBe('HTTP/1.1 429 Too Many Requests');
  expect(headers).toMatchObject({
    'content-type': 'application/problem+json',
    'content-length': String(Buffer.byteLength(body!)),
    'retry-after': '1',
    'x-content-type-options': 'nosniff',
    connection: 'close',
  });
  expect(JSON.parse(body!)).toEqual({
    type: '/problems/rate_limited',
    title: expect.any(String),
    status: 429,
    detail: 'Too many open connections from this address (at most 1); close some, or reuse one.',
    code: 'rate_limited',
  });
});

it('counts an address down as its connections close, one by one', async () => {
  const { port, open } = await capped(2);
  const first = await ask(port);
  await ask(port);
  first.socket.destroy();
  await waitFor(async () => (await open()) === 1, 5000, 10);
  // One of two places is free: one more connection is served, the next is over the cap again.
  expect(statusOf(await ask(port))).toBe(200);
  expect(statusOf(await ask(port))).toBe(429);
});

it('forgets an address once its last connection closes', async () => {
  const { port, open, addresses } = await capped(2);
  const [first, second] = [await ask(port), await ask(port)];
  expect(addresses()).toBe(1);
  first.socket.destroy();
  second.socket.destroy();
  await waitFor(async () => (await open()) === 0, 5000, 10);
  expect(addresses()).toBe(0);
});

it('never counts the connections of a trusted proxy', async () => {
  const { port } = await capped(1, true);
  for (let i = 0; i < 3; i++) expect(statusOf(await ask(port))).toBe(200);
});

it('keeps the handler it guards reachable', async () => {
  const { guarded, handler } = await capped(1);
  expect(guarded.handler).toBe(handler);
});
