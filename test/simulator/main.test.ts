import { loadConfig } from '../../src/config/schema';
import { startService } from '../../src/server';
import { captureLogger } from '../support/app';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../support/ports';

/**
 * @simulator kind it tests `npm run sim` as started without SIM_PROFILE, the default profile
 */
const ROOT = path.resolve(__dirname, '../..');

/** `npm run sim` starts a standalone simulator and prints the BFF's environment. */
it('npm run sim prints the env lines, serves on the SIM_PORT and SIM_HOST it was given and stops on SIGTERM', async () => {
  const port = await freePort();
  const child = spawn('npm', ['run', '--silent', 'sim'], {
    cwd: ROOT,
    env: { ...process.env, SIM_PORT: String(port), SIM_HOST: '127.0.0.1' },
    detached: true, // its own process group, so npm, tsx and node all get the signal
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    let out = '';
    const env = await new Promise<Record<string, string>>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (!out.includes('SESSION_SECRET=')) return;
        const lines = out.split('\n').filter((l) => /^[A-Z_]+=/.test(l));
        resolve(Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])));
      });
      void exited.then((code) => reject(new Error(`npm run sim exited (${code}) before printing its URLs: ${out}`)));
    });

    expect(Object.keys(env).sort()).toEqual([
      'CORS_ALLOWED_ORIGINS',
      'GENESYS_API_URL',
      'GENESYS_CDN_URL',
      'GENESYS_CLIENT_ID',
      'GENESYS_CLIENT_SECRET',
      'GENESYS_DEPLOYMENT_ID',
      'GENESYS_EMERGENCY_GROUP_ID',
      'GENESYS_LOGIN_URL',
      'GENESYS_QUEUE_ID',
      'GENESYS_REGION',
      'GENESYS_SCHEDULE_GROUP_ID',
      'GENESYS_WEBMESSAGING_URL',
      'SESSION_SECRET',
    ]);
    // Pasted as printed, the lines configure the service: nothing missing, nothing invalid.
    expect(() => loadConfig(env)).not.toThrow();
    expect(env.GENESYS_LOGIN_URL).toBe(`http://127.0.0.1:${port}`);
    expect(env.GENESYS_API_URL).toBe(env.GENESYS_LOGIN_URL);
    expect(env.GENESYS_CDN_URL).toBe(env.GENESYS_LOGIN_URL);
    expect(env.GENESYS_WEBMESSAGING_URL).toBe(env.GENESYS_LOGIN_URL!.replace('http:', 'ws:'));
    expect(env.GENESYS_DEPLOYMENT_ID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(env.GENESYS_REGION).toBe('mypurecloud.com');

    const config = await fetch(
      `${env.GENESYS_CDN_URL}/webdeployments/v1/deployments/${env.GENESYS_DEPLOYMENT_ID}/config.json`,
    );
    expect(config.status).toBe(200);
    const token = await fetch(`${env.GENESYS_LOGIN_URL}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${env.GENESYS_CLIENT_ID}:${env.GENESYS_CLIENT_SECRET}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(token.status).toBe(200);
    // The availability ids name the simulator's own queue: its estimated wait answers with the printed token.
    const { access_token: accessToken } = (await token.json()) as { access_token: string };
    const wait = await fetch(
      `${env.GENESYS_API_URL}/api/v2/routing/queues/${env.GENESYS_QUEUE_ID}/mediatypes/message/estimatedwaittime`,
      { headers: { authorization: `Bearer ${accessToken}` } },
    );
    expect(wait.status).toBe(200);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
  }
  await exited;
}, 30_000);

/** The simulator's own process, as `npm run sim` runs it (without npm, which adds nothing here). */
function simulatorExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'simulator/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr: stderr.trim() })));
}

it('a SIM_PORT already taken, a SIM_HOST not of this machine or a SIM_PORT that is no port: one line naming the variable, and exit 1 or 2', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as net.AddressInfo;
  try {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
    const [busy, foreign, garbled] = await Promise.all([
      simulatorExit({ SIM_PORT: String(port), SIM_HOST: '127.0.0.1' }),
      simulatorExit({ SIM_PORT: '0', SIM_HOST: '192.0.2.1' }),
      simulatorExit({ SIM_PORT: '91OO' }),
    ]);
    expect(busy).toEqual({
      code: 1,
      stderr: `simulator failed to start: 127.0.0.1:${port} is already in use: set SIM_PORT to another port (0 = any free port)`,
    });
    expect(foreign).toEqual({
      code: 1,
      stderr: 'simulator failed to start: SIM_HOST "192.0.2.1" is not an address of this machine',
    });
    expect(garbled).toEqual({
      code: 2,
      stderr: 'SIM_PORT must be a port number from 0 to 65535, 0 for any free port (got "91OO")',
    });
  } finally {
    blocker.close();
  }
}, 60_000);

it('DEMO_AVAILABILITY=closed starts the centre closed, as the service then reads it; a state it does not know exits 2', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'simulator/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, SIM_PORT: String(port), SIM_HOST: '127.0.0.1', DEMO_AVAILABILITY: 'closed' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    let out = '';
    const env = await new Promise<Record<string, string>>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (!out.includes('SESSION_SECRET=')) return;
        const lines = out.split('\n').filter((l) => /^[A-Z_]+=/.test(l));
        resolve(Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])));
      });
      void exited.then((code) => reject(new Error(`the simulator exited (${code}) before printing its URLs: ${out}`)));
    });
    // The service on the printed lines, as a developer pastes them.
    const service = await startService(loadConfig({ ...env, PORT: '0', HOST: '127.0.0.1' }), captureLogger().logger);
    try {
      const answer = await fetch(`${service.url}/availability`, { headers: { origin: env.CORS_ALLOWED_ORIGINS! } });
      expect(await answer.json()).toMatchObject({ configured: true, open: false, reason: 'closed' });
    } finally {
      await service.stop();
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);

  expect(await simulatorExit({ SIM_PORT: '0', DEMO_AVAILABILITY: 'sleepy' })).toEqual({
    code: 2,
    stderr: 'DEMO_AVAILABILITY must be one of open, closed, busy, holiday, emergency, no_agents (got "sleepy")',
  });
}, 60_000);
