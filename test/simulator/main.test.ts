import { loadConfig } from '../../src/config/schema';
import { spawn } from 'node:child_process';
import path from 'node:path';

/** `npm run sim` starts a standalone simulator and prints the BFF's environment. */
it('npm run sim prints the env lines, serves on the printed port and stops on SIGTERM', async () => {
  const child = spawn('npm', ['run', '--silent', 'sim'], {
    cwd: path.resolve(__dirname, '../..'),
    env: { ...process.env, SIM_PORT: '0' },
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
      'GENESYS_LOGIN_URL',
      'GENESYS_REGION',
      'GENESYS_WEBMESSAGING_URL',
      'SESSION_SECRET',
    ]);
    // Pasted as printed, the lines configure the service: nothing missing, nothing invalid.
    expect(() => loadConfig(env)).not.toThrow();
    expect(env.GENESYS_LOGIN_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(env.GENESYS_API_URL).toBe(env.GENESYS_LOGIN_URL);
    expect(env.GENESYS_CDN_URL).toBe(env.GENESYS_LOGIN_URL);
    expect(env.GENESYS_WEBMESSAGING_URL).toBe(env.GENESYS_LOGIN_URL!.replace('http:', 'ws:'));
    expect(env.GENESYS_DEPLOYMENT_ID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(env.GENESYS_REGION).toBe('mypurecloud.com');

    const config = await fetch(`${env.GENESYS_CDN_URL}/webdeployments/v1/deployments/${env.GENESYS_DEPLOYMENT_ID}/config.json`);
    expect(config.status).toBe(200);
    const token = await fetch(`${env.GENESYS_LOGIN_URL}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${env.GENESYS_CLIENT_ID}:${env.GENESYS_CLIENT_SECRET}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(token.status).toBe(200);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
  }
  await exited;
}, 30_000);
