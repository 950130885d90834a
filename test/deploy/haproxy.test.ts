import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHaproxy, type Haproxy } from '../support/haproxy';
import { openStream } from '../support/sse';
import { sleep, waitFor } from '../support/wait';

/**
 * deploy/haproxy/haproxy.cfg at work, in Debian's HAProxy: `haproxy -c` (in
 * manifests.test.ts) says it parses; this says it routes as the service needs.
 * The instances are small stand-ins that say which one answered.
 *
 * @needs haproxy
 */

/** The fast proxy's server timeout (`timeouts.server` below), which a stream must outlive. */
const SERVER_TIMEOUT_MS = 1000;

interface StandIn {
  name: string;
  address: string;
  ready: boolean;
  server: http.Server;
  /** Writes a `later` event on every stream this instance holds open. */
  later(): void;
}

function startStandIn(name: string): Promise<StandIn> {
  const streams = new Set<http.ServerResponse>();
  const standIn: StandIn = {
    name,
    address: '',
    ready: true,
    server: http.createServer(),
    later: () => streams.forEach((res) => res.write(`event: later\ndata: ${name}\n\n`)),
  };
  standIn.server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (url.pathname === '/readyz') {
      res.writeHead(standIn.ready ? 200 : 503).end();
    } else if (url.pathname === '/messages/stream') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
      // Nothing more until the test asks: an event the proxy held back would never arrive.
      res.write(`event: instance\ndata: ${name}\n\n`);
      streams.add(res);
      res.on('close', () => streams.delete(res));
    } else if (url.pathname === '/slow') {
      // Never answers: only the proxy's server timeout ends it.
    } else {
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({
          instance: name,
          forwardedFor: req.headers['x-forwarded-for'],
          forwardedProto: req.headers['x-forwarded-proto'],
        }),
      );
    }
  });
  return new Promise((resolve) => {
    standIn.server.listen(0, '127.0.0.1', () => {
      standIn.address = `127.0.0.1:${(standIn.server.address() as AddressInfo).port}`;
      resolve(standIn);
    });
  });
}

let standIns: StandIn[] = [];
let proxy: Haproxy;
/**
 * The same file with a 1 s server timeout and 100 ms health checks, to watch both act
 * within a test. The checks' own timeout stays long, so that on a busy machine only a
 * 503 from /readyz, never a late answer, takes an instance out.
 */
let fastProxy: Haproxy;

beforeAll(async () => {
  standIns = await Promise.all(['a', 'b', 'c'].map(startStandIn));
  const upstreams = standIns.map((s) => s.address);
  proxy = await startHaproxy(upstreams);
  fastProxy = await startHaproxy(upstreams, {
    timeouts: { server: `${SERVER_TIMEOUT_MS}ms`, check: '3s' },
    checkInterval: '100ms',
  });
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  await fastProxy?.stop();
  for (const s of standIns) {
    s.server.closeAllConnections();
    await new Promise((resolve) => s.server.close(resolve));
  }
});

async function answer(
  base: string,
  query = '',
  headers: Record<string, string> = {},
): Promise<{ instance: string; forwardedFor?: string; forwardedProto?: string }> {
  const res = await fetch(`${base}/session${query}`, { headers });
  expect(res.status).toBe(200);
  return res.json();
}
/** Where a session's request lands: every request of a session carries its key as ?routingKey= (the header beside it changes nothing). */
const instanceFor = async (base: string, key: string) =>
  (await answer(base, `?routingKey=${encodeURIComponent(key)}`, { 'X-Chat-Session': randomUUID() })).instance;

async function streamInstance(base: string, key: string): Promise<string> {
  const stream = await openStream(`${base}/messages/stream?routingKey=${encodeURIComponent(key)}`);
  try {
    return (await stream.next((e) => e.event === 'instance')).data;
  } finally {
    stream.close();
  }
}

test('a session stays on one instance, its stream (routingKey) reaches the same one, and sessions spread over all instances', async () => {
  const keys = Array.from({ length: 60 }, () => randomUUID());
  const homes = new Map<string, string>();
  for (const key of keys) homes.set(key, await instanceFor(proxy.url, key));
  expect(new Set(homes.values()).size).toBe(3);
  for (const key of keys.slice(0, 10)) {
    for (let i = 0; i < 3; i++) expect(await instanceFor(proxy.url, key)).toBe(homes.get(key));
    expect(await streamInstance(proxy.url, key)).toBe(homes.get(key));
  }
});

test('requests without a key go round robin', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add((await answer(proxy.url)).instance);
  expect(seen.size).toBe(3);
});

test('the instance learns the client address (X-Forwarded-For, for TRUST_PROXY=1) and the scheme', async () => {
  expect(await answer(proxy.url)).toMatchObject({ forwardedFor: '127.0.0.1', forwardedProto: 'http' });
});

test('a live stream passes each event on at once and outlives the server timeout that still bounds other requests', async () => {
  const key = randomUUID();
  const stream = await openStream(`${fastProxy.url}/messages/stream?routingKey=${key}`);
  try {
    // The stand-in writes nothing after its first event, so it arrives only if the proxy passes it on at once.
    const first = await stream.next((e) => e.event === 'instance', 15_000);
    // Idle for longer than the server timeout (a sleep only ever lasts longer), then one more event.
    await sleep(SERVER_TIMEOUT_MS + 500);
    standIns.find((s) => s.name === first.data)!.later();
    await stream.next((e) => e.event === 'later', 15_000);
  } finally {
    stream.close();
  }
  const slow = await fetch(`${fastProxy.url}/slow?routingKey=${key}`);
  expect(slow.status).toBe(504);
  // HAProxy's own error is problem+json, like every answer of the service, and says when to retry.
  expect(slow.headers.get('content-type')).toBe('application/problem+json');
  expect(slow.headers.get('retry-after')).toBe('1');
  expect(await slow.json()).toMatchObject({ status: 504, code: 'upstream_unavailable' });
});

test('an instance whose /readyz fails takes no requests; only its sessions move, and they come back when it is ready', async () => {
  const keys = Array.from({ length: 60 }, () => randomUUID());
  const before = new Map<string, string>();
  for (const key of keys) before.set(key, await instanceFor(fastProxy.url, key));
  const leaving = standIns[0]!;
  const moved = keys.filter((k) => before.get(k) === leaving.name);
  const stayed = keys.filter((k) => before.get(k) !== leaving.name);
  expect(moved.length).toBeGreaterThan(0);

  leaving.ready = false;
  try {
    await waitFor(async () => (await instanceFor(fastProxy.url, moved[0]!)) !== leaving.name, 15_000, 50);
    for (const key of moved) expect(await instanceFor(fastProxy.url, key)).not.toBe(leaving.name);
    for (const key of stayed) expect(await instanceFor(fastProxy.url, key)).toBe(before.get(key));
  } finally {
    leaving.ready = true;
  }
  await waitFor(async () => (await instanceFor(fastProxy.url, moved[0]!)) === leaving.name, 15_000, 50);
  for (const key of keys) expect(await instanceFor(fastProxy.url, key)).toBe(before.get(key));
});

test('with no instance ready, HAProxy answers problem+json with Retry-After, not an HTML page', async () => {
  for (const s of standIns) s.ready = false;
  try {
    await waitFor(async () => (await fetch(`${fastProxy.url}/session?routingKey=k`)).status === 503, 15_000, 50);
    const res = await fetch(`${fastProxy.url}/session?routingKey=k`);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({
      status: 503,
      code: 'upstream_unavailable',
      type: '/problems/upstream_unavailable',
    });
  } finally {
    for (const s of standIns) s.ready = true;
  }
  await waitFor(async () => (await fetch(`${fastProxy.url}/session?routingKey=k`)).status === 200, 15_000, 50);
});
