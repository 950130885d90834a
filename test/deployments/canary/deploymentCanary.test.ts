import type { CanaryParts, CanaryRecord } from '../../../src/deployments/canary';
import { DeploymentCanary } from '../../../src/deployments/canary';
import { AppError } from '../../../src/domain/errors';
import { MemoryStore } from '../../../src/store';
import { captureLogger } from '../../support/app';
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
