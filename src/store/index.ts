import type { ProcessConfig } from '../config/schema';
import type { Logger } from '../observability/logger';
import type { Readiness } from '../observability/readiness';
import { MemoryStore } from './memory';
import type { SharedStore } from './sharedStore';

/** The state instances share: the `SharedStore` interface and its memory and Redis implementations. */

export { sessionKeyOf, ScopedStore, type SharedStore } from './sharedStore';
export type { AddOutcome, DurableQueue, QueuedEntry } from './durableQueue';
export { OutboxPump, type OutboxPumpOptions } from './outboxPump';
export { changeRecord, type RecordChange } from './changeRecord';
export { MemoryStore, type MemoryStoreOptions } from './memory';
export type { RedisStore } from './redis';

/**
 * The store the instances share: Redis when REDIS_URL is set (every instance sees the same state),
 * else this instance's memory; one per process, each deployment's records in a scope of it.
 * `protectedPrefixes` name the security records a full memory store must still find room for.
 */
export function openSharedStore(
  config: ProcessConfig,
  logger: Logger,
  readiness: Readiness,
  options: { protectedPrefixes: readonly string[]; now?: () => number },
): SharedStore {
  if (!config.redis) return new MemoryStore(undefined, options.now, { protectedPrefixes: options.protectedPrefixes });
  // Loaded only here: the Redis client is some 20 MB resident, which an instance without REDIS_URL never needs.
  // Loaded by require(): `import()` would make the whole stack asynchronous to build.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { RedisStore: Store } = require('./redis') as typeof import('./redis');
  return new Store({
    redis: config.redis,
    keyPrefix: config.redis.keyPrefix,
    // Short: a request that needs Redis answers 503 within about
    // a second when Redis stops answering (docs/operations.md).
    commandTimeoutMs: Math.min(config.genesys.timeoutMs, 1000),
    logger: logger.child({ component: 'shared-store' }),
    readiness,
  });
}
