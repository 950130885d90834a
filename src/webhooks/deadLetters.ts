import type { WebhookSettings } from '../config/schema';
import type { Logger } from '../observability/logger';
import type { DurableQueue, SharedStore } from '../store';
import { OUTBOX } from './chatEvents';
import { disabledKey } from './courier';
import { parseEntry, type OutboxEntry } from './outboxEntry';

/** The most dead letters one listing or replay reads. */
export const DEAD_LETTER_PAGE = 1000;

/** A dead letter as the operator sees it: what it was, where it was going, why it stopped, and the body. */
export interface DeadLetterView {
  id: string;
  webhookId: string;
  type: string;
  endpoint: string;
  reason?: OutboxEntry['reason'];
  attempts: number;
  lastError?: string;
  queuedAt: string;
  event: unknown;
}

/**
 * A deployment's dead-letter list, for its operator (GET /webhooks/dead-letter and POST /webhooks/dead-letter/replay
 * on the metrics listener): what was not delivered, and a replay that queues it again with a fresh retry window and
 * enables its endpoint again (the operator says the receiver takes events now).
 */
export class DeadLetters {
  private readonly queue: DurableQueue;

  constructor(
    private readonly options: { store: SharedStore; settings: WebhookSettings; logger: Logger; now?: () => number },
  ) {
    this.queue = options.store.queue(OUTBOX);
  }

  async list(limit = DEAD_LETTER_PAGE): Promise<DeadLetterView[]> {
    const dead = await this.queue.dead(Math.min(limit, DEAD_LETTER_PAGE));
    return dead.flatMap(({ id, value }) => {
      const entry = parseEntry(value);
      if (!entry) return [];
      return [
        {
          id,
          webhookId: entry.msgId,
          type: entry.type,
          endpoint: entry.endpoint,
          reason: entry.reason,
          attempts: entry.attempts,
          lastError: entry.lastError,
          queuedAt: new Date(entry.firstAt).toISOString(),
          event: JSON.parse(entry.body) as unknown,
        },
      ];
    });
  }

  /** Queues the dead letters named by `ids` (all, when undefined) again: how many, within the outbox's ceiling. */
  async replay(ids?: readonly string[]): Promise<{ replayed: number; notFound: number }> {
    const now = (this.options.now ?? Date.now)();
    const wanted = ids && new Set(ids);
    const dead = (await this.queue.dead(DEAD_LETTER_PAGE)).filter((d) => !wanted || wanted.has(d.id));
    const revived = dead.flatMap(({ id, value }) => {
      const entry = parseEntry(value);
      if (!entry) return [];
      const fresh: OutboxEntry = { ...entry, firstAt: now, attempts: 0 };
      delete fresh.reason;
      delete fresh.lastError;
      return [{ id, value: JSON.stringify(fresh), endpoint: entry.endpoint }];
    });
    for (const endpoint of new Set(revived.map((r) => r.endpoint)))
      await this.options.store.remove(disabledKey(endpoint));
    const replayed = await this.queue.revive(revived, now, this.options.settings.outboxMax);
    this.options.logger.info({ replayed }, 'webhook dead letters replayed');
    return { replayed, notFound: wanted ? wanted.size - dead.length : 0 };
  }
}
