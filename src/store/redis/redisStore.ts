import { randomUUID } from 'node:crypto';
import { Cluster, Command, type Redis } from 'ioredis';
import type { RedisConfig } from '../../config/schema';
import { AppError } from '../../domain/errors';
import type { Logger } from '../../observability/logger';
import { DependencyState, type Readiness } from '../../observability/readiness';
import { sharedStoreUp } from '../../observability/metrics';
import { scrubText } from '../../observability/scrub';
import { inClientSpan } from '../../observability/tracing';
import { checkedSettings, durabilityProblems } from './durability';
import { PingCheck, type PingVerdict } from './pingCheck';
import { connect, type Scripted } from './redisConnection';
import { ScopedStore, type SharedStore } from '../sharedStore';
import type { DurableQueue } from '../durableQueue';
import { RedisQueue } from './redisQueue';

export { durabilityProblems } from './durability';

/** Where a connection of ioredis's leads (a Sentinel's or Cluster's node included). */
const addressOf = (node: Redis) =>
  `${node.stream?.remoteAddress ?? node.options.host}:${node.stream?.remotePort ?? node.options.port}`;

/** A Redis span's attributes (OpenTelemetry database conventions): the command, never a key or value. */
const redisSpan = (command: string) => ({ 'db.system.name': 'redis', 'db.operation.name': command.toUpperCase() });

/** How often the store is asked whether it answers, and how long a PING may take before it counts as unanswered. */
const PING_INTERVAL_MS = 1000;
const PING_TIMEOUT_MS = 500;
/** When ioredis lets go of a PING the check has long judged (pingCheck.ts keeps the deadline that counts). */
const PING_ABANDON_MS = 30_000;
/**
 * When ioredis lets go of a command (and of a new connection's handshake): long after the store's own deadline
 * (`withinDeadline`), which is judged only once the loop has read what arrived. ioredis's timer is not: once a
 * stalled loop comes back past both, it runs in the same turn as the store's deadline, before the socket is read,
 * and refuses an answer waiting unread. A starved instance's loop comes back seconds late (one CPU shared by many
 * busy processes), so this is as far out as the PING's: a stall that long is an outage of the instance itself.
 */
const COMMAND_ABANDON_MS = PING_ABANDON_MS;

interface RedisStoreOptions {
  redis: RedisConfig;
  /** Prepended to every key, so several deployments (or services) can share one Redis. */
  keyPrefix: string;
  /** How long one command may take before the operation is refused (ms). */
  commandTimeoutMs: number;
  /** How often a PING checks that Redis answers, and how long it may take (ms): defaults 1000 and 500. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  logger: Logger;
  readiness?: Readiness;
  /** How often to look for evictions and failovers (ms); default 10 s. */
  lossCheckMs?: number;
  /** How long a suspected loss makes keyed sends prove first: the idempotency window. */
  lossWindowMs?: number;
}

/** The key that says since when records may be missing (recordsLostSince). */
const RECORDS_LOST_AT = 'store:records-lost-at';

/**
 * The shared store in Redis (REDIS_URL, Sentinel or Cluster). Commands are
 * not queued while Redis is away: an operation that needs it fails at once
 * (or after `commandTimeoutMs`) with `store_unavailable`, and /readyz reports
 * it. Every time it connects it checks (CONFIG GET, where Redis allows it)
 * that Redis keeps what it acknowledged, and warns by name when it does not.
 *
 * Redis is down when its connection fails or closes, or when two PINGs in a
 * row go unanswered (pingCheck.ts: each bounded in time, every second, and
 * judged apart from this instance's own event loop lag), so a stopped or
 * cut-off Redis, whose TCP connection stays up, is found too. While it is
 * down, operations fail at once instead of each waiting out the command
 * timeout; a new connection or a PING that answers ends that. /readyz reports
 * the state (a Redis down after start-up leaves the instance ready and
 * `degraded`: src/observability/readiness.ts).
 */
export class RedisStore implements SharedStore {
  readonly shared = true;
  readonly prefix: string;
  private readonly redis: Scripted;
  private readonly state: DependencyState;
  private readonly connected: Promise<void>;
  private readonly lossWatch: NodeJS.Timeout;
  /** Each primary this instance has seen, by address: its run id and evictions so far. */
  private readonly primaries = new Map<string, { runId: string; evicted: number }>();
  private recordsLostAt?: number;
  /**
   * The latest durability check's outcome (the first once Redis
   * first answers): what is wrong, or that it could not be checked.
   */
  durability: Promise<{ checked: boolean; problems: string[] }>;
  private readonly answers: PingCheck;
  /** Set by close(): errors of the connection being closed are not an outage. */
  private closing = false;
  /** The loss watch's rounds, one at a time: each compares with what the one before it recorded. */
  private lossRounds: Promise<void> = Promise.resolve();
  private lossRoundWaiting = false;

  constructor(private readonly options: RedisStoreOptions) {
    this.prefix = options.keyPrefix;
    let firstCheck!: (check: Promise<{ checked: boolean; problems: string[] }>) => void;
    this.durability = new Promise((resolve) => (firstCheck = resolve));
    this.redis = connect(options.redis, COMMAND_ABANDON_MS, Math.max(options.commandTimeoutMs, 2000));
    this.lossWatch = setInterval(() => this.watchLossesNext(), options.lossCheckMs ?? 10_000);
    this.lossWatch.unref();
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
    this.redis.on('ready', () => {
      this.answers.reset();
      this.state.set({ ok: true, detail: 'Redis answers.' });
      this.durability = this.checkDurability();
      firstCheck(this.durability);
      void this.durability.then(() => this.watchLossesNext());
      void this.durability.then(({ checked, problems }) => {
        if (this.state.current.ok && (problems.length > 0 || !checked))
          this.state.set({
            ok: true,
            detail: 'Redis answers.',
            durability: checked ? problems : ['not checked: CONFIG GET refused'],
          });
      });
    });
    this.redis.on('error', (error: Error) => {
      // A connection reset while it is being closed on purpose is no outage.
      if (this.closing) return;
      this.state.set({ ok: false, detail: `Redis is unavailable: ${scrubText(error.message)}` }, { level: 'error' });
    });
    this.redis.on('close', () => {
      if (this.state.current.ok)
        this.state.set({ ok: false, detail: 'The connection to Redis closed; reconnecting.' }, { level: 'error' });
    });
    this.answers = new PingCheck({
      ping: () => this.checkedPing(),
      connected: () => this.redis.status === 'ready',
      intervalMs: options.pingIntervalMs ?? PING_INTERVAL_MS,
      timeoutMs: options.pingTimeoutMs ?? PING_TIMEOUT_MS,
      onVerdict: (verdict) => this.heard(verdict),
    });
  }

  /** True while the last check found Redis answering. */
  get up(): boolean {
    return this.state.current.ok;
  }

  /**
   * A PING for the check, without ioredis's command timeout: that timer runs on this loop's timers like the check's
   * deadline, before the turn's I/O, and would fail an answer still unread in a busy loop's socket. ioredis arms one
   * timer a command, so one armed first, long after any verdict, stands in for it.
   */
  private checkedPing(): Promise<unknown> {
    const ping = new Command('ping', [], { replyEncoding: 'utf8' });
    ping.setTimeout(PING_ABANDON_MS);
    void this.redis.sendCommand(ping);
    return ping.promise;
  }

  /** What the PINGs found, as the store's state: one unanswered is logged, two in a row are down. */
  private heard(verdict: PingVerdict): void {
    if (verdict.state === 'answering') {
      if (!this.state.current.ok) this.state.set({ ok: true, detail: 'Redis answers.' });
      return;
    }
    const reason = scrubText(verdict.miss.reason);
    if (verdict.state === 'suspect') {
      this.options.logger.warn(
        { eventLoopLagMs: verdict.miss.lagMs, storeError: reason },
        'Redis did not answer a PING in time: asking again before calling it down',
      );
      return;
    }
    this.state.set(
      { ok: false, detail: `Redis does not answer: ${reason}, twice in a row` },
      { level: 'error', fields: { eventLoopLagMs: verdict.miss.lagMs } },
    );
  }

  get(key: string): Promise<string | undefined> {
    return this.run('GET', async () => (await this.redis.get(this.prefix + key)) ?? undefined);
  }

  claim(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.run('SET', async () => (await this.redis.set(this.prefix + key, value, 'PX', ttlMs, 'NX')) === 'OK');
  }

  swap(key: string, expected: string, value: string | undefined, ttlMs: number): Promise<boolean> {
    // Stored values are never empty (callers store JSON), so '' can stand for "delete".
    return this.run(
      'EVALSHA',
      async () => (await this.redis.bffSwap(this.prefix + key, expected, value ?? '', ttlMs)) === 1,
    );
  }

  put(key: string, value: string, ttlMs: number): Promise<void> {
    return this.run('SET', async () => {
      await this.redis.set(this.prefix + key, value, 'PX', ttlMs);
    });
  }

  getRenewing(key: string, ttlMs: number, renewBelowMs: number): Promise<string | undefined> {
    return this.run(
      'EVALSHA',
      async () => (await this.redis.bffRenew(this.prefix + key, ttlMs, renewBelowMs)) ?? undefined,
    );
  }

  remove(key: string): Promise<void> {
    return this.run('DEL', async () => {
      await this.redis.del(this.prefix + key);
    });
  }

  take(key: string, limit: number, windowMs: number): Promise<number> {
    return this.run('EVALSHA', async () =>
      Number(await this.redis.bffTake(this.prefix + key, windowMs, limit, randomUUID())),
    );
  }

  record(key: string, windowMs: number): Promise<void> {
    return this.run('EVALSHA', async () => {
      await this.redis.bffTake(this.prefix + key, windowMs, '', randomUUID());
    });
  }

  increment(key: string, ttlMs: number): Promise<number> {
    return this.run('EVALSHA', async () => Number(await this.redis.bffIncrement(this.prefix + key, ttlMs)));
  }

  queue(name: string): DurableQueue {
    return new RedisQueue(this.redis, (command, work) => this.run(command, work), this.prefix + name);
  }

  ping(): Promise<void> {
    return this.run('PING', async () => {
      await this.redis.ping();
    });
  }

  scoped(scope: string): SharedStore {
    return new ScopedStore(this, scope);
  }

  /**
   * A raw command, for express-rate-limit's Redis store. Its script loads
   * wait for the first connection (they run once, when the limiter is built,
   * possibly before Redis is up); every other command fails fast like the rest.
   */
  async command(name: string, ...args: string[]): Promise<unknown> {
    if (name.toUpperCase() === 'SCRIPT') {
      await this.connected;
      // In a cluster a script runs on the node that holds its key: load it on every primary.
      if (this.redis instanceof Cluster) {
        const loaded = await Promise.all(this.redis.nodes('master').map((node) => node.call(name, ...args)));
        return loaded[0];
      }
    }
    try {
      // Refused at once while Redis is known to be down, like every other operation.
      return await this.run(name.toUpperCase(), () => this.redis.call(name, ...args));
    } catch (error) {
      // The limiter reloads its scripts on NOSCRIPT (after a Redis restart): it must see that error as it is.
      const { cause } = error as AppError;
      throw cause instanceof Error && cause.message.startsWith('NOSCRIPT') ? cause : error;
    }
  }

  recordsLostSince(): number | undefined {
    return this.recordsLostAt;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.answers.close();
    clearInterval(this.lossWatch);
    this.redis.removeAllListeners('close');
    await this.redis.quit().catch(() => undefined);
    // Also what ends the Sentinel subscriptions of ioredis's failover detector, which quit() leaves open.
    this.redis.disconnect();
  }

  /**
   * Asks each Redis primary how it keeps its data (CONFIG GET, which managed
   * Redis often refuses: then it says so) and warns by name about one that
   * can lose records (README.md#scaling-out says what each promise rests on).
   */
  private async checkDurability(): Promise<{ checked: boolean; problems: string[] }> {
    const nodes: Redis[] = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    const problems: string[] = [];
    let checked = true;
    const logger = this.options.logger;
    for (const node of nodes) {
      const where = addressOf(node);
      const settings: Record<string, string | undefined> = {};
      try {
        for (const name of checkedSettings()) {
          // [name, value], or [] for a setting this Redis does not have (undefined: never logged).
          const [, value] = (await withinDeadline(
            () => node.call('CONFIG', 'GET', name),
            this.options.commandTimeoutMs,
          )) as string[];
          settings[name] = value;
        }
      } catch (error) {
        checked = false;
        logger.warn(
          { redisNode: where, storeError: scrubText(error instanceof Error ? error.message : String(error)) },
          'Could not check whether the shared store (Redis) keeps its records (CONFIG GET was refused): ' +
            "make sure it runs with appendonly yes (or the provider's persistence) and maxmemory-policy noeviction, " +
            'or idempotency records and ended sessions can be lost',
        );
        continue;
      }
      const found = durabilityProblems(settings);
      problems.push(...found);
      if (found.length > 0) {
        logger.warn(
          { redisNode: where, redisSettings: settings, problems: found },
          `The shared store (Redis) can lose its records: ${found.join('; ')}`,
        );
      }
    }
    return { checked, problems };
  }

  /**
   * A round of the loss watch after the one under way (a round already waiting is enough): each compares with what
   * the one before it recorded, so two never report the same loss.
   */
  private watchLossesNext(): void {
    if (this.lossRoundWaiting) return;
    this.lossRoundWaiting = true;
    this.lossRounds = this.lossRounds.then(() => {
      this.lossRoundWaiting = false;
      // A round that fails found nothing it could record: the next one looks again.
      return this.watchLosses().catch(() => undefined);
    });
  }

  /**
   * Looks for a loss the per-session standing records cannot see (some keys
   * gone, others kept): evictions (INFO evicted_keys rising), and a primary
   * replaced by another node (a new run_id at another address: a failover, whose
   * replica may not have had the newest writes). A restart in place of a
   * primary that keeps an append-only file loses nothing it acknowledged and is
   * not counted. What is found is shared through the store itself, so every
   * instance, even one started later, proves before it sends.
   */
  private async watchLosses(): Promise<void> {
    const nodes: Redis[] = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    const found: string[] = [];
    const durable = (await this.durability.catch(() => ({ checked: false, problems: ['?'] }))).problems.length === 0;
    const now = new Map<string, { runId: string; evicted: number }>();
    for (const node of nodes) {
      const info = await withinDeadline(() => node.call('INFO'), this.options.commandTimeoutMs).then(
        String,
        () => undefined,
      );
      const runId = info && /^run_id:(\w+)/m.exec(info)?.[1];
      if (!info || !runId) continue;
      now.set(addressOf(node), { runId, evicted: Number(/^evicted_keys:(\d+)/m.exec(info)?.[1] ?? 0) });
    }
    for (const [address, { runId, evicted }] of now) {
      const before = this.primaries.get(address);
      if (before?.runId === runId && evicted > before.evicted)
        found.push(`Redis evicted ${evicted - before.evicted} keys at ${address}`);
      // Restarted in place: only one that keeps no append-only file lost anything (and then everything).
      if (before && before.runId !== runId && !durable)
        found.push(`Redis at ${address} restarted without keeping its records`);
    }
    // A primary gone and another in its place: a failover, whose replica may not have had the newest writes.
    // (New primaries beside the old ones are a cluster discovered or grown, not a loss.)
    const gone = [...this.primaries.keys()].filter((a) => !nodes.some((n) => addressOf(n) === a));
    const arrived = [...now.keys()].filter((a) => !this.primaries.has(a));
    if (gone.length > 0 && arrived.length > 0)
      found.push(`${arrived.join(', ')} took over from ${gone.join(', ')} (a failover)`);
    try {
      const at = await withinDeadline(
        () =>
          found.length > 0
            ? this.redis.bffRaise(this.prefix + RECORDS_LOST_AT, Date.now(), this.options.lossWindowMs ?? 24 * 3600_000)
            : this.redis.get(this.prefix + RECORDS_LOST_AT),
        this.options.commandTimeoutMs,
      );
      if (found.length > 0) {
        this.options.logger.warn(
          { causes: found },
          `The shared store may have lost some records (${found.join('; ')}): ` +
            'a retried send whose record is missing is checked against Genesys before it is sent again',
        );
      }
      this.recordsLostAt = at ? Number(at) : undefined;
    } catch {
      // Unreachable now (or not ready yet: INFO is answered while a new connection is made, a script is not): the
      // next round looks again, and finds again what this one could not record.
      return;
    }
    // What this round saw becomes what the next one compares with only once what it found is in the store.
    for (const a of gone) this.primaries.delete(a);
    for (const [a, seen] of now) this.primaries.set(a, seen);
  }

  /**
   * One operation on Redis (a span named after its command, tracing on); a failure is `store_unavailable`. Its
   * deadline is fair to Redis (`withinDeadline`), so a starved instance does not refuse what Redis answered in time.
   */
  private async run<T>(command: string, operation: () => Promise<T>): Promise<T> {
    try {
      // Known down (the last PING failed, or the connection is gone): refuse at once rather than wait out a timeout.
      if (!this.up) throw new Error('Redis did not answer the last PING');
      return await inClientSpan(`redis ${command}`, redisSpan(command), () =>
        withinDeadline(operation, this.options.commandTimeoutMs),
      );
    } catch (error) {
      throw new AppError(
        'store_unavailable',
        'The shared store (Redis) did not answer, so nothing was done; retry shortly.',
        {
          retryAfterSeconds: 1,
          cause: error,
          logDetail: { storeError: scrubText(error instanceof Error ? error.message : String(error)) },
        },
      );
    }
  }
}

/**
 * `operation`, refused once `ms` pass without its answer. The deadline is judged as the PINGs' is (pingCheck.ts):
 * only once the loop has read what arrived meanwhile, since a loop busy past the deadline runs its due timers before
 * it reads its sockets, where Redis's answer may be waiting.
 */
function withinDeadline<T>(operation: () => Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(
      () =>
        setImmediate(() => {
          if (settled) return;
          settled = true;
          reject(new Error(`Redis did not answer within ${ms} ms`));
        }),
      ms,
    );
    const settle = (done: () => void) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      done();
    };
    Promise.resolve()
      .then(operation)
      .then(
        (value) => settle(() => resolve(value)),
        (error: unknown) => settle(() => reject(error)),
      );
  });
}
