import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * The Guest API wire format, written straight from
 * docs/genesys-protocol.md (docs/genesys-protocol.md#guest-websocket client frames, docs/genesys-protocol.md#server-frames server frames).
 * Deliberately independent of the BFF's own protocol code in src/, so the
 * simulator checks the client instead of agreeing with it by construction.
 */

// ---------------------------------------------------------------------------
// Client → server frames (docs/genesys-protocol.md#guest-websocket). Every frame is parsed with these schemas; a
// frame that does not parse is answered with a 400 class "string" frame.
// ---------------------------------------------------------------------------

const stringMap = z.record(z.string(), z.string());

/** docs/genesys-protocol.md#onmessage-text-and-attributes / docs/genesys-protocol.md#custom-attributes: the only place custom attributes are read from. */
const channelSchema = z.looseObject({
  metadata: z.looseObject({ customAttributes: stringMap.optional() }).optional(),
});

const eventSchema = z.looseObject({
  eventType: z.string(),
  typing: z.looseObject({ type: z.string(), duration: z.number().optional() }).optional(),
  presence: z.looseObject({ type: z.string() }).optional(),
});

/** docs/genesys-protocol.md#onmessage-text-and-attributes: `message` of an onMessage frame. `type`/`text` may be absent on attachment-only messages (docs/genesys-protocol.md#onmessage-text-and-attributes). */
const guestMessageSchema = z.looseObject({
  type: z.enum(['Text', 'Structured', 'Event', 'Receipt']).optional(),
  /** A guest's `Receipt` names the message it reports on by `id`, with a `status` (options.ts `guestReceipts`). */
  id: z.string().optional(),
  status: z.string().optional(),
  text: z.string().optional(),
  metadata: stringMap.optional(),
  content: z.array(z.looseObject({ contentType: z.string() })).optional(),
  events: z.array(eventSchema).optional(),
  channel: channelSchema.optional(),
});

const envelope = {
  token: z.string().min(1),
  tracingId: z.string().optional(),
};

export const configureSessionFrame = z.looseObject({
  action: z.literal('configureSession'),
  ...envelope,
  deploymentId: z.string(),
  startNew: z.boolean().optional(),
  journeyContext: z.unknown().optional(),
});

/** docs/genesys-protocol.md#configureauthenticatedsession: `data.code` is the sign-in JWT. */
export const configureAuthenticatedSessionFrame = z.looseObject({
  action: z.literal('configureAuthenticatedSession'),
  ...envelope,
  deploymentId: z.string(),
  startNew: z.boolean().optional(),
  journeyContext: z.unknown().optional(),
  data: z.object({ code: z.string().min(1) }),
});

export const onMessageFrame = z.looseObject({
  action: z.literal('onMessage'),
  ...envelope,
  message: guestMessageSchema,
});

/** docs/genesys-protocol.md#echo: [MCP] sends echo without token or tracingId, so both are optional here. */
export const echoFrame = z.looseObject({
  action: z.literal('echo'),
  token: z.string().optional(),
  tracingId: z.string().optional(),
  message: z.looseObject({ type: z.string().optional(), text: z.string().optional() }).optional(),
});

export const getJwtFrame = z.looseObject({ action: z.literal('getJwt'), ...envelope });

export const closeSessionFrame = z.looseObject({
  action: z.literal('closeSession'),
  ...envelope,
  closeAllConnections: z.boolean().optional(),
});

/** Just enough to route a frame and to copy its tracingId onto an error reply. */
export const anyFrame = z.looseObject({
  action: z.string(),
  token: z.unknown().optional(),
  tracingId: z.unknown().optional(),
});

export type GuestMessage = z.infer<typeof guestMessageSchema>;
export type GuestEvent = z.infer<typeof eventSchema>;
export type OnMessageFrame = z.infer<typeof onMessageFrame>;

// ---------------------------------------------------------------------------
// Server → client frames (docs/genesys-protocol.md#server-frames). Only the class names the official client knows
// (docs/genesys-protocol.md#envelope-and-correlation-tracingid table); [MT] throws on any other.
// ---------------------------------------------------------------------------

export interface ServerFrame {
  type: 'response' | 'message';
  class: string;
  code: number;
  body: unknown;
  tracingId?: string;
}

function frame(type: ServerFrame['type'], cls: string, code: number, body: unknown, tracingId?: string): ServerFrame {
  return tracingId === undefined ? { type, class: cls, code, body } : { type, class: cls, code, body, tracingId };
}

/** docs/genesys-protocol.md#error-codes: error frames are `class:"string"` with the error text as body. */
export function errorFrame(code: number, body: string, tracingId?: string): ServerFrame {
  return frame('response', 'string', code, body, tracingId);
}

/** Error texts quoted in docs/genesys-protocol.md#onmessage-events-typing-join-clear, docs/genesys-protocol.md#error-codes and docs/genesys-protocol.md#limits-and-timing. Texts marked "guess" have no source. */
export const ERRORS = {
  requestFailed: 'Request failed.',
  deploymentNotFound: 'Deployment not found',
  typingDisabled: 'Turn on the Feature Toggle or fix the configuration.',
  clearDisabled: 'Presence events Conversation Clear are not supported',
  messageTooLong: (bytes: number, max: number) => `Message length ${bytes} is larger than ${max}`,
  attributesTooLarge: (max: number) => `Custom Attributes in channel metadata is larger than ${max} bytes`,
  rateTooHigh: 'Message rate too high for this session',
  /** guess: no source quotes how the per-connection request budget refuses; the frame class and code are the rate limit's. */
  connectionBudget: 'Request rate too high for this connection',
  actionRate: (action: string) => `Request rate too high for ${action}`,
  /** One of the two bodies the SDK reads as "authenticate again" (core/ErrorCode.kt `ErrorMessage`). */
  reauthenticate: 'Try authenticate again',
  /** docs/genesys-protocol.md#error-codes gives only "session expired…"; the rest of the text is a guess. */
  sessionExpired: 'session expired',
  /** guess: docs/genesys-protocol.md#error-codes names the code (4007 SessionNotFound) but quotes no text. */
  sessionNotFound: 'session not found',
  /** guess: no source says how a read-only conversation refuses a message. */
  readOnly: 'Conversation is read-only. Start a new conversation with configureSession startNew:true',
  /** docs/genesys-protocol.md#error-codes: the text of a 401 on an authenticated session. */
  unauthorized: 'User is unauthorized',
  /** The start the official SDK looks for; the rest is a guess. */
  authenticationFailed: 'Session authentication failed: the session is signed in as another customer',
  /** guess: no source quotes a text for 4017. */
  cannotDowngrade: 'Cannot downgrade an authenticated session to an unauthenticated one',
  /** guess: no source says how a deployment without sign-in (or upgrades) refuses one. */
  authenticationDisabled: 'Authenticated sessions are not enabled for this deployment',
} as const;

export const CODES = {
  badRequest: 400,
  forbidden: 403,
  tooManyRequests: 429,
  unauthorized: 401,
  sessionExpired: 4006,
  sessionNotFound: 4007,
  messageTooLong: 4011,
  attributesTooLarge: 4013,
  cannotDowngrade: 4017,
  rateTooHigh: 4029,
} as const;

export interface SessionBody {
  connected: boolean;
  newSession: boolean;
  readOnly: boolean;
  maxCustomDataBytes: number;
  allowedMedia?: { inbound: { fileTypes: { type: string }[]; maxFileSizeKB?: number } };
  blockedExtensions: string[];
  clearedExistingSession: boolean;
  durationSeconds: number;
  expirationDate: number;
}

/** docs/genesys-protocol.md#sessionresponse. `expirationDate` is epoch seconds. */
export function sessionResponse(body: SessionBody, tracingId?: string): ServerFrame {
  return frame('response', 'SessionResponse', 200, body, tracingId);
}

/** docs/genesys-protocol.md#sessionresponse sample values. */
export const ALLOWED_MEDIA = {
  inbound: { fileTypes: [{ type: '*/*' }, { type: 'video/3gpp' }], maxFileSizeKB: 10240 },
};
export const BLOCKED_EXTENSIONS = ['.ade', '.adp', '.app', '.bat', '.cmd', '.com', '.exe', '.js', '.msi', '.vbs'];

/** docs/genesys-protocol.md#structuredmessage: bodies of StructuredMessage frames, also the entities of the history endpoint (docs/genesys-protocol.md#history-rest). */
export interface StructuredMessageBody {
  id: string;
  type: 'Text' | 'Structured' | 'Event';
  text?: string;
  direction: 'Inbound' | 'Outbound';
  originatingEntity?: string;
  channel: { time: string; messageId?: string; type?: string; from?: Record<string, string> };
  content?: unknown[];
  events?: unknown[];
  metadata?: Record<string, string>;
  originatingMessageId?: string;
}

/** Chat traffic is pushed as `type:"message"` (docs/genesys-protocol.md#envelope-and-correlation-tracingid), including the guest's own echo, which carries the tracingId. */
export function structuredMessage(body: StructuredMessageBody, tracingId?: string): ServerFrame {
  return frame('message', 'StructuredMessage', 200, body, tracingId);
}

/** docs/genesys-protocol.md#echo / docs/genesys-protocol.md#structuredmessage: the echo health-check reply is `type:"response"` with text "ping" and string-valued session metadata. */
export function echoResponse(
  tracingId: string | undefined,
  session?: { durationSeconds: number; expirationDate: number },
): ServerFrame {
  const body: StructuredMessageBody = {
    id: randomUUID(),
    type: 'Text',
    text: 'ping',
    direction: 'Inbound',
    channel: { time: new Date().toISOString() },
  };
  if (session) {
    body.metadata = {
      durationSeconds: String(session.durationSeconds),
      expirationDate: String(session.expirationDate),
    };
  }
  return frame('response', 'StructuredMessage', 200, body, tracingId);
}

/** docs/genesys-protocol.md#getjwt: `exp` in epoch seconds. */
export function jwtResponse(jwt: string, exp: number, tracingId?: string): ServerFrame {
  return frame('response', 'JwtResponse', 200, { jwt, exp }, tracingId);
}

/** docs/genesys-protocol.md#error-codes / docs/genesys-protocol.md#limits-and-timing: the rate-limit frame has an object body, unlike the other errors. */
export function tooManyRequests(
  retryAfter: number,
  tracingId?: string,
  errorMessage: string = ERRORS.rateTooHigh,
): ServerFrame {
  return frame(
    'response',
    'TooManyRequestsErrorMessage',
    CODES.tooManyRequests,
    { retryAfter, errorCode: CODES.rateTooHigh, errorMessage },
    tracingId,
  );
}

/** docs/genesys-protocol.md#lifecycle-events lifecycle events. */
export const sessionExpiredEvent = (): ServerFrame => frame('response', 'SessionExpiredEvent', 200, {});
export const connectionClosedEvent = (reason?: 'signedIn'): ServerFrame =>
  frame('message', 'ConnectionClosedEvent', 200, reason ? { reason } : {});
export const logoutEvent = (): ServerFrame => frame('message', 'LogoutEvent', 200, {});
export const sessionClearedEvent = (): ServerFrame => frame('message', 'SessionClearedEvent', 200, {});

// ---------------------------------------------------------------------------
// Message bodies
// ---------------------------------------------------------------------------

/** docs/genesys-protocol.md#structuredmessage: outbound ids are 32 hex chars without dashes; inbound ids look like UUIDs. */
const outboundId = (): string => randomUUID().replaceAll('-', ''); // randomUUID draws from a cached pool: cheap per message
const inboundId = (): string => randomUUID();

/** Who a (simulated) participant is: the human agent the `human` script hands over to is Alex. */
export const NICKNAMES = { Bot: 'Simulator Bot', Human: 'Alex' } as const;

export function outboundText(
  text: string,
  originatingEntity: 'Bot' | 'Human',
  quickReplies?: string[],
): StructuredMessageBody {
  const body: StructuredMessageBody = {
    id: outboundId(),
    type: quickReplies && quickReplies.length > 0 ? 'Structured' : 'Text',
    text,
    direction: 'Outbound',
    originatingEntity,
    channel: { time: new Date().toISOString(), type: 'Private', from: { nickname: NICKNAMES[originatingEntity] } },
    metadata: { correlationId: randomUUID() },
  };
  if (quickReplies && quickReplies.length > 0) {
    body.content = quickReplies.map((reply, i) => ({
      contentType: 'QuickReply',
      quickReply: { text: reply, payload: `payload-${i + 1}`, action: 'Message' },
    }));
  }
  return body;
}

export function outboundEvent(
  event: unknown,
  metadata?: Record<string, string>,
  from?: 'Bot' | 'Human',
): StructuredMessageBody {
  const body: StructuredMessageBody = {
    id: outboundId(),
    type: 'Event',
    direction: 'Outbound',
    channel: { time: new Date().toISOString(), messageId: outboundId() },
    events: [event],
  };
  // A participant's presence names them as their messages do (channel.from); whether Genesys does is not known.
  if (from) {
    body.originatingEntity = from;
    body.channel.from = { nickname: NICKNAMES[from] };
  }
  if (metadata) body.metadata = metadata;
  return body;
}

/** docs/genesys-protocol.md#structuredmessage "agent typing". */
export const typingOnEvent = { eventType: 'Typing', typing: { type: 'On', duration: 5000 } };
export const presenceEvent = (type: 'Join' | 'Disconnect' | 'Clear' | 'SignIn') => ({
  eventType: 'Presence',
  presence: { type },
});

/**
 * docs/genesys-protocol.md#structuredmessage "echo of the guest's own message": server-generated `id`,
 * `channel.messageId` from the client's `message.metadata.id` when given,
 * `originatingEntity:""` as seen live by [OVO].
 */
export function inboundEcho(message: GuestMessage): StructuredMessageBody {
  const body: StructuredMessageBody = {
    id: inboundId(),
    // A guest's Receipt is never echoed (guestSocket.ts): it is no message.
    type: message.type === undefined || message.type === 'Receipt' ? 'Text' : message.type,
    direction: 'Inbound',
    originatingEntity: '',
    channel: { time: new Date().toISOString(), messageId: message.metadata?.id ?? randomUUID() },
    metadata: { correlationId: randomUUID() },
  };
  if (message.text !== undefined) body.text = message.text;
  if (message.content !== undefined) body.content = message.content;
  if (message.events !== undefined) body.events = message.events;
  return body;
}

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** docs/genesys-protocol.md#custom-attributes size rule: UTF-8 bytes of every key plus every value. */
export function attributeBytes(attributes: Record<string, string>): number {
  let total = 0;
  for (const [key, value] of Object.entries(attributes)) total += utf8Bytes(key) + utf8Bytes(value);
  return total;
}
