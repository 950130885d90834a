import { z } from 'zod';

/**
 * The message shape the browser sees: Genesys's StructuredMessage with its
 * direction, type and entity names normalised and its content split by kind.
 * The Genesys side builds it (src/genesys/guest/protocol/normalize.ts), the HTTP layer
 * publishes the schema in /openapi.json, and the browser client's copy is held
 * to the inferred type by the type checker: one source for all three.
 */
const cardActionSchema = z.object({
  type: z.string().optional().describe('Link (open url) or Postback (answer with text and payload)'),
  text: z.string().optional(),
  url: z.string().optional(),
  payload: z.string().optional(),
});

const datePickerSchema = z.object({
  title: z.string().optional(),
  subtitle: z.string().optional(),
  imageUrl: z.string().optional(),
  dateMinimum: z.string().optional().describe('ISO 8601'),
  dateMaximum: z.string().optional().describe('ISO 8601'),
  availableTimes: z.array(
    z.object({
      dateTime: z.string().describe('ISO 8601; the payload of the answer'),
      duration: z.number().optional().describe('Length of the slot, as Genesys sends it (seconds)'),
    }),
  ),
});

const listPickerSchema = z.object({
  id: z.string().optional().describe('Tells list pickers of one form apart'),
  title: z.string().optional(),
  subtitle: z.string().optional(),
  imageUrl: z.string().optional(),
  buttonLabel: z.string().optional(),
  sections: z.array(
    z.object({
      title: z.string().optional(),
      multipleSelection: z.boolean(),
      items: z.array(
        z.object({
          id: z.string(),
          title: z.string().optional(),
          subtitle: z.string().optional(),
          imageUrl: z.string().optional(),
        }),
      ),
    }),
  ),
});

const formComponentSchema = z.object({
  type: z.string().describe('DatePicker, Input, ListPicker or WheelPicker'),
  id: z.string().optional().describe('What the answer names the component by'),
  datePicker: datePickerSchema.optional(),
  listPicker: listPickerSchema.optional(),
  input: z
    .object({
      title: z.string().optional(),
      subtitle: z.string().optional(),
      placeholderText: z.string().optional(),
      isRequired: z.boolean().optional(),
      isMultipleLine: z.boolean().optional(),
      keyboardType: z.string().optional(),
      autoCompleteType: z.string().optional(),
    })
    .optional(),
  wheelPicker: z
    .object({
      items: z.array(z.object({ id: z.string(), title: z.string().optional(), value: z.string().optional() })),
    })
    .optional(),
});

const answersMessage = z
  .string()
  .describe('The message id an answer to this content refers to (`originatingMessageId`)');

/**
 * Where a guest's message stands, as Genesys's receipts tell it (docs/genesys-protocol.md#receipts): `sent` until
 * Genesys says more. A later status never goes back to an earlier one (deliveryRank).
 */
export const deliveryStatusSchema = z.enum(['sent', 'delivered', 'read', 'failed']);
export type DeliveryStatus = z.infer<typeof deliveryStatusSchema>;

/**
 * Genesys's reasons for a failed message (the Platform SDKs' receipt reason codes); any other code is `other`, with
 * Genesys's text in `message`.
 */
export const RECEIPT_REASON_CODES = [
  'MessageExpired',
  'RateLimited',
  'MessageNotAllowed',
  'GeneralError',
  'UnsupportedMessage',
  'UnknownMessage',
  'InvalidMessageStructure',
  'InvalidDestination',
  'ServerError',
  'MediaTypeNotAllowed',
  'InvalidMediaContentLength',
  'RecipientOptedOut',
  'DataFiltered',
  'other',
] as const;

export const receiptReasonSchema = z.object({
  code: z.enum(RECEIPT_REASON_CODES),
  message: z.string().optional().describe("Genesys's own text, in Genesys's words (not for customers)"),
});
export type ReceiptReason = z.infer<typeof receiptReasonSchema>;

/** The stream's `receipt` event: what Genesys said of one of the guest's messages. */
export const receiptEventSchema = z.object({
  messageId: z.string().describe('The id of the message it is about'),
  status: z.enum(['delivered', 'read', 'failed']),
  reasons: z.array(receiptReasonSchema).optional().describe('Only with failed'),
  at: z.string().describe('ISO 8601: when Genesys said it'),
});
export type ReceiptEvent = z.infer<typeof receiptEventSchema>;

/** A status only moves forward: a late `delivered` never hides a `read`, and a failure is final. */
export function deliveryRank(status: DeliveryStatus): number {
  return deliveryStatusSchema.options.indexOf(status);
}

export const normalizedMessageSchema = z.object({
  id: z.string(),
  clientMessageId: z
    .string()
    .optional()
    .describe("The service's id for a guest message (derived from Idempotency-Key when given)"),
  direction: z.enum(['inbound', 'outbound']).describe('inbound: from the guest; outbound: to the guest'),
  type: z.enum(['text', 'structured', 'event']),
  text: z.string().optional(),
  time: z.string().describe('ISO 8601'),
  originatingEntity: z.enum(['human', 'bot']).optional(),
  status: deliveryStatusSchema
    .optional()
    .describe("A guest's message: where it stands, as Genesys's receipts tell (sent until Genesys says more)"),
  reasons: z.array(receiptReasonSchema).optional().describe('Why a failed message failed'),
  from: z.object({ name: z.string().optional(), image: z.string().optional() }).optional(),
  quickReplies: z.array(z.object({ text: z.string(), payload: z.string() })).optional(),
  cards: z
    .array(
      z.object({
        title: z.string().optional(),
        description: z.string().optional(),
        image: z.string().optional(),
        video: z.string().optional(),
        defaultAction: cardActionSchema.optional(),
        actions: z.array(cardActionSchema),
      }),
    )
    .optional()
    .describe("Single cards and every carousel's cards, in order"),
  datePickers: z.array(datePickerSchema.extend({ originatingMessageId: answersMessage })).optional(),
  listPickers: z.array(listPickerSchema.extend({ originatingMessageId: answersMessage })).optional(),
  forms: z
    .array(
      z.object({
        originatingMessageId: answersMessage,
        cannedResponseId: z.string().optional(),
        title: z.string().optional(),
        subtitle: z.string().optional(),
        imageUrl: z.string().optional(),
        buttonLabel: z.string().optional(),
        introduction: z
          .object({
            title: z.string().optional(),
            subtitle: z.string().optional(),
            imageUrl: z.string().optional(),
            buttonText: z.string().optional(),
          })
          .optional(),
        showSummary: z.boolean().optional(),
        pages: z.array(
          z.object({
            title: z.string().optional(),
            subtitle: z.string().optional(),
            components: z.array(formComponentSchema),
          }),
        ),
      }),
    )
    .optional(),
  attachments: z
    .array(
      z.object({
        id: z.string().optional(),
        url: z.string().optional(),
        filename: z.string().optional(),
        mediaType: z.string().optional(),
        mime: z.string().optional(),
        fileSize: z.number().optional(),
      }),
    )
    .optional(),
  buttonResponse: z
    .object({
      text: z.string().optional(),
      payload: z.string().optional(),
      type: z.string().optional(),
      originatingMessageId: z.string().optional(),
    })
    .optional(),
  events: z.array(z.object({ type: z.string(), value: z.string().optional() })).optional(),
});

export type NormalizedMessage = z.infer<typeof normalizedMessageSchema>;

/**
 * The only ids a live stream ever writes on an `id:` line, and the only
 * Last-Event-ID it takes back: a message id as Genesys issues them (UUIDs,
 * with or without dashes), kept to characters that cannot end an SSE line.
 */
export const STREAM_EVENT_ID = /^[A-Za-z0-9_-]{1,128}$/;
