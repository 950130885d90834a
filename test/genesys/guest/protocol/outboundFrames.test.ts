import {
  answerFrame,
  clearFrame,
  closeSessionFrame,
  configureAuthenticatedSessionFrame,
  configureSessionFrame,
  echoFrame,
  getJwtFrame,
  joinFrame,
  readReceiptFrame,
  textMessageFrame,
  typingFrame,
} from '../../../../src/genesys/guest/protocol/outboundFrames';

/** The frames this service sends, each in the shape docs/genesys-protocol.md#guest-websocket records from the official SDK. */
const token = '5b1e2c4a-0d7f-4c8e-9a3b-6f2d1e0c9b8a';
const tracingId = 't-1';

describe('configuring', () => {
  test('configureSession carries the token, the deployment, startNew and the journey context MT sends', () => {
    expect(configureSessionFrame({ token, deploymentId: 'dep-1', startNew: true, tracingId })).toEqual({
      action: 'configureSession',
      token,
      deploymentId: 'dep-1',
      startNew: true,
      journeyContext: { customer: { id: token, idType: 'cookie' }, customerSession: { id: '', type: 'web' } },
      tracingId,
    });
  });

  test('configureAuthenticatedSession is the same frame, with the web-deployment JWT in data.code', () => {
    expect(
      configureAuthenticatedSessionFrame({
        token,
        deploymentId: 'dep-1',
        startNew: false,
        tracingId,
        jwt: 'header.payload.sig',
      }),
    ).toEqual({
      action: 'configureAuthenticatedSession',
      token,
      deploymentId: 'dep-1',
      startNew: false,
      journeyContext: { customer: { id: token, idType: 'cookie' }, customerSession: { id: '', type: 'web' } },
      data: { code: 'header.payload.sig' },
      tracingId,
    });
  });
});

describe('onMessage: text, files and attributes', () => {
  test('files go as Attachment content items carrying only their id; without text, text is empty', () => {
    expect(textMessageFrame({ token, tracingId, messageId: 'm-1', attachmentIds: ['a-1', 'a-2'] })).toEqual({
      action: 'onMessage',
      token,
      tracingId,
      message: {
        type: 'Text',
        text: '',
        content: [
          { contentType: 'Attachment', attachment: { id: 'a-1' } },
          { contentType: 'Attachment', attachment: { id: 'a-2' } },
        ],
        metadata: { id: 'm-1' },
      },
    });
  });

  test('no files means no content array, and an empty attribute set means no channel', () => {
    const frame = textMessageFrame({
      token,
      tracingId,
      messageId: 'm-2',
      text: 'hi',
      attachmentIds: [],
      customAttributes: {},
    });
    expect(frame.message).toEqual({ type: 'Text', text: 'hi', metadata: { id: 'm-2' } });
  });

  test('attributes ride inside message.channel.metadata.customAttributes', () => {
    const frame = textMessageFrame({
      token,
      tracingId,
      messageId: 'm-3',
      text: 'hi',
      customAttributes: { plan: 'gold' },
    });
    expect(frame.message).toEqual({
      type: 'Text',
      text: 'hi',
      metadata: { id: 'm-3' },
      channel: { metadata: { customAttributes: { plan: 'gold' } } },
    });
    expect(frame).not.toHaveProperty('channel');
  });
});

describe('onMessage: answers, as MT sends each kind', () => {
  const answer = {
    token,
    tracingId,
    messageId: 'm-4',
    text: 'Yes please',
    payload: 'yes',
    originatingMessageId: 'offer-1',
  };

  test.each(['QuickReply', 'DatePicker'] as const)(
    'a %s answer is a Text message with empty text and one ButtonResponse',
    (kind) => {
      expect(answerFrame({ ...answer, kind })).toEqual({
        action: 'onMessage',
        token,
        tracingId,
        message: {
          type: 'Text',
          text: '',
          metadata: { id: 'm-4' },
          content: [
            {
              contentType: 'ButtonResponse',
              buttonResponse: { type: kind, text: 'Yes please', payload: 'yes', originatingMessageId: 'offer-1' },
            },
          ],
        },
      });
    },
  );

  test("a card button is a Structured message carrying the button's text", () => {
    expect(answerFrame({ ...answer, kind: 'Button', customAttributes: { step: '2' } }).message).toEqual({
      type: 'Structured',
      text: 'Yes please',
      metadata: { id: 'm-4' },
      content: [
        {
          contentType: 'ButtonResponse',
          buttonResponse: { type: 'Button', text: 'Yes please', payload: 'yes', originatingMessageId: 'offer-1' },
        },
      ],
      channel: { metadata: { customAttributes: { step: '2' } } },
    });
  });
});

describe('events and the other actions', () => {
  test('typing, Join and Clear are Event messages', () => {
    expect(typingFrame({ token, tracingId }).message).toEqual({
      type: 'Event',
      events: [{ eventType: 'Typing', typing: { type: 'On' } }],
    });
    expect(joinFrame({ token, tracingId }).message).toEqual({
      type: 'Event',
      events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
    });
    expect(clearFrame({ token, tracingId })).toEqual({
      action: 'onMessage',
      token,
      tracingId,
      message: { type: 'Event', events: [{ eventType: 'Presence', presence: { type: 'Clear' } }] },
    });
  });

  test('a read receipt names the message read by its id, as the receipts Genesys sends do', () => {
    expect(readReceiptFrame({ token, tracingId, messageId: 'm-7' })).toEqual({
      action: 'onMessage',
      token,
      tracingId,
      message: { type: 'Receipt', status: 'Read', id: 'm-7' },
    });
  });

  test('echo is the ping health check', () => {
    expect(echoFrame({ token, tracingId })).toEqual({
      action: 'echo',
      token,
      tracingId,
      message: { type: 'Text', text: 'ping' },
    });
  });

  test('getJwt and closeSession; closeSession closes every connection of the session', () => {
    expect(getJwtFrame({ token, tracingId })).toEqual({ action: 'getJwt', token, tracingId });
    expect(closeSessionFrame({ token, tracingId })).toEqual({
      action: 'closeSession',
      token,
      closeAllConnections: true,
      tracingId,
    });
  });
});
