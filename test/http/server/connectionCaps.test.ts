import { EventEmitter } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { answerClientError } from '../../../src/http/server/clientError';
import { CLOSE_GRACE_MS, capConnections } from '../../../src/http/server/connectionCaps';
import { registry } from '../../../src/observability/metrics';
import { startTestService, type TestService } from '../../support/app';
import { EVENT_WAIT_MS, waitFor } from '../../support/wait';

/**
 * src/http/server/connectionCaps.ts. On the whole service (README.md#limits): open connections are
 * capped per client address and per instance, and an error answer closes its socket in full even
 * when the client never reads nor closes its side. On a bare server: the per-address refusal's every
 * header and word, the count as connections close, and the trusted proxy it never counts.
 */

describe('on the whole service', () => {
  /** How many connections genesys_bff_limits_refused_total has counted under `limit`. */
  async function refused(limit: string): Promise<number> {
    const metric = await registry.getSingleMetric('genesys_bff_limits_refused_total')!.get();
    return metric.values.find((v) => v.labels.limit === limit)?.value ?? 0;
  }

  /** A raw client that never closes its side of its own accord (allowHalfOpen), and records all it receives. */
  async function rawClient(
    port: number,
  ): Promise<{ socket: net.Socket; received: () => string; ended: Promise<void> }> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', () => undefined);
    // The server's side is done (its FIN, or a reset): the client's own side stays open until the test closes it.
    const ended = new Promise<void>((resolve) => {
      socket.once('end', () => resolve());
      socket.once('close', () => resolve());
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return { socket, received: () => data, ended };
  }

  /** `promise`, or a failure naming `what` after `ms` (a bound on a hang, not a timing verdict). */
  async function within<T>(promise: Promise<T>, what: string, ms = EVENT_WAIT_MS): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
    );
    try {
      return await Promise.race([promise, bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  const GET_HEALTHZ = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const portOf = (service: TestService) => (service.server.address() as AddressInfo).port;
  const openConnections = (service: TestService) =>
    new Promise<number>((resolve, reject) => service.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));

  test('after the 400 for a request Node cannot parse, the socket is closed in full although the client never reads or closes', async () => {
    const service = await startTestService();
    try {
      const client = await rawClient(portOf(service));
      client.socket.pause();
      client.socket.write('NOT HTTP AT ALL\r\n\r\n');
      // The client reads nothing and keeps its side open; the service lets go of the socket anyway.
      await waitFor(async () => (await openConnections(service)) === 0, EVENT_WAIT_MS, 50);
      client.socket.destroy();
    } finally {
      await service.stop();
    }
  });

  test('after a 408 (a request that did not arrive in time), the socket is closed in full too', async () => {
    let serverSideClosed!: Promise<void>;
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      serverSideClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      answerClientError(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = await rawClient((server.address() as AddressInfo).port);
      client.socket.pause();
      await waitFor(() => serverSideClosed !== undefined, EVENT_WAIT_MS, 10);
      // Never read and never ended by the client: the server's socket is destroyed anyway, within the grace.
      await within(serverSideClosed, 'the server closing its socket');
      client.socket.resume();
      await within(client.ended, 'the answer ending');
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
      client.socket.destroy();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('connections over the per-address cap get a minimal 429 with Retry-After and are closed; a freed place is usable again', async () => {
    const service = await startTestService({ env: { CONNECTIONS_PER_IP: '2' } });
    try {
      const held = [];
      for (let i = 0; i < 2; i++) {
        const client = await rawClient(portOf(service));
        client.socket.write(GET_HEALTHZ);
        await waitFor(() => / 200 /.test(client.received()), EVENT_WAIT_MS, 20);
        held.push(client);
      }
      const counted = await refused('connections_per_ip');
      const over = await rawClient(portOf(service));
      over.socket.write(GET_HEALTHZ);
      await within(over.ended, 'the connection over the cap ending');
      expect(await refused('connections_per_ip')).toBe(counted + 1);
      const answer = over.received();
      expect(answer).toMatch(/^HTTP\/1\.1 429 /);
      expect(answer).toMatch(/\r\nRetry-After: 1\r\n/i);
      expect(answer).toMatch(/\r\nConnection: close\r\n/i);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
        status: 429,
        code: 'rate_limited',
      });
      over.socket.destroy();

      held.shift()!.socket.destroy();
      await waitFor(
        async () => {
          const again = await rawClient(portOf(service));
          again.socket.write(GET_HEALTHZ);
          await waitFor(() => / \d{3} /.test(again.received()), EVENT_WAIT_MS, 20);
          again.socket.destroy();
          return / 200 /.test(again.received());
        },
        5000,
        50,
      );
      for (const client of held) client.socket.destroy();
    } finally {
      await service.stop();
    }
  });

  test('a connection over the per-instance cap is closed as it is accepted, before any request is read', async () => {
    const service = await startTestService({ env: { CONNECTIONS_MAX: '2' } });
    try {
      const held = [];
      for (let i = 0; i < 2; i++) {
        const client = await rawClient(portOf(service));
        client.socket.write(GET_HEALTHZ);
        await waitFor(() => / 200 /.test(client.received()), EVENT_WAIT_MS, 20);
        held.push(client);
      }
      const counted = await refused('connections_max');
      const over = await rawClient(portOf(service));
      over.socket.write(GET_HEALTHZ);
      await within(over.ended, 'the connection over the cap closing');
      expect(over.received()).toBe('');
      expect(await refused('connections_max')).toBe(counted + 1);
      over.socket.destroy();
      for (const client of held) client.socket.destroy();
    } finally {
      await service.stop();
    }
  });
});

describe('the per-address cap on a bare server', () => {
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
    const caps = capConnections(server, { perIp, max: 100, isTrustedProxy: () => trusted, ipv6PrefixLength: 56 });
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
    await waitFor(() => /\r\n\r\n/.test(data), EVENT_WAIT_MS, 5);
    return { socket, received: () => data };
  }

  const statusOf = (client: Client) => Number(client.received().split(' ')[1]);

  it('refuses a connection over the cap with a complete 429 problem+json', async () => {
    const { port } = await capped(1);
    expect(statusOf(await ask(port))).toBe(200);
    const over = await ask(port);
    await waitFor(() => over.received().endsWith('}'), EVENT_WAIT_MS, 5);
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
    await waitFor(async () => (await open()) === 1, EVENT_WAIT_MS, 10);
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
    await waitFor(async () => (await open()) === 0, EVENT_WAIT_MS, 10);
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
});

describe('IPv6 peers, counted by their prefix as the rate limits count them', () => {
  /** A connection from `remoteAddress`, as the server's 'connection' event hands it over; no request is ever sent. */
  function peer(remoteAddress: string) {
    return Object.assign(new EventEmitter(), { remoteAddress, destroy: jest.fn() }) as unknown as net.Socket & {
      destroy: jest.Mock;
    };
  }

  function cappedServer(ipv6PrefixLength: number, trusted: (address: string) => boolean = () => false) {
    const server = new EventEmitter() as unknown as http.Server;
    const caps = capConnections(server, { perIp: 2, max: 100, isTrustedProxy: trusted, ipv6PrefixLength });
    const connect = (address: string) => {
      const socket = peer(address);
      server.emit('connection', socket);
      const served = caps.guard((_req, res) => void res.end('ok'));
      const res = { writeHead: jest.fn(), end: jest.fn() };
      served({ socket, headers: {} } as unknown as http.IncomingMessage, res as unknown as http.ServerResponse);
      return { socket, status: res.writeHead.mock.calls[0]?.[0] ?? 200 };
    };
    return { connect, addresses: caps.addresses };
  }

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('caps the addresses of one /56 together, and another /56 apart', () => {
    const { connect, addresses } = cappedServer(56);
    expect(connect('2001:db8:0:100::1').status).toBe(200);
    expect(connect('2001:db8:0:100::2').status).toBe(200);
    const over = connect('2001:db8:0:1ff::3');
    expect(over.status).toBe(429);
    jest.advanceTimersByTime(CLOSE_GRACE_MS);
    expect(over.socket.destroy).toHaveBeenCalled();
    expect(connect('2001:db8:0:200::1').status).toBe(200);
    expect(addresses()).toBe(2);
  });

  it('frees the prefix as its connections close', () => {
    const { connect, addresses } = cappedServer(56);
    const first = connect('2001:db8:0:100::1');
    connect('2001:db8:0:100::2');
    first.socket.emit('close');
    expect(connect('2001:db8:0:100::3').status).toBe(200);
    expect(addresses()).toBe(1);
  });

  it('takes the prefix from the setting (IPV6_PREFIX_LENGTH)', () => {
    const { connect } = cappedServer(64);
    connect('2001:db8:0:100::1');
    connect('2001:db8:0:100::2');
    expect(connect('2001:db8:0:101::1').status).toBe(200);
    expect(connect('2001:db8:0:100::3').status).toBe(429);
  });

  it('asks whether the peer itself is a trusted proxy, before keying it', () => {
    const asked: string[] = [];
    const { connect } = cappedServer(56, (address) => (asked.push(address), address === '2001:db8:0:100::9'));
    for (let i = 0; i < 3; i++) expect(connect('2001:db8:0:100::9').status).toBe(200);
    expect(asked).toContain('2001:db8:0:100::9');
  });
});

describe('requests a trusted proxy forwards, counted per forwarded client', () => {
  const servers: http.Server[] = [];
  const clients: net.Socket[] = [];

  afterEach(async () => {
    for (const socket of clients.splice(0)) socket.destroy();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  /** A capped server whose handler holds each response open until the test lets it finish (`finishAll`). */
  async function proxied(perIp: number, trust: (address: string, hop: number) => boolean) {
    const server = http.createServer();
    servers.push(server);
    const caps = capConnections(server, { perIp, max: 100, isTrustedProxy: trust, ipv6PrefixLength: 56 });
    const held: http.ServerResponse[] = [];
    server.on(
      'request',
      caps.guard((req, res) => {
        if (req.url === '/hold') {
          res.writeHead(200, { 'Content-Type': 'text/plain' }).flushHeaders();
          held.push(res);
        } else if (req.url === '/fail') req.socket.destroy();
        else res.end('ok');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return {
      port,
      proxiedClients: caps.proxiedClients,
      held: () => held.length,
      finishAll: () => held.splice(0).forEach((res) => res.end('done')),
    };
  }

  /** One request on its own connection from the proxy (the loopback peer), forwarded for `forwardedFor`. */
  async function ask(port: number, forwardedFor: string | undefined, url = '/') {
    const socket = net.connect({ port, host: '127.0.0.1' });
    clients.push(socket);
    let data = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const header = forwardedFor === undefined ? '' : `X-Forwarded-For: ${forwardedFor}\r\n`;
    socket.write(`GET ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\n${header}\r\n`);
    if (url !== '/fail') await waitFor(() => /\r\n\r\n/.test(data), EVENT_WAIT_MS, 5);
    return { socket, status: () => Number(data.split(' ')[1]), received: () => data };
  }

  const trustAll = () => true;

  it('shares the cap among the clients of one /56; another /56 and the proxy itself are apart', async () => {
    const { port, held } = await proxied(2, trustAll);
    expect((await ask(port, '2001:db8:0:1::1', '/hold')).status()).toBe(200);
    expect((await ask(port, '2001:db8:0:1::2', '/hold')).status()).toBe(200);
    const counted = await registry.getSingleMetric('genesys_bff_limits_refused_total')!.get();
    const before = counted.values.find((v) => v.labels.limit === 'connections_per_ip')?.value ?? 0;
    const over = await ask(port, '2001:db8:0:1::3', '/hold');
    await waitFor(() => over.received().endsWith('}'), EVENT_WAIT_MS, 5);
    expect(over.status()).toBe(429);
    expect(over.received()).toMatch(/\r\nRetry-After: 1\r\n/i);
    // The proxy's connection carries other clients: the refusal does not close it.
    expect(over.received()).not.toMatch(/\r\nConnection: close\r\n/i);
    const [, body] = over.received().split('\r\n\r\n');
    expect(JSON.parse(body!)).toMatchObject({ status: 429, code: 'rate_limited' });
    const after = await registry.getSingleMetric('genesys_bff_limits_refused_total')!.get();
    expect(after.values.find((v) => v.labels.limit === 'connections_per_ip')?.value).toBe(before + 1);
    // The refused request reached nothing.
    expect(held()).toBe(2);
    expect((await ask(port, '2001:db8:1:1::1', '/hold')).status()).toBe(200);
    // The proxy's own request (no X-Forwarded-For) is not a forwarded client.
    expect((await ask(port, undefined)).status()).toBe(200);
  });

  it('releases the count when responses finish, and forgets the client at zero', async () => {
    const { port, proxiedClients, finishAll } = await proxied(1, trustAll);
    const first = await ask(port, '2001:db8:0:1::1', '/hold');
    expect(proxiedClients()).toBe(1);
    expect((await ask(port, '2001:db8:0:1::2')).status()).toBe(429);
    finishAll();
    await waitFor(() => first.received().endsWith('done\r\n0\r\n\r\n'), EVENT_WAIT_MS, 5);
    await waitFor(() => proxiedClients() === 0, EVENT_WAIT_MS, 5);
    // Each request after the last has finished is within the cap again.
    for (let i = 0; i < 3; i++) expect((await ask(port, '2001:db8:0:1::2')).status()).toBe(200);
    expect(proxiedClients()).toBe(0);
  });

  it('releases the count when the client aborts, and when the service closes the connection unanswered', async () => {
    const { port, proxiedClients } = await proxied(1, trustAll);
    const stream = await ask(port, '2001:db8:0:1::1', '/hold');
    expect((await ask(port, '2001:db8:0:1::9')).status()).toBe(429);
    stream.socket.destroy();
    await waitFor(() => proxiedClients() === 0, EVENT_WAIT_MS, 5);
    expect((await ask(port, '2001:db8:0:1::9')).status()).toBe(200);
    await ask(port, '2001:db8:0:1::1', '/fail');
    await waitFor(() => proxiedClients() === 0, EVENT_WAIT_MS, 5);
    expect((await ask(port, '2001:db8:0:1::9')).status()).toBe(200);
  });

  it('names the client as Express does: the first untrusted hop from the peer, so a spoofed first entry is ignored', async () => {
    // TRUST_PROXY=1: the peer is the proxy, and the hop it appended is the client, whatever the client wrote before it.
    const { port } = await proxied(1, (_address, hop) => hop < 1);
    await ask(port, '2001:db8:3::1, 2001:db8:0:1::1', '/hold');
    expect((await ask(port, '2001:db8:4::1, 2001:db8:0:1::2')).status()).toBe(429);
    expect((await ask(port, '2001:db8:0:1::1, 2001:db8:5::1')).status()).toBe(200);
  });

  it('counts an untrusted peer by its connection as before, whatever X-Forwarded-For it sends', async () => {
    const { port, proxiedClients } = await proxied(1, () => false);
    const first = await ask(port, '2001:db8:0:1::1', '/hold');
    expect(first.status()).toBe(200);
    expect(proxiedClients()).toBe(0);
    // A second connection from the same peer is over its cap, whichever client it claims to forward for.
    const over = await ask(port, '2001:db8:9::1');
    await waitFor(() => over.received().endsWith('}'), EVENT_WAIT_MS, 5);
    expect(over.status()).toBe(429);
    expect(over.received()).toMatch(/\r\nConnection: close\r\n/i);
  });
});

describe('forwarded requests, on a server the test drives', () => {
  /** A capped fake server whose guarded handler holds every response open; `ask` forwards one request for a client. */
  function forwarding(perIp: number, trust: (address: string, hop: number) => boolean) {
    const server = new EventEmitter() as unknown as http.Server;
    const caps = capConnections(server, { perIp, max: 100, isTrustedProxy: trust, ipv6PrefixLength: 56 });
    const served = caps.guard(() => undefined);
    const ask = (forwardedFor: string | string[]) => {
      const res = Object.assign(new EventEmitter(), { writeHead: jest.fn(), end: jest.fn() });
      served(
        {
          socket: { remoteAddress: '127.0.0.1' },
          headers: { 'x-forwarded-for': forwardedFor },
        } as unknown as http.IncomingMessage,
        res as unknown as http.ServerResponse,
      );
      return { res, status: (res.writeHead.mock.calls[0]?.[0] as number | undefined) ?? 200 };
    };
    return { ask, proxiedClients: caps.proxiedClients };
  }

  it('counts a forwarded client down as its responses close, one by one', () => {
    const { ask, proxiedClients } = forwarding(2, () => true);
    const first = ask('2001:db8:0:1::1');
    expect(ask('2001:db8:0:1::2').status).toBe(200);
    first.res.emit('close');
    expect(proxiedClients()).toBe(1);
    expect(ask('2001:db8:0:1::3').status).toBe(200);
    expect(ask('2001:db8:0:1::4').status).toBe(429);
  });

  it('reads an X-Forwarded-For sent as several header lines as one list', () => {
    const { ask } = forwarding(1, (_address, hop) => hop < 1);
    expect(ask(['2001:db8:3::1', '2001:db8:0:1::1']).status).toBe(200);
    // The hop the proxy appended is the client: the same /56 as the first, whatever came before it.
    expect(ask(['2001:db8:4::1', '2001:db8:0:1::2']).status).toBe(429);
  });
});
