/**
 * Named readiness checks (README.md#the-chat-api /readyz). Each dependency reports its
 * own state; /readyz is 503 while any check fails or the instance drains.
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
