import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/schema';
import { embeddedDefaultApplies, startEmbeddedDefault, type EmbeddedDefault } from '../../src/demo/embeddedDefault';

/**
 * The embedded default: when it applies, the environment it gives the
 * service, the demo page server, and — through src/main.ts as a process —
 * that production never loads the simulator.
 */

const ROOT = path.resolve(__dirname, '../..');
jest.setTimeout(60_000);

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
    });
    expect(env.SESSION_SECRET!.length).toBeGreaterThanOrEqual(32);
    const config = loadConfig(env);
    expect(config.genesys.credentials).toEqual(simulator.credentials);
    expect(config.host).toBe('127.0.0.1');

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
        resolve({ code, stdout, stderr, simulatorModules: Number(/SIMULATOR_MODULES=(\d+)/.exec(stderr)?.[1] ?? -1) }),
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
