import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/schema';
import { RedisStore } from '../../src/store/redisStore';
import { captureLogger, testEnv } from '../support/app';
import { freePort } from '../support/ports';
import { REDIS_SERVER, startComposeRedis } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * REDIS_SENTINELS + REDIS_SENTINEL_NAME: the store asks a Sentinel (Debian's
 * redis-server in sentinel mode) for the primary it watches, and reaches it
 * with REDIS_PASSWORD; the durability check runs on that primary.
 */
test('through Sentinel: the primary is found, answers with the password, and is checked for durability', async () => {
  const primary = await startComposeRedis();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-sentinel-'));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'sentinel.conf'),
    [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor bff-primary 127.0.0.1 ${primary.port} 1`, `sentinel auth-pass bff-primary ${primary.password}`, ''].join('\n'),
  );
  const sentinel = spawn(REDIS_SERVER, [path.join(dir, 'sentinel.conf'), '--sentinel'], { stdio: 'ignore' });
  const captured = captureLogger();
  let store: RedisStore | undefined;
  try {
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = net.connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
          socket.once('error', () => resolve(false));
        }),
      10_000,
      25,
    );
    const config = loadConfig(testEnv({ REDIS_SENTINELS: `127.0.0.1:${port}`, REDIS_SENTINEL_NAME: 'bff-primary', REDIS_PASSWORD: primary.password }));
    store = new RedisStore({ redis: config.redis!, keyPrefix: 's:', commandTimeoutMs: 2000, logger: captured.logger });
    await waitFor(() => store!.ping(), 10_000, 50);
    expect(await store.claim('k', 'v', 10_000)).toBe(true);
    expect(await store.get('k')).toBe('v');
    expect(await store.durability).toEqual({ checked: true, problems: [] });
    expect(captured.messages('warn')).toEqual([]);
  } finally {
    await store?.close();
    await new Promise<void>((resolve) => {
      if (sentinel.exitCode !== null) return resolve();
      sentinel.once('exit', () => resolve());
      sentinel.kill('SIGKILL');
    });
    fs.rmSync(dir, { recursive: true, force: true });
    await primary.stop();
  }
}, 30_000);
