import childProcess, { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsPromises from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as simulatorModule from '../../simulator';
import { ConfigError, loadConfig } from '../../src/config/schema';
import { DEMO_AVAILABILITY_STATES } from '../../src/config/variables';
import { embeddedDefaultApplies, startEmbeddedDefault, type EmbeddedDefault } from '../../src/demo/embeddedDefault';
import { freePort } from '../support/ports';
import { startService } from '../../src/server';
import { captureLogger } from '../support/app';

/**
 * The embedded default (src/demo/embeddedDefault.ts): when it applies (NODE_ENV as a deployment
 * may write it, spaces and all), the environment it gives the service, the demo page server, and,
 * through src/main.ts as a process, that production never loads the simulator. Then its rules one
 * by one: the ports it takes and refuses, the host, the origins and secret it gives the service,
 * the page it serves (the simulator's sign-in and images), what it prints, what a failed start
 * leaves running, and how it builds the client package.
 */

// A bound on a hang, not a verdict: the page's first module compiles the client package (tsc), and three tests run
// src/main.ts through tsx, each a minute and more of a loaded machine's time.
jest.setTimeout(180_000);

const HOUR = 3_600_000;

describe('the whole start', () => {
  const ROOT = path.resolve(__dirname, '../..');

  describe('when the embedded default applies', () => {
    it.each([
      [{}, true],
      [{ NODE_ENV: 'development' }, true],
      [{ NODE_ENV: 'test', GENESYS_REGION: '', GENESYS_DEPLOYMENT_ID: '' }, true], // a copied, unfilled .env.example
      [{ NODE_ENV: 'production' }, false],
      [{ GENESYS_REGION: 'mypurecloud.ie' }, false],
      [{ GENESYS_DEPLOYMENT_ID: '6f2c3c3e-1b3a-4c55-9d1e-0a1b2c3d4e5f' }, false],
    ])('%j → %s', (env, expected) => {
      expect(embeddedDefaultApplies(env)).toBe(expected);
    });
  });

  describe('startEmbeddedDefault', () => {
    let embedded: EmbeddedDefault | undefined;
    afterEach(async () => {
      await embedded?.stop();
      embedded = undefined;
    });

    it('points the service at the simulator, allows the page origins (and the user’s), and generates a session secret', async () => {
      embedded = await startEmbeddedDefault({
        PORT: '0',
        DEMO_PORT: '0',
        CORS_ALLOWED_ORIGINS: 'https://shop.example.com, http://localhost:3000',
      });
      const { env, simulator, demo } = embedded;
      const page = [`http://localhost:${demo.port}`, `http://127.0.0.1:${demo.port}`];
      expect(embedded.demoOrigins).toEqual(page);
      expect(env.CORS_ALLOWED_ORIGINS).toBe([...page, 'https://shop.example.com', 'http://localhost:3000'].join(','));
      expect(env).toMatchObject({
        HOST: '127.0.0.1',
        GENESYS_DEPLOYMENT_ID: simulator.deploymentId,
        GENESYS_LOGIN_URL: simulator.url,
        GENESYS_WEBMESSAGING_URL: simulator.urls.webMessagingUrl,
        GENESYS_ORIGIN: page[0],
        GENESYS_QUEUE_ID: simulator.availability.ids.queueId,
        GENESYS_SCHEDULE_GROUP_ID: simulator.availability.ids.scheduleGroupId,
      });
      expect(env.SESSION_SECRET!.length).toBeGreaterThanOrEqual(32);
      const config = loadConfig(env);
      expect(config.deployments[0]!.genesys.credentials).toEqual(simulator.credentials);
      expect(config.process.host).toBe('127.0.0.1');

      const again = await startEmbeddedDefault({
        PORT: '0',
        DEMO_PORT: '0',
        SESSION_SECRET: 'my-own-session-secret-0123456789abcdef',
      });
      expect(again.env.SESSION_SECRET).toBe('my-own-session-secret-0123456789abcdef');
      expect(again.env.SESSION_SECRET).not.toBe(env.SESSION_SECRET);
      await again.stop();
    });

    it('prints where to go: the page, the service, the simulator, and how to use a real deployment', async () => {
      embedded = await startEmbeddedDefault({ PORT: '0', DEMO_PORT: '0' });
      const text = embedded.serviceStarted('http://127.0.0.1:18081').join('\n');
      expect(text).toContain(`Open the demo chat:  http://localhost:${embedded.demo.port}/`);
      expect(text).toContain('http://localhost:18081');
      expect(text).toContain(embedded.simulator.url);
      expect(text).toMatch(/GENESYS_REGION, GENESYS_DEPLOYMENT_ID, CORS_ALLOWED_ORIGINS and SESSION_SECRET/);
    });

    it('serves the page naming the service, the client module, and nothing else', async () => {
      embedded = await startEmbeddedDefault({ PORT: '0', DEMO_PORT: '0' });
      embedded.serviceStarted('http://127.0.0.1:18082');
      const base = `http://127.0.0.1:${embedded.demo.port}`;

      const viaLoopback = await fetch(`${base}/`);
      expect(viaLoopback.status).toBe(200);
      expect(await viaLoopback.text()).toContain('<meta name="bff-url" content="http://127.0.0.1:18082">');
      expect(viaLoopback.headers.get('content-security-policy')).toContain("connect-src 'self' http://127.0.0.1:18082");
      const viaLocalhost = await fetch(`http://localhost:${embedded.demo.port}/`);
      expect(await viaLocalhost.text()).toContain('content="http://localhost:18082"');

      const chosen = await (await fetch(`${base}/?bff=https://chat.example.com/ignored/path`)).text();
      expect(chosen).toContain('content="https://chat.example.com"');
      const hostile = await (await fetch(`${base}/?bff=${encodeURIComponent('javascript:alert(1)')}`)).text();
      expect(hostile).toContain('content="http://127.0.0.1:18082"');

      // The page's `./bffClient.js` is the client package's build, served module by module.
      const entry = await fetch(`${base}/bffClient.js`);
      expect(entry.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(await entry.text()).toContain("from './bff-client/index.js'");
      expect(await (await fetch(`${base}/bff-client/index.js`)).text()).toContain("from './client.js'");
      const source = await (await fetch(`${base}/bff-client/client.js`)).text();
      expect(source).toContain('export class BffClient');
      expect(source).not.toMatch(/\bprivate readonly\b/); // built, not TypeScript

      for (const file of ['app.js', 'style.css']) expect((await fetch(`${base}/${file}`)).status).toBe(200);
      for (const p of [
        '/bffClient.d.ts',
        '/tsconfig.json',
        '/../package.json',
        '/%2e%2e/package.json',
        '/..%2fpackage.json',
        '/nope.js',
        '/bff-client/nope.js',
        '/bff-client/react/index.js',
        '/bff-client/../package.json',
      ]) {
        expect({ p, status: (await fetch(`${base}${p}`)).status }).toEqual({ p, status: 404 });
      }
      expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
    });

    it('serves the client’s word catalogues, the Markdown libraries without their source-map line, and the service worker', async () => {
      embedded = await startEmbeddedDefault({ PORT: '0', DEMO_PORT: '0' });
      const base = `http://127.0.0.1:${embedded.demo.port}`;
      const text = async (p: string) => {
        const answer = await fetch(`${base}${p}`);
        expect({ p, status: answer.status }).toEqual({ p, status: 200 });
        return answer.text();
      };
      expect(await text('/bff-client/wording/de.js')).toBe(
        fs.readFileSync(path.join(ROOT, 'client/dist/wording/de.js'), 'utf8'),
      );
      const builds = {
        'markdown-it': 'node_modules/markdown-it/dist/browser/markdown-it.esm.min.mjs',
        dompurify: 'node_modules/dompurify/dist/purify.es.mjs',
      };
      for (const [name, file] of Object.entries(builds)) {
        const build = fs.readFileSync(path.join(ROOT, file), 'utf8');
        const mapLine = build.split('\n').find((line) => line.startsWith('//# sourceMappingURL='));
        expect({ name, mapLine }).toEqual({ name, mapLine: expect.stringMatching(/\.map$/) });
        expect(await text(`/vendor/${name}.js`)).toBe(build.replace(mapLine!, ''));
      }
      expect(await text('/chat-sw.js')).toBe(fs.readFileSync(path.join(ROOT, 'client/sw.js'), 'utf8'));
      for (const p of ['/bff-client/wording/xx.js', '/bff-client/other/de.js'])
        expect({ p, status: (await fetch(`${base}${p}`)).status }).toEqual({ p, status: 404 });
    });

    it('refuses a DEMO_PORT that is taken or invalid, in words, and leaves nothing running', async () => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const taken = (blocker.address() as net.AddressInfo).port;
      try {
        await expect(startEmbeddedDefault({ PORT: '0', DEMO_PORT: String(taken) })).rejects.toThrow(
          new ConfigError([`DEMO_PORT: port ${taken} is in use; set DEMO_PORT to a free port for the demo page`]),
        );
      } finally {
        blocker.close();
      }
      await expect(startEmbeddedDefault({ DEMO_PORT: 'http' })).rejects.toThrow(/DEMO_PORT must be a whole number/);
    });
  });

  describe('src/main.ts: the simulator is loaded only for the embedded default', () => {
    const TSX = require.resolve('tsx/cjs');
    let trace: string;

    beforeAll(() => {
      // Reports, as the process exits, how many simulator modules it ever loaded.
      trace = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bff-trace-')), 'trace.js');
      fs.writeFileSync(
        trace,
        "process.on('exit', () => { const n = Object.keys(require.cache).filter((k) => /[\\\\/]simulator[\\\\/]/.test(k)).length; process.stderr.write('\\nSIMULATOR_MODULES=' + n + '\\n'); });\n",
      );
    });

    function run(env: NodeJS.ProcessEnv, until?: RegExp) {
      const child = spawn(process.execPath, ['-r', TSX, '-r', trace, 'src/main.ts'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, DOTENV_CONFIG_PATH: path.join(ROOT, 'test/demo/no-such.env'), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let signalled = false;
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (!signalled && until?.test(stdout)) signalled = child.kill('SIGTERM');
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      return new Promise<{ code: number | null; stdout: string; stderr: string; simulatorModules: number }>((resolve) =>
        child.on('close', (code) =>
          resolve({
            code,
            stdout,
            stderr,
            simulatorModules: Number(/SIMULATOR_MODULES=(\d+)/.exec(stderr)?.[1] ?? -1),
          }),
        ),
      );
    }

    it('production with no configuration: every problem printed, exit 1, no simulator', async () => {
      const result = await run({ NODE_ENV: 'production' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('GENESYS_REGION is required');
      expect(result.stderr).toContain('SESSION_SECRET is required');
      expect(result.stderr).toContain('runs the embedded demo instead');
      expect(result.stdout).not.toContain('Open the demo chat');
      expect(result.simulatorModules).toBe(0);
    });

    it('with a Genesys configuration: the service alone, no demo page, no simulator', async () => {
      const offline = 'http://127.0.0.1:9';
      const result = await run(
        {
          PORT: '0',
          HOST: '127.0.0.1',
          GENESYS_REGION: 'mypurecloud.ie',
          GENESYS_DEPLOYMENT_ID: '6f2c3c3e-1b3a-4c55-9d1e-0a1b2c3d4e5f',
          GENESYS_LOGIN_URL: offline,
          GENESYS_API_URL: offline,
          GENESYS_CDN_URL: offline,
          GENESYS_WEBMESSAGING_URL: 'ws://127.0.0.1:9',
          CORS_ALLOWED_ORIGINS: 'http://localhost:3000',
          SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
        },
        /"msg":"listening"/,
      );
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain('Open the demo chat');
      expect(result.simulatorModules).toBe(0);
    });

    it('with no configuration outside production: the embedded default, simulator included', async () => {
      const result = await run({ PORT: '0', DEMO_PORT: '0' }, /Open the demo chat/);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('No Genesys configuration found');
      expect(result.simulatorModules).toBeGreaterThan(0);
    });
  });
});

/**
 * NODE_ENV as a deployment may write it: `production` with spaces around it (a YAML value, an
 * .env line) is still production, where the embedded simulator must never start in place of a
 * missing configuration.
 */
describe('NODE_ENV as a deployment may write it', () => {
  it.each(['production ', ' production', '\tproduction\n'])('treats NODE_ENV %j as production', (value) => {
    expect(embeddedDefaultApplies({ NODE_ENV: value })).toBe(false);
  });
});

describe('its rules one by one', () => {
  const started: EmbeddedDefault[] = [];
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const embedded of started.splice(0)) await embedded.stop();
  });

  async function start(env: NodeJS.ProcessEnv): Promise<EmbeddedDefault> {
    const embedded = await startEmbeddedDefault(env);
    started.push(embedded);
    return embedded;
  }

  /** Whether anything accepts a connection on the URL's port. */
  function listening(url: string): Promise<boolean> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve) => {
      const socket = net.connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
  }

  /** Holds 127.0.0.1:port (or finds it held already) while `body` runs. */
  async function whileTaken<T>(port: number, body: () => Promise<T>): Promise<T> {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => {
      blocker.once('error', () => resolve()); // someone else holds it: taken all the same
      blocker.listen(port, '127.0.0.1', resolve);
    });
    try {
      return await body();
    } finally {
      if (blocker.listening) await new Promise((resolve) => blocker.close(resolve));
    }
  }

  /** Records the simulators the embedded default starts. */
  function simulatorsStarted(): simulatorModule.Simulator[] {
    const simulators: simulatorModule.Simulator[] = [];
    const real = simulatorModule.startSimulator;
    jest.spyOn(simulatorModule, 'startSimulator').mockImplementation(async (options) => {
      const simulator = await real(options);
      simulators.push(simulator);
      return simulator;
    });
    return simulators;
  }

  describe('DEMO_AVAILABILITY', () => {
    it('starts the centre in the state it names, as GET /availability then answers it', async () => {
      const embedded = await start({ PORT: '0', DEMO_PORT: '0', DEMO_AVAILABILITY: 'closed' });
      const service = await startService(loadConfig(embedded.env), captureLogger().logger);
      try {
        const answer = (await (await fetch(`${service.url}/availability`)).json()) as Record<string, unknown>;
        expect(answer).toMatchObject({ configured: true, open: false, reason: 'closed' });
        // It opens in about two hours, on the hour.
        const opensIn = Date.parse(answer.nextOpenAt as string) - Date.now();
        expect(opensIn).toBeGreaterThan(HOUR);
        expect(opensIn).toBeLessThanOrEqual(3 * HOUR);
      } finally {
        await service.stop();
      }
    });

    it('refuses a state it does not know, naming the ones it does, before starting anything', async () => {
      const simulators = simulatorsStarted();
      await expect(start({ PORT: '0', DEMO_PORT: '0', DEMO_AVAILABILITY: 'sleepy' })).rejects.toThrow(
        'DEMO_AVAILABILITY must be one of open, closed, busy, holiday, emergency, no_agents (got "sleepy")',
      );
      expect(simulators).toEqual([]);
    });

    it('names the same states as the simulator', () => {
      expect([...DEMO_AVAILABILITY_STATES]).toEqual([...simulatorModule.AVAILABILITY_STATES]);
    });
  });

  describe('ports', () => {
    it.each(['http', '-1', '65536', '1.5'])(
      'refuses %j as DEMO_PORT and as PORT, in words, before starting anything',
      async (raw) => {
        const simulators = simulatorsStarted();
        await expect(startEmbeddedDefault({ DEMO_PORT: ` ${raw} ` })).rejects.toThrow(
          new ConfigError([`DEMO_PORT must be a whole number from 0 to 65535 (got "${raw}")`]),
        );
        await expect(startEmbeddedDefault({ DEMO_PORT: '0', PORT: raw })).rejects.toThrow(
          new ConfigError([`PORT must be a whole number from 0 to 65535 (got "${raw}")`]),
        );
        expect(simulators).toHaveLength(0);
      },
    );

    it('takes the ports at either end of the range, and a value with spaces around it', async () => {
      const embedded = await start({ DEMO_PORT: ' 0 ', PORT: '65535' });
      expect(embedded.demo.port).toBeGreaterThan(0);
      const page = await (await fetch(`http://127.0.0.1:${embedded.demo.port}/`)).text();
      expect(page).toContain('<meta name="bff-url" content="http://127.0.0.1:65535">');
    });

    it('puts the page on port 3000 when DEMO_PORT is unset or blank, and names that port when it is taken', async () => {
      for (const demoPort of [undefined, '  ']) {
        await whileTaken(3000, () =>
          expect(startEmbeddedDefault({ PORT: '0', DEMO_PORT: demoPort })).rejects.toThrow(
            new ConfigError(['DEMO_PORT: port 3000 is in use; set DEMO_PORT to a free port for the demo page']),
          ),
        );
      }
    });

    it('tells the page the service is on port 8080 when PORT is unset or blank, until the service says where it listens', async () => {
      for (const servicePort of [undefined, ' ']) {
        const embedded = await start({ DEMO_PORT: '0', PORT: servicePort });
        const page = () => fetch(`http://127.0.0.1:${embedded.demo.port}/`).then((answer) => answer.text());
        expect(await page()).toContain('content="http://127.0.0.1:8080"');
        embedded.serviceStarted('http://127.0.0.1:18093/');
        expect(await page()).toContain('content="http://127.0.0.1:18093"');
      }
    });
  });

  describe('a start that fails', () => {
    it('stops the simulator it started when the demo port is taken', async () => {
      const simulators = simulatorsStarted();
      const port = await freePort();
      await whileTaken(port, () =>
        expect(startEmbeddedDefault({ PORT: '0', DEMO_PORT: String(port) })).rejects.toThrow(ConfigError),
      );
      expect(simulators).toHaveLength(1);
      expect(await listening(simulators[0]!.url)).toBe(false);
    });

    it('passes on any other listen failure as it is, after stopping the simulator', async () => {
      const simulators = simulatorsStarted();
      // 192.0.2.1 (TEST-NET-1) is no address of this machine: the demo page cannot listen there.
      const failure = startEmbeddedDefault({ PORT: '0', DEMO_PORT: '0', HOST: '192.0.2.1' });
      await expect(failure).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
      await expect(failure).rejects.not.toBeInstanceOf(ConfigError);
      expect(await listening(simulators[0]!.url)).toBe(false);
    });
  });

  describe('what the service is given', () => {
    it('the host, trimmed, and loopback when HOST is blank', async () => {
      expect((await start({ PORT: '0', DEMO_PORT: '0', HOST: ' 127.0.0.1 ' })).env.HOST).toBe('127.0.0.1');
      expect((await start({ PORT: '0', DEMO_PORT: '0', HOST: '   ' })).env.HOST).toBe('127.0.0.1');
    });

    it('the page’s origins first, then the user’s, without blanks or the page’s again', async () => {
      const demoPort = await freePort();
      const page = [`http://localhost:${demoPort}`, `http://127.0.0.1:${demoPort}`];
      const embedded = await start({
        PORT: '0',
        DEMO_PORT: String(demoPort),
        CORS_ALLOWED_ORIGINS: ` ,${page[1]}, https://shop.example.com ,,${page[0]},https://www.example.com`,
      });
      expect(embedded.env.CORS_ALLOWED_ORIGINS).toBe(
        `${page[0]},${page[1]},https://shop.example.com,https://www.example.com`,
      );
      // And says so when it starts, so that whoever set it knows it was taken.
      expect(embedded.serviceStarted('http://127.0.0.1:18096')).toContain(
        "  Also allowed:        https://shop.example.com, https://www.example.com (from CORS_ALLOWED_ORIGINS, beside the demo's page)",
      );
      expect(embedded.env.GENESYS_ORIGIN).toBe(page[0]);
    });

    it('a generated session secret when the user’s is blank, a new one each run', async () => {
      const first = (await start({ PORT: '0', DEMO_PORT: '0', SESSION_SECRET: '   ' })).env.SESSION_SECRET!;
      const second = (await start({ PORT: '0', DEMO_PORT: '0' })).env.SESSION_SECRET!;
      expect(first).toMatch(/^[A-Za-z0-9_-]{64}$/);
      expect(second).toMatch(/^[A-Za-z0-9_-]{64}$/);
      expect(first).not.toBe(second);
    });

    it('Web Push keys: a pair made for the run (a blank key counts as none), or the user’s own as they are', async () => {
      const made = [
        (await start({ PORT: '0', DEMO_PORT: '0' })).env,
        (await start({ PORT: '0', DEMO_PORT: '0', VAPID_PUBLIC_KEY: '   ' })).env,
      ];
      for (const env of made) {
        // An uncompressed P-256 point and a 32-byte scalar, base64url.
        expect(Buffer.from(env.VAPID_PUBLIC_KEY!, 'base64url')).toHaveLength(65);
        expect(Buffer.from(env.VAPID_PRIVATE_KEY!, 'base64url')).toHaveLength(32);
        expect(env.VAPID_SUBJECT).toBe('mailto:demo@example.com');
      }
      expect(made[0]!.VAPID_PUBLIC_KEY).not.toBe(made[1]!.VAPID_PUBLIC_KEY);
      const own = {
        VAPID_PUBLIC_KEY: 'my-public-key',
        VAPID_PRIVATE_KEY: 'my-private-key',
        VAPID_SUBJECT: 'mailto:me@x.example',
      };
      expect((await start({ PORT: '0', DEMO_PORT: '0', ...own })).env).toMatchObject(own);
    });

    it('keeps the rest of the user’s environment', async () => {
      const embedded = await start({ PORT: '0', DEMO_PORT: '0', LOG_LEVEL: 'warn', SOMETHING_ELSE: 'kept' });
      expect(embedded.env).toMatchObject({ PORT: '0', LOG_LEVEL: 'warn', SOMETHING_ELSE: 'kept' });
    });
  });

  describe('the page', () => {
    it('signs in at the simulator and shows its images', async () => {
      const embedded = await start({ PORT: '0', DEMO_PORT: '0' });
      embedded.serviceStarted('http://127.0.0.1:18097');
      const answer = await fetch(`http://127.0.0.1:${embedded.demo.port}/`);
      const html = await answer.text();
      expect(html).toContain(`<meta name="sign-in-authorize-url" content="${embedded.simulator.signIn.authorizeUrl}">`);
      expect(html).toContain(`<meta name="sign-in-client-id" content="${embedded.simulator.signIn.clientId}">`);
      expect(embedded.simulator.signIn.authorizeUrl).not.toBe('');
      // The service and the simulator, nothing else.
      expect(answer.headers.get('content-security-policy')).toContain(
        `; img-src 'self' data: https: http://127.0.0.1:18097 ${embedded.simulator.url}; `,
      );
    });

    it('names the service at localhost for any hostname but 127.0.0.1', async () => {
      const embedded = await start({ PORT: '0', DEMO_PORT: '0' });
      embedded.serviceStarted('http://127.0.0.1:18094');
      const page = await new Promise<string>((resolve, reject) => {
        // A Host header of the user's own machine name: the page calls the service at localhost.
        const req = http.request(
          { host: '127.0.0.1', port: embedded.demo.port, path: '/', headers: { host: 'my-laptop.local' } },
          (res) => {
            let body = '';
            res
              .setEncoding('utf8')
              .on('data', (d: string) => (body += d))
              .on('end', () => resolve(body));
          },
        );
        req.on('error', reject).end();
      });
      expect(page).toContain('<meta name="bff-url" content="http://localhost:18094">');
    });
  });

  it('prints the page, the service, its reference, the simulator and the way to a real deployment, between blank lines', async () => {
    const embedded = await start({ PORT: '0', DEMO_PORT: '0' });
    const lines = embedded.serviceStarted('http://127.0.0.1:18095');
    expect(lines[0]).toBe('');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(1, -1)).toEqual([
      'No Genesys configuration found: running the embedded demo (the BFF, a local Genesys Cloud simulator and a demo chat page).',
      `  Open the demo chat:  ${embedded.demo.url}`,
      '  The BFF (the API):   http://localhost:18095  (reference: http://localhost:18095/openapi.json)',
      `  Genesys simulator:   ${embedded.simulator.url}  (scripted bot: echoes your text; try "quick replies", "card", "human" for a human agent, "disconnect", or "closed" alone to close the contact centre)`,
      'To use your own Genesys Cloud deployment, set GENESYS_REGION, GENESYS_DEPLOYMENT_ID, CORS_ALLOWED_ORIGINS and SESSION_SECRET',
      '(cp .env.example .env, then fill it in). Stop with Ctrl+C.',
    ]);
  });

  it('stops the page and the simulator', async () => {
    const embedded = await startEmbeddedDefault({ PORT: '0', DEMO_PORT: '0' });
    expect(await listening(embedded.demo.url)).toBe(true);
    expect(await listening(embedded.simulator.url)).toBe(true);
    await embedded.stop();
    expect(await listening(embedded.demo.url)).toBe(false);
    expect(await listening(embedded.simulator.url)).toBe(false);
  });

  it('the simulator greets with the scripted bot’s own words, and agents answer at a human pace', async () => {
    const options: Parameters<typeof simulatorModule.startSimulator>[0][] = [];
    const real = simulatorModule.startSimulator;
    jest
      .spyOn(simulatorModule, 'startSimulator')
      .mockImplementation(async (given) => (options.push(given), real(given)));
    await start({ PORT: '0', DEMO_PORT: '0' });
    expect(options).toEqual([
      {
        record: false,
        autoStart: true,
        availabilityState: 'open',
        agent: {
          typingDelayMs: 300,
          replyDelayMs: 900,
          greeting:
            'Hello! I am the local Genesys simulator’s scripted bot. Write anything and I will echo it; try “quick replies”, “card”, “date picker”, “send image”, “human” or “disconnect”.',
        },
      },
    ]);
  });

  describe('the client package, built from source once per process', () => {
    /**
     * Counts the client package's builds: each runs the real compiler, or, told what the compiler
     * printed, fails with it, or, told `skip`, succeeds at once.
     */
    function builds(outcome: 'real' | 'skip' | { printed: string } = 'real'): { count: () => number } {
      let count = 0;
      const real = childProcess.execFile as (...args: unknown[]) => childProcess.ChildProcess;
      jest.spyOn(childProcess, 'execFile').mockImplementation(((
        file: string,
        args: string[],
        callback: (error: Error | null, stdout: string, stderr: string) => void,
      ) => {
        if (!args.some((arg) => arg.endsWith('client/tsconfig.json'))) return real(file, args, callback);
        count++;
        if (outcome === 'real') return real(file, args, callback);
        const error = outcome === 'skip' ? null : Object.assign(new Error('Command failed: tsc'), { code: 2 });
        setImmediate(() => callback(error, outcome === 'skip' ? '' : outcome.printed, ''));
        return {} as childProcess.ChildProcess;
      }) as typeof childProcess.execFile);
      return { count: () => count };
    }

    /** Makes reading the named files of client/dist fail with `code`. */
    function unreadable(code: string, ...files: string[]): void {
      const real = fsPromises.readFile;
      jest.spyOn(fsPromises, 'readFile').mockImplementation(((file: Parameters<typeof real>[0], ...rest: unknown[]) => {
        const name = String(file);
        if (files.some((f) => name.endsWith(`client/dist/${f}`)))
          return Promise.reject(Object.assign(new Error(`${code}: ${name}`), { code }));
        return (real as (...a: unknown[]) => Promise<unknown>)(file, ...rest);
      }) as typeof real);
    }

    async function moduleAnswer(file: string): Promise<{ status: number; text: string }> {
      const embedded = await start({ PORT: '0', DEMO_PORT: '0' });
      const answer = await fetch(`http://127.0.0.1:${embedded.demo.port}/bff-client/${file}`);
      return { status: answer.status, text: await answer.text() };
    }

    it('builds once, however many modules the page asks for', async () => {
      const built = builds();
      const embedded = await start({ PORT: '0', DEMO_PORT: '0' });
      const base = `http://127.0.0.1:${embedded.demo.port}/bff-client/`;
      const answers = await Promise.all(
        ['index.js', 'client.js', 'index.js', 'nope.js'].map((file) => fetch(base + file)),
      );
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 404]);
      expect(built.count()).toBe(1);
    });

    it('answers with the compiler’s words when the package does not build', async () => {
      builds({ printed: 'client/src/client.ts(1,1): error TS1005: ; expected.' });
      expect(await moduleAnswer('client.js')).toEqual({
        status: 500,
        text: 'The demo page could not be served: the client package did not build: client/src/client.ts(1,1): error TS1005: ; expected.',
      });
    });

    it('answers with the error when the compiler printed nothing', async () => {
      builds({ printed: '' });
      expect(await moduleAnswer('index.js')).toEqual({
        status: 500,
        text: 'The demo page could not be served: the client package did not build: Command failed: tsc',
      });
    });

    it('says to run the build when the package’s entry is missing, and answers 404 for any other missing module', async () => {
      builds('skip');
      unreadable('ENOENT', 'index.js', 'client.js');
      const missing = await moduleAnswer('index.js');
      expect(missing.status).toBe(500);
      expect(missing.text).toMatch(
        /^The demo page could not be served: .*client\/dist is missing; run `npm run build`$/,
      );
      expect(await moduleAnswer('client.js')).toEqual({ status: 404, text: 'Not found' });
    });

    it('passes on any other read failure', async () => {
      builds('skip');
      unreadable('EACCES', 'client.js');
      const answer = await moduleAnswer('client.js');
      expect(answer.status).toBe(500);
      expect(answer.text).toMatch(/^The demo page could not be served: EACCES: .*client\/dist\/client\.js$/);
    });
  });

  describe('a build without the development simulator (dist/ of a production image)', () => {
    /** startEmbeddedDefault where requiring the simulator fails with `error` (it is required when the demo starts). */
    async function startWithout(error: Error): Promise<unknown> {
      jest.doMock('../../simulator', () => {
        throw error;
      });
      try {
        return await startEmbeddedDefault({ PORT: '0', DEMO_PORT: '0' });
      } finally {
        jest.dontMock('../../simulator');
      }
    }

    it('says what to set instead', async () => {
      const missing = Object.assign(new Error("Cannot find module '../../simulator'"), { code: 'MODULE_NOT_FOUND' });
      await expect(startWithout(missing)).rejects.toMatchObject({
        name: 'ConfigError',
        problems: [
          'No Genesys configuration is set, and this build has no development simulator for the embedded demo (dist/simulator). ' +
            'Set GENESYS_REGION, GENESYS_DEPLOYMENT_ID, CORS_ALLOWED_ORIGINS and SESSION_SECRET (see .env.example).',
        ],
      });
    });

    it('passes on any other failure to load it', async () => {
      const broken = Object.assign(new SyntaxError('Unexpected token'), { code: 'ERR_SOMETHING' });
      await expect(startWithout(broken)).rejects.toBe(broken);
    });
  });
});
