import type { Logger } from './logger';

/**
 * Named readiness checks for /readyz. Readiness is about this instance
 * (docs/operations.md, "Readiness and outages"): its configuration, whether
 * it drains, its own event loop. The dependencies every instance shares
 * (Redis, Genesys) hold an instance back only until each has answered once
 * since it started, so that a new instance that cannot reach them (a wrong
 * origin, a wrong REDIS_URL) takes no traffic and a rollout stops; once it
 * has served, an outage of a shared dependency is reported (`degraded`) but
 * leaves the instance in rotation. Taking every instance out at once for an
 * outage they all share would close every live stream and help nobody: the
 * requests that need the missing dependency answer 503 with Retry-After
 * anyway, and the rest (streams, history from Genesys while Redis is away)
 * go on.
 */
export interface CheckState {
  ok: boolean;
  detail: string;
  [extra: string]: unknown;
}

/** Checks of dependencies every instance shares: an outage of one after start-up does not make the instance unready. */
export const SHARED_DEPENDENCIES: ReadonlySet<string> = new Set([
  'redis',
  'guestApi',
  'token',
  'deployment',
  'messengerConfig',
]);

export type ReadinessStatus = 'ready' | 'degraded' | 'not_ready';

export class Readiness {
  private readonly checks = new Map<string, CheckState>();
  /** Shared dependencies that have answered at least once since start. */
  private readonly warmedUp = new Set<string>();
  private drainingSince?: number;

  set(name: string, state: CheckState): void {
    this.checks.set(name, state);
    if (state.ok) this.warmedUp.add(name);
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /**
   * `ready` decides the HTTP status; `status` says more: `degraded` when the
   * instance is ready but a shared dependency is down (its check has
   * `ok: false` and `affectsReadiness: false`).
   */
  report(): { ready: boolean; status: ReadinessStatus; checks: Record<string, CheckState> } {
    const checks: Record<string, CheckState> = {};
    let ready = true;
    let degraded = false;
    for (const [name, state] of this.checks) {
      const outage = !state.ok && SHARED_DEPENDENCIES.has(checkOf(name)) && this.warmedUp.has(name);
      checks[name] = outage ? { ...state, affectsReadiness: false } : state;
      if (outage) degraded = true;
      else if (!state.ok) ready = false;
    }
    checks.draining = this.draining
      ? { ok: false, detail: 'The instance is shutting down; new requests go to other instances.' }
      : { ok: true, detail: 'Accepting requests.' };
    if (this.draining) ready = false;
    return { ready, status: !ready ? 'not_ready' : degraded ? 'degraded' : 'ready', checks };
  }
}

/** A check's own name: `guestApi` of `brand-a/guestApi`. */
const checkOf = (name: string) => name.slice(name.indexOf('/') + 1);

/**
 * The checks of one deployment among several (src/deployments/), kept in the instance's readiness as `name/check`:
 * /readyz lists each deployment's Redis and Genesys, and one deployment's Genesys outage degrades only its check.
 */
export class DeploymentReadiness extends Readiness {
  constructor(
    private readonly instance: Readiness,
    private readonly deployment: string,
  ) {
    super();
  }

  override set(name: string, state: CheckState): void {
    this.instance.set(`${this.deployment}/${name}`, state);
  }

  override startDraining(): void {
    this.instance.startDraining();
  }

  override get draining(): boolean {
    return this.instance.draining;
  }

  override report() {
    return this.instance.report();
  }
}

/**
 * The `eventLoop` check: this instance's own event loop keeps up. A loop
 * late by more than `maxLagMs` at each of `sustained` samples in a row
 * (one every `intervalMs`) makes the instance unready, so the proxy sends its
 * sessions elsewhere instead of every request of theirs waiting. One long
 * task (a burst of work, a garbage collection) is one late sample, not
 * overload, and does not count.
 */
export class EventLoopCheck {
  private readonly timer: NodeJS.Timeout;
  private readonly samples: number[] = [];
  private expected: number;

  constructor(
    private readonly readiness: Readiness,
    private readonly maxLagMs = 2000,
    private readonly intervalMs = 500,
    private readonly sustained = 3,
  ) {
    this.expected = Date.now() + intervalMs;
    readiness.set('eventLoop', { ok: true, detail: 'The event loop keeps up.', lagMs: 0 });
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const now = Date.now();
    this.samples.push(Math.max(0, now - this.expected));
    if (this.samples.length > this.sustained) this.samples.shift();
    this.expected = now + this.intervalMs;
    const least = Math.min(...this.samples);
    this.readiness.set(
      'eventLoop',
      this.samples.length === this.sustained && least > this.maxLagMs
        ? {
            ok: false,
            detail:
              `The event loop has been late by more than ${this.maxLagMs} ms (at least ${least} ms) ` +
              `${this.sustained} times in a row: this instance cannot keep up.`,
            lagMs: least,
          }
        : { ok: true, detail: 'The event loop keeps up.', lagMs: this.samples[this.samples.length - 1]! },
    );
  }

  close(): void {
    clearInterval(this.timer);
  }
}

type LogLevel = 'debug' | 'info' | 'warn' | 'error';

interface DependencyStateOptions<S extends CheckState> {
  /** The state before the first check has answered; reported at once, not logged. */
  initial: NoInfer<S>;
  logger: Logger;
  /** Fields every log line of this dependency carries (the URL it checks, say). */
  logFields?: Record<string, unknown>;
  /** Told every state, changed or not (typically `readiness.set`). */
  onState?: (state: S) => void;
}

/**
 * One dependency's current readiness state. A change (of `ok` or of the
 * detail) is logged once, the detail as the message and the state's other
 * fields alongside: at warn when the state is bad, info when it is good,
 * unless the caller names the level (error for what the operator must fix).
 * A check that keeps finding the same problem is not news.
 */
export class DependencyState<S extends CheckState = CheckState> {
  private state: S;

  constructor(private readonly options: DependencyStateOptions<S>) {
    this.state = options.initial;
    options.onState?.(options.initial);
  }

  get current(): S {
    return this.state;
  }

  set(state: S, log: { level?: LogLevel; fields?: Record<string, unknown> } = {}): void {
    const changed = state.ok !== this.state.ok || state.detail !== this.state.detail;
    this.state = state;
    if (changed) {
      const { ok: _ok, detail, ...extra } = state;
      const fields: Record<string, unknown> = { ...this.options.logFields, ...extra, ...log.fields };
      this.options.logger[log.level ?? (state.ok ? 'info' : 'warn')](fields, detail);
    }
    this.options.onState?.(state);
  }
}
