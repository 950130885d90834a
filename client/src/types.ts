/**
 * The service's public shapes, as its OpenAPI document describes them
 * (test/client/publicTypes.typecheck.ts holds each to the service's own).
 */

export type Attributes = Record<string, string>;

export interface Limits {
  maxCustomDataBytes: number;
  maxTextBytes: number;
  messagesPerSecond: number;
}

export interface SessionView {
  sessionToken: string;
  /** Stable for the session, not a secret; the client sends it as the `routingKey` query parameter of every request so a proxy keeps the session on one instance. */
  routingKey: string;
  /**
   * Where a live stream opened now should start (`t-` and epoch ms): the client opens its stream
   * with it until the stream has sent an event id, so no message is missed before the first one.
   */
  streamPosition: string;
  expiresAt: string;
  /** When Genesys ends the session if nothing happens, when known; it moves later with every message. */
  sessionExpiresAt?: string | null;
  /** Genesys started a new conversation for this session. */
  newSession: boolean;
  /** The conversation was ended by the agent; `startSession({ startNew: true })` starts another. */
  readOnly: boolean;
  limits: Limits;
  attributes: Attributes;
  /** The customer is signed in (Genesys authenticated messaging): verified to the agent, one conversation across devices. */
  authenticated: boolean;
}

/**
 * A sign-in at the identity provider configured in Genesys: the code from the
 * redirect back to the page (with the PKCE verifier), or an implicit-flow ID
 * token with its nonce. The service exchanges it; the page never holds a
 * Genesys token.
 */
export type SignInGrant =
  { code: string; redirectUri: string; codeVerifier?: string } | { idToken: string; nonce: string };

export interface Capabilities {
  /** `enabled` is false until this service offers uploads; the rest is what the deployment accepts. */
  attachments: { enabled: boolean; mediaTypes: string[]; maxBytes: number; blockedExtensions: string[] };
  /** `endSession()` ends the conversation for the agent too (Presence Clear). */
  endChat: boolean;
  disconnect: { enabled: boolean; type: string };
  typing: { agent: boolean; guest: boolean };
  autoStart: boolean;
  languages: string[];
  defaultLanguage: string | null;
  markdown: boolean;
  /** `markRead` tells Genesys the page showed an agent's or bot's message (the deployment's READ_RECEIPTS). */
  readReceipts: boolean;
  authentication: { enabled: boolean; allowSessionUpgrade: boolean };
  session: { expiresAt: string | null };
  /** Whether GET /availability reads open hours, an emergency or queues from Genesys for this deployment. */
  availability: { configured: boolean };
  /** How the chat can reach a customer who left: Web Push with the deployment's VAPID key (null: off), e-mail. */
  notifications: { push: { vapidPublicKey: string } | null; email: boolean };
}

/** What `notifyByEmail` sends (PUT /notifications/email). */
export interface EmailOptIn {
  address: string;
  /** The chat page an e-mail links back to, of the session's origin; unset: that origin's `/`. */
  url?: string;
}

/** PUT /notifications/email's answer. */
export interface EmailOptInView {
  /** true: vouched for by the signed-in identity, replies are e-mailed; false: a confirmation e-mail was sent. */
  confirmed: boolean;
}

/** Why the contact centre is open or not, for the deployment's routing targets. */
export type AvailabilityReason = 'open' | 'closed' | 'holiday' | 'emergency' | 'no_agents';

/** A part of the answer the service reads from Genesys, named in `unknown` when it could not be read. */
export type AvailabilityPart = 'schedule' | 'emergency' | 'estimatedWait' | 'agents';

/**
 * GET /availability, and the data of a waiting guest's `availability` stream event: whether anyone is there and how
 * long the wait is. `configured: false` means the deployment has no availability set up (then `open` is true and the
 * figures null); `unknown` names the parts the service could not read (a missing permission, say).
 */
export interface Availability {
  configured: boolean;
  open: boolean;
  reason: AvailabilityReason;
  /** ISO 8601 with offset, when a schedule says when it opens next. */
  nextOpenAt: string | null;
  /** ISO 8601 with offset, when a schedule says when it closes. */
  closesAt: string | null;
  /** Genesys's estimate; null when it gives none. */
  estimatedWaitSeconds: number | null;
  agentsAvailable: number | null;
  waiting: number | null;
  unknown: AvailabilityPart[];
  /** Some part is the last good answer, kept through a Genesys failure. */
  stale: boolean;
  /** When the service read it (ISO 8601). */
  asOf: string;
}

/** `client.availability()`'s answer: the service's, and how long it stays fresh. */
export interface AvailabilityAnswer extends Availability {
  /** The answer's `Cache-Control: max-age`, in seconds (undefined when the service gave none): when to ask again. */
  maxAgeSeconds?: number;
}

export interface StartedSession extends SessionView {
  /** An existing session (its token was held) was resumed rather than a new one created. */
  resumed: boolean;
  /** A held token was no longer valid (expired or ended), so a new session was started instead. */
  replacedExpired: boolean;
}

export interface StartSessionOptions {
  firstName?: string;
  lastName?: string;
  email?: string;
  phone?: string;
  attributes?: Attributes;
  /** A JWT minted by your own backend for a signed-in customer. */
  identityToken?: string;
  /** Replace an ended (read-only) conversation with a new one. */
  startNew?: boolean;
  /** Start a signed-in session (authenticated messaging): it continues the customer's conversation from any device. */
  auth?: SignInGrant;
}

export interface QuickReply {
  text: string;
  payload: string;
}

/** A card button: `Link` opens `url`; `Postback` is answered with its `text` and `payload`. */
export interface CardAction {
  type?: string;
  text?: string;
  url?: string;
  payload?: string;
}

export interface DatePicker {
  title?: string;
  subtitle?: string;
  imageUrl?: string;
  /** ISO 8601. */
  dateMinimum?: string;
  dateMaximum?: string;
  /** `dateTime` (ISO 8601) is the answer's payload; `duration` as Genesys sends it (seconds). */
  availableTimes: { dateTime: string; duration?: number }[];
}

export interface ListPicker {
  id?: string;
  title?: string;
  subtitle?: string;
  imageUrl?: string;
  buttonLabel?: string;
  sections: {
    title?: string;
    multipleSelection: boolean;
    items: { id: string; title?: string; subtitle?: string; imageUrl?: string }[];
  }[];
}

/** `originatingMessageId` is the message id an answer refers to. */
export interface DatePickerPrompt extends DatePicker {
  originatingMessageId: string;
}

export interface ListPickerPrompt extends ListPicker {
  originatingMessageId: string;
}

export interface FormComponent {
  /** DatePicker, Input, ListPicker or WheelPicker. */
  type: string;
  id?: string;
  datePicker?: DatePicker;
  listPicker?: ListPicker;
  input?: {
    title?: string;
    subtitle?: string;
    placeholderText?: string;
    isRequired?: boolean;
    isMultipleLine?: boolean;
    keyboardType?: string;
    autoCompleteType?: string;
  };
  wheelPicker?: { items: { id: string; title?: string; value?: string }[] };
}

/** Where a guest's message stands, as Genesys's receipts tell it: `sent` until Genesys says more. */
export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed';

/**
 * Why Genesys failed a message: its stable code (`other` for one this kit does not know) and Genesys's own text,
 * which is not for customers (`describeFailure` words it for them).
 */
export interface ReceiptReason {
  code:
    | 'MessageExpired'
    | 'RateLimited'
    | 'MessageNotAllowed'
    | 'GeneralError'
    | 'UnsupportedMessage'
    | 'UnknownMessage'
    | 'InvalidMessageStructure'
    | 'InvalidDestination'
    | 'ServerError'
    | 'MediaTypeNotAllowed'
    | 'InvalidMediaContentLength'
    | 'RecipientOptedOut'
    | 'DataFiltered'
    | 'other';
  message?: string;
}

/**
 * The stream's `notice` event: what the service did to the guest's own input. `masked`: the deployment hides
 * sensitive data (a card number, an IBAN, a pattern of its own; `detectors` says which, never the value) and hid it
 * in the message `messageId` (or the name of the file `attachmentId`) before Genesys saw it. Once per message; tell
 * the customer once (`MessageList` does, under the message).
 */
export interface NoticeEvent {
  code: 'masked';
  detectors: string[];
  messageId?: string;
  attachmentId?: string;
}

/** The stream's `receipt` event: what Genesys said of one of the guest's messages. */
export interface ReceiptEvent {
  messageId: string;
  status: 'delivered' | 'read' | 'failed';
  /** Only with `failed`. */
  reasons?: ReceiptReason[];
  /** ISO 8601. */
  at: string;
}

export interface ChatMessage {
  id: string;
  clientMessageId?: string;
  /** `inbound`: from the guest; `outbound`: from an agent or bot to the guest. */
  direction: 'inbound' | 'outbound';
  type: 'text' | 'structured' | 'event';
  text?: string;
  /** ISO 8601. */
  time: string;
  originatingEntity?: 'human' | 'bot';
  /** A guest's message: where it stands (receipt events move it on). */
  status?: DeliveryStatus;
  /** Why a failed message failed. */
  reasons?: ReceiptReason[];
  from?: { name?: string; image?: string };
  quickReplies?: QuickReply[];
  /** Single cards and every carousel's cards, in order. */
  cards?: {
    title?: string;
    description?: string;
    image?: string;
    video?: string;
    defaultAction?: CardAction;
    actions: CardAction[];
  }[];
  datePickers?: DatePickerPrompt[];
  listPickers?: ListPickerPrompt[];
  forms?: {
    originatingMessageId: string;
    cannedResponseId?: string;
    title?: string;
    subtitle?: string;
    imageUrl?: string;
    buttonLabel?: string;
    introduction?: { title?: string; subtitle?: string; imageUrl?: string; buttonText?: string };
    showSummary?: boolean;
    pages: { title?: string; subtitle?: string; components: FormComponent[] }[];
  }[];
  attachments?: {
    id?: string;
    url?: string;
    filename?: string;
    mediaType?: string;
    mime?: string;
    fileSize?: number;
  }[];
  buttonResponse?: { text?: string; payload?: string; type?: string; originatingMessageId?: string };
  events?: { type: string; value?: string }[];
}

export interface HistoryPage {
  /** Oldest first within the page. */
  messages: ChatMessage[];
  /** 1 is the newest page. */
  page: number;
  pageSize: number;
  total: number;
}

export interface AttributesView {
  attributes: Attributes;
  /** Keys set by a verified identity; the browser cannot change them. */
  locked: string[];
}

/** A text and/or uploaded files, or exactly one answer: to a quick reply, a card's button, or a date picker. */
export type SendInput =
  | string
  | {
      text?: string;
      /** Ids from uploadAttachment (at most 10), with or without text. */
      attachmentIds?: string[];
      quickReply?: { text: string; payload: string; originatingMessageId?: string };
      button?: { text: string; payload: string; originatingMessageId?: string };
      datePicker?: { dateTime: string; originatingMessageId: string; text?: string };
    };

/** A file uploaded to Genesys, ready to be sent with `send({ attachmentIds: [id] })`. */
export interface UploadedAttachment {
  id: string;
  fileName: string;
  /** The type it went to Genesys as, judged from its content. */
  mediaType: string;
  size: number;
  /** A link on the service that always redirects to a fresh download URL (usable as `<img src>`). */
  url: string;
}
