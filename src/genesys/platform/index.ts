import type { Config } from '../../config/schema';
import type { Logger } from '../../observability/logger';
import type { Readiness } from '../../observability/readiness';

/** Everything this service does with the Platform API and the public Messenger config. */
export interface PlatformSide {
  /** Starts the background work (token, deployment preflight); never throws. */
  start(): void;
  close(): Promise<void>;
}

export function createPlatformSide(_config: Config, _logger: Logger, _readiness: Readiness): PlatformSide {
  return { start() {}, async close() {} };
}
