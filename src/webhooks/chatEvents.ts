import type { WebhookEndpoint } from '../config/deployment';
import type { WebhookSettings } from '../config/schema';
import type { WebhookBody, WebhookEventType } from '../domain/webhookEvent';
import type { Logger } from '../observability/logger';
import { webhookEvents } from '../observability/metrics';
import type { DurableQueue, SharedStore } from '../store';
import { chatIdOf, endpointKey, entryId, messageIdOf, type OutboxEntry } from './outboxEntry';

/** One chat event as the service sees it happen. */
export interface ChatEvent {
  type: WebhookEventType;
  /** The Genesys guest token of the chat (never sent: the chat's id is derived from it). */
  guestToken: string;
  /**
   * What makes it this event and no other, the same wherever it is seen (Genesys's id for a message, the chat for
   * its start and end): the outbox queues one event per key.
   */
  key: string;
  data: Record<string, unknown>;
  /** When it happened (epoch ms); default now. */
  at?: number;
}

/** The outbox's name in the shared store (in the deployment's scope). */
export const OUTBOX = 'webhooks:outbox';
/** How long a chat's sequence counts on: Genesys's longest session lifetime, and a day. */
const SEQUENCE_TTL_MS = 96 * 3600_000;
/** How long an event waits in this instance's memory for a shared store that does not answer (a Redis restart). */
const STORE_PATIENCE_MS = 60_000;
/** The wait between two tries to queue it, at first and at most. */
const STORE_RETRY_MS = [200, 5_000] as const;

/**
 * A deployment's chat events, into its webhook outbox (docs/api.md#webhooks): each event is numbered in its chat's
 * sequence, written once per endpoint that wants it, and queued once however many instances or tabs saw it (the
 * outbox's once key is the event's `webhook-id`). An event is dropped, logged and counted when the outbox is full
 * or the shared store cannot take it: a chat never waits for its webhooks.
 */
export class ChatEvents {
  private readonly queue: DurableQueue;
  /** Each chat's events on this instance, in the order they happened: numbered and queued one after another. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Events told and not yet queued or dropped: at most the outbox's ceiling wait here for the store. */
  private waiting = 0;

  constructor(
    private readonly options: {
      deployment: string;
      endpoints: readonly WebhookEndpoint[];
      store: SharedStore;
      settings: WebhookSettings;
      logger: Logger;
      /** Told when something was queued, so deliveries start at once. */
      queued?: () => void;
      now?: () => number;
    },
  ) {
    this.queue = options.store.queue(OUTBOX);
  }

  /** Whether any endpoint wants events of `type`. */
  wants(type: WebhookEventType): boolean {
    return this.options.endpoints.some((e) => !e.events || e.events.includes(type));
  }

  /** Queues `event` behind the chat's earlier ones; resolves once it is queued or dropped, never rejects. */
  publish(event: ChatEvent): Promise<void> {
    if (!this.wants(event.type)) return Promise.resolve();
    const chat = chatIdOf(event.guestToken);
    const at = event.at ?? (this.options.now ?? Date.now)();
    const msgId = messageIdOf(this.options.deployment, `${event.type}\n${chat}\n${event.key}`);
    if (this.waiting >= this.options.settings.outboxMax) {
      webhookEvents.inc({ outcome: 'store_failed' });
      this.options.logger.error(
        { webhookId: msgId, webhookEvent: event.type, waiting: this.waiting },
        'webhook event dropped: as many wait for the shared store as the outbox may hold (WEBHOOK_OUTBOX_MAX)',
      );
      return Promise.resolve();
    }
    this.waiting++;
    const next = (this.chains.get(chat) ?? Promise.resolve())
      .then(() => this.queuePatiently(chat, msgId, event, at))
      .finally(() => this.waiting--);
    this.chains.set(chat, next);
    void next.then(() => {
      if (this.chains.get(chat) === next) this.chains.delete(chat);
    });
    return next;
  }

  /**
   * Queues the event, trying again while the shared store does not answer (a Redis restart takes seconds), for at
   * most STORE_PATIENCE_MS: then it is dropped, logged and counted. The chat's later events wait behind it, in order.
   */
  private async queuePatiently(chat: string, msgId: string, event: ChatEvent, at: number): Promise<void> {
    const now = this.options.now ?? Date.now;
    const giveUpAt = now() + STORE_PATIENCE_MS;
    for (let attempt = 0; ; attempt++) {
      const failure = await this.queueNow(chat, msgId, event, at);
      if (failure === undefined) return;
      const wait = Math.min(STORE_RETRY_MS[1], STORE_RETRY_MS[0] * 2 ** attempt);
      if (now() + wait > giveUpAt) {
        webhookEvents.inc({ outcome: 'store_failed' });
        this.options.logger.error(
          { webhookId: msgId, webhookEvent: event.type, storeError: failure },
          `webhook event could not be queued for ${STORE_PATIENCE_MS / 1000} s (shared store unavailable): dropped`,
        );
        return;
      }
      if (attempt === 0)
        this.options.logger.warn(
          { webhookId: msgId, webhookEvent: event.type, storeError: failure },
          'webhook event waits for the shared store',
        );
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
    }
  }

  /** Queues the event once; what went wrong with the store, or undefined when it was settled. */
  private async queueNow(chat: string, msgId: string, event: ChatEvent, at: number): Promise<string | undefined> {
    const { deployment, store, settings, logger } = this.options;
    const log = { webhookId: msgId, webhookEvent: event.type };
    try {
      // Numbered first: a number an event that turns out a duplicate took is skipped, never given twice.
      const sequence = await store.increment(`webhooks:sequence:${chat}`, SEQUENCE_TTL_MS);
      const body: WebhookBody = {
        type: event.type,
        timestamp: new Date(at).toISOString(),
        deployment,
        chat: { id: chat, sequence },
        data: event.data,
      };
      const text = JSON.stringify(body);
      const now = (this.options.now ?? Date.now)();
      const entries = this.options.endpoints
        .filter((e) => !e.events || e.events.includes(event.type))
        .map((e) => {
          const endpoint = endpointKey(e);
          const entry: OutboxEntry = { endpoint, msgId, body: text, type: event.type, firstAt: now, attempts: 0 };
          return { id: entryId(msgId, endpoint), value: JSON.stringify(entry) };
        });
      const outcome = await this.queue.add(entries, {
        dueAt: now,
        max: settings.outboxMax,
        onceKey: msgId,
        onceMs: settings.retryMs + SEQUENCE_TTL_MS,
      });
      if (outcome === 'added') {
        webhookEvents.inc({ outcome: 'queued' });
        logger.debug(log, 'webhook event queued');
        this.options.queued?.();
      } else if (outcome === 'duplicate') {
        webhookEvents.inc({ outcome: 'duplicate' });
      } else {
        webhookEvents.inc({ outcome: 'outbox_full' });
        logger.error(
          { ...log, outboxMax: settings.outboxMax },
          'webhook outbox is full (WEBHOOK_OUTBOX_MAX): event dropped; is the endpoint down?',
        );
      }
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}
