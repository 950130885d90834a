import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import http from 'node:http';
import express, { Router } from 'express';
import { startTestService, testEnv, type TestService } from '../support/app';
import { waitFor } from '../support/wait';
import { freePort } from '../support/ports';

/**
 * The service's life: health, readiness, graceful drain on stop(), and the real
 * entry point (src/main.ts) in a child process answering SIGTERM.
 *
 * Raw sockets rather than an HTTP client: the test needs exact control of
 * keep-alive and pipelining to see what a drain does to open connections.
 */

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses consecutive HTTP/1.1 responses that all carry Content-Length. */
function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...headerLines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

/** One keep-alive TCP connection speaking raw HTTP/1.1. */
class RawConnection {
  private text = '';
  private readonly waiters: { check: () => boolean; resolve: () => void }[] = [];
  readonly closed: Promise<string>;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      for (const w of [...this.waiters]) if (w.check()) w.resolve();
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve(this.text)));
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  send(method: string, target: string): void {
    this.socket.write(`${method} ${target} HTTP/1.1\r\nHost: bff.test\r\n\r\n`);
  }

  responses(): RawResponse[] {
    return parseResponses(this.text);
  }

  /** Resolves once `count` complete responses have arrived. */
  waitForResponses(count: number): Promise<void> {
    const check = () => {
      const all = this.responses();
      return (
        all.length >= count && all[count - 1]!.body.length === Number(all[count - 1]!.headers['content-length'] ?? 0)
      );
    };
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check, resolve }));
  }
}

function connectionRefused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function portOf(service: TestService): number {
  return Number(new URL(service.url).port);
}

describe('startService', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  it('listens on an ephemeral port, answers /healthz, and is not ready while Genesys cannot be reached', async () => {
    // testConfig points at Genesys hosts this test cannot reach (no network): readiness must fail closed.
    service = await startTestService();
    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(portOf(service)).toBeGreaterThan(0);
    const health = await fetch(`${service.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const url = service.url;
    await waitFor(async () =>
      (
        (await (await fetch(`${url}/readyz`)).json()) as { checks: { messengerConfig?: { detail: string } } }
      ).checks.messengerConfig?.detail.includes('cannot reach Genesys'),
    );
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      status: 'not_ready',
      checks: { config: { ok: true }, messengerConfig: { ok: false }, draining: { ok: true } },
    });
  });

  it("hands Express requests and responses already built on the app's prototypes (no per-request re-parenting)", async () => {
    service = await startTestService();
    // The app behind the connection caps and the health answers (each a `.handler` of the one outside it).
    let app = service.server.listeners('request').at(-1) as unknown as {
      handler?: unknown;
      request: object;
      response: object;
    };
    while (typeof app.handler === 'function') app = app.handler as unknown as typeof app;
    const born: boolean[] = [];
    service.server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      born.push(
        Object.getPrototypeOf(req) === app.request &&
          Object.getPrototypeOf(res) === app.response &&
          req instanceof http.IncomingMessage &&
          Object.prototype.isPrototypeOf.call(express.request, req) &&
          Object.prototype.isPrototypeOf.call(express.response, res),
      );
    });
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect(born).toEqual([true]);
  });

  it('drains on stop(): /readyz 503, in-flight requests finish, keep-alive sockets close, new connections are refused', async () => {
    const streamStarted = deferred();
    const heldArrived = deferred();
    const release = deferred();
    const router = Router();
    // A response whose headers went out before the drain began (like a stream).
    router.get('/test/stream', async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String('first-second'.length) });
      res.write('first-');
      streamStarted.resolve();
      await release.promise;
      res.end('second');
    });
    // A response that has not started when the drain begins.
    router.get('/test/held', async (_req, res) => {
      heldArrived.resolve();
      await release.promise;
      res.json({ done: true });
    });
    // A long grace period: if the drain leaned on it instead of closing sockets itself, this test would time out.
    service = await startTestService({ env: { SHUTDOWN_GRACE_MS: '60000' }, routers: [router] });
    const port = portOf(service);

    const streaming = await RawConnection.open(port);
    streaming.send('GET', '/test/stream');
    await streamStarted.promise;
    const holding = await RawConnection.open(port);
    holding.send('GET', '/test/held');
    await heldArrived.promise;
    const idle = await RawConnection.open(port);
    idle.send('GET', '/healthz');
    await idle.waitForResponses(1);

    let stopped = false;
    const stopping = service.stop().then(() => {
      stopped = true;
    });
    expect(service.stop()).toBe(service.stop()); // idempotent: one drain

    // The listener is gone at once, and the idle keep-alive socket is closed.
    expect(await connectionRefused(port)).toBe('ECONNREFUSED');
    await idle.closed;

    // A request that reaches the draining instance over an open connection: not ready.
    streaming.send('GET', '/readyz');
    expect(stopped).toBe(false);

    release.resolve();
    await holding.waitForResponses(1);
    const [held] = holding.responses();
    expect(held).toMatchObject({ status: 200, body: '{"done":true}' });
    expect(held!.headers.connection).toBe('close');
    await holding.closed;

    await streaming.waitForResponses(2);
    const [stream, readyz] = streaming.responses();
    expect(stream).toMatchObject({ status: 200, body: 'first-second' });
    expect(readyz!.status).toBe(503);
    expect(readyz!.headers.connection).toBe('close');
    const report = JSON.parse(readyz!.body) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(report.status).toBe('not_ready');
    expect(report.checks.draining!.ok).toBe(false);
    expect(report.checks.config!.ok).toBe(true);
    await streaming.closed;

    await stopping;
    expect(stopped).toBe(true);
    expect(await connectionRefused(port)).toBe('ECONNREFUSED');
    const messages = service.log.lines().map((l) => l.msg);
    expect(messages).toEqual(
      expect.arrayContaining(['draining: no new connections, finishing in-flight work', 'stopped']),
    );
    expect(messages.indexOf('stopped')).toBeGreaterThan(
      messages.indexOf('draining: no new connections, finishing in-flight work'),
    );
  });

  it('cuts connections that outlive the grace period', async () => {
    const arrived = deferred();
    const router = Router();
    router.get('/test/forever', () => arrived.resolve());
    service = await startTestService({ env: { SHUTDOWN_GRACE_MS: '0' }, routers: [router] });
    const forever = await RawConnection.open(portOf(service));
    forever.send('GET', '/test/forever');
    await arrived.promise;
    await service.stop();
    await forever.closed;
    expect(forever.responses()).toEqual([]);
  });
});

describe('src/main.ts as a process', () => {
  const ROOT = path.resolve(__dirname, '../..');
  const TSX = require.resolve('tsx/cjs');
  // Genesys hosts on a closed loopback port: the process never leaves the machine.
  const OFFLINE = 'http://127.0.0.1:9';
  /** A production configuration on `port` whose Genesys endpoints all refuse at once. */
  const offlineProductionEnv = (port: number) =>
    testEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      GENESYS_LOGIN_URL: OFFLINE,
      GENESYS_API_URL: OFFLINE,
      GENESYS_CDN_URL: OFFLINE,
      GENESYS_WEBMESSAGING_URL: 'ws://127.0.0.1:9',
    });
  const children: ChildProcess[] = [];

  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  function run(env: NodeJS.ProcessEnv, preload: string[] = []) {
    const child = spawn(process.execPath, ['-r', TSX, ...preload.flatMap((file) => ['-r', file]), 'src/main.ts'], {
      cwd: ROOT,
      // Only what the test sets, plus PATH: nothing from the developer's shell or .env.
      env: { PATH: process.env.PATH, DOTENV_CONFIG_PATH: path.join(ROOT, 'test/server/no-such.env'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // 'close', not 'exit': only then has all of the child's output been read.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    return { child, exited, stdout: () => stdout, stderr: () => stderr };
  }

  it('starts with a valid configuration, serves /healthz, and exits 0 on SIGTERM after logging "stopped"', async () => {
    const port = await freePort();
    const proc = run(offlineProductionEnv(port));
    let exitedEarly = false;
    void proc.exited.then(() => (exitedEarly = true));
    let healthy = false;
    while (!healthy && !exitedEarly) {
      healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!healthy) await new Promise((r) => setTimeout(r, 100));
    }
    expect({ healthy, stderr: proc.stderr() }).toEqual({ healthy: true, stderr: '' });
    // Log lines are written in batches, and a batch goes out on a timer too: the line is out while the service runs.
    await new Promise<void>((resolve) => {
      const seen = () => proc.stdout().includes('"msg":"listening"') && (resolve(), true);
      if (!seen()) proc.child.stdout!.on('data', seen);
    });

    proc.child.kill('SIGTERM');
    const { code, signal } = await proc.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const lines = proc
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; signal?: string; url?: string; listen?: string });
    expect(lines.find((l) => l.msg === 'listening')?.url).toBe(`http://127.0.0.1:${port}`);
    expect(lines.find((l) => l.msg === 'listening')?.listen).toMatch(new RegExp(`:${port}$`));
    expect(lines.find((l) => l.msg === 'shutdown requested')?.signal).toBe('SIGTERM');
    // pino writes asynchronously, so lines written just before exit may arrive out of order; the last one must arrive.
    expect(lines.map((l) => l.msg)).toContain('stopped');
    expect(proc.stdout()).not.toContain(testEnv().SESSION_SECRET);
  });

  it('logs an unhandled rejection once as fatal, scrubbed, then drains and exits 1', async () => {
    const port = await freePort();
    const proc = run(offlineProductionEnv(port), [path.join(__dirname, 'plantFailure.cjs')]);
    // Listening means the failure handlers are in place: they are set before the service starts.
    await waitFor(() => proc.stdout().includes('"listening"'), 30_000, 50);
    proc.child.kill('SIGUSR2');
    const { code, signal } = await proc.exited;
    expect({ code, signal, stderr: proc.stderr() }).toEqual({ code: 1, signal: null, stderr: '' });
    const lines = proc
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as { level: number; msg: string; kind?: string; err?: { message: string }; failure?: boolean },
      );
    const fatal = lines.filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ msg: 'unexpected failure: the instance stops', kind: 'unhandledRejection' });
    expect(fatal[0]?.err?.message).toContain('planted bug');
    expect(proc.stdout()).not.toContain('planted-secret-value');
    expect(lines.find((l) => l.msg === 'shutdown requested')?.failure).toBe(true);
    expect(lines.map((l) => l.msg)).toContain('stopped');
  });

  it('exits non-zero on a bad configuration, printing every problem and no secret', async () => {
    const proc = run({
      GENESYS_REGION: 'atlantis',
      GENESYS_DEPLOYMENT_ID: 'not-a-uuid',
      GENESYS_CLIENT_SECRET: 'client-secret-never-printed',
      CORS_ALLOWED_ORIGINS: '*',
      SESSION_SECRET: 'session-secret-too-short',
    });
    const { code } = await proc.exited;
    expect(code).not.toBe(0);
    const err = proc.stderr();
    for (const expected of [
      'GENESYS_REGION: "atlantis" is not a Genesys Cloud region',
      'GENESYS_DEPLOYMENT_ID must be a Genesys id (a UUID)',
      'GENESYS_CLIENT_ID is required with GENESYS_CLIENT_SECRET',
      '"*" would allow every website',
      'SESSION_SECRET: every key must be at least 32 characters',
    ]) {
      expect(err).toContain(expected);
    }
    expect(err + proc.stdout()).not.toContain('client-secret-never-printed');
    expect(err + proc.stdout()).not.toContain('session-secret-too-short');
  });
});
