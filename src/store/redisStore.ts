import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { AppError } from '../domain/errors';
import type { Logger } from '../observability/logger';
import { DependencyState, type Readiness } from '../observability/readiness';
import { sharedStoreUp } from '../observability/metrics';
import { scrubText } from '../observability/scrub';
import { inClientSpan, tracingOn } from '../observability/tracing';
import type { SharedStore } from './sharedStore';

/** Replaces the value only if it is still the one the caller read. */
const SWAP = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1`;

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

/** A Redis span's attributes (OpenTelemetry database conventions): the command, never a key or value. */
const redisSpan = (command: string) => ({ 'db.system.name': 'redis', 'db.operation.name': command.toUpperCase() });

interface RedisStoreOptions {
  url: string;
  /** Prepended to every key, so several deployments (or services) can share one Redis. */
  keyPrefix: string;
  /** How long one command may take before the operation is refused (ms). */
  commandTimeoutMs: number;
  logger: Logger;
  readiness?: Readiness;
}

type Scripted = Redis & {
  bffSwap(key: string, expected: string, value: string, ttlMs: number): Promise<number>;
  bffTake(key: string, windowMs: number, limit: number | '', member: string): Promise<number>;
};

/**
 * The shared store in Redis (REDIS_URL). Commands are not queued while
 * Redis is away: an operation that needs it fails at once (or after
 * `commandTimeoutMs`) with `store_unavailable`, and /readyz reports the
 * instance not ready until the connection is back.
 */
export class RedisStore implements SharedStore {
  readonly shared = true;
  readonly prefix: string;
  private readonly redis: Scripted;
  private readonly state: DependencyState;
  private readonly connected: Promise<void>;

  constructor(private readonly options: RedisStoreOptions) {
    this.prefix = options.keyPrefix;
    this.redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(options.commandTimeoutMs, 2000),
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
      lazyConnect: false,
    }) as Scripted;
    this.redis.defineCommand('bffSwap', { numberOfKeys: 1, lua: SWAP });
    this.redis.defineCommand('bffTake', { numberOfKeys: 1, lua: TAKE });
    const readiness = options.readiness;
    this.state = new DependencyState({
      initial: { ok: false, detail: 'Connecting to Redis (REDIS_URL).' },
      logger: options.logger,
      logFields: { component: 'shared-store' },
      onState: (s) => {
        readiness?.set('redis', s);
        sharedStoreUp.set(s.ok ? 1 : 0);
      },
    });
    this.connected = new Promise((resolve) => this.redis.once('ready', () => resolve()));
    this.redis.on('ready', () => this.state.set({ ok: true, detail: 'Redis answers.' }));
    this.redis.on('error', (error: Error) =>
      this.state.set({ ok: false, detail: `Redis is unavailable: ${scrubText(error.message)}` }, { level: 'error' }),
    );
    this.redis.on('close', () => {
      if (this.state.current.ok) this.state.set({ ok: false, detail: 'The connection to Redis closed; reconnecting.' }, { level: 'error' });
    });
  }

  get(key: string): Promise<string | undefined> {
    return this.run('GET', async () => (await this.redis.get(this.prefix + key)) ?? undefined);
  }

  claim(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.run('SET', async () => (await this.redis.set(this.prefix + key, value, 'PX', ttlMs, 'NX')) === 'OK');
  }

  swap(key: string, expected: string, value: string | undefined, ttlMs: number): Promise<boolean> {
    // Stored values are never empty (callers store JSON), so '' can stand for "delete".
    return this.run('EVALSHA', async () => (await this.redis.bffSwap(this.prefix + key, expected, value ?? '', ttlMs)) === 1);
  }

  put(key: string, value: string, ttlMs: number): Promise<void> {
    return this.run('SET', async () => {
      await this.redis.set(this.prefix + key, value, 'PX', ttlMs);
    });
  }

  remove(key: string): Promise<void> {
    return this.run('DEL', async () => {
      await this.redis.del(this.prefix + key);
    });
  }

  take(key: string, limit: number, windowMs: number): Promise<number> {
    return this.run('EVALSHA', async () => Number(await this.redis.bffTake(this.prefix + key, windowMs, limit, randomUUID())));
  }

  record(key: string, windowMs: number): Promise<void> {
    return this.run('EVALSHA', async () => {
      await this.redis.bffTake(this.prefix + key, windowMs, '', randomUUID());
    });
  }

  ping(): Promise<void> {
    return this.run('PING', async () => {
      await this.redis.ping();
    });
  }

  /**
   * A raw command, for express-rate-limit's Redis store. Its script loads
   * wait for the first connection (they run once, when the limiter is built,
   * possibly before Redis is up); every other command fails fast like the rest.
   */
  async command(name: string, ...args: string[]): Promise<unknown> {
    if (name.toUpperCase() === 'SCRIPT') await this.connected;
    try {
      const call = () => this.redis.call(name, ...args);
      return await (tracingOn() ? inClientSpan(`redis ${name.toUpperCase()}`, redisSpan(name), call) : call());
    } catch (error) {
      // The limiter reloads its scripts on NOSCRIPT (after a Redis restart): it must see that error as it is.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) throw error;
      return this.run(name, () => Promise.reject(error), false);
    }
  }

  async close(): Promise<void> {
    this.redis.removeAllListeners('close');
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** One operation on Redis (a span named after its command, tracing on); a failure is `store_unavailable`. */
  private async run<T>(command: string, operation: () => Promise<T>, traced = true): Promise<T> {
    try {
      return await (traced && tracingOn() ? inClientSpan(`redis ${command}`, redisSpan(command), operation) : operation());
    } catch (error) {
      throw new AppError('store_unavailable', 'The shared store (Redis) did not answer, so nothing was done; retry shortly.', {
        retryAfterSeconds: 1,
        cause: error,
        logDetail: { storeError: scrubText(error instanceof Error ? error.message : String(error)) },
      });
    }
  }
}
