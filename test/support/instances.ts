import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from './ports';
import { waitFor } from './wait';

const ROOT = path.join(__dirname, '../..');

export interface Instance {
  url: string;
  pid: number;
  /** The process's stderr and stdout so far (JSON log lines), for a failure message. */
  output(): string;
  /** SIGKILL: no drain, no goodbye, what a crashed node looks like. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/**
 * One instance of the service as its own process (`src/main.ts` through tsx), ready when /readyz says so.
 * `port`: a given one, to restart a killed instance where the proxy expects it.
 */
export async function startInstance(env: NodeJS.ProcessEnv, port?: number): Promise<Instance> {
  port ??= await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const signal = (name: NodeJS.Signals) =>
    exited()
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill(name);
        });
  await waitFor(
    async () => {
      if (exited()) throw new Error(`instance exited: ${output}`);
      const res = await fetch(`${url}/readyz`);
      if (res.status !== 200) throw new Error(`/readyz ${res.status}: ${await res.text()}`);
    },
    30_000,
    100,
  );
  return { url, pid: child.pid!, output: () => output, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}
