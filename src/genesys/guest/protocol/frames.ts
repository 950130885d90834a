import { z } from 'zod';
import { receiptOf, type Receipt } from './receipts';
import {
  attachmentDeletedSchema,
  attachmentFailureSchema,
  presignedUrlSchema,
  uploadSuccessSchema,
} from './attachmentFrames';

/**
 * What arrives on the Guest API socket (docs/genesys-protocol.md#server-frames):
 * every inbound frame is parsed with the schemas here, leniently where
 * Genesys's own SDK is lenient, and a class this code does not know is data
 * to log, not a crash. What this service sends is built in outboundFrames.ts.
 */

/*
 * Tolerance: Genesys's own SDKs declare most inbound fields nullable, and
 * their fixtures send `null` (for example a history entity's `channel.time`),
 * so every optional field accepts absence and `null` alike. Unknown fields stay
 * on the parsed object as data; an unknown class, content type or event type
 * is kept, never fatal.
 */

/** Absent or `null`: both become `undefined`. */
export const optional = <T extends z.ZodType>(schema: T) =>
  schema
    .nullish()
    .transform((v): z.output<T> | undefined => v ?? undefined)
    .optional();

/** Absent or `null`: both become `fallback` (the SDK's default). */
const withDefault = <T extends z.ZodType>(schema: T, fallback: z.output<T>) =>
  schema.nullish().transform((v): z.output<T> => v ?? fallback);

/** An array whose items that do not match are dropped rather than failing the whole array. */
const itemsOf = <T extends z.ZodType>(item: T) =>
  optional(
    z.array(z.unknown()).transform((items) =>
      items.flatMap((raw): z.output<T>[] => {
        const parsed = item.safeParse(raw);
        return parsed.success ? [parsed.data] : [];
      }),
    ),
  );

const loose = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);
const text = () => optional(z.string());

const envelopeSchema = z.object({
  type: z.string(),
  class: z.string(),
  code: z.number(),
  body: z.unknown(),
  tracingId: text(),
});

export type Envelope = z.infer<typeof envelopeSchema>;

const sessionResponseSchema = loose({
  connected: z.boolean(),
  newSession: withDefault(z.boolean(), false),
  readOnly: withDefault(z.boolean(), false),
  maxCustomDataBytes: withDefault(z.number().int(), -1),
  clearedExistingSession: optional(z.boolean()),
  durationSeconds: optional(z.number()),
  expirationDate: optional(z.number()),
  allowedMedia: optional(
    loose({
      inbound: optional(
        loose({ fileTypes: optional(z.array(loose({ type: text() }))), maxFileSizeKB: optional(z.number()) }),
      ),
    }),
  ).catch(undefined),
  blockedExtensions: optional(z.array(z.string())).catch(undefined),
});
export type SessionResponse = z.infer<typeof sessionResponseSchema>;

const quickReplySchema = loose({ text: text(), payload: text(), action: text(), image: text() });
const attachmentSchema = loose({
  id: text(),
  url: text(),
  filename: text(),
  fileSize: optional(z.number()),
  mediaType: text(),
  mime: text(),
  text: text(),
});
const cardActionSchema = loose({ type: text(), text: text(), url: text(), payload: text() });
const cardSchema = loose({
  title: text(),
  description: text(),
  image: text(),
  video: text(),
  defaultAction: optional(cardActionSchema),
  actions: itemsOf(cardActionSchema),
});

export const datePickerSchema = loose({
  title: text(),
  subtitle: text(),
  imageUrl: text(),
  dateMinimum: text(),
  dateMaximum: text(),
  availableTimes: itemsOf(loose({ dateTime: text(), duration: optional(z.number()) })),
});

/** The prompt and reply texts of a list picker or form (ContentReceivedReplyMessage). */
const replyMessageSchema = loose({
  title: text(),
  subtitle: text(),
  header: text(),
  imageUrl: text(),
  buttonLabel: text(),
});

export const listPickerSchema = loose({
  id: text(),
  receivedMessage: optional(replyMessageSchema),
  replyMessage: optional(replyMessageSchema),
  sections: itemsOf(
    loose({
      title: text(),
      multipleSelection: optional(z.boolean()),
      items: itemsOf(loose({ id: text(), title: text(), subtitle: text(), imageUrl: text() })),
    }),
  ),
});

const formComponentSchema = loose({
  formComponentType: text(),
  datePicker: optional(datePickerSchema.extend({ id: text() })),
  listPicker: optional(listPickerSchema),
  input: optional(
    loose({
      id: text(),
      title: text(),
      subtitle: text(),
      placeholderText: text(),
      isRequired: optional(z.boolean()),
      isMultipleLine: optional(z.boolean()),
      keyboardType: text(),
      autoCompleteType: text(),
    }),
  ),
  wheelPicker: optional(loose({ id: text(), items: itemsOf(loose({ id: text(), title: text(), value: text() })) })),
});

const formSchema = loose({
  originatingMessageId: text(),
  cannedResponseId: text(),
  introduction: optional(loose({ title: text(), subtitle: text(), imageUrl: text(), buttonText: text() })),
  receivedMessage: optional(replyMessageSchema),
  replyMessage: optional(replyMessageSchema),
  showSummary: optional(z.boolean()),
  formPages: itemsOf(loose({ title: text(), subtitle: text(), pageComponents: itemsOf(formComponentSchema) })),
});

const contentItemSchema = loose({
  contentType: text(),
  quickReply: optional(quickReplySchema),
  attachment: optional(attachmentSchema),
  card: optional(cardSchema),
  carousel: optional(loose({ cards: itemsOf(cardSchema) })),
  buttonResponse: optional(loose({ text: text(), payload: text(), type: text(), originatingMessageId: text() })),
  datePicker: optional(datePickerSchema),
  listPicker: optional(listPickerSchema),
  form: optional(formSchema),
});

export const eventSchema = loose({
  eventType: z.string(),
  typing: optional(loose({ type: text(), duration: optional(z.number()) })),
  presence: optional(loose({ type: text() })),
});

const participantSchema = loose({ firstName: text(), lastName: text(), nickname: text(), image: text() });

export const structuredMessageSchema = loose({
  // Optional in the Java SDK's schema, but no fixture lacks it; a message without one is not readable here.
  id: z.string(),
  type: text(),
  text: text(),
  direction: text(),
  originatingEntity: text(),
  originatingMessageId: text(),
  /** Only on `type: "Receipt"`: Sent, Delivered, Read, Failed, Published, Removed (receipts.ts). */
  status: text(),
  /** Only on a Failed receipt: `{code, message}` each. */
  reasons: itemsOf(loose({ code: text(), message: text() })),
  channel: optional(
    loose({
      time: text(),
      messageId: text(),
      type: text(),
      from: optional(participantSchema),
      to: optional(participantSchema),
    }),
  ),
  content: itemsOf(contentItemSchema),
  events: itemsOf(eventSchema),
  metadata: optional(z.record(z.string(), z.unknown())),
});
export type StructuredMessage = z.infer<typeof structuredMessageSchema>;

/** A receipt shares the id of the message it reports on; it is a delivery status, not a chat message. */
export function isReceipt(m: { type?: string | undefined }): boolean {
  return m.type === 'Receipt';
}

/** Missing fields take the SDK's defaults: an empty jwt fails at use, and `exp: 0` is never cached. */
const jwtResponseSchema = loose({ jwt: withDefault(z.string(), ''), exp: withDefault(z.number(), 0) });

/** Never fails: a rate-limit answer must reach the request it refuses, whatever its body holds. */
const tooManyRequestsSchema = loose({
  retryAfter: optional(z.number()).catch(undefined),
  errorCode: optional(z.number()).catch(undefined),
  errorMessage: text().catch(undefined),
});

/** `reason` in the mobile SDK, `reasonCode` in the Java SDK; `reason` carries whichever came. */
const connectionClosedSchema = loose({
  reason: text().catch(undefined),
  reasonCode: text().catch(undefined),
}).transform((b) => ({
  ...b,
  reason: b.reason ?? b.reasonCode,
}));

/** The page itself; each entity is parsed on its own (history.ts) so one bad entity does not lose the page. */
export const historySchema = loose({
  entities: withDefault(z.array(z.unknown()), []),
  pageSize: optional(z.number()),
  pageNumber: optional(z.number()),
  total: optional(z.number()),
  pageCount: optional(z.number()),
});

/** A parsed inbound frame; `unknown` keeps the envelope of anything unrecognised. */
export type InboundFrame =
  | { kind: 'session'; envelope: Envelope; body: SessionResponse }
  | { kind: 'message'; envelope: Envelope; body: StructuredMessage }
  | { kind: 'receipt'; envelope: Envelope; body: Receipt }
  | { kind: 'jwt'; envelope: Envelope; body: z.infer<typeof jwtResponseSchema> }
  | { kind: 'tooManyRequests'; envelope: Envelope; body: z.infer<typeof tooManyRequestsSchema> }
  | { kind: 'error'; envelope: Envelope; body: string }
  | { kind: 'sessionExpired'; envelope: Envelope }
  | { kind: 'connectionClosed'; envelope: Envelope; body: z.infer<typeof connectionClosedSchema> }
  | { kind: 'sessionCleared'; envelope: Envelope }
  | { kind: 'logout'; envelope: Envelope }
  | { kind: 'presignedUrl'; envelope: Envelope; body: z.infer<typeof presignedUrlSchema> }
  | { kind: 'uploadSucceeded'; envelope: Envelope; body: z.infer<typeof uploadSuccessSchema> }
  | {
      kind: 'attachmentFailed';
      envelope: Envelope;
      body: z.infer<typeof attachmentFailureSchema>;
      stage: 'upload' | 'request';
    }
  | { kind: 'attachmentDeleted'; envelope: Envelope; body: z.infer<typeof attachmentDeletedSchema> }
  | { kind: 'unknown'; envelope?: Envelope; reason: string };

/** The text of an error body: a string as is, else the message an object carries, else its JSON. */
function errorText(body: unknown): string {
  if (typeof body === 'string') return body;
  for (const key of ['errorMessage', 'message']) {
    const text = (body as Record<string, unknown> | null | undefined)?.[key];
    if (typeof text === 'string') return text;
  }
  // A parsed frame's body is JSON (an envelope without one is refused), so this is always a string.
  return JSON.stringify(body);
}

/**
 * An `Error` body may carry the Genesys code (`errorCode`) while the
 * frame says 200: the body's code is the one that means something.
 */
function withErrorCode(e: Envelope): Envelope {
  const errorCode = (e.body as { errorCode?: unknown } | null)?.errorCode;
  return e.code < 400 && typeof errorCode === 'number' ? { ...e, code: errorCode } : e;
}

function structuredMessage(e: Envelope): InboundFrame {
  const body = structuredMessageSchema.parse(e.body);
  // Never a message: it carries the id of the message it reports on, and the browser keys messages by id, so as
  // one it would overwrite that message with an empty one.
  if (isReceipt(body)) {
    const receipt = receiptOf(body);
    if (receipt) return { kind: 'receipt', envelope: e, body: receipt };
    return {
      kind: 'unknown',
      envelope: e,
      reason: `receipt (${body.status ?? 'no status'}) for message ${body.id}, not one a guest is told of`,
    };
  }
  return { kind: 'message', envelope: e, body };
}

const BODY_PARSERS = {
  SessionResponse: (e: Envelope) =>
    ({ kind: 'session', envelope: e, body: sessionResponseSchema.parse(e.body) }) as const,
  StructuredMessage: structuredMessage,
  JwtResponse: (e: Envelope) => ({ kind: 'jwt', envelope: e, body: jwtResponseSchema.parse(e.body ?? {}) }) as const,
  TooManyRequestsErrorMessage: (e: Envelope) => {
    const parsed = tooManyRequestsSchema.safeParse(e.body ?? {});
    return {
      kind: 'tooManyRequests',
      envelope: e,
      body: parsed.success ? parsed.data : { errorMessage: errorText(e.body) },
    } as const;
  },
  string: (e: Envelope) => ({ kind: 'error', envelope: e, body: errorText(e.body) }) as const,
  // Listed by the Java SDK: handled like `string`, so the request it answers fails rather than times out.
  Error: (e: Envelope) => ({ kind: 'error', envelope: withErrorCode(e), body: errorText(e.body) }) as const,
  SessionExpiredEvent: (e: Envelope) => ({ kind: 'sessionExpired', envelope: e }) as const,
  ConnectionClosedEvent: (e: Envelope) =>
    ({
      kind: 'connectionClosed',
      envelope: e,
      body: connectionClosedSchema.catch({ reason: undefined }).parse(e.body ?? {}),
    }) as const,
  SessionClearedEvent: (e: Envelope) => ({ kind: 'sessionCleared', envelope: e }) as const,
  LogoutEvent: (e: Envelope) => ({ kind: 'logout', envelope: e }) as const,
  PresignedUrlResponse: (e: Envelope) =>
    ({ kind: 'presignedUrl', envelope: e, body: presignedUrlSchema.parse(e.body) }) as const,
  UploadSuccessEvent: (e: Envelope) =>
    ({ kind: 'uploadSucceeded', envelope: e, body: uploadSuccessSchema.parse(e.body) }) as const,
  UploadFailureEvent: (e: Envelope) =>
    ({ kind: 'attachmentFailed', envelope: e, body: attachmentFailureSchema.parse(e.body), stage: 'upload' }) as const,
  GenerateUrlError: (e: Envelope) =>
    ({ kind: 'attachmentFailed', envelope: e, body: attachmentFailureSchema.parse(e.body), stage: 'request' }) as const,
  AttachmentDeletedResponse: (e: Envelope) =>
    ({ kind: 'attachmentDeleted', envelope: e, body: attachmentDeletedSchema.parse(e.body) }) as const,
} satisfies Record<string, (e: Envelope) => InboundFrame>;

export function parseInbound(raw: string): InboundFrame {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { kind: 'unknown', reason: 'not JSON' };
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return { kind: 'unknown', reason: 'not a Guest API envelope' };
  // Own keys only: a class named like an Object property (`constructor`, `toString`) is unknown too.
  const parse = Object.hasOwn(BODY_PARSERS, envelope.data.class)
    ? (BODY_PARSERS as Record<string, (e: Envelope) => InboundFrame>)[envelope.data.class]
    : undefined;
  if (!parse) return { kind: 'unknown', envelope: envelope.data, reason: `unknown class ${envelope.data.class}` };
  try {
    return parse(envelope.data);
  } catch (error) {
    return {
      kind: 'unknown',
      envelope: envelope.data,
      reason: `malformed ${envelope.data.class} body: ${(error as Error).message}`,
    };
  }
}
