import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import { waitFor } from './wait';

export const NGINX = process.env.NGINX_BINARY ?? '/usr/sbin/nginx';
const DEPLOY_CONF = path.join(__dirname, '../../deploy/nginx/bff.conf');

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

/**
 * Debian's nginx running the project's own deploy/nginx/bff.conf, unprivileged,
 * on a free loopback port: only its `listen` and `server` lines are replaced
 * (the upstream becomes `upstreams`); everything else is what users deploy.
 */
export async function startNginx(upstreams: string[]): Promise<Nginx> {
  if (!fs.existsSync(NGINX)) throw new Error(`${NGINX} is missing: install Debian's nginx (npm test does it for you).`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-nginx-'));
  const port = await freePort();
  const deployed = fs.readFileSync(DEPLOY_CONF, 'utf8');
  const serverLine = /^\s*server bff:8080 (.*);$/m;
  const listenLine = /^\s*listen 80;$/m;
  if (!serverLine.test(deployed) || !listenLine.test(deployed)) throw new Error('deploy/nginx/bff.conf changed shape: update test/support/nginx.ts');
  const options = serverLine.exec(deployed)![1];
  const site = deployed
    .replace(serverLine, upstreams.map((u) => `    server ${u} ${options};`).join('\n'))
    .replace(listenLine, `    listen 127.0.0.1:${port};`);
  fs.writeFileSync(path.join(dir, 'bff.conf'), site);
  const temp = (name: string) => `${name}_temp_path ${path.join(dir, name)};`;
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    [
      'daemon off;',
      'worker_processes 1;',
      `pid ${path.join(dir, 'nginx.pid')};`,
      `error_log ${path.join(dir, 'error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
      `  include ${path.join(dir, 'bff.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
    await fetch(`${url}/healthz`);
  }, 10_000, 50);
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
