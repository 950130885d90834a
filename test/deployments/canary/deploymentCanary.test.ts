import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import type { CanaryParts, CanaryRecord } from '../../../src/deployments/canary';
import { DeploymentCanary } from '../../../src/deployments/canary';
import { AppError } from '../../../src/domain/errors';
import { registry } from '../../../src/observability/metrics';
import { currentContext } from '../../../src/observability/requestContext';
import { flushTracing, startTracing } from '../../../src/observability/tracing';
import { MemoryStore } from '../../../src/store';
import { captureLogger } from '../../support/app';
import { scriptedCanaryParts } from '../../support/canaryParts';
import { parseScrape } from '../../support/metrics';
import { waitFor } from '../../support/wait';

/**
 * A deployment's canary on its schedule (src/deployments/canary/deploymentCanary.ts), with a chat that fails or
 * refuses at once: instances sharing a store run one canary per interval between them; a 429 skips the run and every
 * instance backs off for its Retry-After; with the circuit open nothing is started. The whole run against the
 * simulator, across processes sharing Redis, is test/scale/canaries.test.ts.
 */

const INTERVAL_MS = 150;
const canaries: DeploymentCanary[] = [];
afterEach(async () => {
  for (const canary of canaries.splice(0)) await canary.close();
});

/** Parts whose chat start is `start`: the run goes no further than its session step. */
function partsWith(start: () => Promise<never>): CanaryParts {
  const unused = () => {
    throw new Error('not reached');
  };
  return {
    chat: { start, send: unused, history: unused, end: unused } as unknown as CanaryParts['chat'],
    tokens: { open: unused } as unknown as CanaryParts['tokens'],
    hub: { session: unused } as unknown as CanaryParts['hub'],
    streams: { serve: unused },
    canary: { attribute: { name: 'bffCanary', value: 'yes' } },
    answerWaitMs: INTERVAL_MS / 2,
    objectiveMs: 10_000,
    now: Date.now,
  };
}

function startCanaries(count: number, parts: CanaryParts, store: MemoryStore, circuitOpen = false) {
  const started = [];
  for (let i = 0; i < count; i++) {
    const canary = new DeploymentCanary({
      deployment: 'shop',
      intervalMs: INTERVAL_MS,
      parts,
      store,
      circuit: { circuitOpen },
      instanceId: `instance-${i}`,
      logger: captureLogger().logger,
      keep: 50,
    });
    canary.start();
    canaries.push(canary);
    started.push(canary);
  }
  return started;
}

async function runsOnceThere(canary: DeploymentCanary, count: number): Promise<CanaryRecord[]> {
  let runs: CanaryRecord[] = [];
  await waitFor(async () => (runs = await canary.recent()).length >= count, 10_000, 20);
  return runs;
}

test('three instances on one store run one canary per interval between them', async () => {
  let starts = 0;
  const parts = partsWith(async () => {
    starts++;
    throw new Error('Genesys said no');
  });
  const [first] = startCanaries(3, parts, new MemoryStore());
  const runs = await runsOnceThere(first!, 5);
  await Promise.all(canaries.map((c) => c.close()));
  const recorded = await first!.recent();
  const slots = recorded.map((r) => r.slot);
  expect(slots).toEqual(slots.map((_, i) => slots[0]! - i));
  expect(starts).toBe(recorded.length);
  expect(runs[0]).toMatchObject({ outcome: 'failed', failedStep: 'session', reason: 'Error: Genesys said no' });
});

test('a 429 skips the run, and no instance starts another until its Retry-After is over', async () => {
  const startedAt: number[] = [];
  const parts = partsWith(async () => {
    startedAt.push(Date.now());
    throw new AppError('rate_limited', 'Too many requests', { retryAfterSeconds: 1 });
  });
  const [first] = startCanaries(2, parts, new MemoryStore());
  const runs = (await runsOnceThere(first!, 9)).reverse();
  expect(runs[0]).toMatchObject({
    outcome: 'skipped',
    failedStep: 'session',
    reason: 'skipped: Genesys asked to wait 1 s (429); backing off',
    backOffSeconds: 1,
  });
  const backingOff = runs.slice(1).filter((r) => /backing off after Genesys's 429/.test(r.reason ?? ''));
  expect(backingOff.length).toBeGreaterThanOrEqual(4);
  for (const run of backingOff) expect(run.steps.every((s) => s.outcome === 'skipped')).toBe(true);
  // Started again only once the wait was over.
  expect(startedAt.length).toBeGreaterThanOrEqual(2);
  expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(1000 - INTERVAL_MS);
});

test('with the circuit to Genesys open, runs are skipped and nothing is started', async () => {
  let starts = 0;
  const parts = partsWith(async () => {
    starts++;
    throw new Error('not expected');
  });
  const [first] = startCanaries(2, parts, new MemoryStore(), true);
  const runs = await runsOnceThere(first!, 3);
  expect(starts).toBe(0);
  for (const run of runs)
    expect(run).toMatchObject({
      outcome: 'skipped',
      reason: 'skipped: Genesys unavailable (the circuit to Genesys is open)',
    });
});

describe('on a clock of its own (timers faked)', () => {
  const SECOND = 1_000;
  afterEach(() => jest.useRealTimers());

  /** One canary on a faked clock at `now`; the scripted chat's answers come on real ticks. */
  function canaryAt(
    now: number,
    options: { intervalMs?: number; scripted?: Parameters<typeof scriptedCanaryParts>[0] } = {},
  ) {
    jest.useFakeTimers({ now, doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    // Made on the faked clock, as the canary is.
    const store = new MemoryStore();
    const { intervalMs = SECOND } = options;
    const scripted = scriptedCanaryParts(options.scripted ?? {});
    const log = captureLogger();
    const canary = new DeploymentCanary({
      deployment: 'shop',
      intervalMs,
      parts: scripted.parts,
      store,
      circuit: { circuitOpen: false },
      instanceId: 'instance-0',
      logger: log.logger,
      keep: 50,
    });
    canaries.push(canary);
    return { canary, log, store, ...scripted };
  }
  /**
   * Moves the clock on, and lets what the timers started finish: a run on the scripted parts takes a few turns of the
   * loop (its send answers on a real tick); twenty is ample, and no turn waits on the machine's load.
   */
  const pass = async (ms: number) => {
    await jest.advanceTimersByTimeAsync(ms);
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  test('runs when each interval of the wall clock begins, saying which one, its send keyed by it', async () => {
    const { canary, chat } = canaryAt(1_000_030);
    canary.start();
    await pass(969);
    expect(chat.start).not.toHaveBeenCalled();
    await pass(1);
    expect(chat.send.mock.calls.map(([, body, key]) => [body, key])).toEqual([
      [{ text: 'canary check 1001' }, 'canary-1001'],
    ]);
    await pass(SECOND);
    expect(chat.send.mock.calls.map(([, , key]) => key)).toEqual(['canary-1001', 'canary-1002']);
    const runs = await canary.recent();
    expect(runs.map((r) => [r.slot, r.startedAt, r.outcome])).toEqual([
      [1002, new Date(1_002_000).toISOString(), 'ok'],
      [1001, new Date(1_001_000).toISOString(), 'ok'],
    ]);
  });

  test('runs inside the run’s own request context, its trace the one it records and logs', async () => {
    const { canary, chat, log } = canaryAt(5 * SECOND);
    const seen: Array<ReturnType<typeof currentContext>> = [];
    chat.start.mockImplementationOnce(async () => {
      seen.push(currentContext());
      throw new Error('seen enough');
    });
    canary.start();
    await pass(SECOND);
    const [run] = await canary.recent();
    expect(seen).toEqual([expect.objectContaining({ requestId: 'canary-6' })]);
    expect(seen[0]!.trace?.traceId).toBe(run!.traceId);
    expect(run!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(log.lines().find((l) => l.msg === 'canary failed at session')).toMatchObject({
      trace_id: run!.traceId,
      slot: 6,
      outcome: 'failed',
      step: 'session',
      reason: 'Error: seen enough',
    });
  });

  test('counts each run by outcome, times each step it took, counts the step that failed, and logs by outcome', async () => {
    // Each reading of the run's clock is 250 ms after the last.
    const { canary, chat, log } = canaryAt(10 * SECOND, { scripted: { tickMs: 250 } });
    const metrics = async () => parseScrape(await registry.metrics());
    const before = await metrics();
    canary.start();
    await pass(SECOND);
    chat.send.mockRejectedValueOnce(new Error('Genesys said no'));
    await pass(SECOND);
    // A run skipped at a step (a 429) names the step, but is no failure of it.
    chat.start.mockRejectedValueOnce(new AppError('rate_limited', 'Too many requests', { retryAfterSeconds: 1 }));
    await pass(SECOND);
    const after = await metrics();
    const grew = (name: string, labels: Record<string, string>) =>
      after.value(name, { deployment: 'shop', ...labels }) - before.value(name, { deployment: 'shop', ...labels });
    expect(grew('genesys_bff_canary_runs_total', { outcome: 'ok' })).toBe(1);
    expect(grew('genesys_bff_canary_runs_total', { outcome: 'failed' })).toBe(1);
    expect(grew('genesys_bff_canary_runs_total', { outcome: 'skipped' })).toBe(1);
    expect(grew('genesys_bff_canary_step_failures_total', { step: 'send' })).toBe(1);
    expect(grew('genesys_bff_canary_step_failures_total', { step: 'session' })).toBe(0);
    // The ok and the failed run took their session step (0.25 s each); only the ok one took its history step.
    expect(grew('genesys_bff_canary_step_seconds_count', { step: 'session' })).toBe(2);
    expect(grew('genesys_bff_canary_step_seconds_sum', { step: 'session' })).toBeCloseTo(0.5);
    expect(grew('genesys_bff_canary_step_seconds_count', { step: 'history' })).toBe(1);
    const said = log.lines().filter((l) => String(l.msg).startsWith('canary'));
    expect(said.map((l) => [l.level, l.msg])).toEqual([
      [20, 'canary ok'],
      [40, 'canary failed at send'],
      [30, 'canary skipped'],
    ]);
  });

  test('while a 429’s back-off lasts, a run is skipped, saying the seconds left rounded up, and logged as skipped', async () => {
    const { canary, log, chat, store } = canaryAt(20 * SECOND - 1);
    await store.put('canary:back-off', String(20 * SECOND + 2_500), 60_000);
    canary.start();
    await pass(1);
    expect(chat.start).not.toHaveBeenCalled();
    expect(await canary.recent()).toEqual([
      expect.objectContaining({ outcome: 'skipped', reason: "skipped: backing off after Genesys's 429 for 3 s more" }),
    ]);
    expect(log.lines().find((l) => l.msg === 'canary skipped')).toMatchObject({ level: 30, slot: 20 });
  });

  test('runs again once the back-off ends, at its very end', async () => {
    const { canary, chat, store } = canaryAt(30 * SECOND - 1);
    await store.put('canary:back-off', String(30 * SECOND), 60_000);
    canary.start();
    await pass(1);
    expect(chat.start).toHaveBeenCalledTimes(1);
  });

  test('keeps its runs for a day, or ten intervals when that is longer', async () => {
    for (const [intervalMs, ttl] of [
      [SECOND, 24 * 3600_000],
      [3 * 3600_000, 30 * 3600_000],
    ] as const) {
      const { canary, store } = canaryAt(intervalMs * 100 - 1, { intervalMs });
      const claim = jest.spyOn(store, 'claim');
      canary.start();
      await pass(1);
      expect(claim.mock.calls.filter(([key]) => key === 'canary:runs').map(([, , ms]) => ms)).toEqual([ttl]);
      await canary.close();
      jest.useRealTimers();
    }
  });

  test('with the shared store away, it says so and runs nothing; a run it cannot keep is said too', async () => {
    const { canary, chat, log, store } = canaryAt(40 * SECOND);
    const claim = store.claim.bind(store);
    jest.spyOn(store, 'claim').mockImplementation(async (key, ...rest) => {
      if (key.startsWith('canary:slot:') && chat.start.mock.calls.length === 0 && !log.text().includes('away'))
        throw new Error('store down');
      if (key === 'canary:runs') throw new Error('store down again');
      return claim(key, ...rest);
    });
    canary.start();
    await pass(SECOND);
    expect(chat.start).not.toHaveBeenCalled();
    expect(
      log.lines().find((l) => l.msg === 'canary: the shared store is away; no canary this interval'),
    ).toMatchObject({
      level: 40,
      slot: 41,
    });
    await pass(SECOND);
    expect(chat.start).toHaveBeenCalledTimes(1);
    expect(log.lines().find((l) => l.msg === 'canary: the run could not be kept for GET /canary')).toMatchObject({
      level: 40,
      slot: 42,
    });
  });

  test('closed before it starts, it never runs', async () => {
    const { canary, chat } = canaryAt(60 * SECOND);
    await canary.close();
    canary.start();
    await pass(3 * SECOND);
    expect(chat.start).not.toHaveBeenCalled();
  });

  test('close stops the schedule and waits for the run under way', async () => {
    const { canary, chat } = canaryAt(50 * SECOND);
    let release = () => {};
    chat.start.mockImplementationOnce(
      () => new Promise((_, reject) => (release = () => reject(new Error('released')))),
    );
    canary.start();
    let closing: Promise<unknown> | undefined;
    try {
      await pass(SECOND);
      expect(chat.start).toHaveBeenCalledTimes(1);
      let closed = false;
      closing = canary.close().then(() => (closed = true));
      await pass(0);
      expect(closed).toBe(false);
    } finally {
      // Released whatever failed above: a run left hanging would hang the close after the case.
      release();
    }
    await closing;
    await pass(5 * SECOND);
    expect(chat.start).toHaveBeenCalledTimes(1);
    expect(await canary.recent()).toHaveLength(1);
  });
});

describe('with tracing on', () => {
  const exporter = new InMemorySpanExporter();
  let stopTracing: () => Promise<void>;
  beforeAll(() => {
    stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'canary-under-test', exporter });
  });
  afterAll(() => stopTracing());

  test('each run is a trace of its own, under a span named CANARY', async () => {
    const parts = partsWith(async () => {
      throw new Error('traced');
    });
    const [canary] = startCanaries(1, parts, new MemoryStore());
    const [run] = await runsOnceThere(canary!, 1);
    await flushTracing();
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === run!.traceId);
    expect(spans.map((s) => s.name)).toContain('CANARY');
  });
});
