import { RECEIPT_REASON_CODES, type DeliveryStatus, type ReceiptReason } from '../../../domain/message';

/**
 * A receipt as this service reads it (docs/genesys-protocol.md#receipts): Genesys's `Receipt` message, whose `id`
 * is the id of the message it reports on.
 */
export interface Receipt {
  messageId: string;
  status: Exclude<DeliveryStatus, 'sent'>;
  /** Only with `failed`. */
  reasons?: ReceiptReason[];
  /** `channel.time`, when Genesys gave one. */
  at?: string;
}

/**
 * Genesys's receipt statuses (Sent, Delivered, Read, Failed, Published, Removed) as a guest is told of them:
 * `Sent` is what the message's own echo said already, and no source says what `Published` and `Removed` mean for a
 * web chat's message (docs/genesys-protocol.md#receipts).
 */
const STATUSES = new Map<string, Receipt['status']>([
  ['Delivered', 'delivered'],
  ['Read', 'read'],
  ['Failed', 'failed'],
]);

const KNOWN_CODES = new Set<string>(RECEIPT_REASON_CODES);

/** What a receipt is read from: a parsed StructuredMessage (frames.ts) of `type: "Receipt"`. */
interface ReceiptMessage {
  id: string;
  status?: string | undefined;
  reasons?: { code?: string | undefined; message?: string | undefined }[] | undefined;
  channel?: { time?: string | undefined } | undefined;
}

/** The receipt a `Receipt` message carries; undefined for one no guest is told of (Sent, Published, Removed...). */
export function receiptOf(message: ReceiptMessage): Receipt | undefined {
  const status = message.status === undefined ? undefined : STATUSES.get(message.status);
  if (status === undefined) return undefined;
  const receipt: Receipt = { messageId: message.id, status };
  if (message.channel?.time) receipt.at = message.channel.time;
  if (status === 'failed') receipt.reasons = reasonsOf(message.reasons ?? []);
  return receipt;
}

/** Genesys's reasons by their stable codes; a code this service does not know is `other`, its text kept. */
function reasonsOf(given: { code?: string | undefined; message?: string | undefined }[]): ReceiptReason[] {
  return given.map(({ code, message }) => {
    const reason: ReceiptReason = {
      code: code !== undefined && KNOWN_CODES.has(code) ? (code as ReceiptReason['code']) : 'other',
    };
    const text = message ?? (reason.code === 'other' && code ? code : undefined);
    if (text) reason.message = text.slice(0, 500);
    return reason;
  });
}
