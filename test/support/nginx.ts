import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from './daemon';
import { freePort } from './ports';
import { debianProgram } from './programs';

const DEPLOY_CONF = path.join(__dirname, '../../deploy/nginx/bff.conf');

export type Nginx = Daemon;

/**
 * Debian's nginx running the project's own deploy/nginx/bff.conf, unprivileged,
 * on a free loopback port: only its `listen` and `server` lines are replaced
 * (the upstream becomes `upstreams`); everything else is what users deploy.
 */
export async function startNginx(upstreams: string[]): Promise<Nginx> {
  const deployed = fs.readFileSync(DEPLOY_CONF, 'utf8');
  const serverLine = /^\s*server bff:8080 (.*);$/m;
  const listenLine = /^\s*listen 80;$/m;
  if (!serverLine.test(deployed) || !listenLine.test(deployed))
    throw new Error('deploy/nginx/bff.conf changed shape: update test/support/nginx.ts');
  const options = serverLine.exec(deployed)![1];
  return startNginxWith((port) =>
    deployed
      .replace(serverLine, upstreams.map((u) => `    server ${u} ${options};`).join('\n'))
      .replace(listenLine, `    listen 127.0.0.1:${port};`),
  );
}

/**
 * Debian's nginx, unprivileged, on a free loopback port, in a directory of its
 * own (pid, logs, temporary files): `site(port)` is the http block's content.
 * The configuration is checked (`nginx -t`) before it starts.
 */
export async function startNginxWith(site: (port: number) => string): Promise<Nginx> {
  const nginx = debianProgram('nginx');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-nginx-'));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'bff.conf'), site(port));
  const temp = (name: string) => `${name}_temp_path ${path.join(dir, name)};`;
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
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
  const args = ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')];
  const check = spawnSync(nginx, ['-t', ...args], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t: ${check.stderr}`);
  return startDaemon('nginx', nginx, args, `http://127.0.0.1:${port}`, dir, () =>
    fs.readFileSync(path.join(dir, 'error.log'), 'utf8'),
  );
}
