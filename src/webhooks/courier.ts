import { Webhook } from 'standardwebhooks';
import type { WebhookEndpoint } from '../config/deployment';
import type { WebhookSettings } from '../config/schema';
import type { Logger } from '../observability/logger';
import { webhookDeadLetters, webhookDeliveries, webhookOutboxDepth } from '../observability/metrics';
import { OutboxPump, type DurableQueue, type QueuedEntry, type SharedStore } from '../store';
import { OUTBOX } from './chatEvents';
import { endpointKey, parseEntry, type OutboxEntry } from './outboxEntry';

/** The longest wait between two retries, however many came before. */
const MAX_BACKOFF_MS = 3600_000;
/** How long a disabled endpoint stays disabled unless an operator replays its dead letters. */
const DISABLED_TTL_MS = 30 * 24 * 3600_000;
/** How long dead letters are kept. */
const DEAD_LETTER_KEEP_MS = 30 * 24 * 3600_000;
/** How often the outbox is looked at when nothing nudges it, at most. */
const POLL_MS = 1000;

export const disabledKey = (endpoint: string) => `webhooks:disabled:${endpoint}`;

/** A delivery's result: the status, or why there is none. */
type Attempt = { status: number } | { error: string };

export interface CourierOptions {
  endpoints: readonly WebhookEndpoint[];
  store: SharedStore;
  settings: WebhookSettings;
  logger: Logger;
  now?: () => number;
  /** Where a retry falls in its window, 0 to 1 (full jitter); Math.random by default. */
  random?: () => number;
  /** Posts a signed delivery; global fetch by default. */
  fetch?: typeof fetch;
}

/**
 * Delivers a deployment's webhook outbox (docs/api.md#webhooks), at least once, by an OutboxPump: each round leases the
 * entries that are due (a lease keeps other instances off them while this one tries; one that dies mid-delivery leaves
 * them to come due again), signs each per Standard Webhooks with its endpoint's secret and posts it within
 * WEBHOOK_TIMEOUT_MS, at most WEBHOOK_CONCURRENCY at once. A 2xx removes it; a `410` disables the endpoint (until an
 * operator replays its dead letters); anything else is retried after an exponential backoff with full jitter, until
 * WEBHOOK_RETRY_HOURS have passed since it was queued: then it is a dead letter. Every outcome is counted and logged.
 */
export class Courier {
  private readonly queue: DurableQueue;
  private readonly byKey: Map<string, WebhookEndpoint & { signer: Webhook }>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly post: typeof fetch;
  private readonly pump: OutboxPump;

  constructor(private readonly options: CourierOptions) {
    this.queue = options.store.queue(OUTBOX);
    this.byKey = new Map(options.endpoints.map((e) => [endpointKey(e), { ...e, signer: new Webhook(e.secret) }]));
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.post = options.fetch ?? fetch;
    const { logger, settings } = options;
    const storeError = (error: unknown) => ({ storeError: error instanceof Error ? error.message : String(error) });
    this.pump = new OutboxPump({
      queue: this.queue,
      atOnce: settings.concurrency,
      // Longer than a delivery and the writes after it, so an instance alive never loses its lease mid-delivery.
      leaseMs: 2 * settings.timeoutMs + 5000,
      pollMs: Math.min(POLL_MS, settings.firstRetryMs),
      now: this.now,
      deliver: (entry) => this.deliver(entry),
      // The store failed mid-way: the lease runs out and the entry comes due again (perhaps delivered twice).
      onDeliveryError: (error) =>
        logger.warn(storeError(error), 'webhook delivery could not be recorded; it will be tried again'),
      afterRound: async () => {
        const depth = await this.queue.depth();
        webhookOutboxDepth.set(depth.queued);
        webhookDeadLetters.set(depth.dead);
      },
      onStoreDown: (error) =>
        logger.warn(
          storeError(error),
          'webhook outbox unreadable (shared store unavailable); deliveries wait until it is back',
        ),
      onStoreBack: () => logger.info('webhook outbox readable again'),
      polling: () => this.byKey.size > 0,
    });
  }

  /**
   * Starts the rounds. Without endpoints (all removed by a reload) one round still runs: what waits for an endpoint
   * that is gone moves to the dead-letter list, for the operator to see, rather than waiting for ever.
   */
  start(): void {
    this.pump.start();
  }

  /** Something was queued: deliver now rather than at the next poll. */
  nudge(): void {
    if (this.byKey.size > 0) this.pump.nudge();
  }

  close(): void {
    this.pump.close();
  }

  private async deliver(queued: QueuedEntry): Promise<void> {
    const entry = parseEntry(queued.value);
    if (!entry) {
      // Not ours to read (written by another version): leaving it would hold the outbox for ever.
      return this.queue.remove(queued.id);
    }
    const endpoint = this.byKey.get(entry.endpoint);
    if (!endpoint) return this.bury(queued.id, entry, 'endpoint_removed');
    if (await this.options.store.get(disabledKey(entry.endpoint)))
      return this.bury(queued.id, entry, 'endpoint_disabled');
    const attempt = await this.attempt(endpoint, entry);
    await this.settle(queued.id, entry, attempt);
  }

  private async attempt(endpoint: WebhookEndpoint & { signer: Webhook }, entry: OutboxEntry): Promise<Attempt> {
    const at = new Date(this.now());
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'genesys-messaging-bff-webhooks',
      'webhook-id': entry.msgId,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': endpoint.signer.sign(entry.msgId, at, entry.body),
    };
    try {
      const res = await this.post(endpoint.url, {
        method: 'POST',
        headers,
        body: entry.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.settings.timeoutMs),
      });
      // The answer's body is not read beyond what arrives: a receiver's page is no concern of ours.
      await res.body?.cancel().catch(() => undefined);
      return { status: res.status };
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      return { error: e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.name ?? 'network error') };
    }
  }

  private async settle(id: string, entry: OutboxEntry, attempt: Attempt): Promise<void> {
    const { logger, settings } = this.options;
    const log = { webhookId: entry.msgId, webhookEvent: entry.type, endpoint: entry.endpoint };
    if ('status' in attempt && attempt.status >= 200 && attempt.status < 300) {
      await this.queue.remove(id);
      webhookDeliveries.inc({ outcome: 'delivered' });
      logger.debug({ ...log, status: attempt.status, attempts: entry.attempts + 1 }, 'webhook delivered');
      return;
    }
    if ('status' in attempt && attempt.status === 410) {
      await this.options.store.put(disabledKey(entry.endpoint), String(this.now()), DISABLED_TTL_MS);
      webhookDeliveries.inc({ outcome: 'disabled' });
      logger.error(
        log,
        'webhook endpoint answered 410 Gone: it is disabled, and its events go to the dead-letter list ' +
          '(replay them once it takes events again)',
      );
      return this.bury(id, { ...entry, attempts: entry.attempts + 1, lastError: 'status 410' }, 'endpoint_disabled');
    }
    const lastError = 'status' in attempt ? `status ${attempt.status}` : attempt.error;
    const failed = { ...entry, attempts: entry.attempts + 1, lastError };
    webhookDeliveries.inc({ outcome: 'failed' });
    const now = this.now();
    if (now - entry.firstAt >= settings.retryMs) return this.bury(id, failed, 'retry_window');
    const ceiling = Math.min(MAX_BACKOFF_MS, settings.firstRetryMs * 2 ** Math.min(entry.attempts, 30));
    const dueAt = Math.min(now + Math.floor(this.random() * ceiling), entry.firstAt + settings.retryMs);
    await this.queue.retry({ id, value: JSON.stringify(failed) }, dueAt);
    logger.warn({ ...log, lastError, attempts: failed.attempts, retryInMs: dueAt - now }, 'webhook delivery failed');
  }

  private async bury(id: string, entry: OutboxEntry, reason: NonNullable<OutboxEntry['reason']>): Promise<void> {
    const dropped = await this.queue.bury({ id, value: JSON.stringify({ ...entry, reason }) }, this.now(), {
      max: this.options.settings.outboxMax,
      keepMs: DEAD_LETTER_KEEP_MS,
    });
    webhookDeliveries.inc({ outcome: 'dead_lettered' });
    this.options.logger.error(
      {
        webhookId: entry.msgId,
        webhookEvent: entry.type,
        endpoint: entry.endpoint,
        reason,
        lastError: entry.lastError,
      },
      'webhook event moved to the dead-letter list',
    );
    if (dropped > 0)
      this.options.logger.error({ dropped }, 'dead-letter list full or old: its oldest dead letters were dropped');
  }
}
