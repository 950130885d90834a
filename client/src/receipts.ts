import type { ChatMessage, DeliveryStatus, ReceiptEvent, ReceiptReason } from './types.js';
import { wordingFor, type Wording } from './wording/index.js';

/**
 * Receipts: where a guest's message stands (`sent` until Genesys says more), as the stream's `receipt` events move
 * it on, and the words a page shows for it. Pure: the React kit and a page without React use the same.
 */

const english = wordingFor('en');

const RANK: readonly DeliveryStatus[] = ['sent', 'delivered', 'read', 'failed'];

/** `message`, with `held`'s status (and reasons) when that is further on. */
export function furthestStatus(message: ChatMessage, held: ChatMessage): ChatMessage {
  if (held.status === undefined || RANK.indexOf(held.status) <= RANK.indexOf(message.status ?? 'sent')) return message;
  return { ...message, status: held.status, ...(held.reasons ? { reasons: held.reasons } : {}) };
}

/**
 * The messages with a receipt applied: the guest message it is about moves on to its status (never back). A receipt
 * for a message the page does not hold changes nothing: that message carries its status when it is read. Only the
 * guest's messages have a status (receipts are about them).
 */
export function applyReceipt(messages: readonly ChatMessage[], receipt: ReceiptEvent): ChatMessage[] {
  const at = messages.findIndex((m) => m.id === receipt.messageId);
  if (at < 0 || messages[at]!.status === undefined) return messages as ChatMessage[];
  const { status, reasons } = receipt;
  const updated = furthestStatus(messages[at]!, { ...messages[at]!, status, ...(reasons ? { reasons } : {}) });
  if (updated === messages[at]) return messages as ChatMessage[];
  return [...messages.slice(0, at), updated, ...messages.slice(at + 1)];
}

/** Codes whose message may go through when sent again: a limit, a fault on Genesys's side, an expiry. */
const WORTH_RETRYING = new Set<ReceiptReason['code']>([
  'RateLimited',
  'GeneralError',
  'ServerError',
  'MessageExpired',
  'other',
]);

/**
 * What to tell the customer of a message Genesys failed, in `wording`'s language: why, and whether sending it again
 * can help (`retry`). Data filtering says that it cannot; a message of a kind the chat does not take, likewise.
 */
export function describeFailure(
  reasons: readonly ReceiptReason[] | undefined,
  { t }: Wording = english,
): { text: string; retry: boolean } {
  const codes = new Set((reasons ?? []).map((r) => r.code));
  if (codes.has('DataFiltered')) return { text: t('failedDataFiltered'), retry: false };
  if (codes.has('RateLimited')) return { text: t('failedRateLimited'), retry: true };
  if (codes.size > 0 && ![...codes].some((code) => WORTH_RETRYING.has(code)))
    return { text: t('failedNotAccepted'), retry: false };
  return { text: t('failedTryAgain'), retry: true };
}

/** The word for where a guest's message stands ("Delivered"), or undefined for a message that has no status. */
export function deliveryLine(message: ChatMessage, { t }: Wording = english): string | undefined {
  switch (message.status) {
    case 'sent':
      return t('messageSent');
    case 'delivered':
      return t('messageDelivered');
    case 'read':
      return t('messageRead');
    case 'failed':
      return t('messageNotDelivered');
    default:
      return undefined;
  }
}

/** Tells the service which messages the customer saw (`readReporter`). */
export interface ReadReporter {
  /** The page now shows these messages: the newest agent or bot message is reported read once the tab is visible. */
  shown(messages: readonly ChatMessage[]): void;
  /** Stops listening to the page's visibility. */
  stop(): void;
}

/**
 * Read receipts from the customer's side (only where `capabilities().readReceipts` is on): the newest agent or bot
 * message the page shows is reported read (`markRead`) while the tab is visible, once; a hidden tab reports it when
 * it is shown again. A report that fails is made again with the next message or the next time the tab is shown.
 */
export function readReporter(
  client: { markRead(messageId: string): Promise<void> },
  page: Pick<Document, 'visibilityState' | 'addEventListener' | 'removeEventListener'> | undefined = typeof document ===
  'undefined'
    ? undefined
    : document,
): ReadReporter {
  let newest: string | undefined;
  let reported: string | undefined;
  const report = () => {
    if (newest === undefined || newest === reported || page?.visibilityState !== 'visible') return;
    const id = newest;
    reported = id;
    client.markRead(id).catch(() => {
      if (reported === id) reported = undefined;
    });
  };
  page?.addEventListener('visibilitychange', report);
  return {
    shown(messages) {
      for (let i = messages.length - 1; i >= 0; i--) {
        const m = messages[i]!;
        if (m.direction === 'outbound' && m.type !== 'event') {
          newest = m.id;
          break;
        }
      }
      report();
    },
    stop() {
      page?.removeEventListener('visibilitychange', report);
    },
  };
}
