import type { Logger } from './observability/logger';

/**
 * A promise rejected with nothing to handle it, or an exception nothing
 * caught, is a bug, and the process's state can no longer be trusted. Node
 * would print it raw on stderr, outside the JSON log and its scrubbing, and
 * cut every chat at once. Instead it is logged once as `fatal` through the
 * error serializer, and the instance stops as on SIGTERM (readiness 503,
 * in-flight requests finish) and exits 1, for the orchestrator to replace.
 */
export function stopOnProcessFailure(
  events: NodeJS.EventEmitter,
  logger: Logger,
  stop: (exitCode: number) => void,
): void {
  const fail = (kind: 'unhandledRejection' | 'uncaughtException') => (error: unknown) => {
    logger.fatal({ err: error, kind }, 'unexpected failure: the instance stops');
    stop(1);
  };
  events.on('unhandledRejection', fail('unhandledRejection'));
  events.on('uncaughtException', fail('uncaughtException'));
}
