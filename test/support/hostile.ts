import dns from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import nock from 'nock';
import supertest from 'supertest';
import { WebSocket, WebSocketServer } from 'ws';
import type { Simulator } from '../../simulator';
import { loadConfig, type Config } from '../../src/config/schema';
import { createGenesysPlatform, type GenesysPlatform } from '../../src/genesys/platform';
import { createGenesysHttp } from '../../src/genesys/restClient';
import { createApp } from '../../src/http/app';
import { Readiness } from '../../src/observability/readiness';
import { captureLogger, type CapturedLogger, type EnvOverrides } from './app';
import { guestTokenOf, PAGE_ORIGIN, simulatorEnv, type Stack } from './stack';
import { sleep } from './wait';

/**
 * Shared helpers of the hostile-world suites (RELIABILITY.md): raw HTTP requests the
 * fuzzers can shape freely, problem+json checks, bounded polling, readiness,
 * a Platform-side harness with a movable clock, a Guest API proxy that can
 * inject frames, an egress spy and a heap probe.
 */

export { PAGE_ORIGIN };

// ------------------------------------------------------------------ raw HTTP

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * One request on its own TCP connection, written byte for byte (no HTTP
 * client in between to normalise, validate or intercept it): exactly the
 * method, target, headers and body given, plus Host, Connection: close and
 * Content-Length. An event stream is read only until its first event.
 */
export function rawRequest(baseUrl: string, req: RawRequest, timeoutMs = 30_000): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body =
    req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  const lines = [`${req.method} ${req.path} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close'];
  for (const [name, value] of Object.entries(req.headers ?? {})) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const parsed = parseResponse(Buffer.concat(chunks), req.method === 'HEAD');
      if (parsed) resolve(parsed);
      else reject(new Error(`no HTTP answer to ${req.method} ${req.path}`));
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const sofar = Buffer.concat(chunks).toString('latin1');
      if (/content-type: text\/event-stream/i.test(sofar) && /\r\n\r\n[\s\S]*event:/.test(sofar)) finish();
    });
    socket.on('close', finish);
    socket.on('error', () => undefined);
    socket.setTimeout(timeoutMs, () => {
      settled = true;
      socket.destroy();
      reject(new Error(`no answer in ${timeoutMs} ms to ${req.method} ${req.path}`));
    });
    socket.write(body ? Buffer.concat([head, body]) : head);
  });
}

function parseResponse(bytes: Buffer, headOnly: boolean): RawResponse | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...headerLines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  if (!status) return undefined;
  const headers: http.IncomingHttpHeaders = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let payload = headOnly ? Buffer.alloc(0) : bytes.subarray(end + 4);
  if (!headOnly && /chunked/i.test(String(headers['transfer-encoding'] ?? ''))) {
    const out: Buffer[] = [];
    let rest = payload;
    for (;;) {
      const eol = rest.indexOf('\r\n');
      if (eol < 0) break;
      const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16);
      if (!(size > 0)) break;
      out.push(rest.subarray(eol + 2, eol + 2 + size));
      rest = rest.subarray(eol + 2 + size + 2);
    }
    payload = Buffer.concat(out);
  }
  return { status, headers, text: payload.toString('utf8') };
}

/**
 * Raw bytes on a fresh TCP connection; resolves with whatever came back before the server closed it.
 * A connection the server leaves open that long without a word is a hang, and rejects.
 */
export function rawBytes(baseUrl: string, bytes: Buffer, timeoutMs = 30_000): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
    socket.setTimeout(timeoutMs, () => {
      reject(
        new Error(
          `the server left the connection open ${timeoutMs} ms without closing it; it had answered ${JSON.stringify(text.slice(0, 200))}`,
        ),
      );
      socket.destroy();
    });
    socket.write(bytes);
    // Half-close so a server waiting for more of the request sees the end.
    socket.end();
  });
}

/** Frames of a stack trace, internal paths and error class names: none may reach a client. */
const INTERNALS = [
  /\bat [^\s]+ \(?[^\s)]+:\d+:\d+\)?/,
  /node_modules/,
  /\/(src|srv|home|work|app)\/[\w./-]+\.[jt]s/,
  /\b(TypeError|RangeError|SyntaxError|ReferenceError)\b/,
  /"stack"/,
];

export function internalsIn(text: string): RegExp | undefined {
  return INTERNALS.find((re) => re.test(text));
}

export interface ProblemCheck {
  ok: boolean;
  why?: string;
}

/** A 4xx/5xx answer must be RFC 9457 problem+json with a stable code, and show no internals. */
export function checkProblem(res: RawResponse): ProblemCheck {
  const leak = internalsIn(res.text);
  if (leak) return { ok: false, why: `internals leaked (${leak}): ${res.text.slice(0, 300)}` };
  if (res.status < 400) return { ok: true };
  if (!/^application\/problem\+json/.test(res.headers['content-type'] ?? '')) {
    return { ok: false, why: `content-type ${res.headers['content-type']} for ${res.status}` };
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    return { ok: false, why: `not JSON: ${res.text.slice(0, 200)}` };
  }
  if (
    typeof body.code !== 'string' ||
    body.status !== res.status ||
    typeof body.type !== 'string' ||
    typeof body.title !== 'string' ||
    typeof body.detail !== 'string'
  ) {
    return { ok: false, why: `not a problem document: ${res.text.slice(0, 300)}` };
  }
  if (res.status === 429 && !/^\d+$/.test(String(res.headers['retry-after'] ?? '')))
    return { ok: false, why: '429 without Retry-After' };
  return { ok: true };
}

export function expectProblem(res: RawResponse | supertest.Response, status: number, code: string): void {
  const raw: RawResponse =
    'text' in res && 'headers' in res
      ? { status: res.status, headers: res.headers as http.IncomingHttpHeaders, text: res.text }
      : (res as RawResponse);
  expect({ status: raw.status, check: checkProblem(raw) }).toEqual({ status, check: { ok: true } });
  expect((JSON.parse(raw.text) as { code: string }).code).toBe(code);
}

export interface ReadyReport {
  status: number;
  checks: Record<string, { ok: boolean; detail: string }>;
}

export async function readyz(
  target: string | supertest.SuperTest<supertest.Test> | ReturnType<typeof supertest>,
): Promise<ReadyReport> {
  const agent = typeof target === 'string' ? supertest(target) : target;
  const res = await agent.get('/readyz');
  return { status: res.status, checks: res.body.checks };
}

// ------------------------------------------------------------------ sessions

export interface GuestHandle {
  token: string;
  /** The Genesys guest session token behind it (the simulator's key). */
  gt: string;
}

export async function newGuest(stack: Stack, body: object = {}): Promise<GuestHandle> {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession(body);
  return { token, gt: guestTokenOf(stack.sim, before) };
}

/** The guest's texts as the simulated conversation holds them (inbound only), oldest first. */
export function inboundTexts(sim: Simulator, gt: string): string[] {
  return (sim.conversationMessages(gt) as { direction?: string; type?: string; text?: string }[])
    .filter((m) => m.direction === 'Inbound' && m.type === 'Text')
    .map((m) => m.text ?? '');
}

export function duplicatesIn(values: string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const v of values) (seen.has(v) ? dup : seen).add(v);
  return [...dup];
}

// ------------------------------------------------------------------ Platform side

export interface PlatformHarness {
  side: GenesysPlatform;
  readiness: Readiness;
  http: ReturnType<typeof supertest>;
  log: CapturedLogger;
  config: Config;
  /** Every wait the retry logic asked for (the real wait is capped at 20 ms). */
  sleeps: number[];
  /** Moves the service's clock forward (cool-downs end). */
  advance(ms: number): void;
  close(): Promise<void>;
}

/**
 * The Platform side (OAuth token, deployment preflight, Messenger config)
 * wired to /readyz exactly as server.ts does, against the simulator, with a
 * clock the test can move and retry waits compressed.
 */
export function platformHarness(sim: Simulator, env: EnvOverrides = {}): PlatformHarness {
  const config = loadConfig(simulatorEnv(sim, env));
  const log = captureLogger('debug');
  const readiness = new Readiness();
  readiness.set('config', { ok: true, detail: 'Configuration is valid.' });
  let skew = 0;
  const sleeps: number[] = [];
  const genesysHttp = createGenesysHttp({ timeoutMs: config.process.genesys.timeoutMs });
  const side = createGenesysPlatform(
    {
      deployment: config.deployments[0]!,
      settings: config.process.genesys,
      http: genesysHttp,
      logger: log.logger,
      readiness,
    },
    {
      now: () => Date.now() + skew,
      sleep: (ms: number) => {
        sleeps.push(ms);
        return sleep(Math.min(ms, 20));
      },
    },
  );
  const app = createApp({ process: config.process, logger: log.logger, readiness });
  side.start();
  return {
    side,
    readiness,
    http: supertest(app),
    log,
    config,
    sleeps,
    advance: (ms) => void (skew += ms),
    close: async () => {
      await side.close();
      genesysHttp.close();
    },
  };
}

// ------------------------------------------------------------------ Guest API proxy

type Frame = Record<string, unknown>;

/**
 * A man in the middle between the service and the simulated Guest API, to
 * inject frames the simulator has no fault for (4007 mid-stream), and to
 * hold or repeat what Genesys sends a session (`tapFromGenesys`). It
 * forwards everything else unchanged, both ways.
 */
export class GuestApiProxy {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly byToken = new Map<string, Set<WebSocket>>();
  private readonly answers: { action: string; token: string; reply: (tracingId: unknown) => Frame }[] = [];
  private readonly taps = new Map<string, (text: string, deliver: (text: string) => void) => void>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<GuestApiProxy> {
    const server = http.createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new GuestApiProxy(server, `ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('upgrade', (req, socket, head) => {
      const upstream = new WebSocket(`${target}${req.url}`, { origin: req.headers.origin, perMessageDeflate: false });
      upstream.once('unexpected-response', (_r, res) => {
        socket.end(`HTTP/1.1 ${res.statusCode} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      });
      upstream.once('error', () => socket.destroy());
      upstream.once('open', () => proxy.wss.handleUpgrade(req, socket, head, (client) => proxy.pipe(client, upstream)));
    });
    return proxy;
  }

  /** Answers the next `action` frame for `token` with `reply(tracingId)` instead of forwarding it. */
  answerNext(action: string, token: string, reply: (tracingId: unknown) => Frame): void {
    this.answers.push({ action, token, reply });
  }

  /**
   * Every frame Genesys sends to a connection that configured `token` goes through `tap`, which
   * forwards it with `deliver` (or holds it to deliver later, or delivers it twice), until the
   * returned function removes the tap.
   */
  tapFromGenesys(token: string, tap: (text: string, deliver: (text: string) => void) => void): () => void {
    this.taps.set(token, tap);
    return () => {
      if (this.taps.get(token) === tap) this.taps.delete(token);
    };
  }

  /** Sends a frame to every connection that configured `token`. */
  inject(token: string, frame: Frame): number {
    const clients = [...(this.byToken.get(token) ?? [])].filter((c) => c.readyState === WebSocket.OPEN);
    for (const client of clients) client.send(JSON.stringify(frame));
    return clients.length;
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: WebSocket, upstream: WebSocket): void {
    let configured: string | undefined;
    const deliver = (text: string) => void (client.readyState === WebSocket.OPEN && client.send(text));
    upstream.on('message', (data) => {
      const tap = configured === undefined ? undefined : this.taps.get(configured);
      if (tap) tap(data.toString(), deliver);
      else deliver(data.toString());
    });
    client.on('message', (data) => {
      const text = data.toString();
      let frame: Frame | undefined;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        frame = undefined;
      }
      const token = typeof frame?.token === 'string' ? frame.token : undefined;
      if (token && frame?.action === 'configureSession') {
        configured = token;
        const set = this.byToken.get(token) ?? new Set();
        set.add(client);
        this.byToken.set(token, set);
      }
      const i = this.answers.findIndex((a) => a.action === frame?.action && a.token === token);
      if (i >= 0) {
        const [answer] = this.answers.splice(i, 1);
        client.send(JSON.stringify(answer!.reply(frame?.tracingId)));
        return;
      }
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
    });
    const end = () => {
      client.terminate();
      upstream.terminate();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }
}

// ------------------------------------------------------------------ egress spy

export interface Egress {
  /** host:port of every TCP connection opened by anyone in this process. */
  connections: string[];
  /** Every name resolved. */
  lookups: string[];
  /** Requests to hosts other than loopback, which nock refuses (test/setup/env.ts) before any socket exists. */
  blocked: string[];
  restore(): void;
}

/**
 * Records every outbound TCP connection, DNS lookup and nock-blocked request
 * made by this process (the service runs in-process), so a test can assert
 * that whatever the input, only the configured hosts were contacted.
 */
export function spyOnEgress(): Egress {
  const egress: Egress = { connections: [], lookups: [], blocked: [], restore };
  const proto = net.Socket.prototype as unknown as { connect: (...args: unknown[]) => unknown };
  const originalConnect = proto.connect;
  proto.connect = function connect(this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    if (typeof first === 'object' && first !== null) {
      const o = first as { host?: string; port?: number | string; path?: string };
      if (o.path === undefined) egress.connections.push(`${o.host ?? 'localhost'}:${o.port}`);
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      egress.connections.push(`${typeof args[1] === 'string' ? args[1] : 'localhost'}:${first}`);
    }
    return originalConnect.apply(this, args);
  };
  const originalLookup = dns.lookup;
  (dns as { lookup: unknown }).lookup = function lookup(hostname: string, ...rest: unknown[]) {
    egress.lookups.push(hostname);
    return (originalLookup as (...a: unknown[]) => unknown)(hostname, ...rest);
  };
  // nock reports every request no interceptor matched; loopback ones then go through to the network (and the connect spy).
  const onNoMatch = (req: {
    options?: { host?: string; hostname?: string; port?: unknown };
    hostname?: string;
    host?: string;
  }) => {
    const host = String(req.options?.hostname ?? req.options?.host ?? req.hostname ?? req.host ?? 'unknown').replace(
      /:\d+$/,
      '',
    );
    if (host !== '127.0.0.1' && host !== 'localhost') egress.blocked.push(host);
  };
  nock.emitter.on('no match', onNoMatch);
  function restore() {
    proto.connect = originalConnect;
    (dns as { lookup: unknown }).lookup = originalLookup;
    nock.emitter.removeListener('no match', onNoMatch);
  }
  return egress;
}

// ------------------------------------------------------------------ memory

let gcFunction: (() => void) | undefined;

/** Heap in use after a full collection (V8's gc made reachable without a command-line flag). */
export function heapUsedAfterGc(): number {
  if (!gcFunction) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  }
  gcFunction();
  gcFunction();
  return process.memoryUsage().heapUsed;
}
