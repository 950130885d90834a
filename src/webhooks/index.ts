import type { Deployment } from '../config/deployment';
import type { WebhookSettings } from '../config/schema';
import type { Logger } from '../observability/logger';
import type { SharedStore } from '../store';
import { ChatEvents } from './chatEvents';
import { Courier } from './courier';
import { DeadLetters } from './deadLetters';

/**
 * Webhooks (docs/api.md#webhooks): a deployment's chat events into a durable outbox in the shared store, delivered
 * signed per Standard Webhooks, at least once, by whichever instance leases them; and the dead-letter list an
 * operator lists and replays.
 */
export { ChatEvents, type ChatEvent } from './chatEvents';
export { DeadLetters, DEAD_LETTER_PAGE, type DeadLetterView } from './deadLetters';
export { chatIdOf } from './outboxEntry';

export interface DeploymentWebhooks {
  events: ChatEvents;
  deadLetters: DeadLetters;
  /** Starts delivering (once the service listens). */
  start(): void;
  close(): void;
}

/** A deployment's webhooks on its scope of the shared store. */
export function buildWebhooks(
  deployment: Pick<Deployment, 'name' | 'webhooks'>,
  store: SharedStore,
  settings: WebhookSettings,
  logger: Logger,
  options: { now?: () => number; random?: () => number; fetch?: typeof fetch } = {},
): DeploymentWebhooks {
  const log = logger.child({ component: 'webhooks' });
  const courier = new Courier({ endpoints: deployment.webhooks, store, settings, logger: log, ...options });
  const events = new ChatEvents({
    deployment: deployment.name,
    endpoints: deployment.webhooks,
    store,
    settings,
    logger: log,
    queued: () => courier.nudge(),
    now: options.now,
  });
  return {
    events,
    deadLetters: new DeadLetters({ store, settings, logger: log, now: options.now }),
    start: () => courier.start(),
    close: () => courier.close(),
  };
}
