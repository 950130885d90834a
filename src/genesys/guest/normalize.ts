import type { NormalizedMessage } from '../../domain/message';
import type { StructuredMessage } from './frames';

/** Turns Genesys's StructuredMessage into the public message shape (src/domain/message.ts). */

const TYPES: Record<string, NormalizedMessage['type']> = { Text: 'text', Structured: 'structured', Event: 'event' };
const KNOWN_CONTENT = new Set(['QuickReply', 'Card', 'Carousel', 'Attachment', 'ButtonResponse', 'DatePicker']);

/** Delivery receipts (REST type `Receipt`) are not chat content: they are never shown as a message. */
export function isReceipt(m: StructuredMessage): boolean {
  return m.type === 'Receipt';
}

export function normalizeMessage(m: StructuredMessage, receivedAt: Date = new Date()): NormalizedMessage {
  const out: NormalizedMessage = {
    id: m.id,
    direction: m.direction === 'Outbound' ? 'outbound' : 'inbound',
    type: TYPES[m.type ?? 'Text'] ?? 'text',
    time: m.channel?.time ?? receivedAt.toISOString(),
  };
  if (m.channel?.messageId) out.clientMessageId = m.channel.messageId;
  if (m.text !== undefined && m.text !== '') out.text = m.text;
  if (m.originatingEntity === 'Human' || m.originatingEntity === 'Bot') {
    out.originatingEntity = m.originatingEntity === 'Human' ? 'human' : 'bot';
  }
  const from = m.channel?.from;
  if (from && (from.nickname || from.firstName || from.lastName || from.image)) {
    const name = from.nickname ?? [from.firstName, from.lastName].filter(Boolean).join(' ');
    out.from = { ...(name ? { name } : {}), ...(from.image ? { image: from.image } : {}) };
  }
  for (const item of m.content ?? []) {
    if (item.quickReply) (out.quickReplies ??= []).push({ text: item.quickReply.text ?? '', payload: item.quickReply.payload ?? item.quickReply.text ?? '' });
    if (item.card) (out.cards ??= []).push(normalizeCard(item.card));
    for (const card of item.carousel?.cards ?? []) (out.cards ??= []).push(normalizeCard(card));
    if (item.attachment) {
      const a = item.attachment;
      (out.attachments ??= []).push({ id: a.id, url: a.url, filename: a.filename, mediaType: a.mediaType, mime: a.mime, fileSize: a.fileSize });
    }
    if (item.buttonResponse) out.buttonResponse = { text: item.buttonResponse.text, payload: item.buttonResponse.payload, type: item.buttonResponse.type };
    if (item.datePicker) {
      const d = item.datePicker;
      (out.datePickers ??= []).push({
        title: d.title,
        subtitle: d.subtitle,
        imageUrl: d.imageUrl,
        availableTimes: (d.availableTimes ?? []).flatMap((t) => (t.dateTime ? [{ dateTime: t.dateTime, durationMinutes: t.duration }] : [])),
      });
    }
    if (!KNOWN_CONTENT.has(item.contentType)) {
      // ListPicker, Form and types newer than this code: kept as Genesys sent them, never dropped silently.
      const key = item.contentType.charAt(0).toLowerCase() + item.contentType.slice(1);
      (out.otherContent ??= []).push({ contentType: item.contentType, data: (item as Record<string, unknown>)[key] ?? item });
    }
  }
  if (m.events?.length) {
    out.events = m.events.map((e) => ({ type: e.eventType, value: e.typing?.type ?? e.presence?.type }));
  }
  return out;
}

function normalizeCard(card: NonNullable<NonNullable<StructuredMessage['content']>[number]['card']>) {
  return {
    title: card.title,
    description: card.description,
    image: card.image,
    actions: (card.actions ?? []).map((a) => ({ type: a.type, text: a.text, url: a.url, payload: a.payload })),
  };
}
