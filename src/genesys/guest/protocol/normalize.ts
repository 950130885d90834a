import type { NormalizedMessage } from '../../../domain/message';
import type { StructuredMessage } from './frames';

/** Turns Genesys's StructuredMessage into the public message shape (src/domain/message.ts). */

/**
 * Genesys's message types that are not text; any other (`Text`, none, one added later) is.
 * A Map, so that a type named like an Object property (`constructor`) is any other too.
 */
const TYPES = new Map<string | undefined, NormalizedMessage['type']>([
  ['Structured', 'structured'],
  ['Event', 'event'],
]);

type Content = NonNullable<StructuredMessage['content']>[number];
type Card = NonNullable<Content['card']>;
type DatePicker = NonNullable<Content['datePicker']>;
type ListPicker = NonNullable<Content['listPicker']>;
type Form = NonNullable<Content['form']>;
type FormComponent = NonNullable<NonNullable<Form['formPages']>[number]['pageComponents']>[number];

/** Drops keys whose value is undefined, so the published JSON shows only what Genesys sent. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function normalizeMessage(m: StructuredMessage, receivedAt: Date = new Date()): NormalizedMessage {
  const out: NormalizedMessage = {
    id: m.id,
    direction: m.direction === 'Outbound' ? 'outbound' : 'inbound',
    type: TYPES.get(m.type) ?? 'text',
    // Genesys's own fixtures have history entities with `channel.time: null`.
    time: m.channel?.time ?? receivedAt.toISOString(),
  };
  // Only a guest's message can carry our id; on agent and bot messages channel.messageId is Genesys's own.
  if (m.channel?.messageId && m.direction !== 'Outbound') out.clientMessageId = m.channel.messageId;
  if (m.text !== undefined && m.text !== '') out.text = m.text;
  // What a receipt may say more of (receipts.ts): a guest's message is sent once Genesys has it.
  if (out.direction === 'inbound' && out.type !== 'event') out.status = 'sent';
  if (m.originatingEntity === 'Human' || m.originatingEntity === 'Bot') {
    out.originatingEntity = m.originatingEntity === 'Human' ? 'human' : 'bot';
  }
  const from = m.channel?.from;
  if (from && (from.nickname || from.firstName || from.lastName || from.image)) {
    const name = from.nickname ?? [from.firstName, from.lastName].filter(Boolean).join(' ');
    out.from = { ...(name ? { name } : {}), ...(from.image ? { image: from.image } : {}) };
  }
  for (const item of m.content ?? []) {
    if (item.quickReply)
      (out.quickReplies ??= []).push({
        text: item.quickReply.text ?? '',
        payload: item.quickReply.payload ?? item.quickReply.text ?? '',
      });
    if (item.card) (out.cards ??= []).push(normalizeCard(item.card));
    for (const card of item.carousel?.cards ?? []) (out.cards ??= []).push(normalizeCard(card));
    if (item.attachment) {
      const a = item.attachment;
      (out.attachments ??= []).push({
        id: a.id,
        url: a.url,
        filename: a.filename,
        mediaType: a.mediaType,
        mime: a.mime,
        fileSize: a.fileSize,
      });
    }
    if (item.buttonResponse) {
      const b = item.buttonResponse;
      out.buttonResponse = compact({
        text: b.text,
        payload: b.payload,
        type: b.type,
        originatingMessageId: b.originatingMessageId,
      });
    }
    // An answer to a picker or form refers to the message that carried it (`originatingMessageId`).
    if (item.datePicker)
      (out.datePickers ??= []).push({ ...normalizeDatePicker(item.datePicker), originatingMessageId: m.id });
    if (item.listPicker)
      (out.listPickers ??= []).push({ ...normalizeListPicker(item.listPicker), originatingMessageId: m.id });
    if (item.form) (out.forms ??= []).push(normalizeForm(item.form, m.id));
  }
  if (m.events?.length) {
    out.events = m.events.map((e) => compact({ type: e.eventType, value: e.typing?.type ?? e.presence?.type }));
  }
  return out;
}

function normalizeAction(a: NonNullable<Card['defaultAction']>) {
  return compact({ type: a.type, text: a.text, url: a.url, payload: a.payload });
}

function normalizeCard(card: Card) {
  return compact({
    title: card.title,
    description: card.description,
    image: card.image,
    video: card.video,
    defaultAction: card.defaultAction ? normalizeAction(card.defaultAction) : undefined,
    actions: (card.actions ?? []).map(normalizeAction),
  });
}

function normalizeDatePicker(p: DatePicker) {
  return compact({
    title: p.title,
    subtitle: p.subtitle,
    imageUrl: p.imageUrl,
    dateMinimum: p.dateMinimum,
    dateMaximum: p.dateMaximum,
    // A slot without a date-time cannot be picked.
    availableTimes: (p.availableTimes ?? []).flatMap((t) =>
      t.dateTime ? [compact({ dateTime: t.dateTime, duration: t.duration })] : [],
    ),
  });
}

function normalizeListPicker(p: ListPicker) {
  const prompt = p.receivedMessage;
  return compact({
    id: p.id,
    title: prompt?.title ?? prompt?.header,
    subtitle: prompt?.subtitle,
    imageUrl: prompt?.imageUrl,
    buttonLabel: prompt?.buttonLabel,
    sections: (p.sections ?? []).map((s) =>
      compact({
        title: s.title,
        multipleSelection: s.multipleSelection ?? false,
        // An item without an id cannot be answered.
        items: (s.items ?? []).flatMap((i) =>
          i.id ? [compact({ id: i.id, title: i.title, subtitle: i.subtitle, imageUrl: i.imageUrl })] : [],
        ),
      }),
    ),
  });
}

function normalizeFormComponent(c: FormComponent) {
  const type =
    c.formComponentType ??
    (c.datePicker
      ? 'DatePicker'
      : c.listPicker
        ? 'ListPicker'
        : c.input
          ? 'Input'
          : c.wheelPicker
            ? 'WheelPicker'
            : 'Unknown');
  const input = c.input;
  return compact({
    type,
    id: c.datePicker?.id ?? c.listPicker?.id ?? c.input?.id ?? c.wheelPicker?.id,
    datePicker: c.datePicker ? normalizeDatePicker(c.datePicker) : undefined,
    listPicker: c.listPicker ? normalizeListPicker(c.listPicker) : undefined,
    input: input
      ? compact({
          title: input.title,
          subtitle: input.subtitle,
          placeholderText: input.placeholderText,
          isRequired: input.isRequired,
          isMultipleLine: input.isMultipleLine,
          keyboardType: input.keyboardType,
          autoCompleteType: input.autoCompleteType,
        })
      : undefined,
    wheelPicker: c.wheelPicker
      ? {
          items: (c.wheelPicker.items ?? []).flatMap((i) =>
            i.id ? [compact({ id: i.id, title: i.title, value: i.value })] : [],
          ),
        }
      : undefined,
  });
}

function normalizeForm(f: Form, messageId: string) {
  const prompt = f.receivedMessage;
  const intro = f.introduction;
  return compact({
    originatingMessageId: messageId,
    cannedResponseId: f.cannedResponseId,
    title: prompt?.title ?? prompt?.header,
    subtitle: prompt?.subtitle,
    imageUrl: prompt?.imageUrl,
    buttonLabel: prompt?.buttonLabel,
    introduction: intro
      ? compact({
          title: intro.title,
          subtitle: intro.subtitle,
          imageUrl: intro.imageUrl,
          buttonText: intro.buttonText,
        })
      : undefined,
    showSummary: f.showSummary,
    pages: (f.formPages ?? []).map((p) =>
      compact({
        title: p.title,
        subtitle: p.subtitle,
        components: (p.pageComponents ?? []).map(normalizeFormComponent),
      }),
    ),
  });
}
