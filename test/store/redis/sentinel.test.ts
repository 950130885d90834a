import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config/schema';
import { RedisStore } from '../../../src/store/redis/redisStore';
import { captureLogger, testEnv } from '../../support/app';
import { freePort } from '../../support/ports';
import { debianProgram } from '../../support/programs';
import { composeRedisSettings, startComposeRedis, startRedis, type RedisServer } from '../../support/redis';
import { EVENT_WAIT_MS, waitFor } from '../../support/wait';

/**
 * REDIS_SENTINELS + REDIS_SENTINEL_NAME: the store asks a Sentinel (Debian's
 * redis-server in sentinel mode) for the primary it watches, and reaches it
 * with REDIS_PASSWORD; the durability check runs on that primary.
 *
 * @needs redis-server
 */
async function startSentinel(primary: RedisServer) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-sentinel-'));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'sentinel.conf'),
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor bff-primary 127.0.0.1 ${primary.port} 1`,
      `sentinel auth-pass bff-primary ${primary.password}`,
      '',
    ].join('\n'),
  );
  const sentinel = spawn(debianProgram('redis-server'), [path.join(dir, 'sentinel.conf'), '--sentinel'], {
    stdio: 'ignore',
  });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      }),
    EVENT_WAIT_MS,
    25,
  );
  return {
    port,
    async stop() {
      await new Promise<void>((resolve) => {
        if (sentinel.exitCode !== null) return resolve();
        sentinel.once('exit', () => resolve());
        sentinel.kill('SIGKILL');
      });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const storeThrough = (
  sentinelPort: number,
  password: string,
  logger = captureLogger().logger,
  lossCheckMs?: number,
) => {
  const config = loadConfig(
    testEnv({
      REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
      REDIS_SENTINEL_NAME: 'bff-primary',
      REDIS_PASSWORD: password,
    }),
  );
  return new RedisStore({ redis: config.process.redis!, keyPrefix: 's:', commandTimeoutMs: 2000, logger, lossCheckMs });
};

test('through Sentinel: the primary is found, answers with the password, and is checked for durability', async () => {
  const primary = await startComposeRedis();
  const sentinel = await startSentinel(primary);
  const captured = captureLogger();
  let store: RedisStore | undefined;
  try {
    store = storeThrough(sentinel.port, primary.password, captured.logger);
    await waitFor(() => store!.ping(), EVENT_WAIT_MS, 50);
    expect(await store.claim('k', 'v', 10_000)).toBe(true);
    expect(await store.get('k')).toBe('v');
    expect(await store.durability).toEqual({ checked: true, problems: [] });
    expect(captured.messages('warn')).toEqual([]);
  } finally {
    await store?.close();
    await sentinel.stop();
    await primary.stop();
  }
}, 30_000);

test('a failover to the replica is noticed and shared: records written just before it may not have reached the replica', async () => {
  const primary = await startComposeRedis();
  const replica = await startRedis({
    args: [
      ...composeRedisSettings(primary.password),
      '--replicaof',
      '127.0.0.1',
      String(primary.port),
      '--masterauth',
      primary.password,
    ],
    password: primary.password,
  });
  const sentinel = await startSentinel(primary);
  const captured = captureLogger();
  const store = storeThrough(sentinel.port, primary.password, captured.logger, 50);
  try {
    await waitFor(() => store.ping(), EVENT_WAIT_MS, 50);
    await waitFor(() => store['primaries'].size === 1);
    expect(store.recordsLostSince()).toBeUndefined();
    await waitFor(
      async () =>
        (
          await new Promise<string>((resolve) => {
            const s = net.connect(sentinel.port, '127.0.0.1', () => s.write('SENTINEL FAILOVER bff-primary\r\n'));
            s.on('data', (d) => (s.destroy(), resolve(d.toString())));
            s.on('error', () => resolve(''));
          })
        ).startsWith('+OK'),
      30_000,
      200,
    ); // -NOGOODSLAVE until Sentinel has seen the replica: its INFO round is every 10 s
    // Sentinel's promotion can take tens of seconds on a loaded 2-core CI machine (one CI run missed 15 s).
    await waitFor(() => store.recordsLostSince() !== undefined, 40_000, 50);
    // Each primary named by where its connection led, not by the options ioredis keeps for Sentinel (localhost).
    expect(captured.messages('warn')).toContainEqual(
      expect.stringContaining(`127.0.0.1:${replica.port} took over from 127.0.0.1:${primary.port} (a failover)`),
    );
  } finally {
    await store.close();
    await sentinel.stop();
    await replica.stop();
    await primary.stop();
  }
}, 100_000);
