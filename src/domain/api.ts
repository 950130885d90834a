import { z } from 'zod';
import { availabilitySchema } from './availability';
import { normalizedMessageSchema, receiptEventSchema, STREAM_EVENT_ID } from './message';

/**
 * The shapes of the public API (README.md#the-chat-api), as zod schemas: the
 * HTTP layer validates requests and builds /openapi.json from them, the use
 * cases take their types from them (`z.infer`), and the browser client's
 * copies are held to those types by the type checker
 * (test/client/publicTypes.typecheck.ts). One source for all three.
 */

const text = (max: number) => z.string().max(max);

export const attributesSchema = z
  .record(z.string(), z.string())
  .describe('Custom attributes: string keys to string values; keys plus values at most maxCustomDataBytes UTF-8 bytes');

/** What the organisation's identity provider gave the browser (Genesys authenticated messaging). */
export const signInGrantSchema = z
  .union([
    z.strictObject({
      code: z.string().min(1).max(4096).describe('The authorization code from the redirect back to the page'),
      redirectUri: z
        .url()
        .max(2048)
        .describe('The redirect URI the code was issued for, exactly as sent to the identity provider'),
      codeVerifier: z
        .string()
        .min(43)
        .max(128)
        .optional()
        .describe('The PKCE code verifier, when the request carried a code challenge'),
    }),
    z.strictObject({
      idToken: z.string().min(1).max(16384).describe('An ID token from the implicit flow'),
      nonce: z.string().min(1).max(512).describe('The nonce the ID token was requested with'),
    }),
  ])
  .describe(
    'A sign-in at the identity provider configured in Genesys (OpenID Connect Messenger Configuration): ' +
      'the service exchanges it, and the credentials Genesys returns stay sealed in the session token',
  );

export const signInBody = z.strictObject({ auth: signInGrantSchema }).describe('Sign the current conversation in');

export const startSessionBody = z
  .strictObject({
    auth: signInGrantSchema.optional(),
    firstName: text(256).optional(),
    lastName: text(256).optional(),
    email: text(320).optional(),
    phone: text(64).optional(),
    attributes: attributesSchema.optional(),
    identityToken: z
      .string()
      .max(8192)
      .optional()
      .describe("A JWT minted by the website's backend (see the README, Identity tokens)"),
    startNew: z
      .boolean()
      .optional()
      .describe('With a session token: replace a read-only (ended) conversation with a new one'),
  })
  .describe('Optional details for a new session, or changes when resuming');

const limitsSchema = z.object({
  maxCustomDataBytes: z.number().int(),
  maxTextBytes: z.number().int(),
  messagesPerSecond: z.number().int(),
});

const routingKey = z
  .string()
  .describe(
    'Stable for the Genesys session and not a secret: send it as the `routingKey` query parameter of every ' +
      'request (fetch and EventSource alike) so a proxy keeps the session on one instance',
  );

const streamPosition = z
  .string()
  .describe(
    'Where a live stream opened now should start (`t-` and epoch milliseconds): opened (or reopened, ' +
      'while the stream has sent no event id yet) with it as Last-Event-ID, ' +
      'the stream first sends every message from then on, from history. ' +
      'A client keeps the first one since it started or resumed the session',
  );

export const sessionViewSchema = z.object({
  sessionToken: z
    .string()
    .describe('Opaque; send as `Authorization: Bearer <sessionToken>`; always keep the newest one'),
  routingKey,
  streamPosition,
  expiresAt: z.iso
    .datetime()
    .describe('When this session token expires (SESSION_TTL_SECONDS); a newer token comes with later responses'),
  sessionExpiresAt: z.iso
    .datetime()
    .nullable()
    .optional()
    .describe('When Genesys ends the session if nothing happens, when known; it moves later with every message'),
  newSession: z.boolean(),
  readOnly: z.boolean().describe('The conversation was ended by the agent; start a new one with { startNew: true }'),
  limits: limitsSchema,
  attributes: attributesSchema,
  authenticated: z
    .boolean()
    .describe(
      'The customer is signed in (Genesys authenticated messaging): the agent sees a verified customer, ' +
        'and the conversation follows them across devices',
    ),
});

export const attributesViewSchema = z.object({
  attributes: attributesSchema,
  locked: z.array(z.string()).describe('Keys set by a verified identity; the browser cannot change them'),
});

export const attributesChangedSchema = attributesViewSchema.extend({
  sessionToken: z.string(),
  routingKey,
  streamPosition,
});

/** Refinements are code, not JSON Schema: this says "not blank" in /openapi.json too (`\S` is what trim() keeps). */
const NOT_BLANK = { pattern: '\\S' };

/** A string of well-formed Unicode (no lone surrogates), with something in it. */
const wellFormed = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => v.isWellFormed(), { message: 'must be well-formed Unicode' })
    .refine((v) => v.trim() !== '', { message: 'must not be empty' })
    .meta(NOT_BLANK);

const quickReplyAnswerSchema = z.strictObject({
  text: wellFormed(1024),
  payload: wellFormed(1024),
  originatingMessageId: wellFormed(200).optional(),
});

const datePickerAnswerSchema = z.strictObject({
  dateTime: z.iso.datetime({ offset: true }).describe('The chosen slot, as the date picker offered it'),
  originatingMessageId: wellFormed(200).describe('The id of the message that carried the date picker'),
  text: wellFormed(1024).optional().describe('What the guest sees as their answer (default: the date-time)'),
});

/**
 * An attachment id as Genesys issues it: no source says it is always a UUID (an agent's file has the id Genesys
 * gives it), so any id of 1 to 128 letters, digits, `-` and `_` is taken, which keeps it safe in a URL path and a log
 * line (docs/genesys-protocol.md#attachment-ids).
 */
export const ATTACHMENT_ID = /^[A-Za-z0-9_-]{1,128}$/;
export const attachmentIdSchema = z.string().regex(ATTACHMENT_ID);

/** At most this many files ride on one message. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

/** POST /messages/read: the newest agent or bot message the customer's page shows. */
export const readBody = z.strictObject({
  messageId: z
    .string()
    .regex(STREAM_EVENT_ID, 'must be a message id as the service gave it (1 to 128 of A-Z a-z 0-9 _ -)')
    .describe("The id of the newest agent's or bot's message the page shows, as a `message` event or history gave it"),
});

export const sendMessageBody = z
  .strictObject({
    text: z.string().meta(NOT_BLANK).optional().describe('The message text, not blank, at most 4096 UTF-8 bytes'),
    attachmentIds: z
      .array(attachmentIdSchema)
      .min(1)
      .max(MAX_ATTACHMENTS_PER_MESSAGE)
      .meta({ uniqueItems: true })
      .optional()
      .describe('Files uploaded with POST /attachments and not sent yet; with or without `text`'),
    quickReply: quickReplyAnswerSchema.optional().describe('The answer to a quick reply offered by an agent or bot'),
    button: quickReplyAnswerSchema
      .optional()
      .describe("The guest pressed a card's button (a postback): its text and payload, and the card message's id"),
    datePicker: datePickerAnswerSchema.optional().describe('The guest picked a slot from a date picker'),
  })
  .refine(
    (b) =>
      [b.text ?? b.attachmentIds, b.quickReply, b.button, b.datePicker].filter((v) => v !== undefined).length === 1,
    {
      message: 'Send `text` and/or `attachmentIds`, or exactly one of `quickReply`, `button` or `datePicker`.',
    },
  )
  .refine((b) => b.attachmentIds === undefined || new Set(b.attachmentIds).size === b.attachmentIds.length, {
    message: 'Each attachment id may appear once.',
  })
  // The first refinement, as JSON Schema: exactly one of these matches (text and attachmentIds count as one).
  .meta({
    oneOf: [
      { anyOf: [{ required: ['text'] }, { required: ['attachmentIds'] }] },
      { required: ['quickReply'] },
      { required: ['button'] },
      { required: ['datePicker'] },
    ],
  });

export const attachmentViewSchema = z.object({
  attachment: z.object({
    id: z.string().describe('Send it in `attachmentIds` of POST /messages'),
    fileName: z.string(),
    mediaType: z.string().describe('The type it went to Genesys as, judged from its content'),
    size: z.number().int(),
    url: z.string().describe('A link on this service that always redirects to a fresh Genesys download URL'),
  }),
});

export const sentMessageSchema = z.object({
  message: normalizedMessageSchema,
  sessionToken: z.string().optional(),
  routingKey: routingKey.optional(),
  streamPosition: streamPosition.optional(),
});

export const historySchema = z.object({
  messages: z.array(normalizedMessageSchema).describe('Oldest first within the page'),
  page: z.number().int(),
  pageSize: z.number().int(),
  total: z
    .number()
    .int()
    .describe(
      'What Genesys holds for the conversation, its events (presence, for one) included: ' +
        'a page may hold fewer messages than pageSize, or none; pages go on while page × pageSize < total',
    ),
});

export const capabilitiesSchema = z
  .object({
    attachments: z.object({
      enabled: z
        .boolean()
        .describe(
          'Whether a guest can send files (POST /attachments): the deployment has file upload on with types and a size',
        ),
      mediaTypes: z
        .array(z.string())
        .describe("What the deployment accepts (config.json fileUpload, narrowed by the session's allowedMedia)"),
      maxBytes: z.number().int(),
      blockedExtensions: z.array(z.string()),
    }),
    endChat: z
      .boolean()
      .describe(
        'DELETE /guest-session ends the conversation for the agent too (Presence Clear); ' +
          'otherwise it only closes the connection',
      ),
    disconnect: z.object({
      enabled: z.boolean(),
      type: z
        .string()
        .describe('`ReadOnly`: an agent disconnect ends the chat for the guest; `Send`: the guest may carry on'),
    }),
    typing: z.object({
      agent: z.boolean().describe('Agent typing events arrive on the stream'),
      guest: z.boolean().describe('POST /typing reaches the agent'),
    }),
    autoStart: z.boolean(),
    languages: z.array(z.string()),
    defaultLanguage: z.string().nullable(),
    markdown: z.boolean().describe("Agents' messages may hold Markdown"),
    readReceipts: z
      .boolean()
      .describe(
        "POST /messages/read tells Genesys the customer's page showed an agent's or bot's message (READ_RECEIPTS)",
      ),
    authentication: z.object({
      enabled: z
        .boolean()
        .describe('Customers can sign in (Genesys authenticated messaging): POST /guest-session with `auth`'),
      allowSessionUpgrade: z
        .boolean()
        .describe('A guest can sign in mid-chat (POST /guest-session/sign-in), keeping the conversation'),
    }),
    session: z.object({
      expiresAt: z.iso.datetime().nullable().describe('When Genesys ends the session if nothing happens, when it says'),
    }),
  })
  .describe(
    "What this deployment allows a custom UI, from its Messenger configuration and this session's SessionResponse",
  );

/** Text that is base64url (RFC 4648 section 5, unpadded) of exactly `bytes` bytes. */
const base64urlOf = (bytes: number, what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `must be base64url: ${what}`)
    .refine((v) => Buffer.from(v, 'base64url').length === bytes, `must be ${bytes} bytes, base64url: ${what}`);

/**
 * PUT /notifications/push: the page's `PushSubscription.toJSON()`, and optionally the page a push opens. The
 * endpoint's scheme is judged by the use case (https:, or loopback http: outside production).
 */
export const pushSubscriptionBody = z.strictObject({
  endpoint: z
    .string()
    .max(2048, 'must be at most 2048 characters')
    .refine((v) => URL.canParse(v), 'must be an absolute URL (the push service gave it)')
    .describe("The push service's URL for this subscription (`PushSubscription.endpoint`)"),
  expirationTime: z.number().nullable().optional().describe('As the browser gives it; not used'),
  keys: z.strictObject({
    p256dh: base64urlOf(65, "the subscription's P-256 public key (uncompressed point)")
      .refine((v) => Buffer.from(v, 'base64url')[0] === 4, 'must be an uncompressed P-256 point (first byte 4)')
      .describe("The browser's ECDH P-256 public key, base64url (RFC 8291 ua_public)"),
    auth: base64urlOf(16, "the subscription's authentication secret").describe(
      'The 16-byte authentication secret, base64url (RFC 8291 auth_secret)',
    ),
  }),
  url: z
    .string()
    .max(2048, 'must be at most 2048 characters')
    .refine((v) => URL.canParse(v), 'must be an absolute URL')
    .optional()
    .describe(
      "The page a push opens (its `url`): of the session's own origin; unset: the session's origin with path `/`",
    ),
});

export type PushSubscriptionInput = z.infer<typeof pushSubscriptionBody>;

/** An e-mail address as a customer gives it: RFC 5321's 254 characters at most, one address, no display name. */
export const emailAddress = z
  .string()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email({ error: 'must be one e-mail address (name@example.com)' }));

export const emailOptInBody = z.strictObject({
  address: emailAddress.describe("The customer's e-mail address"),
  url: z
    .string()
    .max(2048, 'must be at most 2048 characters')
    .refine((v) => URL.canParse(v), 'must be an absolute URL')
    .optional()
    .describe(
      "The chat page an e-mail links back to: of the session's own origin; unset: the session's origin with path `/`",
    ),
});

export type EmailOptInInput = z.infer<typeof emailOptInBody>;

/** PUT /notifications/email's answer. */
export const emailOptInViewSchema = z.object({
  confirmed: z
    .boolean()
    .describe(
      'true: the address is vouched for by the signed-in identity, and replies are e-mailed to it; false: a ' +
        'confirmation e-mail was sent, and nothing else is until its link is opened',
    ),
});

/** GET /capabilities's `notifications`: how this deployment can reach a customer who left. */
export const notificationsCapabilitySchema = z.object({
  push: z
    .object({
      vapidPublicKey: z.string().describe("The deployment's VAPID public key, for PushManager.subscribe's key"),
    })
    .nullable()
    .describe('Web Push (PUT /notifications/push); null when the deployment has no VAPID key pair'),
  email: z.boolean().describe('E-mail (PUT /notifications/email): true when the deployment has an SMTP relay'),
});

/** A push's payload (RFC 8291 encrypted): what the service worker's `push` event reads as JSON. */
export const pushPayloadSchema = z.object({
  type: z.literal('reply'),
  from: z.string().describe("Who wrote: the agent's name where Genesys gives it, else `agent` or `bot`"),
  preview: z.string().optional().describe("The newest reply's first 120 characters, where the deployment allows it"),
  url: z.string().describe('The page to open'),
});

/** GET /capabilities: the session's capabilities and whether GET /availability reads anything. */
export const capabilitiesViewSchema = capabilitiesSchema.extend({
  notifications: notificationsCapabilitySchema,
  availability: z.object({
    configured: z
      .boolean()
      .describe('GET /availability reads open hours, an emergency or queues from Genesys for this deployment'),
  }),
});

export { availabilitySchema };

export const ticketSchema = z.object({ ticket: z.string(), expiresAt: z.iso.datetime() });

export type StartInput = z.infer<typeof startSessionBody>;
export type SignInBody = z.infer<typeof signInBody>;
export type SessionView = z.infer<typeof sessionViewSchema>;
export type AttributesView = z.infer<typeof attributesViewSchema>;
export type SendInput = z.infer<typeof sendMessageBody>;
export type HistoryPageView = z.infer<typeof historySchema>;
export type Capabilities = z.infer<typeof capabilitiesSchema>;

/** The live stream's events (GET /messages/stream), as /asyncapi.json describes them. */
export const streamEventSchemas = {
  message: normalizedMessageSchema.describe("A message: the agent's, the bot's, or the guest's own echo"),
  receipt: receiptEventSchema.describe(
    "What Genesys said of one of the guest's messages: delivered, read, or failed with its reasons. Replayed on " +
      'resume from history; a status only moves forward, so one the client had changes nothing',
  ),
  typing: z.object({ durationMs: z.number().optional() }).describe('The agent is typing'),
  notice: z
    .object({
      code: z
        .enum(['masked'])
        .describe("`masked`: sensitive data in the guest's input was hidden before Genesys saw it"),
      detectors: z
        .array(z.string())
        .describe("What was found: `card`, `iban`, or the name of one of the deployment's patterns; never the value"),
      messageId: z.string().optional().describe('The message whose text was masked (its `id`)'),
      attachmentId: z.string().optional().describe('The file whose name was masked (its `id`)'),
    })
    .describe(
      "What the service did to the guest's own input: once per message (or file) whose text (or name) it masked " +
        '(docs/api.md#masking). Live only: not replayed on resume',
    ),
  presence: z
    .object({
      presence: z.enum(['join', 'disconnect', 'clear', 'signin']),
      readOnly: z.boolean().optional(),
      name: z.string().optional().describe("Who joined or left, when Genesys names them (the event's channel.from)"),
      time: z
        .string()
        .optional()
        .describe(
          "When Genesys says it happened (the event's channel.time, ISO 8601): where it goes among the messages",
        ),
    })
    .describe('A join or a disconnect; readOnly: true when the agent ended the conversation'),
  availability: availabilitySchema.describe(
    'While no agent has joined: the availability (GET /availability) changed, the centre opened or closed, or the ' +
      'estimated wait moved by a minute or a fifth',
  ),
  session: z
    .object({
      state: z
        .string()
        .describe(
          'open, reconnecting, reconnected, cleared, replay_incomplete, ' +
            'expiring (five minutes before the session expires, once Genesys confirmed when), expiry_cleared ' +
            '(a message moved the expiry: the notice no longer holds; another comes before the new expiry), ' +
            "existing_session_cleared (this sign-in ended the customer's older signed-in conversation), " +
            'signed_in (the customer signed in: ' +
            'the conversation is now authenticated), or how the stream ended (closed, expired, unavailable, ' +
            'reconnect, slow_reader; signed_out: the customer signed out, here or on another device; ' +
            'signed_in_elsewhere: the conversation went on in a signed-in session; reauthentication_required: ' +
            'Genesys asked the customer to sign in again)',
        ),
      expiresAt: z.iso
        .datetime()
        .optional()
        .describe(
          'With `expiring`: when Genesys ends the session unless the guest sends something; with ' +
            '`expiry_cleared`: the new expiry, when already known',
        ),
      detail: z.string().optional(),
      customer: z
        .object({ firstName: z.string().optional(), lastName: z.string().optional() })
        .optional()
        .describe("With `signed_in`: the signed-in customer's name, when Genesys gives it"),
      reconnect: z
        .boolean()
        .optional()
        .describe("Only on a stream's last event: true means open it again, false means the session is over"),
    })
    .describe("The stream's own state"),
};
export type AttachmentView = z.infer<typeof attachmentViewSchema>['attachment'];
