import { randomBytes } from 'node:crypto';
import { inDeployment } from '../../observability/deploymentContext';
import type { Logger } from '../../observability/logger';
import { CANARY_STEPS, canaryRuns, canaryStepFailures, canaryStepSeconds } from '../../observability/metrics';
import { runWithContext } from '../../observability/requestContext';
import { traceRequest, withRequestSpan, type TraceIds } from '../../observability/tracing';
import type { SharedStore } from '../../store';
import { CanaryRecords, type CanaryRecord } from './canaryRecords';
import { runCanary, type CanaryParts, type CanaryResult } from './canaryRun';

/**
 * A deployment's canary on its schedule: once per interval, one instance of all those sharing the store runs it. The
 * intervals are the wall clock's (`slot` = epoch ms / interval), so every instance names the same one; the first to
 * claim the slot's key in the shared store runs it, the others do nothing for it. The instance that holds the slot
 * also records the outcome when nothing is run: Genesys unavailable (the circuit open), or a 429's wait not over
 * (kept in the store too, so that every instance backs off). Each run is counted, kept for `GET /canary` in the
 * store, and a failed one logged with its trace id.
 */
export interface DeploymentCanaryOptions {
  deployment: string;
  intervalMs: number;
  parts: CanaryParts;
  /** The deployment's scope of the shared store. */
  store: SharedStore;
  /** The deployment's circuit to Genesys. */
  circuit: { readonly circuitOpen: boolean };
  instanceId: string;
  logger: Logger;
  /** Runs kept for GET /canary. */
  keep: number;
  /** The wall clock the intervals are cut from (the same on every instance). */
  clock?: () => number;
}

const KEYS = { slot: (slot: number) => `canary:slot:${slot}`, backOff: 'canary:back-off' };
/** The text every canary sends: the interval names the run in Genesys's history and the simulator's records. */
export const canaryText = (slot: number) => `canary check ${slot}`;

export class DeploymentCanary {
  private readonly records: CanaryRecords;
  private readonly clock: () => number;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private running?: Promise<void>;

  constructor(private readonly options: DeploymentCanaryOptions) {
    this.clock = options.clock ?? Date.now;
    // Kept long enough to be read a while after the canary stops (a deployment turned off shows its last runs).
    this.records = new CanaryRecords(options.store, options.keep, Math.max(24 * 3600_000, 10 * options.intervalMs));
  }

  start(): void {
    this.schedule();
  }

  /** Stops the schedule and waits for a run under way. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** The newest runs first, from the shared store: every instance's. */
  recent(): Promise<CanaryRecord[]> {
    return this.records.recent();
  }

  private schedule(): void {
    if (this.closed) return;
    const { intervalMs } = this.options;
    const now = this.clock();
    const slot = Math.floor(now / intervalMs) + 1;
    this.timer = setTimeout(
      () => {
        this.running ??= this.take(slot).finally(() => {
          this.running = undefined;
        });
        this.schedule();
      },
      slot * intervalMs - now,
    );
    this.timer.unref();
  }

  /** Runs the canary for `slot` if this instance is the first to claim it. */
  private async take(slot: number): Promise<void> {
    const { store, intervalMs, instanceId, logger } = this.options;
    try {
      if (!(await store.claim(KEYS.slot(slot), instanceId, 2 * intervalMs))) return;
    } catch (error) {
      logger.warn({ err: error, slot }, 'canary: the shared store is away; no canary this interval');
      return;
    }
    const startedAt = this.clock();
    const trace = traceRequest('CANARY', {});
    const ids: TraceIds = trace?.ids ?? {
      traceId: randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
    };
    const result = await runWithContext({ requestId: `canary-${slot}`, trace: ids }, () =>
      withRequestSpan(trace, () => this.outcomeOf(slot)),
    );
    trace?.span?.end();
    const record: CanaryRecord = {
      ...result,
      slot,
      startedAt: new Date(startedAt).toISOString(),
      traceId: ids.traceId,
      instance: instanceId,
    };
    inDeployment(this.options.deployment, () => this.report(record, ids));
    if (result.backOffSeconds !== undefined) {
      const waitMs = result.backOffSeconds * 1000;
      await store.put(KEYS.backOff, String(this.clock() + waitMs), waitMs).catch(() => undefined);
    }
    await this.records.add(record).catch((error: unknown) => {
      logger.warn({ err: error, slot }, 'canary: the run could not be kept for GET /canary');
    });
  }

  /** The run, or why there is none this interval. */
  private async outcomeOf(slot: number): Promise<CanaryResult> {
    const until = Number(await this.options.store.get(KEYS.backOff).catch(() => undefined));
    if (until > this.clock()) {
      const seconds = Math.ceil((until - this.clock()) / 1000);
      return skipped(`skipped: backing off after Genesys's 429 for ${seconds} s more`);
    }
    if (this.options.circuit.circuitOpen)
      return skipped('skipped: Genesys unavailable (the circuit to Genesys is open)');
    return runCanary(this.options.parts, canaryText(slot), `canary-${slot}`);
  }

  private report(record: CanaryRecord, ids: TraceIds): void {
    canaryRuns.inc({ outcome: record.outcome });
    for (const step of record.steps)
      if (step.outcome !== 'skipped') canaryStepSeconds.observe({ step: step.step }, step.durationMs / 1000);
    if (record.outcome === 'failed' && record.failedStep) canaryStepFailures.inc({ step: record.failedStep });
    const fields = {
      trace_id: ids.traceId,
      slot: record.slot,
      outcome: record.outcome,
      step: record.failedStep,
      reason: record.reason,
      durationMs: record.durationMs,
    };
    if (record.outcome === 'failed') this.options.logger.warn(fields, `canary failed at ${record.failedStep}`);
    else if (record.outcome === 'skipped') this.options.logger.info(fields, 'canary skipped');
    else this.options.logger.debug(fields, 'canary ok');
  }
}

function skipped(reason: string): CanaryResult {
  return {
    outcome: 'skipped',
    reason,
    durationMs: 0,
    steps: CANARY_STEPS.map((step) => ({
      step,
      outcome: 'skipped',
      durationMs: 0,
    })),
  };
}
