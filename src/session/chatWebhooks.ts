import type { GuestEvent, NewestPage } from '../genesys/guest';
import type { NormalizedMessage, ReceiptEvent } from '../domain/message';
import type { ChatEndedBy } from '../domain/webhookEvent';
import type { AttachmentView } from '../domain/api';
import type { ChatEvent, ChatEvents } from '../webhooks';

/** Canary chats remembered at once: a few intervals' worth, whatever the interval. */
const SYNTHETIC_KEPT = 64;
/** What Genesys said that this instance told (replies, failed receipts), remembered so a history read skips it. */
const TOLD_KEPT = 10_000;

/**
 * What of a chat becomes a webhook event (docs/api.md#webhooks), said once: the use cases tell it what they did
 * (a start, a send, an upload, a sign-in, an end), the deployment's sessions tell it what Genesys said (an agent's
 * message, a join, a leave, a failed receipt, the end), and its history reads what the newest page shows (replies
 * and failed receipts no socket of this instance may have heard). Each event's key is what makes it that event
 * wherever it is seen: Genesys's id for a message or a presence event, the chat itself for its start and end.
 */
export class ChatWebhooks {
  /** Chats the canary started: a synthetic conversation is no event of the site's (newest last, bounded). */
  private readonly synthetic = new Set<string>();
  /** Replies and failed receipts this instance told, by chat and key (newest last, bounded): read again, not told. */
  private readonly told = new Set<string>();

  constructor(
    private readonly events?: ChatEvents,
    /** The custom attribute a canary's chat carries (docs/operations.md#canaries). */
    private readonly canaryAttribute?: { name: string; value: string },
  ) {}

  /** Queued in the background: a chat never waits for its webhooks (ChatEvents never rejects). */
  private publish(event: ChatEvent): void {
    if (this.events && !this.synthetic.has(event.guestToken)) void this.events.publish(event);
  }

  /**
   * What Genesys said, told from the socket (`heard`) or found in history (`found`): whichever tells it first, the
   * other finds it told on this instance; another instance's repeat is dropped by the outbox (its webhook-id).
   */
  private tell(event: ChatEvent): void {
    const told = `${event.type}\n${event.guestToken}\n${event.key}`;
    if (this.told.has(told)) return;
    this.told.add(told);
    if (this.told.size > TOLD_KEPT) this.told.delete(this.told.values().next().value!);
    this.publish(event);
  }

  /** A chat started with `attributes`: one carrying the canary's attribute is the canary's, and tells nothing. */
  started(guestToken: string, authenticated: boolean, attributes: Readonly<Record<string, string>> = {}): void {
    const canary = this.canaryAttribute;
    if (canary && attributes[canary.name] === canary.value) {
      this.synthetic.add(guestToken);
      if (this.synthetic.size > SYNTHETIC_KEPT) this.synthetic.delete(this.synthetic.values().next().value!);
      return;
    }
    this.publish({ type: 'chat.started', guestToken, key: 'chat', data: { authenticated } });
  }

  ended(guestToken: string, by: ChatEndedBy): void {
    // One end per chat, whoever saw it first: the customer's DELETE, the agent's disconnect, or the expiry.
    this.publish({ type: 'chat.ended', guestToken, key: 'chat', data: { by } });
  }

  sent(guestToken: string, message: NormalizedMessage): void {
    this.publish({ type: 'message.sent', guestToken, key: message.id, data: { message: messageData(message) } });
  }

  uploaded(guestToken: string, attachment: AttachmentView): void {
    const { id, fileName, mediaType, size } = attachment;
    this.publish({
      type: 'attachment.uploaded',
      guestToken,
      key: id,
      data: { attachment: { id, fileName, mediaType, size } },
    });
  }

  signedIn(guestToken: string): void {
    this.publish({ type: 'customer.signed_in', guestToken, key: 'chat', data: {} });
  }

  /** What a session heard from Genesys, on whichever instance holds its socket. */
  heard(guestToken: string, event: GuestEvent): void {
    switch (event.type) {
      case 'message':
        // The guest's own echo comes in the conversation's order, ahead of what the agent answers it; the send's
        // answer (sent()) tells the same event again, for a send proven from history without an echo.
        if (event.message.direction === 'inbound') this.sent(guestToken, event.message);
        else this.tell(received(guestToken, event.message));
        return;
      case 'presence': {
        const key = event.genesysId ?? `${event.presence}:${event.time ?? ''}`;
        const agent = event.name ? { agent: { name: event.name } } : {};
        if (event.presence === 'join') this.publish({ type: 'agent.joined', guestToken, key, data: agent });
        else if (event.presence === 'disconnect' && event.readOnly) this.ended(guestToken, 'agent');
        else if (event.presence === 'disconnect') this.publish({ type: 'agent.left', guestToken, key, data: agent });
        return;
      }
      case 'receipt':
        if (event.receipt.status === 'failed') this.tell(failed(guestToken, event.receipt));
        return;
      case 'session':
        if (event.state === 'expired') this.ended(guestToken, 'expiry');
        return;
      default:
        return;
    }
  }

  /**
   * What a read of the chat's newest history page shows, on whichever instance read it (a stream's resume or
   * reconnect, a push watch's catch-up, the history route): the agent's and bot's messages and the failed receipts
   * on it are told too, so one the instance holding the socket heard and died before telling, or one said while
   * no instance held a socket of the chat, is told once the chat is read again. Told with the time Genesys gives.
   */
  found(guestToken: string, page: NewestPage): void {
    for (const message of page.messages)
      if (message.direction === 'outbound' && message.type !== 'event')
        this.tell({ ...received(guestToken, message), ...timeOf(message.time) });
    for (const receipt of page.receipts)
      if (receipt.status === 'failed') this.tell({ ...failed(guestToken, receipt), ...timeOf(receipt.at) });
  }
}

function received(guestToken: string, message: NormalizedMessage): ChatEvent {
  return { type: 'message.received', guestToken, key: message.id, data: { message: messageData(message) } };
}

function failed(guestToken: string, receipt: ReceiptEvent): ChatEvent {
  const { messageId, reasons } = receipt;
  return { type: 'receipt.failed', guestToken, key: messageId, data: { messageId, reasons: reasons ?? [] } };
}

/** `at` for an ISO time Genesys gave, nothing (now) for one it did not. */
function timeOf(iso: string): { at?: number } {
  const at = Date.parse(iso);
  return Number.isFinite(at) ? { at } : {};
}

/** A message as a webhook carries it: what it said and who said it, without links that expire. */
function messageData(m: NormalizedMessage): Record<string, unknown> {
  return {
    id: m.id,
    type: m.type,
    ...(m.text !== undefined ? { text: m.text } : {}),
    time: m.time,
    ...(m.originatingEntity ? { originatingEntity: m.originatingEntity } : {}),
    ...(m.from?.name ? { from: { name: m.from.name } } : {}),
    ...(m.attachments?.length
      ? {
          attachments: m.attachments.map((a) => ({
            ...(a.id ? { id: a.id } : {}),
            ...(a.filename ? { fileName: a.filename } : {}),
            ...(a.mediaType ? { mediaType: a.mediaType } : {}),
          })),
        }
      : {}),
  };
}
