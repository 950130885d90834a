import type { NormalizedMessage } from '../../../domain/message';
import type { Logger } from '../../../observability/logger';
import { sendsInDoubt } from '../../../observability/metrics';
import { GuestApiError } from '../protocol';
import type { EchoLedger } from './inboundDispatch';
import type { RequestDesk } from './requestDesk';

/**
 * Was a guest message whose confirmation was lost delivered after all?
 *
 * Two independent checks on the newest history page. The first looks for
 * our own id (`message.metadata.id`) coming back as `channel.messageId`; no
 * Genesys source confirms that mapping
 * (docs/genesys-protocol.md#unverified-points), so the second does not rely
 * on it: an inbound message with the same text or answer, at or after the
 * send (less CLOCK_SKEW_MS), that no other send of this session already accounts for. The
 * answer is "not delivered" only when both checks find nothing.
 */
export interface SentMessage {
  messageId: string;
  /** What the guest sent: the text, or the answer's text and payload. */
  text?: string;
  payload?: string;
  /** When the send was first written (epoch ms). */
  sentAt: number;
  /**
   * Until when (epoch ms) the message's absence from history proves nothing:
   * Genesys may not have indexed it yet after a send it was slow to confirm.
   */
  visibleBy?: number;
}

/**
 * `unknown`: history could not be read (or the session has no reader), or it
 * may not show the message yet. Either way the send is never re-sent blindly.
 * `retryAfterSeconds`: Genesys refused the read over the session's history
 * limit, and said when one will be taken again (a retry sooner proves nothing).
 */
export type DeliveryVerdict =
  | { verdict: 'delivered'; message: NormalizedMessage }
  | { verdict: 'not_delivered' }
  | { verdict: 'unknown'; retryAfterSeconds?: number };

/**
 * Genesys stamps messages with its own clock, which may run behind this instance's: a message stamped up to this
 * long before the send still proves it by its content. One stamped earlier is taken for an earlier message.
 */
export const CLOCK_SKEW_MS = 5_000;

export type ReadNewestPage = () => Promise<NormalizedMessage[]>;

/** What one history page says about one send. */
function verdictFrom(
  sent: SentMessage,
  messages: NormalizedMessage[],
  accounted: ReadonlySet<string>,
  logger: Logger,
): DeliveryVerdict {
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
  if (sent.payload === undefined) return sent.text !== undefined && m.text === sent.text;
  const answer = m.buttonResponse;
  return answer?.payload === sent.payload && (answer.text ?? m.text) === sent.text;
}

/** How many Genesys ids of answered sends a session remembers, so a proof never claims one twice. */
const ACCOUNTED_IDS = 200;

/**
 * A session's memory of which Genesys messages answered its sends, and its
 * proofs for the rest. Every verdict of "delivered" is accounted for at once,
 * so no two sends (proved together or one after another) claim the same message.
 */
export class DeliveryLedger implements EchoLedger {
  private readonly accounted = new Set<string>();
  /**
   * The Genesys message that answered each of this session's sends, by our id: its echo (on time or after the
   * send had given up) or a proof's verdict. The proof for that send's retry: the message is accounted for, so
   * history alone would not count it.
   */
  private readonly answeredLate = new Map<string, NormalizedMessage>();
  /**
   * The one history read under way for this session's proofs, numbered in the order reads started. A proof
   * shares a read that started after the proof was asked, so the retries of many sends in doubt (after an
   * outage, each retried by its client) spend at most two of the session's ten reads a minute, not one each,
   * and leave the rest for the streams' catch-up.
   */
  private reading?: { serial: number; page: Promise<NormalizedMessage[] | undefined> };
  /** How many reads this ledger has started: the serial of the newest. */
  private readsStarted = 0;
  /**
   * Until when Genesys refuses this session's history reads (its 429 said so): proofs until then read nothing, so a
   * client retrying a send in doubt is told the real wait instead of spending a refused read each time.
   */
  private historyClosedUntil = -Infinity;

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

  /** The echo of one of our sends: it answers that send, and no other. */
  lateEcho(ourId: string, message: NormalizedMessage): void {
    this.accountFor(message.id);
    this.answeredLate.set(ourId, message);
    if (this.answeredLate.size > ACCOUNTED_IDS) this.answeredLate.delete(this.answeredLate.keys().next().value!);
  }

  async prove(sent: SentMessage): Promise<DeliveryVerdict> {
    // A late echo already proves it: no history read spent.
    if (this.answeredLate.has(sent.messageId)) return this.judge(sent, undefined);
    return this.judge(sent, await this.newestPage('could not read history to check a message in doubt'));
  }

  /** Settles the sends whose reply was lost with the socket: delivered, not delivered, or honestly unknown. */
  async settleInDoubt(desk: RequestDesk): Promise<void> {
    const inDoubt = [...desk.pending.values()].filter((p) => p.inDoubt);
    if (inDoubt.length === 0) return;
    // One page for all of them, judged one send at a time in the order they were sent.
    const messages = await this.newestPage('could not read history to check messages in doubt');
    for (const p of inDoubt) {
      const proof = this.judge(
        { messageId: p.messageId ?? '', text: p.text, payload: p.payload, sentAt: p.writtenAt ?? this.now() },
        messages,
      );
      if (proof.verdict === 'delivered') {
        desk.settle(p, { value: proof.message });
      } else if (proof.verdict === 'not_delivered') {
        desk.settle(
          p,
          new GuestApiError(
            'connection_lost',
            'The connection to Genesys dropped while sending; the message was not delivered. ' +
              'It is safe to send it again.',
          ),
        );
      } else {
        sendsInDoubt.inc();
        desk.settle(
          p,
          new GuestApiError(
            'connection_lost',
            'The connection to Genesys dropped while sending and delivery could not be checked; ' +
              'it may have been delivered. Retry with the same Idempotency-Key: ' +
              'a delivered message is never sent twice.',
            { retryAfterSeconds: proof.retryAfterSeconds },
          ),
        );
      }
    }
  }

  /**
   * The newest history page, or undefined when the session has no reader or the read failed (logged as `failed`).
   * Only a read that started after this call is shared: whatever is proved was written before the call (the
   * socket it went out on is gone, or the attempt that wrote it is over), so that read cannot predate it. A read
   * under way at the call may, whatever the clocks say (a write and a read within one millisecond, a frame
   * written again after a 429, a send queued behind the pacing after its time was taken), so it is waited for
   * and a new one made: one read at a time. Order, not time, decides.
   */
  private async newestPage(failed: string): Promise<NormalizedMessage[] | undefined> {
    const read = this.readNewest;
    const askedAfter = this.readsStarted;
    for (let current = this.reading; current; current = this.reading) {
      if (current.serial > askedAfter) return current.page;
      await current.page;
    }
    // Checked after any wait: the read waited for may have been refused over Genesys's limit.
    if (!read || this.now() < this.historyClosedUntil) return undefined;
    const reading = {
      serial: ++this.readsStarted,
      page: read().catch((error: unknown) => {
        this.logger.warn({ err: error }, failed);
        if (error instanceof GuestApiError && error.failure === 'rate_limited' && error.retryAfterSeconds)
          this.historyClosedUntil = Math.max(this.historyClosedUntil, this.now() + error.retryAfterSeconds * 1000);
        return undefined;
      }),
    };
    this.reading = reading;
    void reading.page.then(() => {
      if (this.reading === reading) this.reading = undefined;
    });
    return reading.page;
  }

  /** One send against a page read (undefined: none could be), accounting for what it claims. */
  private judge(sent: SentMessage, messages: NormalizedMessage[] | undefined): DeliveryVerdict {
    const late = this.answeredLate.get(sent.messageId);
    if (late) return { verdict: 'delivered', message: late };
    if (messages === undefined) return this.unread();
    const verdict = verdictFrom(sent, messages, this.accounted, this.logger);
    // Remembered by our id as well: a later proof of the same send (its request may have given up before this
    // one ended, and its client retries) finds it delivered, rather than its message already accounted for.
    if (verdict.verdict === 'delivered') this.lateEcho(sent.messageId, verdict.message);
    // Absent before history should show it: that proves nothing yet.
    if (verdict.verdict === 'not_delivered' && sent.visibleBy !== undefined && this.now() < sent.visibleBy)
      return { verdict: 'unknown' };
    return verdict;
  }

  /** No page to judge by: with the wait Genesys gave, when its history limit is why. */
  private unread(): DeliveryVerdict {
    const waitMs = this.historyClosedUntil - this.now();
    return waitMs > 0 ? { verdict: 'unknown', retryAfterSeconds: Math.ceil(waitMs / 1000) } : { verdict: 'unknown' };
  }
}
