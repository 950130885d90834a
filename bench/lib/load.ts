/**
 * Load shapes and latency figures.
 *
 * - closedLoop: `concurrency` workers, each starting its next operation as
 *   soon as the last one finished: the throughput at saturation.
 * - openLoop: operations start on a fixed schedule whatever happens to the
 *   earlier ones, and latency counts from the scheduled instant, so a stall
 *   is measured rather than hidden (no coordinated omission).
 *
 * An operation resolves with an outcome label: 'ok' or an error label
 * (an HTTP status, 'timeout', ...). Only 'ok' operations give a latency.
 */

export type Outcome = 'ok' | string;
export type Op = () => Promise<Outcome>;

export interface LoadResult {
  ok: number;
  errors: Record<string, number>;
  elapsedMs: number;
  /** ok operations per second. */
  throughput: number;
  latency: LatencySummary;
  /** Open loop only: operations not started because too many were outstanding. */
  skipped?: number;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) return { n: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1]!,
    mean: sum / sorted.length,
  };
}

const nowMs = () => performance.now();

async function timed(op: Op, from: number, latencies: number[], errors: Record<string, number>): Promise<boolean> {
  let outcome: Outcome;
  try {
    outcome = await op();
  } catch (error) {
    outcome = error instanceof Error ? (error.message.startsWith('timeout') ? 'timeout' : 'error') : 'error';
  }
  if (outcome === 'ok') {
    latencies.push(nowMs() - from);
    return true;
  }
  errors[outcome] = (errors[outcome] ?? 0) + 1;
  return false;
}

export async function closedLoop(p: {
  concurrency: number;
  durationMs: number;
  op: Op;
  maxOps?: number;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const started = nowMs();
  const until = started + p.durationMs;
  let issued = 0;
  let ok = 0;
  const worker = async () => {
    while (nowMs() < until && (p.maxOps === undefined || issued < p.maxOps)) {
      issued++;
      if (await timed(p.op, nowMs(), latencies, errors)) ok++;
    }
  };
  await Promise.all(Array.from({ length: p.concurrency }, worker));
  const elapsedMs = nowMs() - started;
  return { ok, errors, elapsedMs, throughput: (ok / elapsedMs) * 1000, latency: summarize(latencies) };
}

export async function openLoop(p: {
  rate: number;
  durationMs: number;
  op: Op;
  maxOutstanding?: number;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const maxOutstanding = p.maxOutstanding ?? 5000;
  const started = nowMs();
  const total = Math.floor((p.rate * p.durationMs) / 1000);
  let next = 0;
  let outstanding = 0;
  let skipped = 0;
  let ok = 0;
  const inflight = new Set<Promise<void>>();
  while (next < total) {
    const due = Math.min(total, Math.floor(((nowMs() - started) * p.rate) / 1000) + 1);
    while (next < due) {
      const intended = started + (next * 1000) / p.rate;
      next++;
      if (outstanding >= maxOutstanding) {
        skipped++;
        continue;
      }
      outstanding++;
      const run: Promise<void> = timed(p.op, intended, latencies, errors).then((good) => {
        if (good) ok++;
        outstanding--;
        inflight.delete(run);
      });
      inflight.add(run);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all([...inflight]);
  const elapsedMs = nowMs() - started;
  return { ok, errors, elapsedMs, throughput: (ok / elapsedMs) * 1000, latency: summarize(latencies), skipped };
}

/** Round-robin over sessions, never using one session more often than every `spacingMs`. */
export class SessionPicker<T> {
  private cursor = 0;
  private readonly nextAt: Float64Array;

  constructor(
    readonly items: T[],
    private readonly spacingMs: number,
  ) {
    this.nextAt = new Float64Array(items.length);
  }

  /** The next session allowed now, or undefined when every one was used too recently. */
  take(): T | undefined {
    const now = nowMs();
    for (let scanned = 0; scanned < this.items.length; scanned++) {
      const i = this.cursor;
      this.cursor = (this.cursor + 1) % this.items.length;
      if (this.nextAt[i]! <= now) {
        this.nextAt[i] = now + this.spacingMs;
        return this.items[i];
      }
    }
    return undefined;
  }

  /** Waits (1 ms steps) until a session is allowed. */
  async next(): Promise<T> {
    for (;;) {
      const item = this.take();
      if (item !== undefined) return item;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

/** Runs `fn` over items with at most `concurrency` at a time. */
export async function pool<T, R>(
  items: T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
