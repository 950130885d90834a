/**
 * The shared store in Redis (single, Sentinel or Cluster), checked for persistence and eviction.
 */
export { RedisStore } from './redisStore';
