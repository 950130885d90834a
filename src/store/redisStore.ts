import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { AppError } from '../domain/errors';
import type { Logger } from '../observability/logger';
import { DependencyState, type Readiness } from '../observability/readiness';
import { scrubText } from '../observability/scrub';
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

/** How often the store is asked whether it answers, and how long a PING may take before it counts as down. */
const PING_INTERVAL_MS = 1000;
const PING_TIMEOUT_MS = 500;

interface RedisStoreOptions {
  url: string;
  /** Prepended to every key, so several deployments (or services) can share one Redis. */
  keyPrefix: string;
  /** How long one command may take before the operation is refused (ms). */
  commandTimeoutMs: number;
  /** How often a PING checks that Redis answers, and how long it may take (ms): defaults 1000 and 500. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
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
 * `commandTimeoutMs`) with `store_unavailable`.
 *
 * Whether Redis answers is judged by a PING bounded in time, every second,
 * not by the connection's events alone: a Redis that is stopped (SIGSTOP) or
 * cut off by the network keeps its TCP connection up and answers nothing.
 * While the last PING failed, operations fail at once instead of each
 * waiting out the command timeout; the next PING that answers ends that.
 * /readyz reports the state (a Redis down after start-up leaves the
 * instance ready and `degraded`: src/observability/readiness.ts).
 */
export class RedisStore implements SharedStore {
  readonly shared = true;
  readonly prefix: string;
  private readonly redis: Scripted;
  private readonly state: DependencyState;
  private readonly connected: Promise<void>;
  private readonly pinger: NodeJS.Timeout;
  private pinging = false;

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
      onState: (s) => readiness?.set('redis', s),
    });
    this.connected = new Promise((resolve) => this.redis.once('ready', () => resolve()));
    this.redis.on('ready', () => this.state.set({ ok: true, detail: 'Redis answers.' }));
    this.redis.on('error', (error: Error) =>
      this.state.set({ ok: false, detail: `Redis is unavailable: ${scrubText(error.message)}` }, { level: 'error' }),
    );
    this.redis.on('close', () => {
      if (this.state.current.ok) this.state.set({ ok: false, detail: 'The connection to Redis closed; reconnecting.' }, { level: 'error' });
    });
    this.pinger = setInterval(() => void this.checkAnswers(), options.pingIntervalMs ?? PING_INTERVAL_MS);
    this.pinger.unref();
  }

  /** True while the last check found Redis answering. */
  get up(): boolean {
    return this.state.current.ok;
  }

  /** One bounded PING; its verdict is the store's state until the next. */
  private async checkAnswers(): Promise<void> {
    if (this.pinging || this.redis.status !== 'ready') return;
    this.pinging = true;
    const timeoutMs = this.options.pingTimeoutMs ?? PING_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.redis.ping(),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer to PING within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (!this.state.current.ok) this.state.set({ ok: true, detail: 'Redis answers.' });
    } catch (error) {
      this.state.set({ ok: false, detail: `Redis does not answer: ${scrubText(error instanceof Error ? error.message : String(error))}` }, { level: 'error' });
    } finally {
      clearTimeout(timer);
      this.pinging = false;
    }
  }

  get(key: string): Promise<string | undefined> {
    return this.run(async () => (await this.redis.get(this.prefix + key)) ?? undefined);
  }

  claim(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.run(async () => (await this.redis.set(this.prefix + key, value, 'PX', ttlMs, 'NX')) === 'OK');
  }

  swap(key: string, expected: string, value: string | undefined, ttlMs: number): Promise<boolean> {
    // Stored values are never empty (callers store JSON), so '' can stand for "delete".
    return this.run(async () => (await this.redis.bffSwap(this.prefix + key, expected, value ?? '', ttlMs)) === 1);
  }

  put(key: string, value: string, ttlMs: number): Promise<void> {
    return this.run(async () => {
      await this.redis.set(this.prefix + key, value, 'PX', ttlMs);
    });
  }

  remove(key: string): Promise<void> {
    return this.run(async () => {
      await this.redis.del(this.prefix + key);
    });
  }

  take(key: string, limit: number, windowMs: number): Promise<number> {
    return this.run(async () => Number(await this.redis.bffTake(this.prefix + key, windowMs, limit, randomUUID())));
  }

  record(key: string, windowMs: number): Promise<void> {
    return this.run(async () => {
      await this.redis.bffTake(this.prefix + key, windowMs, '', randomUUID());
    });
  }

  ping(): Promise<void> {
    return this.run(async () => {
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
    else if (!this.up) return this.run(() => Promise.reject(new Error('Redis did not answer the last PING')));
    try {
      return await this.redis.call(name, ...args);
    } catch (error) {
      // The limiter reloads its scripts on NOSCRIPT (after a Redis restart): it must see that error as it is.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) throw error;
      return this.run(() => Promise.reject(error));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.pinger);
    this.redis.removeAllListeners('close');
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      // Known down (the last PING failed, or the connection is gone): refuse at once rather than wait out a timeout.
      if (!this.up) throw new Error('Redis did not answer the last PING');
      return await operation();
    } catch (error) {
      throw new AppError('store_unavailable', 'The shared store (Redis) did not answer, so nothing was done; retry shortly.', {
        retryAfterSeconds: 1,
        cause: error,
        logDetail: { storeError: scrubText(error instanceof Error ? error.message : String(error)) },
      });
    }
  }
}
