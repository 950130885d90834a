/**
 * The frames this service sends on the Guest API socket, one builder each
 * (docs/genesys-protocol.md#guest-websocket); what comes back is parsed in
 * frames.ts.
 */

export type CustomAttributes = Record<string, string>;

interface ChannelMetadata {
  channel?: { metadata: { customAttributes: CustomAttributes } };
}

/**
 * `message.channel.metadata.customAttributes`: inside `message`, never at the frame's top level
 * (docs/genesys-protocol.md#onmessage-text-and-attributes, docs/genesys-protocol.md#custom-attributes).
 */
function channelWith(customAttributes: CustomAttributes | undefined): ChannelMetadata {
  return customAttributes && Object.keys(customAttributes).length > 0
    ? { channel: { metadata: { customAttributes } } }
    : {};
}

export function configureSessionFrame(p: {
  token: string;
  deploymentId: string;
  startNew: boolean;
  tracingId: string;
}) {
  return {
    action: 'configureSession',
    token: p.token,
    deploymentId: p.deploymentId,
    startNew: p.startNew,
    journeyContext: { customer: { id: p.token, idType: 'cookie' }, customerSession: { id: '', type: 'web' } },
    tracingId: p.tracingId,
  };
}

/**
 * Configures the session as a signed-in customer: `data.code` carries the
 * web-deployment JWT from the token exchange, not the identity provider's
 * code (docs/genesys-protocol.md#configureauthenticatedsession). On an
 * anonymous session's socket the same frame signs it in mid-chat.
 */
export function configureAuthenticatedSessionFrame(p: {
  token: string;
  deploymentId: string;
  startNew: boolean;
  tracingId: string;
  jwt: string;
}) {
  return { ...configureSessionFrame(p), action: 'configureAuthenticatedSession', data: { code: p.jwt } };
}

/**
 * A guest text, and/or uploaded files as `Attachment` content items carrying
 * only their id; without text, `text` is empty, as the official SDK sends it
 * (docs/genesys-protocol.md#onmessage-text-and-attributes).
 */
export function textMessageFrame(p: {
  token: string;
  tracingId: string;
  text?: string;
  attachmentIds?: string[];
  /** Our own id for the message (`message.metadata.id`); Genesys reports it back as `channel.messageId`. */
  messageId: string;
  customAttributes?: CustomAttributes;
}) {
  return {
    action: 'onMessage',
    token: p.token,
    tracingId: p.tracingId,
    message: {
      type: 'Text',
      text: p.text ?? '',
      ...(p.attachmentIds?.length
        ? { content: p.attachmentIds.map((id) => ({ contentType: 'Attachment', attachment: { id } })) }
        : {}),
      metadata: { id: p.messageId },
      ...channelWith(p.customAttributes),
    },
  };
}

/** What kind of offer an answer answers, as Genesys names it in `buttonResponse.type`. */
export type AnswerKind = 'QuickReply' | 'Button' | 'DatePicker';

/**
 * The guest's answer to a quick reply, a card button or a date picker: a
 * ButtonResponse, as Genesys's own client sends it
 * (docs/genesys-protocol.md#onmessage-structured-answers-quick-reply-button-date-picker).
 * A card button goes as a Structured message with the button's text; the
 * others as a Text message with empty text.
 */
export function answerFrame(p: {
  token: string;
  tracingId: string;
  messageId: string;
  kind: AnswerKind;
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
      type: p.kind === 'Button' ? 'Structured' : 'Text',
      text: p.kind === 'Button' ? p.text : '',
      metadata: { id: p.messageId },
      content: [
        {
          contentType: 'ButtonResponse',
          buttonResponse: {
            type: p.kind,
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

/**
 * The guest read a message (docs/genesys-protocol.md#receipts): a `Receipt` with status `Read` naming the message by
 * its id, as the receipts Genesys sends name theirs. Unverified: no source shows Genesys taking one from a web guest,
 * so it is sent only where the deployment turns read receipts on (READ_RECEIPTS).
 */
export function readReceiptFrame(p: { token: string; tracingId: string; messageId: string }) {
  return {
    action: 'onMessage',
    token: p.token,
    tracingId: p.tracingId,
    message: { type: 'Receipt', status: 'Read', id: p.messageId },
  };
}

/**
 * Autostart: Presence Join, which may carry the custom attributes
 * (docs/genesys-protocol.md#onmessage-events-typing-join-clear).
 */
export function joinFrame(p: { token: string; tracingId: string; customAttributes?: CustomAttributes }) {
  return {
    action: 'onMessage',
    token: p.token,
    tracingId: p.tracingId,
    message: {
      type: 'Event',
      events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
      ...channelWith(p.customAttributes),
    },
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
