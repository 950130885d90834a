import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runProcess, type ServiceProcess } from '../../src/processMain';
import * as server from '../../src/server';
import { BAD_DEPLOYMENTS_FILES } from '../support/badDeploymentsFiles';
import { captureLogger, testEnv, type CapturedLogger } from '../support/app';
import { EVENT_WAIT_MS, waitFor } from '../support/wait';

/**
 * The service's process life (src/processMain.ts) run in this process with a stand-in process:
 * what it prints, logs and exits with for each way a start or a stop can go, and whether its
 * "listening" line says spans are exported. lifecycle.test.ts runs src/main.ts as a real child
 * once for each of the main paths.
 */
jest.setTimeout(60_000);

describe('each way a start or a stop can go', () => {
  // Genesys hosts on a closed loopback port: the service never leaves the machine.
  const OFFLINE = 'http://127.0.0.1:9';
  const offlineProductionEnv = (overrides: Record<string, string> = {}) =>
    testEnv({
      NODE_ENV: 'production',
      GENESYS_LOGIN_URL: OFFLINE,
      GENESYS_API_URL: OFFLINE,
      GENESYS_CDN_URL: OFFLINE,
      GENESYS_WEBMESSAGING_URL: 'ws://127.0.0.1:9',
      ...overrides,
    });

  interface StandIn {
    proc: ServiceProcess & { events: EventEmitter };
    log: CapturedLogger;
    /** Each exit code, in order. */
    exits: number[];
    printed: string[];
    errors: string[];
    /** The levels the logger was asked for. */
    levels: string[];
    exited(): Promise<number>;
    /** The service the life started, once it listens. */
    started(): Promise<server.RunningService>;
  }

  const standIns: StandIn[] = [];
  /** The real start, before any test spies on it. */
  const realStart = server.startService;

  function standIn(env: NodeJS.ProcessEnv): StandIn {
    const log = captureLogger();
    const exits: number[] = [];
    const printed: string[] = [];
    const errors: string[] = [];
    const levels: string[] = [];
    let onExit: (code: number) => void = () => undefined;
    const exitedOnce = new Promise<number>((resolve) => (onExit = resolve));
    let service: Promise<server.RunningService> | undefined;
    const events = new EventEmitter();
    const s: StandIn = {
      proc: {
        env,
        events,
        exit: (code) => {
          exits.push(code);
          onExit(code);
        },
        console: {
          log: (...args: unknown[]) => void printed.push(args.map(String).join(' ')),
          error: (...args: unknown[]) => void errors.push(args.map(String).join(' ')),
        },
        logger: (level) => {
          levels.push(level);
          return log.logger;
        },
      },
      log,
      exits,
      printed,
      errors,
      levels,
      exited: () => exitedOnce,
      started: async () => {
        await waitFor(() => service, 30_000, 10);
        return service!;
      },
    };
    jest.spyOn(server, 'startService').mockImplementation((...args) => (service = realStart(...args)));
    standIns.push(s);
    return s;
  }

  afterEach(async () => {
    // A life a test left running is drained, so no listener outlives its test.
    for (const s of standIns.splice(0)) {
      if (s.exits.length === 0 && s.log.lines().some((l) => l.msg === 'listening')) {
        s.proc.events.emit('SIGTERM');
        await s.exited();
      }
    }
    jest.restoreAllMocks();
  });

  const messages = (s: StandIn) => s.log.lines().map((l) => l.msg);

  describe('a configuration that does not load', () => {
    it('prints every problem and exits 1 without building a logger or starting anything', async () => {
      const s = standIn({
        NODE_ENV: 'production',
        GENESYS_REGION: 'atlantis',
        GENESYS_DEPLOYMENT_ID: 'not-a-uuid',
        CORS_ALLOWED_ORIGINS: '*',
        SESSION_SECRET: 'session-secret-too-short',
      });
      await runProcess(s.proc);
      expect(s.exits).toEqual([1]);
      expect(s.errors).toHaveLength(1);
      expect(s.errors[0]).toContain('GENESYS_REGION: "atlantis" is not a Genesys Cloud region');
      expect(s.errors[0]).toContain('GENESYS_DEPLOYMENT_ID must be a Genesys id (a UUID)');
      expect(s.errors[0]).not.toContain('session-secret-too-short');
      expect(s.levels).toEqual([]);
      expect(server.startService).not.toHaveBeenCalled();
    });

    it('adds where the embedded demo is when nothing is configured in production', async () => {
      const s = standIn({ NODE_ENV: 'production' });
      await runProcess(s.proc);
      expect(s.exits).toEqual([1]);
      expect(s.errors).toHaveLength(2);
      expect(s.errors[1]).toBe(
        '(With no Genesys configuration and NODE_ENV other than production, `npm start` in a checkout runs the embedded demo instead.)',
      );
    });

    it('does not mention the demo when some of the configuration is there', async () => {
      const s = standIn({ NODE_ENV: 'production', GENESYS_REGION: 'mypurecloud.ie' });
      await runProcess(s.proc);
      expect(s.exits).toEqual([1]);
      expect(s.errors).toHaveLength(1);
      expect(s.errors[0]).toContain('GENESYS_DEPLOYMENT_ID');
    });
  });

  describe('a deployments file', () => {
    const entry = (name: string, origin: string) => ({
      name,
      region: 'mypurecloud.de',
      deploymentId: '6f2c3c3e-1b3a-4c55-9d1e-0a1b2c3d4e5f',
      origins: [origin],
      // Genesys hosts on a closed loopback port: the service never leaves the machine.
      loginUrl: OFFLINE,
      apiUrl: OFFLINE,
      cdnUrl: OFFLINE,
      webMessagingUrl: 'ws://127.0.0.1:9',
    });
    /** The environment beside a deployments file of these entries: no deployment variable, outside production. */
    const dirs: string[] = [];
    afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
    const withFile = (entries: unknown[]) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'process-deployments-'));
      dirs.push(dir);
      const file = path.join(dir, 'deployments.json');
      fs.writeFileSync(file, JSON.stringify({ deployments: entries }));
      const { GENESYS_REGION: _r, GENESYS_DEPLOYMENT_ID: _d, CORS_ALLOWED_ORIGINS: _c, ...env } = testEnv();
      return { ...env, NODE_ENV: 'development', DEPLOYMENTS_FILE: file };
    };

    /** The origin a preflight from `origin` is allowed as (null: not allowed). */
    const allowedOrigin = async (service: server.RunningService, origin: string) =>
      (
        await fetch(`${service.url}/guest-session`, {
          method: 'OPTIONS',
          headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
        })
      ).headers.get('access-control-allow-origin');

    it('that fails validation is refused at start, every problem at once, and the embedded demo does not stand in', async () => {
      const s = standIn(withFile([entry('brand-a', 'https://a.example'), entry('brand-b', 'https://a.example')]));
      await runProcess(s.proc);
      expect(s.exits).toEqual([1]);
      expect(s.errors).toHaveLength(1);
      expect(s.errors[0]).toContain('overlaps');
      expect(server.startService).not.toHaveBeenCalled();
    });

    it.each(BAD_DEPLOYMENTS_FILES)(
      'that is %s is refused at start: the problem, exit 1, no stack trace',
      async (_, put, refusal) => {
        const env = withFile([entry('brand-a', 'https://a.example')]);
        put(env.DEPLOYMENTS_FILE);
        const s = standIn(env);
        await runProcess(s.proc);
        expect(s.exits).toEqual([1]);
        expect(s.errors).toHaveLength(1);
        expect(s.errors[0]).toMatch(/^Invalid configuration:\n {2}- /);
        expect(s.errors[0]).toMatch(refusal);
        expect(s.errors[0]).not.toMatch(/\n\s+at /);
        expect(server.startService).not.toHaveBeenCalled();
      },
    );

    it('of several deployments serves each one on its own origins', async () => {
      const s = standIn(withFile([entry('brand-a', 'https://a.example'), entry('brand-b', 'https://b.example')]));
      await runProcess(s.proc);
      const service = await s.started();
      for (const origin of ['https://a.example', 'https://b.example'])
        expect(await allowedOrigin(service, origin)).toBe(origin);
    });

    it('of one deployment is served', async () => {
      const s = standIn(withFile([entry('brand-a', 'https://a.example')]));
      await runProcess(s.proc);
      const service = await s.started();
      const listening = s.log.lines().find((l) => l.msg === 'listening');
      // Every deployment with its region; the line is the process's own, of no deployment.
      expect(listening).toMatchObject({ deployments: ['brand-a (mypurecloud.de)'] });
      expect(listening).not.toHaveProperty('deployment');
      expect(await allowedOrigin(service, 'https://a.example')).toBe('https://a.example');
    });

    it('is read again on SIGHUP; a reload that throws is logged, and the service serves on', async () => {
      const s = standIn(withFile([entry('brand-a', 'https://a.example')]));
      await runProcess(s.proc);
      const service = await s.started();
      const file = s.proc.env.DEPLOYMENTS_FILE;
      fs.writeFileSync(
        file!,
        JSON.stringify({ deployments: [entry('brand-a', 'https://a.example'), entry('brand-b', 'https://b.example')] }),
      );
      s.proc.events.emit('SIGHUP');
      await waitFor(() => messages(s).includes('SIGHUP: deployments reloaded'), EVENT_WAIT_MS);
      expect(await allowedOrigin(service, 'https://b.example')).toBe('https://b.example');
      expect(s.log.lines().find((l) => l.msg === 'SIGHUP: deployments reloaded')).toMatchObject({
        file,
        added: ['brand-b'],
      });

      jest.spyOn(service, 'reload').mockRejectedValue(new Error('a deployment would not build'));
      s.proc.events.emit('SIGHUP');
      const failed = 'SIGHUP: the reload failed; the running deployments stay';
      await waitFor(() => messages(s).includes(failed), EVENT_WAIT_MS);
      expect(s.log.lines().find((l) => l.msg === failed)).toMatchObject({
        level: 50,
        file,
        err: { message: 'a deployment would not build' },
      });
      expect(s.exits).toEqual([]);
      // The running deployments stay: both brands are served still.
      for (const origin of ['https://a.example', 'https://b.example'])
        expect(await allowedOrigin(service, origin)).toBe(origin);
    });
  });

  describe('a start that fails', () => {
    it('names the port in use and exits 1', async () => {
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      try {
        const port = (taken.address() as net.AddressInfo).port;
        const s = standIn(offlineProductionEnv({ PORT: String(port) }));
        await runProcess(s.proc);
        expect(s.exits).toEqual([1]);
        expect(s.errors).toEqual([
          `Port ${port} on 127.0.0.1 is already in use: stop what listens there, or set PORT to another port.`,
        ]);
        expect(messages(s)).not.toContain('listening');
      } finally {
        await new Promise<void>((resolve) => taken.close(() => resolve()));
      }
    });

    it('prints any other failure as it is and exits 1', async () => {
      const s = standIn(offlineProductionEnv());
      const failure = Object.assign(new Error('the disk is gone'), { code: 'EIO' });
      jest.spyOn(server, 'startService').mockRejectedValue(failure);
      await runProcess(s.proc);
      expect(s.exits).toEqual([1]);
      expect(s.errors).toEqual([String(failure)]);
    });
  });

  describe('a running service', () => {
    it('announces where it listens, with the logger at the configured level', async () => {
      const s = standIn(offlineProductionEnv({ LOG_LEVEL: 'warn' }));
      await runProcess(s.proc);
      const service = await s.started();
      const port = new URL(service.url).port;
      expect(s.levels).toEqual(['warn']);
      expect(s.log.lines().find((l) => l.msg === 'listening')).toMatchObject({
        listen: `127.0.0.1:${port}`,
        url: `http://127.0.0.1:${port}`,
        deployments: ['default (mypurecloud.ie)'],
        tracing: false,
      });
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      expect(s.exits).toEqual([]);
      expect(s.printed).toEqual([]);
    });

    it.each(['SIGTERM', 'SIGINT'])('drains once on %s, however often it comes, then exits 0', async (signal) => {
      const s = standIn(offlineProductionEnv());
      await runProcess(s.proc);
      const service = await s.started();
      const stop = jest.spyOn(service, 'stop');
      s.proc.events.emit(signal);
      s.proc.events.emit(signal);
      s.proc.events.emit(signal === 'SIGTERM' ? 'SIGINT' : 'SIGTERM');
      expect(await s.exited()).toBe(0);
      expect(s.exits).toEqual([0]);
      expect(stop).toHaveBeenCalledTimes(1);
      expect(s.log.lines().filter((l) => l.msg === 'shutdown requested')).toEqual([
        expect.objectContaining({ signal }),
      ]);
      expect(messages(s)).toContain('stopped');
      await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
    });

    it('drains on a failure nothing handled and exits 1', async () => {
      const s = standIn(offlineProductionEnv());
      await runProcess(s.proc);
      await s.started();
      s.proc.events.emit('unhandledRejection', new Error('a bug'));
      expect(await s.exited()).toBe(1);
      expect(s.log.lines().find((l) => l.msg === 'shutdown requested')).toMatchObject({ failure: true });
      expect(messages(s)).toContain('stopped');
    });

    it('on SIGHUP with no deployments file, says there is nothing to reload and serves on', async () => {
      const s = standIn(offlineProductionEnv());
      await runProcess(s.proc);
      const service = await s.started();
      const reload = jest.spyOn(service, 'reload');
      s.proc.events.emit('SIGHUP');
      const nothing = 'SIGHUP: nothing to reload; the deployment comes from variables, read once at start';
      await waitFor(() => messages(s).includes(nothing), EVENT_WAIT_MS);
      expect(s.log.lines().find((l) => l.msg === nothing)).toMatchObject({ level: 40 });
      expect(reload).not.toHaveBeenCalled();
      expect(s.exits).toEqual([]);
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    });

    it('exits 1 when the drain itself fails, saying so', async () => {
      const s = standIn(offlineProductionEnv());
      await runProcess(s.proc);
      const service = await s.started();
      const stop = service.stop;
      jest.spyOn(service, 'stop').mockImplementation(async () => {
        await stop();
        throw new Error('a close failed');
      });
      s.proc.events.emit('SIGTERM');
      expect(await s.exited()).toBe(1);
      expect(s.log.lines().find((l) => l.msg === 'shutdown failed')).toMatchObject({
        level: 50,
        err: { message: 'a close failed' },
      });
    });
  });

  describe('the embedded demo', () => {
    it('starts with no configuration outside production, prints where everything is, and stops it all on SIGTERM', async () => {
      const s = standIn({ PORT: '0', DEMO_PORT: '0' });
      await runProcess(s.proc);
      const service = await s.started();
      expect(s.printed).toHaveLength(1);
      const lines = s.printed[0]!.split('\n');
      const demo = /Open the demo chat: +(\S+)/.exec(s.printed[0]!)?.[1];
      expect(demo).toMatch(/^http:\/\/localhost:\d+\/$/);
      expect(lines).toContain(
        `  The BFF (the API):   http://localhost:${new URL(service.url).port}  (reference: http://localhost:${new URL(service.url).port}/openapi.json)`,
      );
      expect((await fetch(demo!)).status).toBe(200);

      s.proc.events.emit('SIGTERM');
      expect(await s.exited()).toBe(0);
      await expect(fetch(demo!)).rejects.toThrow();
    });

    it('stops the demo it started when the service cannot listen', async () => {
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      try {
        const port = (taken.address() as net.AddressInfo).port;
        const s = standIn({ PORT: String(port), DEMO_PORT: '0' });
        let demoUrl: string | undefined;
        jest.spyOn(server, 'startService').mockImplementation((config, logger, options) => {
          // The demo page's origin comes first on the embedded allowlist.
          demoUrl = `${config.deployments[0]!.allowedOrigins[0]}/`;
          return realStart(config, logger, options);
        });
        await runProcess(s.proc);
        expect(s.exits).toEqual([1]);
        expect(s.errors[0]).toContain(`Port ${port} on 127.0.0.1 is already in use`);
        expect(demoUrl).toMatch(/^http:\/\/localhost:\d+\/$/);
        await expect(fetch(demoUrl!)).rejects.toThrow();
      } finally {
        await new Promise<void>((resolve) => taken.close(() => resolve()));
      }
    });
  });
});

/** The "listening" line says whether spans are exported (the block above runs the life without tracing). */
describe('with an OTLP endpoint set', () => {
  it('says tracing is on when an OTLP endpoint is set', async () => {
    const log = captureLogger();
    const events = new EventEmitter();
    const exits: number[] = [];
    const offline = 'http://127.0.0.1:9';
    await runProcess({
      env: testEnv({
        NODE_ENV: 'production',
        GENESYS_LOGIN_URL: offline,
        GENESYS_API_URL: offline,
        GENESYS_CDN_URL: offline,
        GENESYS_WEBMESSAGING_URL: 'ws://127.0.0.1:9',
        OTEL_EXPORTER_OTLP_ENDPOINT: offline,
      }),
      events,
      exit: (code) => void exits.push(code),
      console: { log: () => undefined, error: () => undefined },
      logger: () => log.logger,
    });
    try {
      expect(log.lines().find((l) => l.msg === 'listening')).toMatchObject({ tracing: true });
    } finally {
      events.emit('SIGTERM');
      await waitFor(() => exits.length > 0, EVENT_WAIT_MS, 10);
    }
    expect(exits).toEqual([0]);
  });
});
