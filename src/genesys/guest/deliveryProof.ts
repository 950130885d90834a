import type { NormalizedMessage } from '../../domain/message';
import type { Logger } from '../../observability/logger';

/**
 * Was a guest message whose confirmation was lost delivered after all?
 *
 * Two independent checks on the newest history page. The first looks for
 * our own id (`message.metadata.id`) coming back as `channel.messageId`; no
 * Genesys source confirms that mapping
 * (docs/genesys-protocol.md#unverified-points), so the second does not rely
 * on it: an inbound message with the same text or answer, at or after the
 * send, that no other send of this session already accounts for. The
 * answer is "not delivered" only when both checks find nothing.
 */
export interface SentMessage {
  messageId: string;
  /** What the guest sent: the text, or the answer's text and payload. */
  text?: string;
  payload?: string;
  /** When the send was first written (epoch ms). */
  sentAt: number;
}

export type DeliveryVerdict =
  | { verdict: 'delivered'; message: NormalizedMessage }
  | { verdict: 'not_delivered' }
  | { verdict: 'unknown'; reason: string };

/** Genesys stamps messages with its own clock; allow for the two clocks to differ a little. */
const CLOCK_SKEW_MS = 5_000;
export const PROOF_PAGE_SIZE = 50;

export type ReadNewestPage = () => Promise<NormalizedMessage[]>;

export async function proveDelivery(
  sent: SentMessage,
  readNewest: ReadNewestPage,
  accounted: ReadonlySet<string>,
  logger: Logger,
): Promise<DeliveryVerdict> {
  let messages: NormalizedMessage[];
  try {
    messages = await readNewest();
  } catch (error) {
    logger.warn({ err: error }, 'could not read history to check a message in doubt');
    return { verdict: 'unknown', reason: 'history could not be read' };
  }
  const inbound = messages.filter((m) => m.direction === 'inbound' && m.type !== 'event');
  const byId = inbound.find((m) => m.clientMessageId === sent.messageId);
  if (byId) return { verdict: 'delivered', message: byId };
  const since = sent.sentAt - CLOCK_SKEW_MS;
  const byContent = inbound.find((m) => !accounted.has(m.id) && Date.parse(m.time) >= since && sameContent(m, sent));
  if (byContent) {
    logger.info({ messageId: sent.messageId }, 'message in doubt found in history by its content, not by its id');
    return { verdict: 'delivered', message: byContent };
  }
  return { verdict: 'not_delivered' };
}

function sameContent(m: NormalizedMessage, sent: SentMessage): boolean {
  if (sent.payload !== undefined) return m.buttonResponse?.payload === sent.payload && (m.buttonResponse?.text ?? m.text) === sent.text;
  return sent.text !== undefined && m.text === sent.text;
}
