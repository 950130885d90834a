import net from 'node:net';
import { Redis } from 'ioredis';
import * as ports from './ports';
import { startRedis, type RedisServer } from './redis';
import { EVENT_WAIT_MS } from './wait';

/**
 * The Redis that tests and the chaos soak stop, start again and pause (test/support/redis.ts): one server at a time
 * on its port, and a pause always ended by the resume after it, however restarts come between. A second start beside
 * a running server would fail to bind its port, yet count as started (its port answers: the first one's), and
 * become the process the signals after it go to: a resume would then continue nothing, leaving the paused Redis
 * stopped for good and every instance of a soak refusing with `store_unavailable` to its end. And a start that fails
 * says why at once, from Redis's own log, and a port another suite took between its pick and the bind is given up
 * for another (test/store/redis/cluster.test.ts starts its primaries the same way).
 *
 * @needs redis-server
 */

let redis: RedisServer;

beforeEach(async () => {
  redis = await startRedis();
});

afterEach(async () => {
  await redis.stop();
});

/** Whether Redis answers a PING, asked on a connection of its own (bounded: a stopped Redis never answers). */
async function answers(server: RedisServer): Promise<string> {
  const client = new Redis({
    port: server.port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    commandTimeout: EVENT_WAIT_MS,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

test('starting it again while it runs is refused, and the one running goes on answering', async () => {
  await expect(redis.restart()).rejects.toThrow(`redis-server on port ${redis.port} still runs`);
  expect(await answers(redis)).toBe('PONG');
});

test('a pause is ended by the resume after it, when two restarts overlap around it', async () => {
  // Two restarts at once: both stop Redis (the second finds nothing left to stop) and both start it again, a pause
  // coming between the two starts.
  await redis.kill('SIGTERM');
  await redis.kill('SIGTERM');
  await redis.restart();
  redis.pause();
  await expect(redis.restart()).rejects.toThrow('still runs');
  redis.resume();
  expect(await answers(redis)).toBe('PONG');
});

test('a resume after the paused server was stopped and started again leaves the new one answering', async () => {
  redis.pause();
  await redis.kill('SIGTERM');
  await redis.restart();
  redis.resume();
  expect(await answers(redis)).toBe('PONG');
});

test('a server that cannot start fails at once, with what it logged', async () => {
  await expect(startRedis({ args: ['--no-such-directive', 'x'] })).rejects.toThrow(
    /exited \(1\) before it was ready:\n[\s\S]*no-such-directive/,
  );
});

test('a port taken between its pick and the bind is given up for another', async () => {
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const taken = (squatter.address() as net.AddressInfo).port;
  const pick = jest.spyOn(ports, 'freePort').mockResolvedValueOnce(taken);
  try {
    const moved = await startRedis();
    try {
      expect(pick).toHaveBeenCalledTimes(2);
      expect(moved.port).not.toBe(taken);
      expect(await answers(moved)).toBe('PONG');
    } finally {
      await moved.stop();
    }
  } finally {
    pick.mockRestore();
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
  }
});
