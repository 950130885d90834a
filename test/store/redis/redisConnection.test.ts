import {
  clientOptions,
  clusterOptions,
  reconnectDelay,
  sentinelOptions,
  singleOptions,
} from '../../../src/store/redis/redisConnection';
import type { RedisConfig } from '../../../src/config/redisTopology';

/**
 * How src/store/redis/redisConnection.ts tells ioredis to behave (RELIABILITY.md and docs/operations.md
 * rest on it): an operation while Redis is away fails instead of waiting in a queue, waits are
 * bounded, reconnections back off to at most 2 s, a Redis loading its data is asked again every half
 * second, reads go to primaries, a Sentinel failover is followed at once, and a password in REDIS_URL
 * wins over REDIS_PASSWORD (and replaces nothing else).
 */
const single: RedisConfig = { kind: 'single', url: 'redis://127.0.0.1:6379', keyPrefix: '', tls: false };

test('reconnections back off by 200 ms an attempt, to at most 2 s', () => {
  expect([1, 2, 5, 10, 11, 100].map(reconnectDelay)).toEqual([200, 400, 1000, 2000, 2000, 2000]);
});

test('commands are never queued while Redis is away, retried once, and bounded by the command timeout; connecting may take at least 2 s, and a Redis loading its data is asked again every half second', () => {
  expect(clientOptions(single, 500)).toEqual({
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectTimeout: 2000,
    retryStrategy: reconnectDelay,
    maxLoadingRetryTime: 500,
    lazyConnect: false,
  });
  expect(clientOptions(single, 5000).connectTimeout).toBe(5000);
});

test('REDIS_PASSWORD and TLS go to every node when set', () => {
  expect(clientOptions({ ...single, password: 'secret', tls: true }, 500)).toMatchObject({
    password: 'secret',
    tls: {},
  });
});

test('a password in REDIS_URL wins over REDIS_PASSWORD; without one, REDIS_PASSWORD is used', () => {
  const options = clientOptions({ ...single, password: 'from-env' }, 500);
  expect(singleOptions('redis://:from-url@127.0.0.1:6379', options).password).toBeUndefined();
  expect(singleOptions('redis://127.0.0.1:6379', options).password).toBe('from-env');
});

test('a cluster reads from primaries, queues nothing, and backs off like one Redis', () => {
  const options = clientOptions(single, 500);
  expect(clusterOptions(options)).toEqual({
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnectDelay,
    scaleReads: 'master',
    redisOptions: options,
  });
});

test('through Sentinel: the named primary, followed to a new one at once, with TLS to it when TLS is on', () => {
  const sentinel = {
    kind: 'sentinel' as const,
    sentinels: [{ host: '127.0.0.1', port: 26379 }],
    name: 'bff',
    keyPrefix: '',
    tls: false,
  };
  const options = clientOptions(sentinel, 500);
  expect(sentinelOptions(sentinel, options)).toEqual({
    ...options,
    sentinels: sentinel.sentinels,
    name: 'bff',
    role: 'master',
    failoverDetector: true,
  });
  expect(sentinelOptions({ ...sentinel, tls: true }, options)).toMatchObject({ enableTLSForSentinelMode: true });
});

describe('singleOptions: a password in REDIS_URL, for one Redis', () => {
  test("a password in REDIS_URL replaces REDIS_PASSWORD and nothing else of the connection's options", () => {
    const options = clientOptions(
      { kind: 'single', url: 'redis://127.0.0.1:6379', password: 'from-env', keyPrefix: 'p:', tls: true },
      1500,
    );
    const { password: _fromEnv, ...rest } = options;
    expect(singleOptions('redis://:from-url@127.0.0.1:6379', options)).toEqual({ ...rest, password: undefined });
    expect(singleOptions('redis://127.0.0.1:6379', options)).toBe(options);
  });
});
