import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../../config/schema';
import {
  QUEUE_ADD,
  QUEUE_BURY,
  QUEUE_LEASE,
  QUEUE_REMOVE,
  QUEUE_RETRY,
  QUEUE_REVIVE,
  type QueueScripts,
} from './redisQueue';

/**
 * The connection to Redis (one, Sentinel's primary, or a Cluster)
 * and the scripts the store runs there, each on one key.
 */

/** Replaces the value only if it is still the one the caller read. */
const SWAP = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1`;

/** GET that also pushes the key's expiry out to ARGV[1] ms when less than ARGV[2] ms is left. */
const RENEW = `local v = redis.call('GET', KEYS[1])
if v and redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`;

/** Raises KEYS[1] to ARGV[1] (a time), kept for ARGV[2] ms; never lowers it. */
const RAISE = `local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return redis.call('GET', KEYS[1])`;

/**
 * A sliding-window log in a sorted set, timed by Redis's own clock so that
 * instances with skewed clocks count alike. Returns 0 when counted, else the
 * milliseconds until one more use fits (recorded uses may have pushed the
 * count past the limit: the wait is until enough of them leave). ARGV[2]
 * empty records the use whatever the count.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if ARGV[2] ~= '' then
  local limit = tonumber(ARGV[2])
  local count = redis.call('ZCARD', KEYS[1])
  if count >= limit then
    local freeing = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
    return math.max(1, tonumber(freeing[2]) + window - now)
  end
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0`;

interface Scripts extends QueueScripts {
  bffIncrement(key: string, ttlMs: number): Promise<number>;
  bffSwap(key: string, expected: string, value: string, ttlMs: number): Promise<number>;
  bffTake(key: string, windowMs: number, limit: number | '', member: string): Promise<number>;
  bffRenew(key: string, ttlMs: number, renewBelowMs: number): Promise<string | null>;
  bffRaise(key: string, value: number, ttlMs: number): Promise<string | null>;
}
export type Scripted = (Redis | Cluster) & Scripts;

/**
 * One Redis (REDIS_URL), a primary found through Sentinel (REDIS_SENTINELS),
 * or a Redis Cluster (REDIS_CLUSTER_NODES). Commands are never queued while
 * the store is away, and ioredis lets go of them after `commandTimeoutMs`
 * (the store judges its own deadline before that); a connection attempt
 * fails after `connectTimeoutMs`. The service's scripts are defined on it
 * as commands.
 */
export function connect(config: RedisConfig, commandTimeoutMs: number, connectTimeoutMs: number): Scripted {
  const redis = open(config, clientOptions(config, commandTimeoutMs, connectTimeoutMs)) as Scripted;
  redis.defineCommand('bffSwap', { numberOfKeys: 1, lua: SWAP });
  redis.defineCommand('bffTake', { numberOfKeys: 1, lua: TAKE });
  redis.defineCommand('bffRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('bffRaise', { numberOfKeys: 1, lua: RAISE });
  redis.defineCommand('bffIncrement', { numberOfKeys: 1, lua: incrementScript() });
  redis.defineCommand('bffQueueAdd', { numberOfKeys: 4, lua: QUEUE_ADD });
  redis.defineCommand('bffQueueLease', { numberOfKeys: 2, lua: QUEUE_LEASE });
  redis.defineCommand('bffQueueRetry', { numberOfKeys: 2, lua: QUEUE_RETRY });
  redis.defineCommand('bffQueueBury', { numberOfKeys: 3, lua: QUEUE_BURY });
  redis.defineCommand('bffQueueRevive', { numberOfKeys: 3, lua: QUEUE_REVIVE });
  redis.defineCommand('bffQueueRemove', { numberOfKeys: 3, lua: QUEUE_REMOVE });
  return redis;
}

function open(config: RedisConfig, options: RedisOptions): Redis | Cluster {
  if (config.kind === 'cluster') return new Cluster(config.nodes, clusterOptions(options));
  if (config.kind === 'sentinel') return new Redis(sentinelOptions(config, options));
  return new Redis(config.url, singleOptions(config.url, options));
}

/** Waits between reconnection attempts: 200 ms more each time, at most 2 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 200, 2000);
}

/**
 * How long a new connection waits before asking again whether Redis has finished loading its data (INFO), whatever
 * Redis estimates is left. Redis's estimate divides the bytes left by the rate so far, so early in a load, or after
 * the process was paused mid-load, it says many seconds when the load ends in one: waiting it out (up to ioredis's
 * default 10 s) would keep the store refusing long after Redis answers. An INFO every half second while Redis loads
 * costs it nothing it would notice.
 */
const LOADING_RECHECK_MS = 500;

/**
 * What every connection does, whatever the topology: commands
 * never queued while Redis is away, one retry, bounded waits.
 */
export function clientOptions(
  config: RedisConfig,
  commandTimeoutMs: number,
  connectTimeoutMs = Math.max(commandTimeoutMs, 2000),
): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    retryStrategy: reconnectDelay,
    maxLoadingRetryTime: LOADING_RECHECK_MS,
    lazyConnect: false,
    ...(config.password !== undefined ? { password: config.password } : {}),
    ...(config.tls ? { tls: {} } : {}),
  };
}

/** One Redis by URL: a password in the URL wins over REDIS_PASSWORD. */
export function singleOptions(url: string, options: RedisOptions): RedisOptions {
  return new URL(url).password !== '' ? { ...options, password: undefined } : options;
}

export function clusterOptions(options: RedisOptions): ClusterOptions {
  return {
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnectDelay,
    // Reads go to primaries: a replica may not have a record written a moment ago.
    scaleReads: 'master',
    redisOptions: options,
  };
}

export function sentinelOptions(config: RedisConfig & { kind: 'sentinel' }, options: RedisOptions): RedisOptions {
  // failoverDetector: ioredis listens for Sentinel's +switch-master and moves to the new primary at once,
  // instead of writing to the demoted one until its connection breaks.
  return {
    ...options,
    sentinels: config.sentinels,
    name: config.name,
    role: 'master',
    failoverDetector: true,
    ...(config.tls ? { enableTLSForSentinelMode: true } : {}),
  };
}

/**
 * Adds one to KEYS[1] and keeps it ARGV[1] ms. Written in a function, not a module constant, so that the script is
 * read each time a connection is made.
 */
function incrementScript(): string {
  return `local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n`;
}
