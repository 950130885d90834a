import type { Logger } from './logger';

/**
 * Named readiness checks for /readyz. Each dependency reports its own state;
 * /readyz is 503 while any check fails or the instance drains.
 */
export interface CheckState {
  ok: boolean;
  detail: string;
  [extra: string]: unknown;
}

export class Readiness {
  private readonly checks = new Map<string, CheckState>();
  private drainingSince?: number;

  set(name: string, state: CheckState): void {
    this.checks.set(name, state);
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  report(): { ready: boolean; checks: Record<string, CheckState> } {
    const checks: Record<string, CheckState> = {};
    for (const [name, state] of this.checks) checks[name] = state;
    checks.draining = this.draining
      ? { ok: false, detail: 'The instance is shutting down; new requests go to other instances.' }
      : { ok: true, detail: 'Accepting requests.' };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
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
