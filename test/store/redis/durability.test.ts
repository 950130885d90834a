import { Redis } from 'ioredis';
import { StoreRevocations } from '../../../src/session/tokens/revocations';
import { MemoryStore, sessionKeyOf, type SharedStore } from '../../../src/store';
import { durabilityProblems } from '../../../src/store/redis/durability';
import { RedisStore } from '../../../src/store/redis/redisStore';
import { captureLogger } from '../../support/app';
import { manualClock } from '../../support/platform';
import { startComposeRedis, startRedis, type RedisServer } from '../../support/redis';
import { waitFor } from '../../support/wait';

/**
 * How a Redis keeps its data (src/store/redis/durability.ts). At start the service asks Redis how
 * it keeps its data, and warns by name about a Redis that can lose records. About settings a Redis
 * does not report: CONFIG GET answers nothing for a setting a managed Redis hides or an older one
 * lacks, and the check must neither invent a value for it nor take its silence for a problem.
 *
 * @needs redis-server
 */

describe('what a Redis is asked at start, and what is said of it', () => {
  test.each([
    [
      "the compose file's settings: nothing to say",
      { appendonly: 'yes', appendfsync: 'everysec', save: '', 'maxmemory-policy': 'noeviction' },
      [],
    ],
    [
      'no persistence at all',
      { appendonly: 'no', save: '', 'maxmemory-policy': 'noeviction' },
      [/appendonly is no and save is "": a restart of Redis loses every record; set appendonly yes/],
    ],
    [
      'snapshots only',
      { appendonly: 'no', save: '3600 1', 'maxmemory-policy': 'noeviction' },
      [/only snapshots \(save "3600 1"\).*set appendonly yes/],
    ],
    [
      'an append-only file the kernel flushes when it likes',
      { appendonly: 'yes', appendfsync: 'no', save: '', 'maxmemory-policy': 'noeviction' },
      [/appendfsync is no.*set appendfsync everysec/],
    ],
    [
      'eviction',
      { appendonly: 'yes', appendfsync: 'always', save: '', 'maxmemory-policy': 'allkeys-lru' },
      [/maxmemory-policy is allkeys-lru: .*set maxmemory-policy noeviction/],
    ],
  ])('%s', (_case, settings, expected) => {
    const problems = durabilityProblems(settings);
    expect(problems).toHaveLength(expected.length);
    expected.forEach((pattern, i) => expect(problems[i]).toMatch(pattern));
  });

  async function checkOf(server: RedisServer) {
    const captured = captureLogger();
    const store = new RedisStore({
      redis: {
        kind: 'single',
        url: `redis://127.0.0.1:${server.port}`,
        password: server.password || undefined,
        keyPrefix: 'd:',
        tls: false,
      },
      keyPrefix: 'd:',
      commandTimeoutMs: 2000,
      logger: captured.logger,
    });
    try {
      return { outcome: await store.durability, warnings: captured.messages('warn') };
    } finally {
      await store.close();
      await server.stop();
    }
  }

  test('a Redis without persistence is named at start, with what to set', async () => {
    const { outcome, warnings } = await checkOf(await startRedis());
    expect(outcome).toEqual({ checked: true, problems: [expect.stringMatching(/appendonly is no/)] });
    expect(warnings).toEqual([
      expect.stringMatching(
        /^The shared store \(Redis\) can lose its records: appendonly is no and save is "".*set appendonly yes$/,
      ),
    ]);
  }, 20_000);

  test("the compose file's Redis passes (reached with REDIS_PASSWORD)", async () => {
    const { outcome, warnings } = await checkOf(await startComposeRedis());
    expect(outcome).toEqual({ checked: true, problems: [] });
    expect(warnings).toEqual([]);
  }, 20_000);

  test('a Redis that refuses CONFIG (as managed ones often do) is said to be unchecked, with what it must run with', async () => {
    const { outcome, warnings } = await checkOf(
      await startRedis({ args: ['--save', '', '--appendonly', 'no', '--rename-command', 'CONFIG', ''] }),
    );
    expect(outcome).toEqual({ checked: false, problems: [] });
    expect(warnings).toEqual([
      expect.stringMatching(
        /^Could not check whether the shared store \(Redis\) keeps its records.*appendonly yes.*maxmemory-policy noeviction, or idempotency records and ended sessions can be lost$/,
      ),
    ]);
  }, 20_000);

  test('evictions are noticed and shared: every instance, even one started later, knows since when records may be missing', async () => {
    const server = await startRedis({
      args: ['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-random'],
    });
    const captured = captureLogger();
    const open = (logger = captureLogger().logger) =>
      new RedisStore({
        redis: { kind: 'single', url: server.url, keyPrefix: 'e:', tls: false },
        keyPrefix: 'e:',
        commandTimeoutMs: 2000,
        logger,
        lossCheckMs: 50,
      });
    const first = open(captured.logger);
    const admin = new Redis(server.url);
    let later: RedisStore | undefined;
    try {
      await first.durability;
      await waitFor(() => first.recordsLostSince() === undefined && first['primaries'].size === 1, 5000);
      // Fill Redis, then give it less memory than it holds: it evicts.
      for (let i = 0; i < 10; i += 1)
        await admin.mset(
          Object.fromEntries(Array.from({ length: 2000 }, (_, j) => [`junk:${i}:${j}`, 'x'.repeat(500)])),
        );
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
      // About 2 MB less than the keys take: some thousands of them go, and there is room again.
      await admin.config('SET', 'maxmemory', String(used - 2 * 1024 * 1024));
      await admin.set('one-more', 'x');
      await waitFor(() => first.recordsLostSince() !== undefined, 5000);
      expect(captured.messages('warn')).toContainEqual(
        expect.stringMatching(
          /^The shared store may have lost some records \(Redis evicted \d+ keys at .*\): a retried send whose record is missing is checked against Genesys/,
        ),
      );
      later = open();
      await waitFor(() => later!.recordsLostSince() === first.recordsLostSince(), 5000);
    } finally {
      admin.disconnect();
      await first.close();
      await later?.close();
      await server.stop();
    }
  }, 30_000);

  test('a restart in place of a Redis that keeps an append-only file is not a loss', async () => {
    const server = await startComposeRedis();
    const store = new RedisStore({
      redis: { kind: 'single', url: server.url, keyPrefix: 'r:', tls: false },
      keyPrefix: 'r:',
      commandTimeoutMs: 2000,
      logger: captureLogger().logger,
      lossCheckMs: 50,
    });
    try {
      await store.durability;
      await waitFor(() => store['primaries'].size === 1, 5000);
      const before = [...store['primaries'].values()][0]!.runId;
      await server.kill('SIGKILL');
      await server.restart();
      await waitFor(() => [...store['primaries'].values()][0]!.runId !== before, 10_000);
      expect(store.recordsLostSince()).toBeUndefined();
    } finally {
      await store.close();
      await server.stop();
    }
  }, 30_000);

  describe('standing records', () => {
    const clock = manualClock();
    /** A store that says it is shared, as Redis does: a missing record there means a lost one. */
    const shared = () => Object.assign(new MemoryStore(1000, clock.now), { shared: true }) as unknown as SharedStore;

    test('a session is live under its anchor, ended once ended, and lost when its record vanished from a shared store', async () => {
      const store = shared();
      const revocations = new StoreRevocations(store, 60_000, clock.now);
      const anchor = await revocations.markLive('guest-1');
      expect((await revocations.standing('guest-1', anchor)).state).toBe('live');
      expect((await revocations.standing('guest-1', 'another-anchor')).state).toBe('lost');
      // A token sealed before anchors existed is judged as before: live unless ended.
      expect((await revocations.standing('guest-2', undefined)).state).toBe('live');
      expect((await revocations.standing('guest-2', 'an-anchor')).state).toBe('lost');
      await revocations.markEnded('guest-1', clock.now() + 60_000);
      expect((await revocations.standing('guest-1', anchor)).state).toBe('ended');
      expect(await revocations.isEnded('guest-1')).toBe(true);
    });

    test("in one instance's memory a missing record is live (a restart forgets everything; documented)", async () => {
      const revocations = new StoreRevocations(new MemoryStore(1000, clock.now), 60_000, clock.now);
      expect((await revocations.standing('guest-3', 'an-anchor')).state).toBe('live');
    });

    test('a live record outlives every token issued while the session is used, and lapses when it is not', async () => {
      const store = shared();
      const revocations = new StoreRevocations(store, 60_000, clock.now);
      const anchor = await revocations.markLive('guest-4');
      // Used every 50 s for ten minutes: each token issued lives 60 s; the record never lapses.
      for (let i = 0; i < 12; i += 1) {
        clock.advance(50_000);
        expect((await revocations.standing('guest-4', anchor)).state).toBe('live');
      }
      // Unused for longer than a token lives (plus the slack): the record is gone, as every token is.
      clock.advance(60_000 + 2 * 60_000 + 1);
      expect(await store.get(`standing:${sessionKeyOf('guest-4')}`)).toBeUndefined();
    });
  });
});

describe('settings a Redis does not report', () => {
  test('no `save` reported with appendonly off is the same as none: a restart loses every record', () => {
    expect(durabilityProblems({ appendonly: 'no', 'maxmemory-policy': 'noeviction' })).toEqual([
      'appendonly is no and save is "": a restart of Redis loses every record; set appendonly yes',
    ]);
  });

  test('no `maxmemory-policy` reported is not an eviction policy', () => {
    expect(durabilityProblems({ appendonly: 'yes', appendfsync: 'everysec' })).toEqual([]);
  });

  test('no `appendonly` reported is not an append-only file', () => {
    expect(durabilityProblems({ save: '3600 1', 'maxmemory-policy': 'noeviction' })).toEqual([
      'appendonly is no: only snapshots (save "3600 1") are kept, so a restart loses the writes since the last one; set appendonly yes',
    ]);
  });
});
