import fs from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as processParts from '../../src/deployments/processParts';
import * as servedDeployment from '../../src/deployments/servedDeployment';
import * as platform from '../../src/genesys/platform';
import { EventLoopCheck } from '../../src/observability/readiness';
import { tracingOn } from '../../src/observability/tracing';
import { startService } from '../../src/server';
import { captureLogger, startTestService, testConfig, type TestService } from '../support/app';
import { steerableClock } from '../support/clock';
import { freePort } from '../support/ports';
import { bearer, startStack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * The service src/server.ts starts, each on a service started inside its test. What it sets up
 * around the app, beyond the drain lifecycle.test.ts shows: the warning for a proxy setting that
 * trusts any client, a start whose upload spool is unusable (nothing left open), the clock its
 * deployments run on, the metrics listener and the operator's log lines beside it, the tracing it
 * starts and stops, and the answer to a request Node cannot parse. Its
 * listening sockets: a port in use (the service's or METRICS_PORT) fails the start and closes what
 * it built, a fault after listening is not swallowed by the start's own listener, and the URL it
 * reports is one a local client can call. A keep-alive a proxy can rely on, the drain line an
 * operator reads at a stop, and each answer in flight let go once it closes.
 */
jest.setTimeout(30_000);

/** The service a test started, if it keeps it in `service`: stopped after each test, spies restored. */
let service: TestService | undefined;
afterEach(async () => {
  jest.restoreAllMocks();
  await service?.stop();
  service = undefined;
});

describe('what it sets up around the app', () => {
  const TRUST_ALL =
    'TRUST_PROXY=true trusts every X-Forwarded-For hop: a client that reaches this instance directly can pick its own address and walk past the per-address limits. Set it to the number of proxies in front (e.g. 1) or their addresses.';

  const refusedAt = (port: number) =>
    new Promise<string>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => (socket.destroy(), resolve('connected')));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });

  it('warns once when TRUST_PROXY trusts every hop, and not for a counted proxy', async () => {
    service = await startTestService({ env: { TRUST_PROXY: 'true' } });
    expect(service.log.lines().filter((l) => l.msg === TRUST_ALL)).toEqual([expect.objectContaining({ level: 40 })]);
    await service.stop();
    service = await startTestService({ env: { TRUST_PROXY: '1' } });
    expect(service.log.messages('warn')).not.toContain(TRUST_ALL);
  });

  it('reports its configuration as a passed readiness check', async () => {
    service = await startTestService();
    expect(service.readiness.report().checks.config).toEqual(
      expect.objectContaining({ ok: true, detail: 'Configuration is valid.' }),
    );
  });

  it('fails to start on an unusable upload spool, closing what it built, listening nowhere', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bff-start-')), 'a-file');
    fs.writeFileSync(file, '');
    const closed: string[] = [];
    const realDeployment = servedDeployment.buildDeployment;
    jest.spyOn(servedDeployment, 'buildDeployment').mockImplementation((...args) => {
      const built = realDeployment(...args);
      const close = built.close;
      return { ...built, close: async () => (closed.push('deployment'), close()) };
    });
    const realParts = processParts.buildProcessParts;
    jest.spyOn(processParts, 'buildProcessParts').mockImplementation((...args) => {
      const built = realParts(...args);
      const close = built.close;
      return { ...built, close: async () => (closed.push('process'), close()) };
    });
    const realPlatform = platform.createGenesysPlatform;
    jest.spyOn(platform, 'createGenesysPlatform').mockImplementation((...args) => {
      const built = realPlatform(...args);
      const close = built.close.bind(built);
      return Object.assign(built, { close: async () => (closed.push('platform'), close()) });
    });
    const port = await freePort();
    const start = startService(
      testConfig({ PORT: String(port), UPLOAD_TMP_DIR: path.join(file, 'spool') }),
      captureLogger().logger,
    );
    await expect(start).rejects.toThrow(
      `UPLOAD_TMP_DIR ${path.join(file, 'spool')} cannot hold uploads (ENOTDIR): set it to a writable directory.`,
    );
    expect(closed).toEqual(['deployment', 'platform', 'process']);
    expect(await refusedAt(port)).toBe('ECONNREFUSED');
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('serves metrics on METRICS_PORT while it runs, and stops serving them with it', async () => {
    service = await startTestService({ env: { METRICS_PORT: '0' } });
    const url = service.metricsUrl!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect((await fetch(url)).status).toBe(200);
    await service.stop();
    service = undefined;
    expect(await refusedAt(Number(new URL(url).port))).toBe('ECONNREFUSED');
  });

  it("serves the operator's routes beside the metrics: each deployment's dead letters, and its canaries", async () => {
    service = await startTestService({ env: { METRICS_PORT: '0' } });
    const origin = new URL(service.metricsUrl!).origin;
    const read = async (path: string) => {
      const res = await fetch(`${origin}${path}`);
      return [res.status, await res.json()];
    };
    expect(await read('/webhooks/dead-letter')).toEqual([200, { deadLetters: [] }]);
    expect(await read('/webhooks/dead-letter?deployment=nope')).toEqual([
      400,
      expect.objectContaining({ detail: 'Name a deployment with ?deployment= (one of: default).' }),
    ]);
    expect(await read('/canary')).toEqual([200, { deployments: [] }]);
    await service.stop();
    service = await startTestService({ env: { METRICS_PORT: '0', CANARY_INTERVAL_SECONDS: '3600' } });
    expect(await (await fetch(`${new URL(service.metricsUrl!).origin}/canary`)).json()).toEqual({
      deployments: [{ deployment: 'default', intervalSeconds: 3600, runs: expect.any(Array) }],
    });
  });

  it('binds the metrics listener to METRICS_HOST, loopback unless set, whatever HOST is', async () => {
    // An address of this machine that is not loopback: what another host on the network would reach.
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (external === undefined) throw new Error('this test needs a network interface other than loopback');
    // A plain TCP connection (the network is closed to fetch in tests): whether anything listens there.
    const reach = (url: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(Number(new URL(url).port), external);
        socket.once('connect', () => (socket.destroy(), resolve('connected')));
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      });
    service = await startTestService({ env: { HOST: '0.0.0.0', METRICS_PORT: '0' } });
    expect(await reach(service.url)).toBe('connected');
    expect(await reach(service.metricsUrl!)).toBe('ECONNREFUSED');
    expect((await fetch(service.metricsUrl!)).status).toBe(200);
    await service.stop();
    service = await startTestService({ env: { HOST: '0.0.0.0', METRICS_PORT: '0', METRICS_HOST: '0.0.0.0' } });
    expect(await reach(service.metricsUrl!)).toBe('connected');
  });

  it('has no metrics listener without METRICS_PORT', async () => {
    service = await startTestService();
    expect(service.metricsUrl).toBeUndefined();
  });

  it('starts tracing when an OTLP endpoint is set, and stops it with the service', async () => {
    expect(tracingOn()).toBe(false);
    service = await startTestService({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } });
    expect(tracingOn()).toBe(true);
    await service.stop();
    service = undefined;
    expect(tracingOn()).toBe(false);
  });

  it('runs its deployments on the clock it is given, not the wall clock', async () => {
    // A session's expiry slides from each message by the service's own clock (docs/genesys-protocol.md).
    const clock = steerableClock();
    const stack = await startStack({
      sim: { agent: { enabled: false }, sessionDurationSeconds: 900 },
      now: clock.now,
    });
    try {
      const { token } = await stack.newSession();
      // Read once: the session's lifetime is then known, and each message moves its expiry from the clock.
      expect((await stack.http.get('/capabilities').set(bearer(token))).status).toBe(200);
      clock.advance(10 * 60_000); // within the session's 15 minutes
      expect((await stack.http.post('/messages').set(bearer(token)).send({ text: 'ten minutes on' })).status).toBe(201);
      const res = await stack.http.get('/capabilities').set(bearer(token));
      expect(Math.abs(Date.parse(res.body.session.expiresAt as string) - (clock.now() + 900_000))).toBeLessThan(60_000);
    } finally {
      await stack.close();
    }
  });

  it("logs the operator's routes as their own component", async () => {
    service = await startTestService({ env: { METRICS_PORT: '0' } });
    const socket = net.connect({ port: Number(new URL(service.metricsUrl!).port), host: '127.0.0.1' });
    try {
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      // Node answers 100 Continue as it hands the request to the route: from then on the route reads the body.
      const continued = new Promise<void>((resolve) =>
        socket.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('100 Continue') && resolve()),
      );
      socket.write(
        'POST /webhooks/dead-letter/replay HTTP/1.1\r\nHost: metrics\r\nContent-Type: application/json\r\n' +
          'Expect: 100-continue\r\nContent-Length: 100\r\n\r\n',
      );
      await continued;
      socket.write('{"ids":');
    } finally {
      socket.destroy();
    }
    const brokeOff = 'a dead-letter replay broke off before its body ended; nothing was replayed';
    await waitFor(() => service!.log.lines().some((line) => line.msg === brokeOff));
    expect(service.log.lines().filter((line) => line.msg === brokeOff)).toEqual([
      expect.objectContaining({ level: 30, component: 'operator' }),
    ]);
  });

  it('answers a request Node cannot parse with a problem+json 400', async () => {
    service = await startTestService();
    const socket = net.connect({ port: Number(new URL(service.url).port), host: '127.0.0.1' });
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('NOT HTTP AT ALL\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nContent-Type: application\/problem\+json\r\n/);
  });
});

describe('its listening sockets', () => {
  /** Records what a start closes: the deployment, its Platform side, the process's parts, the event-loop check. */
  function closesRecorded(): string[] {
    const closed: string[] = [];
    const realDeployment = servedDeployment.buildDeployment;
    jest.spyOn(servedDeployment, 'buildDeployment').mockImplementation((...args) => {
      const built = realDeployment(...args);
      const close = built.close;
      return { ...built, close: async () => (closed.push('deployment'), close()) };
    });
    const realParts = processParts.buildProcessParts;
    jest.spyOn(processParts, 'buildProcessParts').mockImplementation((...args) => {
      const built = realParts(...args);
      const close = built.close;
      return { ...built, close: async () => (closed.push('process'), close()) };
    });
    const realPlatform = platform.createGenesysPlatform;
    jest.spyOn(platform, 'createGenesysPlatform').mockImplementation((...args) => {
      const built = realPlatform(...args);
      const close = built.close.bind(built);
      return Object.assign(built, { close: async () => (closed.push('platform'), close()) });
    });
    const closeCheck = EventLoopCheck.prototype.close;
    jest.spyOn(EventLoopCheck.prototype, 'close').mockImplementation(function (this: EventLoopCheck) {
      closed.push('eventLoop');
      closeCheck.call(this);
    });
    return closed;
  }

  /** Holds a loopback port while `body` runs. */
  async function whileTaken<T>(body: (port: number) => Promise<T>): Promise<T> {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      return await body((blocker.address() as net.AddressInfo).port);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }

  const connects = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });

  it('fails to start on a port in use, closing what it built and stopping the tracing it started', async () => {
    const closed = closesRecorded();
    await whileTaken((port) =>
      expect(
        startTestService({ env: { PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE', port }),
    );
    expect(closed).toEqual(['deployment', 'platform', 'process', 'eventLoop']);
    expect(tracingOn()).toBe(false);
  });

  it('fails to start on a METRICS_PORT in use, and leaves its public port free', async () => {
    const closed = closesRecorded();
    const port = await freePort();
    await whileTaken((metricsPort) =>
      expect(
        startTestService({ env: { PORT: String(port), METRICS_PORT: String(metricsPort) } }),
      ).rejects.toMatchObject({
        code: 'EADDRINUSE',
        port: metricsPort,
      }),
    );
    expect(closed).toEqual(['deployment', 'platform', 'process', 'eventLoop']);
    expect(await connects(port)).toBe(false);
  });

  it('lets a fault after listening reach the process, rather than a start that finished long ago', async () => {
    service = await startTestService();
    // An accept failure (EMFILE, say) arrives as the server's 'error' event: with no listener left, it is thrown.
    expect(() => service!.server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }))).toThrow(
      'accept EMFILE',
    );
  });

  it.each([
    ['0.0.0.0', '127.0.0.1'],
    ['::', '127.0.0.1'],
    ['127.0.0.1', '127.0.0.1'],
    ['localhost', 'localhost'],
  ])('reports a URL a local client can call when HOST is %s', async (host, urlHost) => {
    service = await startTestService({ env: { HOST: host, PORT: '0' } });
    const { port } = service.server.address() as net.AddressInfo;
    expect(service.url).toBe(`http://${urlHost}:${port}`);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});

describe('its keep-alive and its drain', () => {
  it('keeps an idle connection open for 65 s, and says so in Keep-Alive', async () => {
    const service = await startTestService();
    try {
      expect(service.server.keepAliveTimeout).toBe(65_000);
      const res = await fetch(`${service.url}/healthz`);
      await res.text();
      expect(res.headers.get('keep-alive')).toBe('timeout=65');
    } finally {
      await service.stop();
    }
  });

  it('logs the drain with its grace as it stops', async () => {
    const service = await startTestService({ env: { SHUTDOWN_GRACE_MS: '1234' } });
    await service.stop();
    const drain = service.log.lines().filter((l) => l.msg === 'draining: no new connections, finishing in-flight work');
    expect(drain).toEqual([expect.objectContaining({ level: 30, graceMs: 1234 })]);
  });
});

describe('the answers in flight', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  it('lets go of each answer once it closes', async () => {
    const service = await startTestService();
    try {
      const answers: WeakRef<http.ServerResponse>[] = [];
      service.server.on(
        'request',
        (_req: http.IncomingMessage, res: http.ServerResponse) => void answers.push(new WeakRef(res)),
      );
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${service.url}/healthz`, { headers: { Connection: 'close' } });
        await res.text();
      }
      service.server.closeAllConnections();
      expect(answers).toHaveLength(3);
      let held = answers.length;
      for (let round = 0; round < 20 && held > 0; round++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        gc();
        held = answers.filter((ref) => ref.deref() !== undefined).length;
      }
      expect(held).toBe(0);
    } finally {
      await service.stop();
    }
  });
});
