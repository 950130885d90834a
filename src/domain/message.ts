import { z } from 'zod';

/**
 * The message shape the browser sees: Genesys's StructuredMessage with its
 * direction, type and entity names normalised and its content split by kind.
 * The Genesys side builds it (src/genesys/guest/normalize.ts), the HTTP layer
 * publishes the schema in /openapi.json, and the browser client's copy is held
 * to the inferred type by the type checker: one source for all three.
 */
export const normalizedMessageSchema = z.object({
  id: z.string(),
  clientMessageId: z.string().optional().describe("The service's id for a guest message (derived from Idempotency-Key when given)"),
  direction: z.enum(['inbound', 'outbound']).describe('inbound: from the guest; outbound: to the guest'),
  type: z.enum(['text', 'structured', 'event']),
  text: z.string().optional(),
  time: z.string().describe('ISO 8601'),
  originatingEntity: z.enum(['human', 'bot']).optional(),
  from: z.object({ name: z.string().optional(), image: z.string().optional() }).optional(),
  quickReplies: z.array(z.object({ text: z.string(), payload: z.string() })).optional(),
  cards: z
    .array(
      z.object({
        title: z.string().optional(),
        description: z.string().optional(),
        image: z.string().optional(),
        actions: z.array(z.object({ type: z.string().optional(), text: z.string().optional(), url: z.string().optional(), payload: z.string().optional() })),
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
  datePickers: z
    .array(
      z.object({
        title: z.string().optional(),
        subtitle: z.string().optional(),
        imageUrl: z.string().optional(),
        availableTimes: z.array(z.object({ dateTime: z.string(), durationMinutes: z.number().optional() })),
      }),
    )
    .optional()
    .describe("A date picker: answer with POST /messages { datePicker: { dateTime, originatingMessageId: this message's id } }"),
  otherContent: z
    .array(z.object({ contentType: z.string(), data: z.unknown() }))
    .optional()
    .describe('Content this service does not model yet (ListPicker, Form, newer types), passed through as Genesys sent it'),
  buttonResponse: z.object({ text: z.string().optional(), payload: z.string().optional(), type: z.string().optional() }).optional(),
  events: z.array(z.object({ type: z.string(), value: z.string().optional() })).optional(),
});

export type NormalizedMessage = z.infer<typeof normalizedMessageSchema>;
