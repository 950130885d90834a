import { z } from 'zod';

/**
 * The Web Messaging Guest API wire protocol, in one place
 * (shared/reference/genesys-guest-api.md §2 and §3). Outbound frames are
 * built by the functions below; every inbound frame is parsed with the
 * schemas here, and a class this code does not know is data to log, not a
 * crash.
 */

// ---------------------------------------------------------------- outbound (§2)

export type CustomAttributes = Record<string, string>;

export interface ChannelMetadata {
  channel?: { metadata: { customAttributes: CustomAttributes } };
}

/** `message.channel.metadata.customAttributes`: inside `message`, never at the frame's top level (§2.3, §6). */
function channelWith(customAttributes: CustomAttributes | undefined): ChannelMetadata {
  return customAttributes && Object.keys(customAttributes).length > 0 ? { channel: { metadata: { customAttributes } } } : {};
}

export function configureSessionFrame(p: { token: string; deploymentId: string; startNew: boolean; tracingId: string }) {
  return {
    action: 'configureSession',
    token: p.token,
    deploymentId: p.deploymentId,
    startNew: p.startNew,
    journeyContext: { customer: { id: p.token, idType: 'cookie' }, customerSession: { id: '', type: 'web' } },
    tracingId: p.tracingId,
  };
}

export function textMessageFrame(p: {
  token: string;
  tracingId: string;
  text: string;
  /** Our own id for the message (`message.metadata.id`); Genesys reports it back as `channel.messageId`. */
  messageId: string;
  customAttributes?: CustomAttributes;
}) {
  return {
    action: 'onMessage',
    token: p.token,
    tracingId: p.tracingId,
    message: { type: 'Text', text: p.text, metadata: { id: p.messageId }, ...channelWith(p.customAttributes) },
  };
}

export function quickReplyFrame(p: {
  token: string;
  tracingId: string;
  messageId: string;
  text: string;
  payload: string;
  originatingMessageId?: string;
  customAttributes?: CustomAttributes;
}) {
  return {
    action: 'onMessage',
    token: p.token,
    tracingId: p.tracingId,
    message: {
      type: 'Text',
      text: '',
      metadata: { id: p.messageId },
      content: [
        {
          contentType: 'ButtonResponse',
          buttonResponse: {
            type: 'QuickReply',
            text: p.text,
            payload: p.payload,
            ...(p.originatingMessageId ? { originatingMessageId: p.originatingMessageId } : {}),
          },
        },
      ],
      ...channelWith(p.customAttributes),
    },
  };
}

export function typingFrame(p: { token: string; tracingId: string }) {
  return {
    action: 'onMessage',
    token: p.token,
    tracingId: p.tracingId,
    message: { type: 'Event', events: [{ eventType: 'Typing', typing: { type: 'On' } }] },
  };
}

/** Autostart: Presence Join, which may carry the custom attributes (§2.5). */
export function joinFrame(p: { token: string; tracingId: string; customAttributes?: CustomAttributes }) {
  return {
    action: 'onMessage',
    token: p.token,
    tracingId: p.tracingId,
    message: { type: 'Event', events: [{ eventType: 'Presence', presence: { type: 'Join' } }], ...channelWith(p.customAttributes) },
  };
}

export function clearFrame(p: { token: string; tracingId: string }) {
  return {
    action: 'onMessage',
    token: p.token,
    tracingId: p.tracingId,
    message: { type: 'Event', events: [{ eventType: 'Presence', presence: { type: 'Clear' } }] },
  };
}

export function echoFrame(p: { token: string; tracingId: string }) {
  return { action: 'echo', token: p.token, tracingId: p.tracingId, message: { type: 'Text', text: 'ping' } };
}

export function getJwtFrame(p: { token: string; tracingId: string }) {
  return { action: 'getJwt', token: p.token, tracingId: p.tracingId };
}

export function closeSessionFrame(p: { token: string; tracingId: string }) {
  return { action: 'closeSession', token: p.token, closeAllConnections: true, tracingId: p.tracingId };
}

// ----------------------------------------------------------------- inbound (§3)

export const envelopeSchema = z.object({
  type: z.string(),
  class: z.string(),
  code: z.number(),
  body: z.unknown(),
  tracingId: z.string().optional(),
});

export type Envelope = z.infer<typeof envelopeSchema>;

export const sessionResponseSchema = z.object({
  connected: z.boolean(),
  newSession: z.boolean().default(false),
  readOnly: z.boolean().default(false),
  maxCustomDataBytes: z.number().int().default(-1),
  clearedExistingSession: z.boolean().optional(),
  durationSeconds: z.number().optional(),
  expirationDate: z.number().optional(),
});
export type SessionResponse = z.infer<typeof sessionResponseSchema>;

const loose = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);

export const quickReplySchema = loose({ text: z.string().optional(), payload: z.string().optional(), action: z.string().optional(), image: z.string().optional() });
export const attachmentSchema = loose({
  id: z.string().optional(),
  url: z.string().optional(),
  filename: z.string().optional(),
  fileSize: z.number().optional(),
  mediaType: z.string().optional(),
  mime: z.string().optional(),
  text: z.string().optional(),
});
const cardActionSchema = loose({ type: z.string().optional(), text: z.string().optional(), url: z.string().optional(), payload: z.string().optional() });
export const cardSchema = loose({
  title: z.string().optional(),
  description: z.string().optional(),
  image: z.string().optional(),
  actions: z.array(cardActionSchema).optional(),
});

export const contentItemSchema = loose({
  contentType: z.string(),
  quickReply: quickReplySchema.optional(),
  attachment: attachmentSchema.optional(),
  card: cardSchema.optional(),
  carousel: loose({ cards: z.array(cardSchema).optional() }).optional(),
  buttonResponse: loose({ text: z.string().optional(), payload: z.string().optional(), type: z.string().optional() }).optional(),
  datePicker: loose({
    title: z.string().optional(),
    subtitle: z.string().optional(),
    imageUrl: z.string().optional(),
    availableTimes: z.array(loose({ dateTime: z.string().optional(), duration: z.number().optional() })).optional(),
  }).optional(),
});

export const eventSchema = loose({
  eventType: z.string(),
  typing: loose({ type: z.string().optional(), duration: z.number().optional() }).optional(),
  presence: loose({ type: z.string().optional() }).optional(),
});

export const structuredMessageSchema = loose({
  id: z.string(),
  type: z.string().optional(),
  text: z.string().optional(),
  direction: z.string().optional(),
  originatingEntity: z.string().optional(),
  channel: loose({
    time: z.string().optional(),
    messageId: z.string().optional(),
    type: z.string().optional(),
    from: loose({ firstName: z.string().optional(), lastName: z.string().optional(), nickname: z.string().optional(), image: z.string().optional() }).optional(),
  }).optional(),
  content: z.array(contentItemSchema).optional(),
  events: z.array(eventSchema).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type StructuredMessage = z.infer<typeof structuredMessageSchema>;

export const jwtResponseSchema = z.object({ jwt: z.string(), exp: z.number() });
export const tooManyRequestsSchema = loose({
  retryAfter: z.number().optional(),
  errorCode: z.number().optional(),
  errorMessage: z.string().optional(),
});
/** `reason` in the transport SDK, `reasonCode` in the Java SDK. */
export const connectionClosedSchema = loose({ reason: z.string().optional(), reasonCode: z.string().optional() });

export const historySchema = z.object({
  /** Each entity is parsed on its own (history.ts), so one bad entity costs only itself. */
  entities: z.array(z.unknown()).default([]),
  pageSize: z.number().optional(),
  pageNumber: z.number().optional(),
  total: z.number().optional(),
  pageCount: z.number().optional(),
});

/** A parsed inbound frame; `unknown` keeps the envelope of anything unrecognised. */
export type InboundFrame =
  | { kind: 'session'; envelope: Envelope; body: SessionResponse }
  | { kind: 'message'; envelope: Envelope; body: StructuredMessage }
  | { kind: 'jwt'; envelope: Envelope; body: z.infer<typeof jwtResponseSchema> }
  | { kind: 'tooManyRequests'; envelope: Envelope; body: z.infer<typeof tooManyRequestsSchema> }
  | { kind: 'error'; envelope: Envelope; body: string }
  | { kind: 'sessionExpired'; envelope: Envelope }
  | { kind: 'connectionClosed'; envelope: Envelope; body: z.infer<typeof connectionClosedSchema> }
  | { kind: 'sessionCleared'; envelope: Envelope }
  | { kind: 'logout'; envelope: Envelope }
  | { kind: 'unknown'; envelope?: Envelope; reason: string };

const BODY_PARSERS = {
  SessionResponse: (e: Envelope) => ({ kind: 'session', envelope: e, body: sessionResponseSchema.parse(e.body) }) as const,
  StructuredMessage: (e: Envelope) => ({ kind: 'message', envelope: e, body: structuredMessageSchema.parse(e.body) }) as const,
  JwtResponse: (e: Envelope) => ({ kind: 'jwt', envelope: e, body: jwtResponseSchema.parse(e.body) }) as const,
  TooManyRequestsErrorMessage: (e: Envelope) =>
    ({ kind: 'tooManyRequests', envelope: e, body: tooManyRequestsSchema.parse(e.body ?? {}) }) as const,
  string: (e: Envelope) => ({ kind: 'error', envelope: e, body: errorText(e.body) }) as const,
  // Listed in the Java SDK's MessageDataType; read like a class "string" error so its request fails rather than times out.
  Error: (e: Envelope) => ({ kind: 'error', envelope: e, body: errorText(e.body) }) as const,
  SessionExpiredEvent: (e: Envelope) => ({ kind: 'sessionExpired', envelope: e }) as const,
  ConnectionClosedEvent: (e: Envelope) =>
    ({ kind: 'connectionClosed', envelope: e, body: connectionClosedSchema.parse(e.body ?? {}) }) as const,
  SessionClearedEvent: (e: Envelope) => ({ kind: 'sessionCleared', envelope: e }) as const,
  LogoutEvent: (e: Envelope) => ({ kind: 'logout', envelope: e }) as const,
} satisfies Record<string, (e: Envelope) => InboundFrame>;

/**
 * Genesys's own SDK declares most optional fields nullable, and its fixtures
 * send `null` for them (docs/genesys-protocol.md#variance-seen-in-official-fixtures):
 * `null` is read as absent everywhere, so one `null` never drops a frame.
 */
export function withoutNulls(value: unknown, depth = 0): unknown {
  if (depth > 32 || value === null || typeof value !== 'object') return value ?? undefined;
  if (Array.isArray(value)) return value.filter((v) => v !== null).map((v) => withoutNulls(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || k === '__proto__') continue;
    out[k] = withoutNulls(v, depth + 1);
  }
  return out;
}

function errorText(body: unknown): string {
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown; errorMessage?: unknown } | undefined) ?? {};
  if (typeof message.message === 'string') return message.message;
  if (typeof message.errorMessage === 'string') return message.errorMessage;
  return JSON.stringify(body ?? '').slice(0, 500);
}

export function parseInbound(raw: string): InboundFrame {
  let json: unknown;
  try {
    json = withoutNulls(JSON.parse(raw));
  } catch {
    return { kind: 'unknown', reason: 'not JSON' };
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return { kind: 'unknown', reason: 'not a Guest API envelope' };
  const parse = (BODY_PARSERS as Record<string, ((e: Envelope) => InboundFrame) | undefined>)[envelope.data.class];
  if (!parse) return { kind: 'unknown', envelope: envelope.data, reason: `unknown class ${envelope.data.class}` };
  try {
    return parse(envelope.data);
  } catch (error) {
    return { kind: 'unknown', envelope: envelope.data, reason: `malformed ${envelope.data.class} body: ${(error as Error).message}` };
  }
}
