import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { waitFor } from './wait';

/** A proxy (nginx, HAProxy) started by a test: where it listens, and how to stop it and remove its directory. */
export interface Daemon {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts `binary` in the foreground, waits until `url` answers (any status), and stops it
 * with SIGTERM. `diagnostics` adds what the program logged elsewhere to a start-up failure.
 */
export async function startDaemon(
  name: string,
  binary: string,
  args: string[],
  url: string,
  dir: string,
  diagnostics: () => string = () => '',
): Promise<Daemon> {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr}${diagnostics()}`);
      await fetch(`${url}/healthz`);
    },
    10_000,
    50,
  );
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
