import { PerMinute } from './profile';
import type { ResolvedOptions } from './options';

/**
 * Genesys's per-action limits, which the strict profile enforces (docs/genesys-protocol.md#limits-and-timing):
 * `echo` 2 a minute per connection (the SDK sends at most one per 30 s, `HEALTH_CHECK_COOL_DOWN_MILLISECONDS` in
 * core/events/HealthCheckProvider.kt) and `configureSession` 60 a minute per session. The excess gets an untraced
 * TooManyRequestsErrorMessage, as the per-connection budget's does.
 */
export class ActionLimits {
  private readonly echoes: PerMinute;
  private readonly configures: PerMinute;

  constructor(options: ResolvedOptions) {
    const limit = (n: () => number) => new PerMinute(Infinity, options.clock, n);
    this.echoes = limit(() => options.echoesPerConnectionPerMinute);
    this.configures = limit(() => options.configuresPerSessionPerMinute);
  }

  /** Seconds to wait when this frame is over its action's limit, else 0 (and the frame is counted). */
  take(action: string, connectionId: number, sessionToken: string | undefined): number {
    if (action === 'echo') return this.echoes.take(String(connectionId));
    if (action === 'configureSession' && sessionToken !== undefined) return this.configures.take(sessionToken);
    return 0;
  }

  reset(): void {
    this.echoes.reset();
    this.configures.reset();
  }
}
