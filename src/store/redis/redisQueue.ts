import type { Redis } from 'ioredis';
import type { AddOutcome, DurableQueue, QueuedEntry } from '../durableQueue';

/**
 * A durable queue in Redis (durableQueue.ts), for any number of instances: a sorted set of the queued ids by when
 * each is due, a hash of their values, a sorted set of the dead letters by when each died, and a key per `onceKey`.
 * Every change is one script, so two instances never both lease, retry or bury one entry. All of a queue's keys
 * carry one hash tag (`{prefix + name}`), so a Redis Cluster keeps them in one slot.
 */

/**
 * KEYS: due, values, once, dead. ARGV: max, onceMs, dueAt, then id, value pairs. An id not queued counts against the
 * ceiling; one among the dead letters leaves them, so an id is never both queued and dead.
 */
export const QUEUE_ADD = `
local fresh = 0
for i = 4, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == false then fresh = fresh + 1 end
end
if redis.call('ZCARD', KEYS[1]) + fresh > tonumber(ARGV[1]) then return 'full' end
if redis.call('SET', KEYS[3], '1', 'PX', ARGV[2], 'NX') == false then return 'duplicate' end
for i = 4, #ARGV, 2 do
  redis.call('ZREM', KEYS[4], ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[i])
end
return 'added'`;

/** KEYS: due, values. ARGV: now, leaseMs, limit. Answers id, value, id, value... */
export const QUEUE_LEASE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local value = redis.call('HGET', KEYS[2], id)
  if value then
    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
    table.insert(out, id)
    table.insert(out, value)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out`;

/** KEYS: due, values. ARGV: id, value, dueAt. Only an entry still queued. */
export const QUEUE_RETRY = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1`;

/** KEYS: due, values, dead. ARGV: id, value, at, max, keepMs. Answers how many dead letters left. */
export const QUEUE_BURY = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[5]))
local over = redis.call('ZCARD', KEYS[3]) - #gone - tonumber(ARGV[4])
if over > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], #gone, #gone + over - 1)) do table.insert(gone, id) end
end
for _, id in ipairs(gone) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[2], id)
end
return #gone`;

/** KEYS: due, values, dead. ARGV: dueAt, max, then id, value pairs. Answers how many came back. */
export const QUEUE_REVIVE = `
local revived = 0
for i = 3, #ARGV, 2 do
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then break end
  if redis.call('ZREM', KEYS[3], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
    revived = revived + 1
  end
end
return revived`;

/** KEYS: due, values, dead. ARGV: id. */
export const QUEUE_REMOVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('ZSCORE', KEYS[3], ARGV[1]) == false then redis.call('HDEL', KEYS[2], ARGV[1]) end
return 1`;

export interface QueueScripts {
  bffQueueAdd(
    due: string,
    values: string,
    once: string,
    dead: string,
    ...args: Array<string | number>
  ): Promise<string>;
  bffQueueLease(due: string, values: string, now: number, leaseMs: number, limit: number): Promise<string[]>;
  bffQueueRetry(due: string, values: string, id: string, value: string, dueAt: number): Promise<number>;
  bffQueueBury(
    due: string,
    values: string,
    dead: string,
    id: string,
    value: string,
    at: number,
    max: number,
    keepMs: number,
  ): Promise<number>;
  bffQueueRevive(due: string, values: string, dead: string, ...args: Array<string | number>): Promise<number>;
  bffQueueRemove(due: string, values: string, dead: string, id: string): Promise<number>;
}

/** How the store runs a command: its deadline, its span, its refusal while Redis is away. */
type Run = <T>(command: string, work: () => Promise<T>) => Promise<T>;

type QueueClient = QueueScripts & Pick<Redis, 'zcard' | 'zrange' | 'hmget'>;

export class RedisQueue implements DurableQueue {
  private readonly due: string;
  private readonly values: string;
  private readonly deadKey: string;
  private readonly onceBase: string;

  constructor(
    private readonly redis: QueueClient,
    private readonly run: Run,
    name: string,
  ) {
    const tag = `{${name}}`;
    this.due = `${tag}:due`;
    this.values = `${tag}:values`;
    this.deadKey = `${tag}:dead`;
    this.onceBase = `${tag}:once:`;
  }

  add(
    entries: readonly QueuedEntry[],
    options: { dueAt: number; max: number; onceKey: string; onceMs: number },
  ): Promise<AddOutcome> {
    const pairs = entries.flatMap((e) => [e.id, e.value]);
    return this.run(
      'EVALSHA',
      async () =>
        (await this.redis.bffQueueAdd(
          this.due,
          this.values,
          this.onceBase + options.onceKey,
          this.deadKey,
          options.max,
          options.onceMs,
          options.dueAt,
          ...pairs,
        )) as AddOutcome,
    );
  }

  lease(now: number, leaseMs: number, limit: number): Promise<QueuedEntry[]> {
    return this.run('EVALSHA', async () => {
      const flat = await this.redis.bffQueueLease(this.due, this.values, now, leaseMs, limit);
      const out: QueuedEntry[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i]!, value: flat[i + 1]! });
      return out;
    });
  }

  retry(entry: QueuedEntry, dueAt: number): Promise<void> {
    return this.run('EVALSHA', async () => {
      await this.redis.bffQueueRetry(this.due, this.values, entry.id, entry.value, dueAt);
    });
  }

  remove(id: string): Promise<void> {
    return this.run('EVALSHA', async () => {
      await this.redis.bffQueueRemove(this.due, this.values, this.deadKey, id);
    });
  }

  bury(entry: QueuedEntry, at: number, options: { max: number; keepMs: number }): Promise<number> {
    return this.run('EVALSHA', async () =>
      Number(
        await this.redis.bffQueueBury(
          this.due,
          this.values,
          this.deadKey,
          entry.id,
          entry.value,
          at,
          options.max,
          options.keepMs,
        ),
      ),
    );
  }

  dead(limit: number): Promise<QueuedEntry[]> {
    return this.run('ZRANGE', async () => {
      const ids = limit > 0 ? await this.redis.zrange(this.deadKey, 0, String(limit - 1)) : [];
      if (ids.length === 0) return [];
      const values = await this.redis.hmget(this.values, ...ids);
      return ids.flatMap((id, i) => (values[i] == null ? [] : [{ id, value: values[i]! }]));
    });
  }

  revive(entries: readonly QueuedEntry[], dueAt: number, max: number): Promise<number> {
    if (entries.length === 0) return Promise.resolve(0);
    return this.run('EVALSHA', async () =>
      Number(
        await this.redis.bffQueueRevive(
          this.due,
          this.values,
          this.deadKey,
          dueAt,
          max,
          ...entries.flatMap((e) => [e.id, e.value]),
        ),
      ),
    );
  }

  depth(): Promise<{ queued: number; dead: number }> {
    return this.run('ZCARD', async () => ({
      queued: await this.redis.zcard(this.due),
      dead: await this.redis.zcard(this.deadKey),
    }));
  }
}
