/**
 * What a deployment's webhooks receive (docs/api.md#webhooks): one JSON body per event, signed per the Standard
 * Webhooks specification.
 */

export const WEBHOOK_EVENT_TYPES = [
  'chat.started',
  'chat.ended',
  'message.sent',
  'message.received',
  'agent.joined',
  'agent.left',
  'attachment.uploaded',
  'customer.signed_in',
  'receipt.failed',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Who ended a chat: the customer, the agent (the conversation disconnected), or Genesys (the session expired). */
export type ChatEndedBy = 'guest' | 'agent' | 'expiry';

/** The body a receiver gets. */
export interface WebhookBody {
  type: WebhookEventType;
  /** When the event happened, ISO 8601. */
  timestamp: string;
  /** The deployment's name. */
  deployment: string;
  /** `id`: stable for the chat, opaque, never a credential; `sequence`: increases with each event of the chat. */
  chat: { id: string; sequence: number };
  data: Record<string, unknown>;
}
