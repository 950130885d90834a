import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { BffClient } from '../../client/src';
import type { Daemon } from '../support/daemon';
import { startNginxWith } from '../support/nginx';

/**
 * The Kubernetes ingress's `upstream-hash-by`, in nginx as ingress-nginx
 * renders it: its template put the annotation's value, unchanged, into the
 * upstream block as `hash <value> consistent;` (current releases evaluate the
 * same string as an nginx complex value in their Lua balancer, chash.lua:
 * `util.parse_complex_value`, then `util.generate_var_value` per request).
 * The browser client itself (client/src) makes the requests of 100
 * sessions through it, fetch and EventSource alike, plus what a fetch-based
 * stream reader sends (the header and the query parameter together): every
 * request of a session must reach the one upstream.
 *
 * @needs nginx
 */

const ROOT = path.join(__dirname, '../..');
const UPSTREAMS = 5;
const SESSIONS = 100;

/** The annotation as deploy/kubernetes/ingress.yaml ships it. */
function hashBy(): string {
  const ingress = parse(fs.readFileSync(path.join(ROOT, 'deploy/kubernetes/ingress.yaml'), 'utf8'));
  return ingress.metadata.annotations['nginx.ingress.kubernetes.io/upstream-hash-by'];
}

interface Upstream {
  name: string;
  address: string;
  server: http.Server;
}

/** A stand-in pod: answers what the client needs to go on, and names itself in `X-Upstream`. */
function startUpstream(name: string): Promise<Upstream> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://pod');
    res.setHeader('X-Upstream', name);
    if (url.pathname === '/messages/stream') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' }).end('event: session\ndata: {"state":"open"}\n\n');
      return;
    }
    const proposed = url.searchParams.get('routingKey') ?? req.headers['x-chat-session'];
    const answers: Record<string, unknown> = {
      '/guest-session': { sessionToken: `token-${randomUUID()}`, routingKey: proposed },
      '/messages': {
        message: { id: randomUUID(), direction: 'inbound', type: 'text', text: 'hi', time: new Date().toISOString() },
      },
      '/messages/stream-ticket': { ticket: 'ticket', expiresAt: new Date(Date.now() + 60_000).toISOString() },
    };
    res.writeHead(req.method === 'POST' && url.pathname !== '/messages/stream-ticket' ? 201 : 200, {
      'Content-Type': 'application/json',
    });
    res.end(JSON.stringify(answers[url.pathname] ?? {}));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ name, server, address: `127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

/** nginx with the ingress's upstream block as ingress-nginx renders it, on a free loopback port. */
function startIngressNginx(upstreams: Upstream[], expression: string): Promise<Daemon> {
  return startNginxWith((port) =>
    [
      '  upstream genesys-bff-http {',
      `    hash ${expression} consistent;`,
      ...upstreams.map((u) => `    server ${u.address};`),
      '  }',
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    location / { proxy_pass http://genesys-bff-http; proxy_buffering off; }',
      '  }',
      '',
    ].join('\n'),
  );
}

let upstreams: Upstream[] = [];
let ingress: Daemon;

beforeAll(async () => {
  upstreams = await Promise.all(Array.from({ length: UPSTREAMS }, (_, i) => startUpstream(`pod-${i}`)));
  ingress = await startIngressNginx(upstreams, hashBy());
}, 30_000);

afterAll(async () => {
  await ingress?.stop();
  for (const u of upstreams) {
    u.server.closeAllConnections();
    await new Promise((resolve) => u.server.close(resolve));
  }
});

/** Each request the client makes, with the upstream that answered it. */
interface Landed {
  what: string;
  upstream: string;
}

/** fetch that notes where each request landed. */
function recordingFetch(landed: Landed[]): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const url = new URL(String(input));
    landed.push({ what: `${init?.method ?? 'GET'} ${url.pathname}`, upstream: res.headers.get('x-upstream') ?? '?' });
    return res;
  };
}

/** What the browser's EventSource does with the URL it is given: a GET without custom headers. */
function recordingEventSource(landed: Landed[], opened: Promise<void>[]): typeof EventSource {
  return class {
    constructor(url: string) {
      opened.push(
        fetch(url, { headers: { Accept: 'text/event-stream' } }).then(async (res) => {
          landed.push({ what: 'EventSource /messages/stream', upstream: res.headers.get('x-upstream') ?? '?' });
          await res.text();
        }),
      );
    }
    addEventListener(): void {}
    close(): void {}
  } as unknown as typeof EventSource;
}

test('the annotation is one nginx variable, never two side by side (a request carrying both would hash on their concatenation)', () => {
  expect(hashBy()).toBe('$arg_routingkey');
});

test(`fetch and stream requests of ${SESSIONS} sessions, made by the browser client, each land on their session's one upstream`, async () => {
  const bySession: Landed[][] = [];
  for (let i = 0; i < SESSIONS; i += 1) {
    const landed: Landed[] = [];
    const opened: Promise<void>[] = [];
    const client = new BffClient({
      baseUrl: ingress.url,
      fetch: recordingFetch(landed),
      EventSource: recordingEventSource(landed, opened),
    });
    const session = await client.startSession();
    await client.send('hello');
    const live = client.stream({});
    await waitForOpened(opened);
    live.close();
    await client.history().catch(() => undefined);
    // A fetch-based stream reader (test/support/sse.ts, the README's readers) sends the header and the parameter together.
    const reader = await fetch(
      `${ingress.url}/messages/stream?routingKey=${encodeURIComponent(session.routingKey)}&lastEventId=${randomUUID()}`,
      {
        headers: { Authorization: 'Bearer token', 'X-Chat-Session': session.routingKey, 'Last-Event-ID': randomUUID() },
      },
    );
    landed.push({ what: 'fetch reader /messages/stream', upstream: reader.headers.get('x-upstream') ?? '?' });
    await reader.text();
    bySession.push(landed);
  }
  for (const landed of bySession) {
    // Every kind of request was made, and all of them reached the same pod.
    expect(landed.map((l) => l.what)).toEqual(
      expect.arrayContaining([
        'POST /guest-session',
        'POST /messages',
        'POST /messages/stream-ticket',
        'EventSource /messages/stream',
        'GET /messages',
        'fetch reader /messages/stream',
      ]),
    );
    expect(new Set(landed.map((l) => l.upstream)).size).toBe(1);
  }
  // And the sessions spread over the pods (a constant key would put all of them on one).
  expect(new Set(bySession.map((landed) => landed[0]!.upstream)).size).toBeGreaterThanOrEqual(UPSTREAMS - 1);
}, 120_000);

async function waitForOpened(opened: Promise<void>[]): Promise<void> {
  for (let i = 0; i < 200 && opened.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  await Promise.all(opened);
}
