import { createLogger } from '../../src/observability/logger';
import {
  DependencyState,
  DeploymentReadiness,
  EventLoopCheck,
  Readiness,
  type CheckState,
} from '../../src/observability/readiness';

/**
 * What /readyz tells the proxy and the operator (docs/operations.md, "Readiness
 * and outages"): ready or not, which check is failing and why, and whether a
 * failing shared dependency is an outage the instance rides out (`degraded`)
 * or one that holds a new instance back.
 */
const ACCEPTING = { ok: true, detail: 'Accepting requests.' };
const REDIS_DOWN = { ok: false, detail: 'Redis does not answer: no answer to PING within 500 ms' };
const REDIS_UP = { ok: true, detail: 'Redis answers.' };

describe('Readiness', () => {
  test('with nothing failing, the instance is ready and says it accepts requests', () => {
    expect(new Readiness().report()).toEqual({ ready: true, status: 'ready', checks: { draining: ACCEPTING } });
  });

  test('a shared dependency that has not answered once since start holds the instance back, its check as it is', () => {
    const readiness = new Readiness();
    readiness.set('redis', REDIS_DOWN);
    readiness.set('config', { ok: true, detail: 'Configuration is valid.' });

    expect(readiness.report()).toEqual({
      ready: false,
      status: 'not_ready',
      checks: { redis: REDIS_DOWN, config: { ok: true, detail: 'Configuration is valid.' }, draining: ACCEPTING },
    });
  });

  test('once it has answered, an outage of a shared dependency leaves the instance ready but degraded, and says the check does not affect readiness', () => {
    const readiness = new Readiness();
    readiness.set('guestApi', { ok: true, detail: 'Genesys accepts the guest WebSocket.' });
    readiness.set('redis', REDIS_UP);
    readiness.set('redis', REDIS_DOWN);

    expect(readiness.report()).toEqual({
      ready: true,
      status: 'degraded',
      checks: {
        guestApi: { ok: true, detail: 'Genesys accepts the guest WebSocket.' },
        redis: { ...REDIS_DOWN, affectsReadiness: false },
        draining: ACCEPTING,
      },
    });

    readiness.set('redis', REDIS_UP);
    expect(readiness.report()).toEqual({
      ready: true,
      status: 'ready',
      checks: {
        guestApi: { ok: true, detail: 'Genesys accepts the guest WebSocket.' },
        redis: REDIS_UP,
        draining: ACCEPTING,
      },
    });
  });

  test.each(['redis', 'guestApi', 'token', 'deployment', 'messengerConfig'])(
    '%s is a shared dependency: its outage after start-up does not take the instance out',
    (name) => {
      const readiness = new Readiness();
      readiness.set(name, { ok: true, detail: 'answers' });
      readiness.set(name, { ok: false, detail: 'does not answer' });
      expect(readiness.report()).toMatchObject({
        ready: true,
        status: 'degraded',
        checks: { [name]: { ok: false, affectsReadiness: false } },
      });
    },
  );

  test("the instance's own checks make it not ready whenever they fail, even after they passed", () => {
    const readiness = new Readiness();
    readiness.set('redis', REDIS_UP);
    readiness.set('redis', REDIS_DOWN);
    const overloaded = { ok: false, detail: 'The event loop has been late.', lagMs: 2500 };
    readiness.set('eventLoop', { ok: true, detail: 'The event loop keeps up.', lagMs: 0 });
    readiness.set('eventLoop', overloaded);

    const report = readiness.report();
    expect(report).toMatchObject({ ready: false, status: 'not_ready' });
    expect(report.checks.eventLoop).toEqual(overloaded);
  });

  test('draining: not ready, whatever else holds, and the draining check says the instance is shutting down', () => {
    const readiness = new Readiness();
    readiness.set('redis', REDIS_UP);
    expect(readiness.draining).toBe(false);

    readiness.startDraining();
    readiness.startDraining();

    expect(readiness.draining).toBe(true);
    expect(readiness.report()).toEqual({
      ready: false,
      status: 'not_ready',
      checks: { redis: REDIS_UP, draining: { ok: false, detail: expect.stringMatching(/shutting down/) } },
    });
  });
});

describe("DeploymentReadiness (one deployment among several: its checks in the instance's, as `name/check`)", () => {
  test("each deployment's checks are listed under its name, and one's outage after start-up only degrades", () => {
    const instance = new Readiness();
    const brandA = new DeploymentReadiness(instance, 'brand-a');
    const brandB = new DeploymentReadiness(instance, 'brand-b');
    brandA.set('guestApi', { ok: true, detail: 'up' });
    brandB.set('guestApi', { ok: true, detail: 'up' });
    brandA.set('guestApi', { ok: false, detail: 'down' });
    const report = brandB.report();
    expect(report).toEqual(instance.report());
    expect(report).toMatchObject({
      ready: true,
      status: 'degraded',
      checks: {
        'brand-a/guestApi': { ok: false, detail: 'down', affectsReadiness: false },
        'brand-b/guestApi': { ok: true, detail: 'up' },
      },
    });
  });

  test("a deployment's own check failing, or one shared never answered, holds the instance back", () => {
    const instance = new Readiness();
    new DeploymentReadiness(instance, 'brand-a').set('redis', REDIS_DOWN);
    expect(instance.report()).toMatchObject({
      ready: false,
      status: 'not_ready',
      checks: { 'brand-a/redis': REDIS_DOWN },
    });
  });

  test('draining a deployment drains the instance, which every deployment reports', () => {
    const instance = new Readiness();
    const brandA = new DeploymentReadiness(instance, 'brand-a');
    brandA.startDraining();
    expect(instance.draining).toBe(true);
    expect(brandA.draining).toBe(true);
    expect(new DeploymentReadiness(instance, 'brand-b').report()).toMatchObject({ ready: false, status: 'not_ready' });
  });
});

describe('EventLoopCheck (the eventLoop check: 2 s late at three samples in a row, one every 500 ms)', () => {
  const KEEPS_UP = 'The event loop keeps up.';
  let readiness: Readiness;
  let check: EventLoopCheck;

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    readiness = new Readiness();
    check = new EventLoopCheck(readiness);
  });
  afterEach(() => {
    check.close();
    jest.useRealTimers();
  });

  const eventLoop = () => readiness.report().checks.eventLoop;
  /** The next sample comes on time. */
  const onTime = () => jest.advanceTimersByTime(500);
  /** The loop was held `ms` before the next sample could run (the clock moved, the timer could not fire). */
  const lateBy = (ms: number) => {
    jest.setSystemTime(Date.now() + ms);
    jest.advanceTimersByTime(500);
  };

  test('reports itself ok from the start, before any sample', () => {
    expect(eventLoop()).toEqual({ ok: true, detail: KEEPS_UP, lagMs: 0 });
  });

  test('a loop on time keeps the instance ready, with a lag of 0 ms', () => {
    for (let i = 0; i < 4; i++) {
      onTime();
      expect(eventLoop()).toEqual({ ok: true, detail: KEEPS_UP, lagMs: 0 });
    }
    expect(readiness.report().ready).toBe(true);
  });

  test('late by more than 2 s at three samples in a row: not ready, saying by how much; the next sample on time makes it ready again', () => {
    onTime();
    lateBy(2500);
    lateBy(2100);
    expect(eventLoop()).toEqual({ ok: true, detail: KEEPS_UP, lagMs: 2100 });
    expect(readiness.report().ready).toBe(true);

    lateBy(3000);
    expect(eventLoop()).toEqual({
      ok: false,
      detail: expect.stringContaining('more than 2000 ms (at least 2100 ms) 3 times in a row'),
      lagMs: 2100,
    });
    expect(readiness.report()).toMatchObject({ ready: false, status: 'not_ready' });

    onTime();
    expect(eventLoop()).toEqual({ ok: true, detail: KEEPS_UP, lagMs: 0 });
    expect(readiness.report().ready).toBe(true);
  });

  test('one long task is one late sample, not overload: the instance stays ready', () => {
    lateBy(10_000);
    expect(eventLoop()).toEqual({ ok: true, detail: KEEPS_UP, lagMs: 10_000 });
    onTime();
    onTime();
    onTime();
    expect(eventLoop()).toMatchObject({ ok: true });
    expect(readiness.report().ready).toBe(true);
  });

  test('late by exactly 2 s is not more than 2 s', () => {
    for (let i = 0; i < 3; i++) lateBy(2000);
    expect(eventLoop()).toEqual({ ok: true, detail: KEEPS_UP, lagMs: 2000 });
  });

  test('closed, it samples no more', () => {
    check.close();
    for (let i = 0; i < 3; i++) lateBy(5000);
    expect(eventLoop()).toEqual({ ok: true, detail: KEEPS_UP, lagMs: 0 });
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('DependencyState (one line in the log when a dependency changes, not one per check)', () => {
  type Line = Record<string, unknown> & { level: number; msg: string };
  let lines: Line[];
  let readiness: Readiness;
  let state: DependencyState;

  beforeEach(() => {
    lines = [];
    readiness = new Readiness();
    const logger = createLogger({
      level: 'debug',
      destination: { write: (line: string) => void lines.push(JSON.parse(line) as Line) },
    });
    state = new DependencyState<CheckState>({
      initial: { ok: false, detail: 'Checking that Redis answers.' },
      logger,
      logFields: { redisUrl: 'redis://cache:6379' },
      onState: (s) => readiness.set('redis', s),
    });
  });

  const WARN = 40;
  const INFO = 30;
  const ERROR = 50;

  test('the initial state is reported at once and not logged', () => {
    expect(readiness.report().checks.redis).toEqual({ ok: false, detail: 'Checking that Redis answers.' });
    expect(state.current).toEqual({ ok: false, detail: 'Checking that Redis answers.' });
    expect(lines).toEqual([]);
  });

  test('a change is logged once, its detail as the message and its other fields alongside: info when good, warn when bad', () => {
    state.set({ ok: true, detail: 'Redis answers.', latencyMs: 3 });
    state.set({ ok: true, detail: 'Redis answers.', latencyMs: 4 });
    state.set({ ok: false, detail: 'Redis does not answer.' }, { fields: { attempts: 2 } });
    state.set({ ok: false, detail: 'Redis does not answer.' });

    expect(
      lines.map(({ level, msg, redisUrl, latencyMs, attempts, ok, detail }) => ({
        level,
        msg,
        redisUrl,
        latencyMs,
        attempts,
        ok,
        detail,
      })),
    ).toEqual([
      {
        level: INFO,
        msg: 'Redis answers.',
        redisUrl: 'redis://cache:6379',
        latencyMs: 3,
        attempts: undefined,
        ok: undefined,
        detail: undefined,
      },
      {
        level: WARN,
        msg: 'Redis does not answer.',
        redisUrl: 'redis://cache:6379',
        latencyMs: undefined,
        attempts: 2,
        ok: undefined,
        detail: undefined,
      },
    ]);
    // Every state reaches readiness, logged or not (Redis answered once: an outage, not a start-up failure).
    expect(readiness.report().checks.redis).toEqual({
      ok: false,
      detail: 'Redis does not answer.',
      affectsReadiness: false,
    });
    expect(state.current).toEqual({ ok: false, detail: 'Redis does not answer.' });
  });

  test('a new detail is news even when ok stays the same, and so is ok changing under the same detail', () => {
    state.set({ ok: false, detail: 'Redis is unavailable: connect ECONNREFUSED' });
    state.set({ ok: false, detail: 'Redis is unavailable: getaddrinfo ENOTFOUND cache' });
    state.set({ ok: true, detail: 'Redis is unavailable: getaddrinfo ENOTFOUND cache' });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [WARN, 'Redis is unavailable: connect ECONNREFUSED'],
      [WARN, 'Redis is unavailable: getaddrinfo ENOTFOUND cache'],
      [INFO, 'Redis is unavailable: getaddrinfo ENOTFOUND cache'],
    ]);
  });

  test('the caller names the level of what the operator must fix', () => {
    state.set({ ok: false, detail: 'Redis refuses the password.' }, { level: 'error' });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[ERROR, 'Redis refuses the password.']]);
  });
});
