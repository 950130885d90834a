import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { parseAllDocuments } from 'yaml';
import { freePort } from './ports';
import { debianProgram } from './programs';
import { EVENT_WAIT_MS, waitFor } from './wait';

const SCALE_COMPOSE = path.join(__dirname, '../../deploy/docker-compose.scale.yml');

export interface RedisServer {
  url: string;
  port: number;
  /** The password Redis requires (empty: none). */
  password: string;
  /** Stops the server with `signal` (default SIGKILL: what an outage looks like to a client) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts it again on the same port and directory: empty without persistence, else with what it had written.
   * Refused while the server it started last still runs: a second one on the port would fail to start, and signals
   * meant for Redis would go to it instead.
   */
  restart(): Promise<void>;
  /** SIGSTOP: the connection stays up and nothing answers (what a hung or black-holed Redis looks like). */
  pause(): void;
  /** SIGCONT to the server pause() stopped, whatever was started since. */
  resume(): void;
  stop(): Promise<void>;
}

interface RedisOptions {
  /** Settings after the port, address and directory (default: no persistence at all). */
  args?: string[];
  password?: string;
}

/**
 * Debian's redis-server as an unprivileged child on a free loopback port,
 * with its own temporary directory; by default with no persistence.
 * `npm test` installs the package when it is missing (scripts/test-prerequisites.sh).
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-redis-'));
  let port = 0;
  const password = options.password ?? '';
  const settings = options.args ?? ['--save', '', '--appendonly', 'no'];
  let child: ChildProcess | undefined;
  let paused: ChildProcess | undefined;
  const running = (c: ChildProcess | undefined): c is ChildProcess =>
    c !== undefined && c.exitCode === null && c.signalCode === null;
  const start = async () => {
    if (running(child)) throw new Error(`redis-server on port ${port} still runs: stop it before starting it again`);
    child = await launchRedis(port, dir, settings);
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const c = child;
    if (!running(c)) return;
    c.kill('SIGCONT'); // a paused server would not die of SIGKILL any less, but its exit is only reported once it runs
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };
  await onFreePorts(1, async ([free]) => {
    port = free!;
    await start();
  }).catch((error: unknown) => {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    url: password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    port,
    password,
    kill,
    restart: start,
    pause: () => {
      paused = child;
      paused?.kill('SIGSTOP');
    },
    resume: () => {
      paused?.kill('SIGCONT');
      paused = undefined;
    },
    async stop() {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The Redis settings deploy/docker-compose.scale.yml starts Redis with (persistence,
 * memory policy, password), read from the file so a test follows it: the arguments
 * of its `exec redis-server` line, the shell's quoting and compose's `$$` undone and
 * `$REDIS_PASSWORD` replaced by `password`.
 */
export function composeRedisSettings(password: string): string[] {
  const compose = parseAllDocuments(fs.readFileSync(SCALE_COMPOSE, 'utf8'))[0]!.toJSON() as {
    services: { redis: { command: string[] } };
  };
  const script = compose.services.redis.command.join(' ').replace(/\$\$/g, '$');
  const start = script.indexOf('exec redis-server ');
  if (start < 0)
    throw new Error(
      'deploy/docker-compose.scale.yml: Redis no longer starts with `exec redis-server ...`; update test/support/redis.ts',
    );
  return [...script.slice(start + 'exec redis-server '.length).matchAll(/"([^"]*)"|(\S+)/g)].map((m) =>
    (m[1] ?? m[2]!).replace('$REDIS_PASSWORD', password),
  );
}

/** Redis as deploy/docker-compose.scale.yml runs it. */
export function startComposeRedis(password = 'compose-redis-password-for-tests'): Promise<RedisServer> {
  return startRedis({ args: composeRedisSettings(password), password });
}

export interface RedisCluster {
  /** `host:port` of every primary, as REDIS_CLUSTER_NODES takes them. */
  nodes: string[];
  password: string;
  /** Runs redis-cli against one node (`-c`: following redirections); its output. */
  cli(node: string, ...args: string[]): Promise<string>;
  /** Stops one primary with `signal` and starts it again on its ports and directory; resolves once the cluster is whole. */
  restart(node: string, signal: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

const run = promisify(execFile);

/**
 * A Redis Cluster of `primaries` primaries and no replicas, each a Debian
 * redis-server on free loopback ports (its cluster bus too) in its own
 * temporary directory, with the compose file's persistence and memory settings
 * and a password, joined as `redis-cli --cluster create` joins them (each
 * primary takes an even range of the 16,384 slots, and the first meets the
 * others) but over ioredis: building one needs redis-server alone. `cli`
 * still runs redis-cli (redis-tools).
 */
export async function startRedisCluster(
  primaries = 3,
  password = 'cluster-redis-password-for-tests',
): Promise<RedisCluster> {
  const servers: { port: number; busPort: number; child: ChildProcess; dir: string; settings: string[] }[] = [];
  const env = { ...process.env, REDISCLI_AUTH: password };
  const stop = async () => {
    await Promise.all(
      servers.map(
        ({ child, dir }) =>
          new Promise<void>((resolve) => {
            const done = () => {
              fs.rmSync(dir, { recursive: true, force: true });
              resolve();
            };
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', done);
            child.kill('SIGKILL');
          }),
      ),
    );
  };
  try {
    const composed = composeRedisSettings(password);
    for (let i = 0; i < primaries; i += 1) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-redis-cluster-'));
      const server = await onFreePorts(2, async ([port, busPort]) => {
        const settings = [
          '--cluster-port',
          String(busPort),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--masterauth',
          password,
          ...composed,
        ];
        return { port: port!, busPort: busPort!, child: await launchRedis(port!, dir, settings), dir, settings };
      }).catch((error: unknown) => {
        fs.rmSync(dir, { recursive: true, force: true });
        throw error;
      });
      servers.push(server);
    }
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
    const ask = async (port: number, ...command: string[]) => {
      const client = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await client.connect();
        return String(await client.call(command[0]!, ...command.slice(1)));
      } finally {
        client.disconnect();
      }
    };
    const SLOTS = 16_384;
    for (const [i, server] of servers.entries()) {
      await ask(
        server.port,
        'CLUSTER',
        'ADDSLOTSRANGE',
        String(Math.floor((SLOTS * i) / primaries)),
        String(Math.floor((SLOTS * (i + 1)) / primaries) - 1),
      );
    }
    for (const server of servers.slice(1))
      await ask(servers[0]!.port, 'CLUSTER', 'MEET', '127.0.0.1', String(server.port), String(server.busPort));
    const cli = async (node: string, ...args: string[]) => {
      const [host, port] = node.split(':');
      return (await run(debianProgram('redis-tools'), ['-c', '-h', host!, '-p', port!, ...args], { env })).stdout;
    };
    const whole = () =>
      waitFor(
        async () => {
          for (const server of servers) {
            const info = await ask(server.port, 'CLUSTER', 'INFO').catch(() => '');
            if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${primaries}`)) return false;
          }
          return true;
        },
        20_000,
        100,
      );
    await whole();
    const restart = async (node: string, signal: NodeJS.Signals) => {
      const server = servers.find((s) => node.endsWith(`:${s.port}`))!;
      await new Promise<void>((resolve) => {
        server.child.once('exit', () => resolve());
        server.child.kill(signal);
      });
      server.child = await launchRedis(server.port, server.dir, server.settings);
      await whole();
    };
    return { nodes, password, cli, restart, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What redis-server logs once it listens on every port it was given (its cluster bus too) and has loaded its data. */
const READY = /Ready to accept connections/;

/** How many sets of ports a first start tries: another suite may bind a port between its pick and Redis's bind. */
const PORT_ATTEMPTS = 3;

/** Redis could not bind a port it was given: a first start picks others. */
class PortTaken extends Error {}

/**
 * Runs `launch` on `count` distinct ports free right now; when Redis found one taken (another suite bound it between
 * the pick and Redis's bind), on others, up to PORT_ATTEMPTS times.
 */
async function onFreePorts<T>(count: number, launch: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const ports: number[] = [];
    while (ports.length < count) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    try {
      return await launch(ports);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === PORT_ATTEMPTS) throw error;
    }
  }
}

/**
 * Starts Debian's redis-server on loopback `port` in `dir`, with `settings` after those, and resolves once it logs
 * that it is ready: its own log, not a connection to `port`, which whatever else took the port would accept. A
 * server that exits first is a failure at once, carrying the end of that log (`PortTaken` when a port it was given
 * was in use), not a wait running out with nothing to say.
 */
async function launchRedis(port: number, dir: string, settings: string[]): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--protected-mode', 'yes', ...settings];
  const child = spawn(debianProgram('redis-server'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.off('close', closed);
      child.kill('SIGKILL');
      reject(error);
    };
    const closed = () => {
      const message = `redis-server on port ${port} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log}`;
      fail(/address already in use/i.test(log) ? new PortTaken(message) : new Error(message));
    };
    const timer = setTimeout(
      () => fail(new Error(`redis-server on port ${port} was not ready in ${EVENT_WAIT_MS} ms; its log:\n${log}`)),
      EVENT_WAIT_MS,
    );
    // Drained for the server's whole life, or a full pipe would stop a server that logs on.
    let waiting = true;
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
      if (waiting && READY.test(log)) {
        waiting = false;
        clearTimeout(timer);
        child.off('close', closed);
        resolve();
      }
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    // 'close', not 'exit': the log is whole once its pipes have closed.
    child.once('close', closed);
  });
  return child;
}
