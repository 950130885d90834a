import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import { waitFor } from './wait';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RedisServer {
  url: string;
  port: number;
  /** Kills the server (SIGKILL): what an outage looks like to a client. */
  kill(): Promise<void>;
  /** Starts it again on the same port, with an empty dataset. */
  restart(): Promise<void>;
  /** SIGSTOP: the connection stays up and nothing answers (what a hung or black-holed Redis looks like). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  stop(): Promise<void>;
}

/**
 * Debian's redis-server as an unprivileged child on a free loopback port,
 * with its own temporary directory and no persistence. `npm test` installs
 * the package when it is missing (scripts/test-prerequisites.sh).
 */
export async function startRedis(): Promise<RedisServer> {
  if (!fs.existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing: install Debian's redis-server (npm test does it for you).`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: 'ignore',
    });
    await waitFor(() => canConnect(port), 10_000, 25);
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    c.kill('SIGCONT'); // a paused server would not die of SIGKILL any less, but its exit is only reported once it runs
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async stop() {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
