import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { Command, Redis } from 'ioredis';
import { AppError } from '../../../src/domain/errors';
import { Readiness } from '../../../src/observability/readiness';
import { flushTracing, startTracing } from '../../../src/observability/tracing';
import { StoreRevocations } from '../../../src/session/tokens/revocations';
import { RedisStore } from '../../../src/store/redis/redisStore';
import { captureLogger } from '../../support/app';
import {
  startComposeRedis,
  startRedis,
  startRedisCluster,
  type RedisCluster,
  type RedisServer,
} from '../../support/redis';
import { waitFor } from '../../support/wait';

/**
 * What src/store/redis/redisStore.ts tells an operator and its callers as Redis comes and goes: the
 * readiness detail (with what the durability check found), the lines logged when the connection closes,
 * fails or stops answering, the raw commands of the rate limiter (its script loads wait for the first
 * connection, NOSCRIPT reaches it as it is), and one span per command. And what it says beyond up and down:
 * what a refusal carries for the log, how many spans a failed command makes, the lines of the durability
 * check, how many keys an eviction report names (and that a look whose INFO goes unanswered forgets no
 * primary), that PINGs neither pile up nor run on a connection that is gone, and that a durability finding
 * outlives the PINGs after it but does not bring back a store that went down while it was checked. That the
 * verdict follows Redis, not this instance's busy event loop: a PING whose deadline the loop let pass is
 * judged on what Redis sent meanwhile, a stopped Redis is still down within the documented bound, and one
 * that answers again is up within a second or two and stays up. And two edges of its life: closing the
 * store is not a lost connection (no error is logged for it), and on a Redis Cluster the rate limiter's raw
 * commands go to the node that holds their key (only its script loads go to every primary).
 *
 * @needs redis-server
 */

describe('as Redis comes and goes', () => {
  const stores: RedisStore[] = [];
  const servers: RedisServer[] = [];

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  async function server(start: () => Promise<RedisServer> = () => startRedis()): Promise<RedisServer> {
    const s = await start();
    servers.push(s);
    return s;
  }

  function storeOn(
    redis: RedisServer,
    options: { readiness?: Readiness; pingIntervalMs?: number; pingTimeoutMs?: number } = {},
  ) {
    const captured = captureLogger();
    const store = new RedisStore({
      redis: {
        kind: 'single',
        url: `redis://127.0.0.1:${redis.port}`,
        password: redis.password || undefined,
        keyPrefix: 's:',
        tls: false,
      },
      keyPrefix: 's:',
      commandTimeoutMs: 1000,
      logger: captured.logger,
      ...options,
    });
    stores.push(store);
    return { store, captured };
  }

  // First: a store whose operations never settle fails here, by what it told, not by a wait elsewhere.
  test('an operation settles in the turn its answer or refusal is read', async () => {
    // No PING check meanwhile: on a busy machine its verdict could refuse the operations before they are sent.
    const { store } = storeOn(await server(), { pingIntervalMs: 3_600_000 });
    await waitFor(() => store.up, 5000);
    const connection = store['redis'] as unknown as { sendCommand(command: Command, ...rest: unknown[]): unknown };
    const send = connection.sendCommand.bind(connection);
    const replies: Promise<unknown>[] = [];
    connection.sendCommand = (command, ...rest) => {
      if (/^(get|no-such-command)$/i.test(command.name)) replies.push(command.promise.catch(() => undefined));
      return send(command, ...rest);
    };
    try {
      const outcomes: Record<string, string> = {};
      const told = (name: string) => [
        () => (outcomes[name] = 'served'),
        (error: unknown) => (outcomes[name] = (error as AppError).code),
      ];
      void store.get('k').then(...told('get'));
      void store.command('NO-SUCH-COMMAND').then(...told('command'));
      // The two are the first sent (the loss watch's own GET may follow them).
      await waitFor(() => replies.length >= 2, 5000);
      await Promise.all(replies.slice(0, 2));
      await new Promise((resolve) => setImmediate(resolve));
      expect(outcomes).toEqual({ get: 'served', command: 'store_unavailable' });
    } finally {
      delete (connection as { sendCommand?: unknown }).sendCommand;
    }
  }, 20_000);

  describe('readiness says what the durability check found', () => {
    test('a Redis that can lose records: answering, with the problems named', async () => {
      const readiness = new Readiness();
      const { store } = storeOn(await server(), { readiness });
      await store.durability;
      // Its finding is in readiness in the turn the check ends.
      await new Promise((resolve) => setImmediate(resolve));
      expect(readiness.report().checks.redis).toMatchObject({
        ok: true,
        detail: 'Redis answers.',
        durability: [expect.stringMatching(/^appendonly is no and save is ""/)],
      });
    }, 20_000);

    test('one that keeps them: answering, nothing more to say', async () => {
      const readiness = new Readiness();
      const { store } = storeOn(await server(() => startComposeRedis()), { readiness });
      await store.durability;
      await waitFor(() => readiness.report().checks.redis?.ok === true);
      expect(readiness.report().checks.redis).toEqual({ ok: true, detail: 'Redis answers.' });
    }, 20_000);

    test('one that refuses CONFIG: answering, not checked', async () => {
      const readiness = new Readiness();
      const { store } = storeOn(
        await server(() =>
          startRedis({ args: ['--save', '', '--appendonly', 'yes', '--rename-command', 'CONFIG', ''] }),
        ),
        { readiness },
      );
      await store.durability;
      // Its finding is in readiness in the turn the check ends.
      await new Promise((resolve) => setImmediate(resolve));
      expect(readiness.report().checks.redis).toMatchObject({
        ok: true,
        durability: ['not checked: CONFIG GET refused'],
      });
    }, 20_000);
  });

  test('a Redis that dies is logged as an error with what the connection saw, and readiness follows it down and up', async () => {
    const redis = await server();
    const readiness = new Readiness();
    const { store, captured } = storeOn(redis, { readiness });
    await store.durability;
    await redis.kill();
    // The connection may report the reset, or only close and then fail to connect again.
    await waitFor(() => captured.messages('error').some((m) => m.startsWith('Redis is unavailable: ')), 10_000);
    expect(captured.messages('error').find((m) => m.startsWith('Redis is unavailable: '))).toMatch(
      /(ECONNRESET|ECONNREFUSED)/,
    );
    expect(readiness.report().checks.redis).toMatchObject({ ok: false });
    await redis.restart();
    await waitFor(() => readiness.report().checks.redis?.ok === true, 10_000);
  }, 30_000);

  test('a connection Redis closes without an error is logged as closed, and made again', async () => {
    const redis = await server();
    const readiness = new Readiness();
    const states: unknown[] = [];
    const set = readiness.set.bind(readiness);
    readiness.set = (name, state) => {
      states.push(state);
      set(name, state);
    };
    const { store, captured } = storeOn(redis, { readiness });
    await store.durability;
    const admin = new Redis(redis.url);
    try {
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    } finally {
      admin.disconnect();
    }
    await waitFor(() => captured.messages('error').includes('The connection to Redis closed; reconnecting.'), 10_000);
    await waitFor(() => readiness.report().checks.redis?.ok === true, 10_000);
    // Unready while it was gone.
    expect(states).toContainEqual({ ok: false, detail: 'The connection to Redis closed; reconnecting.' });
    expect(await store.claim('after', 'v', 1000)).toBe(true);
  }, 30_000);

  test('a Redis that stops answering (SIGSTOP) is down once two PINGs in a row go unanswered for their bound, and up again once one is answered', async () => {
    const redis = await server();
    const readiness = new Readiness();
    const { store, captured } = storeOn(redis, { readiness, pingIntervalMs: 50, pingTimeoutMs: 200 });
    await store.durability;
    redis.pause();
    try {
      await waitFor(() => readiness.report().checks.redis?.ok === false, 5000);
      expect(readiness.report().checks.redis!.detail).toBe(
        'Redis does not answer: no answer to PING within 200 ms, twice in a row',
      );
      await expect(store.get('k')).rejects.toMatchObject({
        code: 'store_unavailable',
        retryAfterSeconds: 1,
        message: 'The shared store (Redis) did not answer, so nothing was done; retry shortly.',
      });
    } finally {
      redis.resume();
    }
    await waitFor(() => readiness.report().checks.redis?.ok === true, 5000);
    expect(readiness.report().checks.redis!.detail).toBe('Redis answers.');
    expect(captured.lines().find((l) => l.msg.startsWith('Redis did not answer a PING in time'))).toMatchObject({
      level: 40,
      msg: 'Redis did not answer a PING in time: asking again before calling it down',
      storeError: 'no answer to PING within 200 ms',
      eventLoopLagMs: expect.any(Number),
    });
    expect(captured.lines().find((l) => l.msg.startsWith('Redis does not answer'))).toMatchObject({
      level: 50,
      msg: 'Redis does not answer: no answer to PING within 200 ms, twice in a row',
      eventLoopLagMs: expect.any(Number),
    });
  }, 30_000);

  test('a Redis paused as it begins to load its append-only file after a restart is up soon after it has loaded, not when its estimate runs out', async () => {
    const redis = await server(() => startRedis({ args: ['--save', '', '--appendonly', 'yes'] }));
    const { store } = storeOn(redis);
    await store.durability;
    // Enough records that loading them takes a while (about a second on a quiet machine).
    const writer = new Redis(redis.url);
    try {
      for (let i = 0; i < 200_000; i += 5000) {
        const batch = writer.pipeline();
        for (let j = i; j < i + 5000; j += 1) batch.set(`load:${j}`, 'v');
        await batch.exec();
      }
    } finally {
      writer.disconnect();
    }
    await redis.kill('SIGTERM');
    await redis.restart();
    // Paused as it begins to load, with the store's new connection waiting on it: once continued, Redis's estimate of
    // the time left counts the pause against the little it had loaded, many seconds for a load that ends in one.
    redis.pause();
    try {
      await waitFor(() => (store['redis'] as unknown as Redis).status === 'connect', 10_000);
      // The pause's length is the fault's, as the soak's are.
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      redis.resume();
    }
    // Loaded: Redis answers a PING on a connection that does not wait for a ready check.
    const probe = new Redis(redis.url, { enableReadyCheck: false, maxRetriesPerRequest: 0 });
    try {
      await waitFor(async () => (await probe.ping()) === 'PONG', 20_000);
    } finally {
      probe.disconnect();
    }
    // A connection waiting on a load asks again every 500 ms (LOADING_RECHECK_MS); the rest is room for a busy
    // machine. Waiting out Redis's estimate (at most 10 s) misses it.
    await waitFor(() => store.up, 500 + 2500);
    expect(await store.claim('after-load', 'v', 1000)).toBe(true);
  }, 60_000);

  describe("the rate limiter's raw commands", () => {
    test('a script load made before Redis answers waits for it', async () => {
      const { store } = storeOn(await server());
      let loaded: unknown;
      const load = store.command('SCRIPT', 'LOAD', "return 'ok'").then(
        (sha) => (loaded = sha),
        (error: unknown) => (loaded = error),
      );
      // The load goes out in the turn Redis is ready, after the durability check's first CONFIG GET; the PING sent
      // after the check goes out after it on the same connection, and Redis answers in order.
      await store.durability;
      await store.ping();
      expect(loaded).toMatch(/^[0-9a-f]{40}$/);
      await load;
    }, 20_000);

    test('NOSCRIPT reaches the limiter as Redis said it (it reloads its script); other failures are store_unavailable', async () => {
      const { store } = storeOn(await server());
      await store.durability;
      const noScript = await store.command('EVALSHA', 'f'.repeat(40), '0').catch((e: unknown) => e);
      expect(noScript).not.toBeInstanceOf(AppError);
      expect((noScript as Error).message).toMatch(/^NOSCRIPT/);
      await expect(store.command('NO-SUCH-COMMAND')).rejects.toMatchObject({ code: 'store_unavailable' });
    }, 20_000);

    test('while Redis is down every other command is refused at once', async () => {
      const redis = await server();
      const { store } = storeOn(redis);
      await store.durability;
      await redis.kill();
      await waitFor(() => !store.up, 5000);
      await expect(store.command('INCR', 'k')).rejects.toMatchObject({
        code: 'store_unavailable',
        message: expect.stringContaining('did not answer'),
      });
    }, 20_000);
  });

  test('each queue operation is one client span named after its Redis command; reviving nothing asks Redis nothing', async () => {
    const exporter = new InMemorySpanExporter();
    const stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'queue-spans', exporter });
    try {
      const { store } = storeOn(await server());
      await store.durability;
      const queue = store.queue('spans');
      await flushTracing();
      exporter.reset();
      const entry = { id: 'a', value: 'v' };
      await queue.add([entry], { dueAt: 0, max: 10, onceKey: 'a', onceMs: 60_000 });
      await queue.lease(0, 1000, 10);
      await queue.retry(entry, 0);
      await queue.bury(entry, 10, { max: 10, keepMs: 60_000 });
      await queue.dead(10);
      await queue.revive([entry], 0, 10);
      await queue.revive([], 0, 10);
      await queue.remove('a');
      await queue.depth();
      await flushTracing();
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([
        'redis EVALSHA',
        'redis EVALSHA',
        'redis EVALSHA',
        'redis EVALSHA',
        'redis ZRANGE',
        'redis EVALSHA',
        'redis EVALSHA',
        'redis ZCARD',
      ]);
    } finally {
      await stopTracing();
    }
  }, 20_000);

  test('each operation is one client span named after its Redis command, never after a key', async () => {
    const exporter = new InMemorySpanExporter();
    const stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'store-spans', exporter });
    try {
      const { store } = storeOn(await server());
      await store.durability;
      await store.get('k');
      await store.claim('k', 'v', 1000);
      await store.swap('k', 'v', 'w', 1000);
      await store.put('k', 'v', 1000);
      await store.getRenewing('k', 1000, 500);
      await store.remove('k');
      await store.take('r', 1, 1000);
      await store.record('r', 1000);
      await store.ping();
      await store.command('incr', 'c');
      await store.increment('n', 1000);
      await flushTracing();
      const spans = exporter
        .getFinishedSpans()
        .map((s) => [s.name, s.attributes['db.system.name'], s.attributes['db.operation.name']]);
      expect(spans).toEqual([
        ['redis GET', 'redis', 'GET'],
        ['redis SET', 'redis', 'SET'],
        ['redis EVALSHA', 'redis', 'EVALSHA'],
        ['redis SET', 'redis', 'SET'],
        ['redis EVALSHA', 'redis', 'EVALSHA'],
        ['redis DEL', 'redis', 'DEL'],
        ['redis EVALSHA', 'redis', 'EVALSHA'],
        ['redis EVALSHA', 'redis', 'EVALSHA'],
        ['redis PING', 'redis', 'PING'],
        ['redis INCR', 'redis', 'INCR'],
        ['redis EVALSHA', 'redis', 'EVALSHA'],
      ]);
    } finally {
      await stopTracing();
    }
  }, 20_000);

  test('a Redis without persistence restarted in place has lost everything: noticed, named, and shared through the store', async () => {
    const redis = await server();
    const captured = captureLogger();
    const store = new RedisStore({
      redis: { kind: 'single', url: redis.url, keyPrefix: 'lost:', tls: false },
      keyPrefix: 'lost:',
      commandTimeoutMs: 1000,
      logger: captured.logger,
      lossCheckMs: 50,
    });
    stores.push(store);
    await store.durability;
    await waitFor(() => store['primaries'].size === 1, 5000);
    expect(store.recordsLostSince()).toBeUndefined();
    await redis.kill();
    await redis.restart();
    await waitFor(() => store.recordsLostSince() !== undefined, 10_000);
    expect(captured.messages('warn')).toContainEqual(
      expect.stringMatching(
        /^The shared store may have lost some records \(Redis at 127\.0\.0\.1:\d+ restarted without keeping its records\)/,
      ),
    );
  }, 30_000);

  describe('the durability check reads each setting it judges from Redis', () => {
    test.each([
      [
        'snapshots only',
        ['--save', '3600 1', '--appendonly', 'no'],
        /^appendonly is no: only snapshots \(save "3600 1"\)/,
      ],
      [
        'an append-only file flushed when the kernel likes',
        ['--save', '', '--appendonly', 'yes', '--appendfsync', 'no'],
        /^appendfsync is no/,
      ],
      [
        'eviction',
        ['--save', '', '--appendonly', 'yes', '--maxmemory-policy', 'allkeys-lru'],
        /^maxmemory-policy is allkeys-lru/,
      ],
    ])(
      '%s',
      async (_case, args, problem) => {
        const { store } = storeOn(await server(() => startRedis({ args })));
        await expect(store.durability).resolves.toEqual({ checked: true, problems: [expect.stringMatching(problem)] });
      },
      20_000,
    );
  });

  test('Redis is asked whether it answers once a second by default, or as often as configured', async () => {
    const redis = await server();
    const admin = new Redis(redis.url);
    const pings = async () => Number(/cmdstat_ping:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    try {
      const quiet = storeOn(redis).store;
      await quiet.durability;
      await admin.config('RESETSTAT');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await pings()).toBeLessThanOrEqual(3);
      await quiet.close();

      const busy = storeOn(redis, { pingIntervalMs: 50 }).store;
      await busy.durability;
      await admin.config('RESETSTAT');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await pings()).toBeGreaterThanOrEqual(5);
    } finally {
      admin.disconnect();
    }
  }, 20_000);

  test('until Redis first answers, readiness says it is connecting; once it answers, its primary is known without waiting for the next loss check', async () => {
    const readiness = new Readiness();
    const { store } = storeOn(await server(), { readiness });
    expect(readiness.report().checks.redis).toMatchObject({ ok: false, detail: 'Connecting to Redis (REDIS_URL).' });
    await store.durability;
    await waitFor(() => store['primaries'].size === 1, 2000); // the loss check's own round is every 10 s
  }, 20_000);

  test('its log lines name the component, and a session Redis has never heard of is lost, not live (the store is shared)', async () => {
    const redis = await server();
    const { store, captured } = storeOn(redis);
    await store.durability;
    expect(store.shared).toBe(true);
    const revocations = new StoreRevocations(store, 60_000);
    expect((await revocations.standing('never-seen', 'an-anchor')).state).toBe('lost');
    await redis.kill();
    await waitFor(() => captured.lines().some((l) => l.level === 50), 10_000);
    expect(captured.lines().filter((l) => l.level === 50)[0]).toMatchObject({ component: 'shared-store' });
  }, 20_000);
});

describe('beyond up and down', () => {
  const stores: RedisStore[] = [];
  const servers: RedisServer[] = [];

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  async function server(args?: string[]): Promise<RedisServer> {
    const s = await startRedis(args ? { args } : {});
    servers.push(s);
    return s;
  }

  function storeOn(
    redis: RedisServer,
    options: { readiness?: Readiness; pingIntervalMs?: number; pingTimeoutMs?: number; lossCheckMs?: number } = {},
  ) {
    const captured = captureLogger();
    const store = new RedisStore({
      redis: { kind: 'single', url: redis.url, keyPrefix: 'o:', tls: false },
      keyPrefix: 'o:',
      commandTimeoutMs: 1000,
      logger: captured.logger,
      ...options,
    });
    stores.push(store);
    return { store, captured };
  }

  async function admin<T>(redis: RedisServer, use: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis(redis.url);
    try {
      return await use(client);
    } finally {
      client.disconnect();
    }
  }

  const infoField = (info: string, name: string) =>
    [...info.matchAll(/^(\w+):(.*)$/gm)].find((m) => m[1] === name)?.[2]?.trim();

  test('a durability finding stays in readiness while the PINGs after it are answered', async () => {
    const readiness = new Readiness();
    const { store } = storeOn(await server(), { readiness, pingIntervalMs: 20 });
    await store.durability;
    // Its finding is in readiness in the turn the check ends.
    await new Promise((resolve) => setImmediate(resolve));
    expect(readiness.report().checks.redis?.durability).toBeDefined();
    // Three PINGs answered after it.
    const connection = store['redis'] as unknown as { sendCommand(command: Command, ...rest: unknown[]): unknown };
    const send = connection.sendCommand.bind(connection);
    let answered = 0;
    connection.sendCommand = (command, ...rest) => {
      if (command.name === 'ping')
        command.promise.then(
          () => answered++,
          () => undefined,
        );
      return send(command, ...rest);
    };
    try {
      await waitFor(() => answered >= 3);
    } finally {
      delete (connection as { sendCommand?: unknown }).sendCommand;
    }
    expect(readiness.report().checks.redis).toMatchObject({
      ok: true,
      detail: 'Redis answers.',
      durability: [expect.stringMatching(/^appendonly is no/)],
    });
  }, 20_000);

  test('a durability check that ends while Redis is down leaves it down: its finding does not bring the store back', async () => {
    const readiness = new Readiness();
    const { store } = storeOn(await server(), { readiness, pingIntervalMs: 3_600_000 });
    const connection = (store as unknown as { redis: Redis }).redis;
    // Its check has asked its first CONFIG GET when the connection fails.
    connection.once('ready', () => connection.emit('error', new Error('read ECONNRESET')));
    const { problems } = await store.durability;
    await new Promise((resolve) => setImmediate(resolve));
    expect(problems).toEqual([expect.stringMatching(/^appendonly is no/)]);
    expect(store.up).toBe(false);
    expect(readiness.report().checks.redis).toMatchObject({
      ok: false,
      detail: 'Redis is unavailable: read ECONNRESET',
    });
  }, 20_000);

  test('a look whose INFO goes unanswered forgets no primary: the next look compares with what was seen before it', async () => {
    const { store } = storeOn(await server(), { lossCheckMs: 3_600_000 });
    await store.durability;
    await waitFor(() => store['primaries'].size === 1, 5000);
    await store['lossRounds'];
    const primaries = store['primaries'] as Map<string, { runId: string; evicted: number }>;
    const before = [...primaries.entries()];
    const connection = store['redis'] as unknown as { call(...args: unknown[]): Promise<unknown> };
    const call = connection.call.bind(connection);
    connection.call = (...args) => (args[0] === 'INFO' ? Promise.reject(new Error('INFO refused')) : call(...args));
    try {
      store['watchLossesNext']();
      await store['lossRounds'];
    } finally {
      delete (connection as { call?: unknown }).call;
    }
    expect([[...primaries.entries()], store.recordsLostSince()]).toEqual([before, undefined]);
  }, 20_000);

  test('a command refused while Redis is down says why for the log, without asking Redis; a failed command is one span', async () => {
    const exporter = new InMemorySpanExporter();
    const stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'store-outcomes', exporter });
    try {
      const redis = await server();
      const { store } = storeOn(redis);
      await store.durability;
      await expect(store.command('NO-SUCH-COMMAND')).rejects.toMatchObject({
        code: 'store_unavailable',
        logDetail: { storeError: expect.stringMatching(/^ERR unknown command/) },
      });
      await flushTracing();
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['redis NO-SUCH-COMMAND']);
      exporter.reset();

      await redis.kill();
      await waitFor(() => !store.up, 5000);
      const down = { code: 'store_unavailable', logDetail: { storeError: 'Redis did not answer the last PING' } };
      await expect(store.get('k')).rejects.toMatchObject(down);
      await expect(store.command('INCR', 'k')).rejects.toMatchObject(down);
      await flushTracing();
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      await stopTracing();
    }
  }, 20_000);

  test('ping() asks Redis: a Redis that stopped answering fails it even before the next PING check', async () => {
    const redis = await server();
    const { store } = storeOn(redis, { pingIntervalMs: 60_000 });
    await store.durability;
    await expect(store.ping()).resolves.toBeUndefined();
    redis.pause();
    try {
      // Refused at the store's own deadline (1 s), not when the connection would give the PING up (30 s).
      await expect(store.ping()).rejects.toMatchObject({
        code: 'store_unavailable',
        logDetail: { storeError: 'Redis did not answer within 1000 ms' },
      });
    } finally {
      redis.resume();
    }
  }, 20_000);

  test('the durability warning names the node, its settings and every problem; a refused CONFIG GET names the node and what Redis said', async () => {
    const lossy = await server(['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']);
    const { store, captured } = storeOn(lossy);
    const { problems } = await store.durability;
    expect(problems).toHaveLength(2);
    const warning = captured
      .lines()
      .find((l) => String(l.msg).startsWith('The shared store (Redis) can lose its records: '));
    expect(warning).toMatchObject({
      msg: `The shared store (Redis) can lose its records: ${problems[0]}; ${problems[1]}`,
      redisNode: `127.0.0.1:${lossy.port}`,
      redisSettings: { appendonly: 'no', save: '', 'maxmemory-policy': 'allkeys-lru', appendfsync: 'everysec' },
      problems,
    });

    const closed = await server(['--save', '', '--appendonly', 'yes', '--rename-command', 'CONFIG', '']);
    const refused = storeOn(closed);
    await expect(refused.store.durability).resolves.toEqual({ checked: false, problems: [] });
    expect(
      refused.captured.lines().find((l) => String(l.msg).startsWith('Could not check whether the shared store')),
    ).toMatchObject({
      redisNode: `127.0.0.1:${closed.port}`,
      storeError: expect.stringMatching(/^ERR unknown command/),
    });
  }, 20_000);

  test("an eviction report names as many keys as Redis evicted since the last look, and the primary's run_id is Redis's own", async () => {
    const redis = await server(['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']);
    const fill = (from: number) =>
      admin(redis, async (client) => {
        await client.config('SET', 'maxmemory', '3mb');
        const value = 'x'.repeat(10_000);
        const batch = client.pipeline();
        for (let i = from; i < from + 600; i++) batch.set(`fill:${i}`, value);
        await batch.exec();
        // No limit between fills: Redis evicts nothing the test did not cause, while the store connects and looks.
        await client.config('SET', 'maxmemory', '0');
        return client.info();
      });
    const before = await fill(0);
    const evictedBefore = Number(infoField(before, 'evicted_keys'));
    expect(evictedBefore).toBeGreaterThanOrEqual(10);

    const { store, captured } = storeOn(redis, { lossCheckMs: 50 });
    await store.durability;
    await waitFor(() => store['primaries'].size === 1, 5000);
    expect([...store['primaries'].values()][0]).toEqual({ runId: infoField(before, 'run_id'), evicted: evictedBefore });
    expect(infoField(before, 'run_id')).toMatch(/^[0-9a-f]{40}$/);

    const evictedAfter = Number(infoField(await fill(600), 'evicted_keys'));
    expect(evictedAfter).toBeGreaterThan(evictedBefore);
    const reported = () =>
      captured
        .lines()
        .filter((l) => String(l.msg).startsWith('The shared store may have lost some records'))
        .flatMap((l) =>
          (l.causes as string[]).map((cause) =>
            Number(/^Redis evicted (\d+) keys at 127\.0\.0\.1:\d+$/.exec(cause)?.[1]),
          ),
        );
    await waitFor(() => reported().reduce((a, b) => a + b, 0) >= evictedAfter - evictedBefore, 5000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reported().reduce((a, b) => a + b, 0)).toBe(evictedAfter - evictedBefore);
    expect(store.recordsLostSince()).toBeDefined();
  }, 30_000);

  test('a primary gone with another in its place is a failover; one gone with none new, or one new with none gone, is none', async () => {
    const { store, captured } = storeOn(await server(), { lossCheckMs: 3_600_000 });
    await store.durability;
    await waitFor(() => store['primaries'].size === 1, 5000);
    await store['lossRounds'];
    const primaries = store['primaries'] as Map<string, { runId: string; evicted: number }>;
    const [own] = [...primaries.keys()];
    const [seen] = [...primaries.values()];
    const round = async () => {
      store['watchLossesNext']();
      await store['lossRounds'];
    };
    const losses = () =>
      captured.lines().filter((l) => String(l.msg).startsWith('The shared store may have lost some records'));

    // A primary new, and none gone: a cluster discovered or grown.
    primaries.clear();
    await round();
    expect([[...primaries.keys()], store.recordsLostSince(), losses()]).toEqual([[own], undefined, []]);

    // A node known before and gone now, and nothing new: the cluster shrank, or this look missed it.
    primaries.set('10.0.0.9:6379', { runId: 'r', evicted: 0 });
    await round();
    expect([[...primaries.keys()], store.recordsLostSince(), losses()]).toEqual([[own], undefined, []]);

    // The known primary gone, and this one in its place.
    primaries.delete(own!);
    primaries.set('10.0.0.9:6379', seen!);
    await round();
    expect(losses().map((l) => l.causes)).toEqual([[`${own} took over from 10.0.0.9:6379 (a failover)`]]);
    expect(losses()[0]!.msg).toBe(
      `The shared store may have lost some records (${own} took over from 10.0.0.9:6379 (a failover)): ` +
        'a retried send whose record is missing is checked against Genesys before it is sent again',
    );
    expect(store.recordsLostSince()).toBeDefined();
  }, 20_000);

  test('loss rounds asked for while one runs are one more round after it, however many asked', async () => {
    const { store } = storeOn(await server(), { lossCheckMs: 3_600_000 });
    await store.durability;
    await waitFor(() => store['primaries'].size === 1, 5000);
    await store['lossRounds'];
    let rounds = 0;
    let release = () => {};
    store['watchLosses'] = () => {
      rounds++;
      return new Promise<void>((resolve) => (release = resolve));
    };
    store['watchLossesNext']();
    await waitFor(() => rounds === 1);
    store['watchLossesNext']();
    store['watchLossesNext']();
    release();
    await waitFor(() => rounds === 2);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(rounds).toBe(2);
    await store['lossRounds'];
  }, 20_000);

  test("its connection waits at least 2 s for Redis to accept it, however short a command's own bound", async () => {
    const { store } = storeOn(await server());
    await store.durability;
    // Commands are bound to 1 s here.
    expect((store['redis'] as unknown as Redis).options.connectTimeout).toBeGreaterThanOrEqual(2000);
  }, 20_000);

  test('while the connection is gone no PING is sent, and its closing is logged once however often reconnecting fails', async () => {
    const redis = await server();
    const { store, captured } = storeOn(redis, { pingIntervalMs: 20 });
    await store.durability;
    await redis.kill();
    // Reconnecting waits 200, 400, 600, 800 ms…: a few attempts fail in two seconds.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const errors = captured.messages('error');
    expect(errors.filter((m) => m === 'The connection to Redis closed; reconnecting.').length).toBeLessThanOrEqual(1);
    expect(errors.filter((m) => m.startsWith('Redis does not answer'))).toEqual([]);
    expect(errors.filter((m) => m.startsWith('Redis is unavailable: ')).length).toBeGreaterThanOrEqual(1);
  }, 20_000);

  test('a PING that goes unanswered is not joined by others: at most one is in flight at a time', async () => {
    const redis = await server();
    const { store } = storeOn(redis, { pingIntervalMs: 20, pingTimeoutMs: 500 });
    await store.durability;
    const pings = () =>
      admin(redis, async (c) => Number(/cmdstat_ping:calls=(\d+)/.exec(await c.info('commandstats'))?.[1] ?? 0));
    await admin(redis, (c) => c.config('RESETSTAT'));
    redis.pause();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    redis.resume();
    await waitFor(() => store.up, 5000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // One PING per 500 ms bound while paused, one every 20 ms around it: a few, where sixty would pile up unguarded.
    expect(await pings()).toBeLessThan(20);
  }, 20_000);
});

describe('on an instance whose event loop lags, the verdict follows Redis, not the loop', () => {
  const stores: RedisStore[] = [];
  const servers: RedisServer[] = [];

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  /** Longer than a PING's 500 ms deadline and the connection's 1 s command timeout: both pass while the loop is busy. */
  const BLOCK_MS = 1200;
  /**
   * docs/operations.md: a Redis that stops answering is down within the interval and two deadlines (2 s), later by
   * this instance's lag at each deadline; the last second is room for a busy machine.
   */
  const DOWN_WITHIN_MS = 2000 + 2 * BLOCK_MS + 1000;
  /** The next PING after Redis answers again ends it: within the interval (1 s), later by the lag, and room. */
  const BACK_WITHIN_MS = 1000 + BLOCK_MS + 1000;

  const busyFor = (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // Busy: no timer runs and no socket is read, as on a starved instance.
    }
  };

  /** A store with the default timings (a PING every second, answered within 500 ms) on a Redis of its own. */
  async function storeOnOwnRedis() {
    // DEBUG SLEEP lets busyAfterPings delay Redis's answers.
    const redis = await startRedis({ args: ['--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes'] });
    servers.push(redis);
    const readiness = new Readiness();
    const captured = captureLogger();
    const store = new RedisStore({
      redis: { kind: 'single', url: redis.url, keyPrefix: 'lag:', tls: false },
      keyPrefix: 'lag:',
      commandTimeoutMs: 1000,
      logger: captured.logger,
      readiness,
    });
    stores.push(store);
    await store.durability;
    await waitFor(() => store.up, 5000);
    const outages = () => captured.messages('error').filter((m) => m.startsWith('Redis does not answer'));
    const doubts = () => captured.messages('warn').filter((m) => m.startsWith('Redis did not answer a PING'));
    return { redis, store, readiness, captured, outages, doubts };
  }

  /**
   * Makes this process's event loop busy for `blockMs` after each of the store's next `times` PINGs, as a starved
   * instance's is: busy from the turn's check phase on, so that its next turn runs the timers (the PING's deadline)
   * before it reads the socket. Redis answers 50 ms after the PING (a DEBUG SLEEP sent before it), so the answer is
   * not read before the loop is busy, and waits unread. `afterBlock` runs at the next turn's check phase, once the
   * deadline's timer has run and the socket has been read.
   */
  function busyAfterPings(store: RedisStore, blockMs: number, times = Infinity, afterBlock?: () => void) {
    const connection = store['redis'] as unknown as { sendCommand(command: Command, ...rest: unknown[]): unknown };
    const send = connection.sendCommand.bind(connection);
    let pings = 0;
    connection.sendCommand = (command, ...rest) => {
      if (command.name !== 'ping' || pings++ >= times) return send(command, ...rest);
      const sleep = new Command('debug', ['sleep', '0.05']);
      sleep.promise.catch(() => undefined);
      send(sleep);
      const sent = send(command, ...rest);
      setImmediate(() => {
        busyFor(blockMs);
        if (afterBlock) setImmediate(afterBlock);
      });
      return sent;
    };
    return {
      pings: () => pings,
      stop: () => delete (connection as { sendCommand?: unknown }).sendCommand,
    };
  }

  test('one PING whose deadline passes while the loop is blocked is answered, not missed: nothing is refused', async () => {
    const { store, readiness, outages, doubts } = await storeOnOwnRedis();
    let busy!: ReturnType<typeof busyAfterPings>;
    // A request made as the loop comes back, right after the PING's deadline timer has run.
    const requestAfterBlock = new Promise<string>((resolve) => {
      busy = busyAfterPings(store, BLOCK_MS, 1, () =>
        resolve(
          store.get('k').then(
            () => 'served',
            (error: AppError) => error.code,
          ),
        ),
      );
    });
    try {
      expect(await requestAfterBlock).toBe('served');
      // The blocked PING is judged before the next is sent.
      await waitFor(() => busy.pings() >= 2, 10_000);
      expect(outages()).toEqual([]);
      expect(doubts()).toEqual([]);
      expect(store.up).toBe(true);
      expect(readiness.report().checks.redis).toMatchObject({ ok: true, detail: 'Redis answers.' });
    } finally {
      busy.stop();
    }
  }, 30_000);

  test.each([
    ['past its 1 s deadline', 1500],
    ['for seconds (a starved instance)', 5500],
  ])(
    'an operation whose answer waits unread while the loop is busy %s is served, not refused',
    async (_, blockMs) => {
      const { store, outages } = await storeOnOwnRedis();
      await store.put('k', 'v', 60_000);
      // Busy from the moment the GET is written: Redis answers at once, and the answer is read only once the loop comes
      // back, past the store's deadline; ioredis's own timer for the command, due by then too at 5.5 s, must not refuse
      // it either.
      const connection = store['redis'] as unknown as { sendCommand(command: Command, ...rest: unknown[]): unknown };
      const send = connection.sendCommand.bind(connection);
      connection.sendCommand = (command, ...rest) => {
        const sent = send(command, ...rest);
        if (command.name === 'get') busyFor(blockMs);
        return sent;
      };
      try {
        await expect(store.get('k')).resolves.toBe('v');
      } finally {
        delete (connection as { sendCommand?: unknown }).sendCommand;
      }
      expect(outages()).toEqual([]);
    },
    30_000,
  );

  test('with every PING late on a busy loop, Redis stays up while it answers, and is down within the bound once it stops (SIGSTOP)', async () => {
    const { redis, store, readiness, outages } = await storeOnOwnRedis();
    const busy = busyAfterPings(store, BLOCK_MS);
    try {
      await waitFor(() => busy.pings() >= 4, 15_000);
      expect(outages()).toEqual([]);
      expect(store.up).toBe(true);
      redis.pause();
      try {
        await waitFor(() => !store.up, DOWN_WITHIN_MS);
        expect(readiness.report().checks.redis).toMatchObject({
          ok: false,
          detail: 'Redis does not answer: no answer to PING within 500 ms, twice in a row',
        });
        await expect(store.get('k')).rejects.toMatchObject({
          code: 'store_unavailable',
          logDetail: { storeError: 'Redis did not answer the last PING' },
        });
      } finally {
        redis.resume();
      }
    } finally {
      busy.stop();
    }
  }, 30_000);

  test('on a busy loop, a Redis that answers again after a stop (SIGCONT) is up within the bound, and stays up', async () => {
    const { redis, store, outages } = await storeOnOwnRedis();
    const busy = busyAfterPings(store, BLOCK_MS);
    try {
      redis.pause();
      try {
        await waitFor(() => !store.up, DOWN_WITHIN_MS);
      } finally {
        redis.resume();
      }
      await waitFor(() => store.up, BACK_WITHIN_MS);
      const seen = outages().length;
      const pings = busy.pings();
      await waitFor(() => busy.pings() >= pings + 3, 15_000);
      expect(store.up).toBe(true);
      expect(outages()).toHaveLength(seen);
      await expect(store.get('k')).resolves.toBeUndefined();
    } finally {
      busy.stop();
    }
  }, 40_000);

  test('on a busy loop, a Redis restarted (SIGKILL, then started again) is up within the reconnection bound, and stays up', async () => {
    const { redis, store, outages } = await storeOnOwnRedis();
    const busy = busyAfterPings(store, BLOCK_MS);
    try {
      await redis.kill();
      await waitFor(() => !store.up, 5000);
      await redis.restart();
      // Reconnecting waits at most 2 s between attempts (redisConnection.ts); the rest is room for a busy machine.
      await waitFor(() => store.up, 2000 + 1500);
      const seen = outages().length;
      const pings = busy.pings();
      await waitFor(() => busy.pings() >= pings + 3, 15_000);
      expect(store.up).toBe(true);
      expect(outages()).toHaveLength(seen);
      await expect(store.get('k')).resolves.toBeUndefined();
    } finally {
      busy.stop();
    }
  }, 40_000);
});

describe('two edges of its life: a close, and a cluster', () => {
  let redis: RedisServer | undefined;
  let cluster: RedisCluster | undefined;
  const stores: RedisStore[] = [];

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await redis?.stop();
    await cluster?.stop();
  });

  test('closing the store logs no lost connection', async () => {
    redis = await startRedis();
    const captured = captureLogger();
    const store = new RedisStore({
      redis: { kind: 'single', url: redis.url, keyPrefix: 'l:', tls: false },
      keyPrefix: 'l:',
      commandTimeoutMs: 1000,
      logger: captured.logger,
    });
    await store.durability;
    // A connection reset while it closes on purpose is no outage.
    const closing = store.close();
    (store as unknown as { redis: Redis }).redis.emit('error', new Error('read ECONNRESET'));
    await closing;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(
      captured
        .lines()
        .filter((l) => l.level >= 40)
        .map((l) => l.msg),
    ).toEqual([expect.stringMatching(/^The shared store \(Redis\) can lose its records/)]);
    expect(store.up).toBe(true);
    // Closed: nothing more is asked of Redis.
    await expect(store.get('k')).rejects.toMatchObject({ code: 'store_unavailable' });
  }, 20_000);

  test('on a cluster, a raw command runs on the node that holds its key', async () => {
    cluster = await startRedisCluster(3);
    const nodes = cluster.nodes.map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) }));
    const store = new RedisStore({
      redis: { kind: 'cluster', nodes, password: cluster.password, keyPrefix: 'c:', tls: false },
      keyPrefix: 'c:',
      commandTimeoutMs: 2000,
      logger: captureLogger().logger,
    });
    stores.push(store);
    await store.durability;
    // Keys over every slot range: some live on a primary other than the first.
    const keys = Array.from({ length: 12 }, (_, i) => `limit:${i}`);
    for (const key of keys) await store.command('INCR', key);
    expect(await Promise.all(keys.map((key) => store.command('INCR', key)))).toEqual(keys.map(() => 2));
  }, 60_000);
});
