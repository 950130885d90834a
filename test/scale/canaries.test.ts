import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deploymentEntryFor, startSimulator, type Simulator } from '../../simulator';
import { readConfig } from '../../src/config/schema';
import type { CanaryRecord } from '../../src/deployments/canary';
import { startService, type RunningService } from '../../src/server';
import { captureLogger, deploymentsFileEnv, type CapturedLogger } from '../support/app';
import { startRedis, type RedisServer } from '../support/redis';
import { simProfile } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Canaries (docs/operations.md#canaries) of two deployments, run by three instances sharing one Redis: one run per
 * interval per deployment, counted at each deployment's simulator; every step in the metrics; GET /canary on any
 * instance shows the last runs. A flow that stops answering, a revoked OAuth client and a refused handshake each turn
 * the very next interval's run red at its step, with the reason in GET /canary and a log line with the run's trace id;
 * with the circuit to Genesys open, runs are skipped, not failed; a 429 skips the run and every instance waits its
 * Retry-After; the other deployment stays green throughout. GET /canary is on the metrics listener only.
 *
 * @needs redis-server
 */
jest.setTimeout(240_000);

const INTERVAL_SECONDS = 5;
const INTERVAL_MS = INTERVAL_SECONDS * 1000;
/** How long a run may wait for the flow's answer: half the interval (at most the objective's 10 s). */
const ANSWER_WAIT_MS = INTERVAL_MS / 2;
const INSTANCES = 3;
/** How long a change may take to show: the run under way when it happened, the next, and the lease's slack. */
const WITHIN_MS = 4 * INTERVAL_MS + 10_000;

let redis: RedisServer;
let shopSim: Simulator;
let clinicSim: Simulator;
let dir: string;
const instances: RunningService[] = [];
const logs: CapturedLogger[] = [];

beforeAll(async () => {
  redis = await startRedis();
  shopSim = await startSimulator({ profile: simProfile() });
  clinicSim = await startSimulator({ profile: simProfile(), deploymentId: '0f1e2d3c-4b5a-4697-8877-665544332211' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canaries-'));
  const file = path.join(dir, 'deployments.json');
  const canary = { intervalSeconds: INTERVAL_SECONDS, attribute: 'bffCanary=yes', expect: 'You said' };
  const deployments = [
    { ...deploymentEntryFor(shopSim, 'shop', ['https://shop.example']), canary },
    { ...deploymentEntryFor(clinicSim, 'clinic', ['https://clinic.example']), canary },
  ];
  fs.writeFileSync(file, JSON.stringify({ deployments }));
  const env = deploymentsFileEnv(file, { REDIS_URL: redis.url, METRICS_PORT: '0', GENESYS_TIMEOUT_MS: '2000' });
  for (let i = 0; i < INSTANCES; i++) {
    const log = captureLogger('info');
    logs.push(log);
    instances.push(await startService(await readConfig(env), log.logger));
  }
}, 60_000);

afterAll(async () => {
  for (const instance of instances) await instance.stop();
  await shopSim?.stop();
  await clinicSim?.stop();
  await redis?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface CanaryReport {
  deployments: Array<{ deployment: string; intervalSeconds: number; runs: CanaryRecord[] }>;
}

async function report(instance: number): Promise<CanaryReport> {
  const res = await fetch(instances[instance]!.metricsUrl!.replace(/\/metrics$/, '/canary'));
  expect(res.status).toBe(200);
  return (await res.json()) as CanaryReport;
}

/** The deployment's last runs, newest first, as GET /canary on `instance` lists them. */
async function runsOf(deployment: string, instance = 0): Promise<CanaryRecord[]> {
  return (await report(instance)).deployments.find((d) => d.deployment === deployment)!.runs;
}

const slotAt = (ms: number) => Math.floor(ms / INTERVAL_MS);

/**
 * Now, as the moment a fault is set, at least 100 ms before the next interval starts (waiting past it if not): the
 * instances' timers are not the wall clock to the millisecond, and a run that starts as the fault is set could miss
 * it. Call it right before the fault, with nothing awaited between: the simulator lives in this process, so no run
 * can start in between.
 */
async function faultTime(): Promise<number> {
  const left = INTERVAL_MS - (Date.now() % INTERVAL_MS);
  if (left < 100) await new Promise((resolve) => setTimeout(resolve, left + 50));
  return Date.now();
}

/**
 * The run of `deployment` in the interval after the one `since` (a fault set then) falls in. The instances run the
 * interval's canary as it starts (deploymentCanary.ts: a timer on the interval's boundary, the first to claim it in
 * the store runs it), so the run of the interval `since` is in may have begun before the fault; the next one begins
 * after it, whichever instance claims it (one still busy with an earlier run leaves the claim to the others). Within
 * one interval, then: that run meets the fault, and no later one is needed to show it.
 */
async function nextIntervalRun(deployment: string, since: number): Promise<CanaryRecord> {
  const slot = slotAt(since) + 1;
  let found: CanaryRecord | undefined;
  await waitFor(
    async () => {
      const runs = await runsOf(deployment);
      found = runs.find((r) => r.slot === slot);
      // A later interval's run listed before this one's would mean this interval had none.
      if (!found) expect(runs.filter((r) => r.slot > slot)).toEqual([]);
      return found !== undefined;
    },
    (slot + 1) * INTERVAL_MS - Date.now() + 10_000,
    100,
  );
  return found!;
}

/** Waits for a run of `deployment` that is ok and started after `since`. */
async function greenAgain(deployment: string, since: number): Promise<void> {
  await waitFor(
    async () => (await runsOf(deployment)).some((r) => r.slot * INTERVAL_MS > since && r.outcome === 'ok'),
    WITHIN_MS + 60_000,
    200,
  );
}

/** The canary messages a simulator received, by the interval each names. */
function canaryMessagesBySlot(sim: Simulator): Map<number, number> {
  const counts = new Map<number, number>();
  for (const r of sim.received) {
    const text = (r.frame as { message?: { text?: string } }).message?.text;
    const slot = /^canary check (\d+)$/.exec(text ?? '')?.[1];
    if (slot !== undefined) counts.set(Number(slot), (counts.get(Number(slot)) ?? 0) + 1);
  }
  return counts;
}

/** The warning a failed run was logged with, on whichever instance ran it. */
function failureLine(run: CanaryRecord) {
  return logs.flatMap((l) => l.lines()).find((l) => l.msg.startsWith('canary failed') && l.trace_id === run.traceId);
}

function expectFailedAt(run: CanaryRecord, step: string, reason: RegExp): void {
  expect(run).toMatchObject({ outcome: 'failed', failedStep: step, reason: expect.stringMatching(reason) });
  const at = run.steps.findIndex((s) => s.step === step);
  expect(run.steps[at]).toMatchObject({ outcome: 'failed', reason: run.reason });
  // The steps before it passed; those after it were skipped, but for `end`, which ends what was started.
  expect(run.steps.slice(0, at).every((s) => s.outcome === 'ok')).toBe(true);
  expect(run.steps.slice(at + 1, -1).every((s) => s.outcome === 'skipped')).toBe(true);
  expect(run.traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(failureLine(run)).toMatchObject({ deployment: 'shop', step, reason: run.reason, level: 40 });
}

test('one run per interval per deployment across three instances, each step measured, shown on every instance', async () => {
  await waitFor(
    async () => {
      for (const deployment of ['shop', 'clinic'])
        expect((await runsOf(deployment)).filter((r) => r.outcome === 'ok').length).toBeGreaterThanOrEqual(3);
    },
    6 * INTERVAL_MS + 20_000,
    200,
  );
  for (const [deployment, sim] of [
    ['shop', shopSim],
    ['clinic', clinicSim],
  ] as const) {
    const runs = await runsOf(deployment);
    // The same list on every instance: it lives in the shared store.
    for (let i = 1; i < INSTANCES; i++) expect((await runsOf(deployment, i)).slice(-3)).toEqual(runs.slice(-3));
    // Every interval since the first has its one run: none missing, none twice.
    const slots = runs.map((r) => r.slot);
    expect(slots).toEqual(slots.map((_, i) => slots[0]! - i));
    // At Genesys: one canary conversation per interval, each the one a listed run names.
    const atSim = canaryMessagesBySlot(sim);
    for (const run of runs.filter((r) => r.outcome === 'ok')) expect(atSim.get(run.slot)).toBe(1);
    expect([...atSim.values()].every((n) => n === 1)).toBe(true);
    const ok = runs.find((r) => r.outcome === 'ok')!;
    expect(ok.steps.map((s) => [s.step, s.outcome])).toEqual(
      ['session', 'send', 'first_answer', 'stream', 'history', 'end'].map((step) => [step, 'ok']),
    );
    expect(ok.steps.every((s) => s.durationMs >= 0)).toBe(true);
    // The attribute the flow routes on reached Genesys with the conversation's first message.
    const sent = sim.received.find(
      (r) => (r.frame as { message?: { text?: string } }).message?.text === `canary check ${ok.slot}`,
    )!;
    const carried = sim
      .framesFor(sent.sessionToken!, 'onMessage')
      .map((r) => (r.frame as { message?: { channel?: { metadata?: { customAttributes?: object } } } }).message)
      .map((m) => m?.channel?.metadata?.customAttributes);
    expect(carried).toContainEqual({ bffCanary: 'yes' });
  }
  const metrics = await (await fetch(instances[0]!.metricsUrl!)).text();
  for (const deployment of ['shop', 'clinic']) {
    // Counted once per run, by the instance that ran it (the three share this process's registry here). The list is
    // read after the metrics, so it may hold one run more.
    const pattern = new RegExp(
      `genesys_bff_canary_runs_total\\{outcome="\\w+",deployment="${deployment}"\\} (\\d+)`,
      'g',
    );
    const counted = [...metrics.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
    const listed = (await runsOf(deployment)).length;
    expect(counted).toBeGreaterThanOrEqual(listed - 1);
    expect(counted).toBeLessThanOrEqual(listed);
    expect(metrics).toMatch(
      new RegExp(`genesys_bff_canary_runs_total\\{outcome="ok",deployment="${deployment}"\\} [1-9]`),
    );
    for (const step of ['session', 'send', 'first_answer', 'stream', 'history', 'end'])
      expect(metrics).toMatch(
        new RegExp(`genesys_bff_canary_step_seconds_count\\{step="${step}",deployment="${deployment}"\\} [1-9]`),
      );
  }
});

test("a flow that stops answering turns the next interval's run red at first_answer", async () => {
  const since = await faultTime();
  shopSim.setOptions({ agent: { enabled: false } });
  try {
    const run = await nextIntervalRun('shop', since);
    expectFailedAt(run, 'first_answer', new RegExp(`the flow sent no answer within ${ANSWER_WAIT_MS} ms`));
  } finally {
    shopSim.setOptions({ agent: { enabled: true } });
  }
  await greenAgain('shop', Date.now());
});

test("a refused handshake turns the next interval's run red at session", async () => {
  const since = await faultTime();
  shopSim.faults.refuseHandshake(403);
  try {
    expectFailedAt(await nextIntervalRun('shop', since), 'session', /403/);
  } finally {
    shopSim.faults.clear();
  }
  await greenAgain('shop', Date.now());
});

test('with the circuit to Genesys open, runs are skipped, not failed', async () => {
  shopSim.faults.refuseHandshake(503);
  shopSim.faults.dropSocket();
  let opened = 0;
  try {
    // The run that meets the outage may fail (it is how the outage is found); once the circuit is open, none does.
    await waitFor(
      async () => {
        const skipped = (await runsOf('shop')).find((r) => /Genesys unavailable/.test(r.reason ?? ''));
        if (skipped) opened = skipped.slot;
        return skipped !== undefined;
      },
      WITHIN_MS,
      200,
    );
    const later = Date.now();
    await waitFor(async () => (await runsOf('shop')).some((r) => r.slot * INTERVAL_MS > later), WITHIN_MS, 200);
    const whileOpen = (await runsOf('shop')).filter((r) => r.slot >= opened);
    expect(whileOpen.length).toBeGreaterThanOrEqual(2);
    for (const run of whileOpen) {
      expect(run).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/Genesys unavailable/) });
      expect(run.steps.every((s) => s.outcome === 'skipped')).toBe(true);
    }
    const metrics = await (await fetch(instances[0]!.metricsUrl!)).text();
    expect(metrics).toMatch(/genesys_bff_canary_runs_total\{outcome="skipped",deployment="shop"\} [1-9]/);
  } finally {
    shopSim.faults.clear();
  }
  await greenAgain('shop', Date.now());
});

test('a 429 skips the run, and no instance runs one again before its Retry-After has passed', async () => {
  // Genesys refuses a deployment's new chat connections past 1,000 a minute with 429; this one names its wait,
  // longer than two intervals.
  const RETRY_AFTER_SECONDS = 12;
  const since = await faultTime();
  shopSim.faults.refuseHandshake(429, Infinity, RETRY_AFTER_SECONDS);
  let limited: CanaryRecord;
  try {
    limited = await nextIntervalRun('shop', since);
  } finally {
    shopSim.faults.clear();
  }
  expect(limited).toMatchObject({
    outcome: 'skipped',
    failedStep: 'session',
    reason: `skipped: Genesys asked to wait ${RETRY_AFTER_SECONDS} s (429); backing off`,
  });
  expect(limited.steps.every((s) => s.outcome === 'skipped')).toBe(true);
  // The wait starts when the run ends (a little later, when the instance stores it): the intervals that start before
  // it is over are skipped on every instance, and the first one after it runs.
  const waitFrom = Date.parse(limited.startedAt) + limited.durationMs;
  const until = waitFrom + RETRY_AFTER_SECONDS * 1000;
  const resumed = Math.ceil(until / INTERVAL_MS);
  expect(resumed * INTERVAL_MS - until).toBeGreaterThan(500);
  let runs: CanaryRecord[] = [];
  await waitFor(
    async () => (runs = await runsOf('shop')).some((r) => r.slot >= resumed),
    resumed * INTERVAL_MS - Date.now() + 10_000,
    200,
  );
  const waited = runs.filter((r) => r.slot > limited.slot && r.slot < resumed);
  // Every interval of the wait has its run (the list is newest first), skipped.
  expect(waited.map((r) => r.slot).reverse()).toEqual(
    Array.from({ length: resumed - limited.slot - 1 }, (_, i) => limited.slot + 1 + i),
  );
  expect(waited.length).toBeGreaterThanOrEqual(2);
  for (const run of waited) {
    expect(run).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringMatching(/^skipped: backing off after Genesys's 429 for \d+ s more$/),
    });
    expect(run.steps.every((s) => s.outcome === 'skipped')).toBe(true);
  }
  // Genesys heard nothing of the canary meanwhile: no conversation, no frame.
  expect(shopSim.received.filter((r) => r.at >= waitFrom && r.at < until)).toEqual([]);
  const atSim = canaryMessagesBySlot(shopSim);
  for (let slot = limited.slot; slot < resumed; slot++) expect(atSim.get(slot)).toBeUndefined();
  expect(runs.find((r) => r.slot === resumed)).toMatchObject({ outcome: 'ok' });
  expect(atSim.get(resumed)).toBe(1);
});

test("a revoked OAuth client turns the next interval's run red at session, the secret in no reason or log line", async () => {
  const since = await faultTime();
  shopSim.revokeClient();
  const run = await nextIntervalRun('shop', since);
  expectFailedAt(run, 'session', /invalid_client|401/);
  const secret = shopSim.credentials.clientSecret;
  expect(JSON.stringify(await report(1))).not.toContain(secret);
  expect(JSON.stringify(failureLine(run))).not.toContain(secret);
  for (const log of logs) expect(JSON.stringify(log.lines())).not.toContain(secret);
});

test('GET /canary is not on the public port', async () => {
  // Asked as a page of the deployment would ask (its Origin chooses it): no such route there.
  const res = await fetch(`${instances[0]!.url}/canary`, { headers: { origin: 'https://shop.example' } });
  expect({ status: res.status, body: await res.text() }).toMatchObject({
    status: 404,
    body: expect.not.stringContaining('"runs"'),
  });
});

test('the other deployment stayed green throughout', async () => {
  const runs = await runsOf('clinic', 2);
  expect(runs.length).toBeGreaterThan(5);
  expect(runs.filter((r) => r.outcome !== 'ok')).toEqual([]);
  expect(slotAt(Date.now()) - runs[0]!.slot).toBeLessThanOrEqual(2);
});
