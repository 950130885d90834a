import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startSimulator, type Simulator } from '../../simulator';
import { startNginx, type Nginx } from '../support/nginx';
import { freePort } from '../support/ports';
import { startPushReceiver, vapidPair, type PushReceiver } from '../support/pushReceiver';
import { startComposeRedis, type RedisServer } from '../support/redis';
import { simulatorEnv } from '../support/stack';
import { sleep, waitFor } from '../support/wait';
import { NOTIFY_AFTER_MS } from './pushCheck';
import { startRelay, type Relay } from './relay';

/**
 * What the soak runs against, as an operator would run it: N instances of the service (each its own
 * process, `src/main.ts` through tsx), Redis as deploy/docker-compose.scale.yml runs it (persistence,
 * memory policy, password), Debian's nginx running deploy/nginx/bff.conf, and the strict simulator in
 * this process, reached by the instances through a relay that can refuse, hang or slow the network.
 * Web Push is on (a VAPID pair made for the run, NOTIFY_AFTER_SECONDS short, previews on), and a push service
 * on loopback in this process receives what the instances push (test/support/pushReceiver.ts).
 * Every port is chosen at run time on 127.0.0.1. With SOAK_LOGS=<dir>, the instances log at debug level, each
 * to `<dir>/instance-<i>.log` (appended across its restarts), to follow a failure into the service.
 */

const ROOT = path.join(__dirname, '../..');

export class SoakInstance {
  private child?: ChildProcess;
  private output = '';
  constructor(
    readonly index: number,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines it wrote, for a failure. */
  tail(): string {
    return this.output.slice(-4000);
  }

  /** Starts the process and waits (bounded) until it answers /healthz: it may not be ready while Genesys is away. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const logs = process.env.SOAK_LOGS;
    if (logs) fs.mkdirSync(logs, { recursive: true });
    const file = logs ? fs.createWriteStream(path.join(logs, `instance-${this.index}.log`), { flags: 'a' }) : undefined;
    child.once('exit', () => file?.end());
    const keep = (chunk: Buffer) => {
      file?.write(chunk);
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`instance exited: ${this.tail()}`);
        return (await fetch(`${this.url}/healthz`)).ok;
      },
      60_000,
      100,
    );
  }

  /** The running process's id. */
  get pid(): number | undefined {
    return this.running ? this.child!.pid : undefined;
  }

  /** Sends `signal` and waits (bounded) for the exit; SIGKILL after 20 s. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const late = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(late);
  }
}

export interface World {
  sim: Simulator;
  relay: Relay;
  redis: RedisServer;
  instances: SoakInstance[];
  proxy: Nginx;
  /** The push service the customers' subscriptions point at, and the VAPID public key the pushes must be signed by. */
  push: { receiver: PushReceiver; vapidPublicKey: string };
  stop(): Promise<void>;
}

export async function startWorld(instanceCount: number): Promise<World> {
  const parts: Partial<World> = {};
  try {
    const sim = await startSimulator({
      profile: 'strict',
      record: true,
      agent: { typingDelayMs: 5, replyDelayMs: 40 },
    });
    parts.sim = sim;
    const relay = await startRelay(sim.port);
    parts.relay = relay;
    const redis = await startComposeRedis();
    parts.redis = redis;
    const receiver = await startPushReceiver();
    const vapid = vapidPair();
    parts.push = { receiver, vapidPublicKey: vapid.publicKey };
    const env = simulatorEnv(sim, {
      GENESYS_LOGIN_URL: relay.url,
      GENESYS_API_URL: relay.url,
      GENESYS_CDN_URL: relay.url,
      GENESYS_WEBMESSAGING_URL: relay.wsUrl,
      REDIS_URL: redis.url,
      TRUST_PROXY: '1',
      LOG_LEVEL: process.env.SOAK_LOGS ? 'debug' : 'error',
      STREAMS_PER_IP: '1000',
      SESSIONS_PER_IP_PER_MINUTE: '1000',
      UPLOADS_PER_IP: '100',
      CONNECTIONS_PER_IP: '4000',
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:soak@example.com',
      NOTIFY_AFTER_SECONDS: String(NOTIFY_AFTER_MS / 1000),
      NOTIFY_PREVIEW: 'on',
    });
    parts.instances = [];
    for (let i = 0; i < instanceCount; i += 1) parts.instances.push(new SoakInstance(i, await freePort(), env));
    // One at a time: four TypeScript compilations at once starve a 2-core machine.
    for (const instance of parts.instances) await instance.start();
    parts.proxy = await startNginx(parts.instances.map((i) => `127.0.0.1:${i.port}`));
    return { ...(parts as World), stop: () => stopWorld(parts) };
  } catch (error) {
    await stopWorld(parts);
    throw error;
  }
}

async function stopWorld(parts: Partial<World>): Promise<void> {
  parts.redis?.resume();
  await parts.proxy?.stop().catch(() => undefined);
  await Promise.all((parts.instances ?? []).map((i) => i.signal('SIGKILL')));
  await parts.redis?.stop().catch(() => undefined);
  await parts.relay?.close().catch(() => undefined);
  await parts.push?.receiver.close().catch(() => undefined);
  await parts.sim?.stop().catch(() => undefined);
}

/**
 * The last resort, run synchronously on exit (Ctrl-C, an uncaught error): every process this one started,
 * and theirs (nginx's workers), found by parent id before any is killed, is continued and killed with SIGKILL.
 */
export function killChildrenNow(): void {
  let table: [number, number][] = [];
  try {
    table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number) as [number, number])
      .filter(([pid, ppid]) => Number.isInteger(pid) && Number.isInteger(ppid));
  } catch {
    return;
  }
  const descendants: number[] = [];
  for (let parents = [process.pid]; parents.length > 0;) {
    const children = table.filter(([, ppid]) => parents.includes(ppid)).map(([pid]) => pid);
    descendants.push(...children);
    parents = children;
  }
  for (const pid of descendants) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone (or the ps itself)
    }
  }
}

export { sleep };
