import type { NormalizedMessage } from '../../domain/message';
import type { Logger } from '../../observability/logger';
import { GuestApiError } from './errors';
import type { RequestDesk } from './requestDesk';

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

/** How many Genesys ids of answered sends a session remembers, so a proof never claims one twice. */
const ACCOUNTED_IDS = 200;

/** A session's memory of which Genesys messages answered its sends, and its proofs for the rest. */
export class DeliveryLedger {
  private readonly accounted = new Set<string>();

  constructor(
    private readonly readNewest: ReadNewestPage | undefined,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** A Genesys message that answered one of this session's sends. */
  accountFor(messageId: string): void {
    this.accounted.add(messageId);
    if (this.accounted.size > ACCOUNTED_IDS) this.accounted.delete(this.accounted.values().next().value!);
  }

  prove(sent: SentMessage): Promise<DeliveryVerdict> {
    if (!this.readNewest) return Promise.resolve({ verdict: 'unknown', reason: 'no history reader' });
    return proveDelivery(sent, this.readNewest, this.accounted, this.logger);
  }

  /** Settles the sends whose reply was lost with the socket: delivered, not delivered, or honestly unknown. */
  async settleInDoubt(desk: RequestDesk): Promise<void> {
    const inDoubt = [...desk.pending.values()].filter((p) => p.inDoubt);
    await Promise.all(
      inDoubt.map(async (p) => {
        const proof = await this.prove({ messageId: p.messageId ?? '', text: p.text, sentAt: p.writtenAt ?? this.now() });
        if (proof.verdict === 'delivered') {
          this.accountFor(proof.message.id);
          desk.settle(p, { value: proof.message });
        } else if (proof.verdict === 'not_delivered') {
          desk.settle(p, new GuestApiError('connection_lost', 'The connection to Genesys dropped while sending; the message was not delivered. It is safe to send it again.'));
        } else {
          desk.settle(
            p,
            new GuestApiError(
              'connection_lost',
              'The connection to Genesys dropped while sending and delivery could not be checked; it may have been delivered. Retry with the same Idempotency-Key: a delivered message is never sent twice.',
            ),
          );
        }
      }),
    );
  }
}
