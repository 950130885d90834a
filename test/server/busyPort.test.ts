import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { testEnv } from '../support/app';

/** A port already taken is one clear sentence and exit 1, not a stack trace. */
test('npm start on a busy PORT says so in one line and exits 1', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as net.AddressInfo;
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: path.join(__dirname, '../..'),
      // Real hosts are not contacted before listening fails; LOG_LEVEL keeps the output to what a user sees.
      env: { ...process.env, ...testEnv({ PORT: String(port), LOG_LEVEL: 'silent' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      `Port ${port} on 127.0.0.1 is already in use: stop what listens there, or set PORT to another port.`,
    );
  } finally {
    blocker.close();
  }
}, 30_000);
