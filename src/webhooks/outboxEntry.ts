import { createHash, createHmac } from 'node:crypto';
import type { WebhookEndpoint } from '../config/deployment';

/**
 * What the outbox holds for one event and one endpoint (a string in the shared store), and the ids that make an
 * event the same event wherever it is seen.
 */
export interface OutboxEntry {
  /** The endpoint's key (endpointKey): its URL hashed, so the secret and URL stay in the configuration. */
  endpoint: string;
  /** `webhook-id`: the same for every attempt, every endpoint and every instance that saw the event. */
  msgId: string;
  /** The body, exactly as signed and sent each time. */
  body: string;
  /** The event's type, for the logs and the dead-letter list. */
  type: string;
  /** When the event was queued (or replayed): the retry window runs from here. */
  firstAt: number;
  /** Failed attempts so far. */
  attempts: number;
  /** The last failure, as a short phrase (a status, `timeout`, `connection refused`), never a body. */
  lastError?: string;
  /** Why it is a dead letter. */
  reason?: 'retry_window' | 'endpoint_disabled' | 'endpoint_removed';
}

export const entryId = (msgId: string, endpoint: string) => `${msgId}.${endpoint}`;

export function endpointKey(endpoint: Pick<WebhookEndpoint, 'url'>): string {
  return createHash('sha256').update(endpoint.url).digest('base64url').slice(0, 16);
}

/**
 * A chat's webhook id: a keyed hash of its Genesys guest token, so it is stable for the chat, tells nothing of the
 * token (a credential for the chat) and matches no other id the service hands out (routing keys, store keys).
 */
export function chatIdOf(guestToken: string): string {
  const mac = createHmac('sha256', 'genesys-bff webhook chat id').update(guestToken).digest('base64url');
  return `chat_${mac.slice(0, 27)}`;
}

/**
 * The event's `webhook-id`, from what makes it this event (its type, its chat and Genesys's id for what happened):
 * every instance and tab that sees it derives the same one, so the outbox queues it once and a receiver that has
 * seen it drops it.
 */
export function messageIdOf(deployment: string, key: string): string {
  return `msg_${createHash('sha256').update(`${deployment}\n${key}`).digest('base64url').slice(0, 27)}`;
}

export function parseEntry(value: string): OutboxEntry | undefined {
  try {
    const entry = JSON.parse(value) as OutboxEntry;
    return typeof entry.msgId === 'string' && typeof entry.body === 'string' ? entry : undefined;
  } catch {
    return undefined;
  }
}
