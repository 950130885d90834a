import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from './daemon';
import { freePort } from './ports';
import { debianProgram } from './programs';

const DEPLOY_CFG = path.join(__dirname, '../../deploy/haproxy/haproxy.cfg');

export interface HaproxyOptions {
  /** Replaces a `timeout` line of the defaults, e.g. `{ server: '1s' }`, to observe it in a short test. */
  timeouts?: Record<string, string>;
  /** Replaces the health checks' interval, to observe a check failing in a short test. */
  checkInterval?: string;
}

export type Haproxy = Daemon;

/**
 * Debian's HAProxy running the project's own deploy/haproxy/haproxy.cfg on a free
 * loopback port: only its `bind` line and its `server-template` line (DNS discovery
 * becomes one `server` line per upstream, with the same options) are replaced,
 * plus whatever `options` names; everything else is what users deploy.
 */
export async function startHaproxy(upstreams: string[], options: HaproxyOptions = {}): Promise<Haproxy> {
  const haproxy = debianProgram('haproxy');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-haproxy-'));
  const port = await freePort();
  const deployed = fs.readFileSync(DEPLOY_CFG, 'utf8');
  const templateLine = /^\s*server-template bff \S+ bff:8080 (.*) resolvers dns init-addr none$/m;
  const bindLine = /^\s*bind :80$/m;
  if (!templateLine.test(deployed) || !bindLine.test(deployed))
    throw new Error('deploy/haproxy/haproxy.cfg changed shape: update test/support/haproxy.ts');
  let serverOptions = templateLine.exec(deployed)![1]!;
  if (options.checkInterval) serverOptions = serverOptions.replace(/\binter \S+/, `inter ${options.checkInterval}`);
  let cfg = deployed
    .replace(templateLine, upstreams.map((u, i) => `    server bff${i + 1} ${u} ${serverOptions}`).join('\n'))
    .replace(bindLine, `    bind 127.0.0.1:${port}`);
  for (const [name, value] of Object.entries(options.timeouts ?? {})) {
    const line = new RegExp(`^(\\s*timeout ${name}) \\S+`, 'm');
    if (!line.test(cfg)) throw new Error(`deploy/haproxy/haproxy.cfg has no "timeout ${name}" line`);
    cfg = cfg.replace(line, `$1 ${value}`);
  }
  const file = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, cfg);
  return startDaemon('haproxy', haproxy, ['-db', '-f', file], `http://127.0.0.1:${port}`, dir);
}
