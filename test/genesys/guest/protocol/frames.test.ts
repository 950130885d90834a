import { normalizedMessageSchema } from '../../../../src/domain/message';
import {
  guestErrorFromFrame,
  GuestApiError,
  MAX_RETRY_AFTER_SECONDS,
} from '../../../../src/genesys/guest/protocol/errors';
import { parseInbound, type InboundFrame } from '../../../../src/genesys/guest/protocol/frames';
import { normalizeMessage } from '../../../../src/genesys/guest/protocol/normalize';
import { RESPONSE_KT } from '../../../support/sdkFixtures';

/**
 * Inbound Guest API frames (src/genesys/guest/protocol/frames.ts), parsed and normalised: exactly as
 * the reference records them (docs/genesys-protocol.md#server-frames), and as tolerantly as
 * Genesys's own SDK fixtures require: every fixture recognised, null as absence, odd frames that
 * must fail a request rather than let it time out, retryAfter, receipts and structured content.
 */

describe('as the reference records them', () => {
  describe('inbound frames', () => {
    test.each([
      [4006, 'session expired error message', 'session_expired', 410],
      [4007, 'session not found', 'session_expired', 410],
      [4011, 'Message length 5000 is larger than 4096', 'message_too_long', 413],
      [4013, 'Custom Attributes in channel metadata is larger than 2048 bytes', 'attributes_too_large', 413],
      [400, 'Deployment not found', 'upstream_unavailable', 502],
      [403, 'Turn on the Feature Toggle or fix the configuration.', 'upstream_unavailable', 502],
      [5000, 'Request failed.', 'upstream_unavailable', 502],
    ])('class "string" %i maps to %s', (code, body, contractCode, status) => {
      const frame = parseInbound(JSON.stringify({ type: 'response', class: 'string', code, body }));
      expect(frame.kind).toBe('error');
      if (frame.kind !== 'error') return;
      const error = guestErrorFromFrame(frame.envelope, frame.body);
      expect(error.code).toBe(contractCode);
      expect(error.status).toBe(status);
      expect(error.logDetail).toMatchObject({ genesysCode: code, genesysText: body });
      expect(error.message).not.toContain(body);
    });

    test('TooManyRequestsErrorMessage keeps retryAfter', () => {
      const frame = parseInbound(
        '{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"retryAfter":3,"errorCode":4029,"errorMessage":"Message rate too high for this session"}}',
      );
      expect(frame).toMatchObject({ kind: 'tooManyRequests', body: { retryAfter: 3, errorCode: 4029 } });
      if (frame.kind !== 'tooManyRequests') return;
      expect(guestErrorFromFrame(frame.envelope, frame.body.errorMessage!, frame.body.retryAfter)).toMatchObject({
        code: 'rate_limited',
        retryAfterSeconds: 3,
      });
    });

    test('SessionResponse: the minimal live body and the full one', () => {
      expect(
        parseInbound(
          '{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true}}',
        ),
      ).toMatchObject({
        kind: 'session',
        body: { connected: true, newSession: true, readOnly: false, maxCustomDataBytes: -1 },
      });
      const full = parseInbound(
        '{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":false,"readOnly":true,"maxCustomDataBytes":2048,"allowedMedia":{"inbound":{"fileTypes":[{"type":"*/*"}],"maxFileSizeKB":10240}},"blockedExtensions":[".ade"],"clearedExistingSession":false,"durationSeconds":259200,"expirationDate":1791139139}}',
      );
      expect(full).toMatchObject({
        kind: 'session',
        body: { readOnly: true, maxCustomDataBytes: 2048, expirationDate: 1791139139 },
      });
    });

    test.each(['SessionExpiredEvent', 'ConnectionClosedEvent', 'SessionClearedEvent', 'LogoutEvent', 'JwtResponse'])(
      '%s is recognised',
      (cls) => {
        const body = cls === 'JwtResponse' ? { jwt: 'a.b.c', exp: 1623675564 } : {};
        expect(parseInbound(JSON.stringify({ type: 'message', class: cls, code: 200, body })).kind).not.toBe('unknown');
      },
    );

    test('unknown classes, malformed bodies and non-JSON are data, not exceptions', () => {
      expect(parseInbound('{"type":"message","class":"Brand new","code":200,"body":{}}')).toMatchObject({
        kind: 'unknown',
        reason: 'unknown class Brand new',
      });
      expect(
        parseInbound('{"type":"message","class":"StructuredMessage","code":200,"body":{"no":"id"}}'),
      ).toMatchObject({
        kind: 'unknown',
      });
      expect(parseInbound('{"nope":1}')).toMatchObject({ kind: 'unknown' });
      expect(parseInbound('<html>')).toMatchObject({ kind: 'unknown' });
    });

    test.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
      'a class named like an Object property (%s) is an unknown class, logged as such',
      (cls) => {
        expect(parseInbound(JSON.stringify({ type: 'message', class: cls, code: 200, body: {} }))).toMatchObject({
          kind: 'unknown',
          reason: `unknown class ${cls}`,
        });
      },
    );

    // The reason is the `reason` field of the warning inboundDispatch.ts logs for an ignored frame: what an operator reads.
    test('an ignored frame says why, for the log', () => {
      expect(parseInbound('<html>')).toEqual({ kind: 'unknown', reason: 'not JSON' });
      expect(parseInbound('{"nope":1}')).toEqual({ kind: 'unknown', reason: 'not a Guest API envelope' });
      expect(parseInbound('{"type":"response","class":"string","code":400}')).toEqual({
        kind: 'unknown',
        reason: 'not a Guest API envelope',
      });
      const malformed = parseInbound('{"type":"message","class":"StructuredMessage","code":200,"body":{"no":"id"}}');
      expect(malformed).toMatchObject({
        kind: 'unknown',
        envelope: { class: 'StructuredMessage' },
        reason: expect.stringMatching(/^malformed StructuredMessage body: .*id/s),
      });
      const receipt = parseInbound(
        '{"type":"message","class":"StructuredMessage","code":200,"body":{"id":"msg-1","type":"Receipt","direction":"Outbound"}}',
      );
      expect(receipt).toMatchObject({
        kind: 'unknown',
        reason: 'receipt (no status) for message msg-1, not one a guest is told of',
      });
    });
  });

  /** The text of an error frame is what the failure logs as `genesysText`; the frame fails its request whatever its body. */
  describe('error frames with odd bodies', () => {
    const errorFrame = (cls: string, code: number, body?: unknown) =>
      parseInbound(JSON.stringify({ type: 'response', class: cls, code, body }));

    test.each([
      ['a bare string', 'Request failed.', 'Request failed.'],
      ['an ErrorMessage', { errorMessage: 'session expired', message: 'm' }, 'session expired'],
      ['an object with only a message', { message: 'Deployment not found' }, 'Deployment not found'],
      ['an object with no text, as its JSON', { errorCode: 4020 }, '{"errorCode":4020}'],
      ['null', null, 'null'],
    ])('%s', (_what, body, text) => {
      expect(errorFrame('string', 400, body)).toMatchObject({ kind: 'error', body: text });
      expect(errorFrame('Error', 400, body)).toMatchObject({ kind: 'error', body: text });
    });

    test("an Error frame that already carries an error code keeps it: the body's code stands in only for a success code", () => {
      const body = { errorCode: 4006, errorMessage: 'session expired' };
      expect(errorFrame('Error', 400, body)).toMatchObject({ kind: 'error', envelope: { code: 400 } });
      expect(errorFrame('Error', 403, body)).toMatchObject({ kind: 'error', envelope: { code: 403 } });
      expect(errorFrame('Error', 200, body)).toMatchObject({ kind: 'error', envelope: { code: 4006 } });
    });
  });

  describe('normalised messages', () => {
    test('a bot reply with quick replies', () => {
      const m = normalizeMessage({
        id: 'msg_id',
        type: 'Structured',
        text: 'What would you like to do?',
        direction: 'Outbound',
        originatingEntity: 'Bot',
        channel: { time: '2022-08-22T19:24:26.704Z', type: 'Private', from: {} },
        content: [
          { contentType: 'QuickReply', quickReply: { text: 'Yes', payload: 'cookie1' } },
          { contentType: 'QuickReply', quickReply: { text: 'No', payload: 'cookie2' } },
        ],
      });
      expect(m).toEqual({
        id: 'msg_id',
        direction: 'outbound',
        type: 'structured',
        text: 'What would you like to do?',
        time: '2022-08-22T19:24:26.704Z',
        originatingEntity: 'bot',
        quickReplies: [
          { text: 'Yes', payload: 'cookie1' },
          { text: 'No', payload: 'cookie2' },
        ],
      });
    });

    test('the echo of a guest message keeps our id, has no entity, and is `sent` until a receipt says more', () => {
      const m = normalizeMessage({
        id: 'srv-1',
        type: 'Text',
        text: 'Hello world!',
        direction: 'Inbound',
        originatingEntity: '',
        channel: { time: '2022-08-22T19:24:26.704Z', messageId: '0d6a0b4e-7a0e-4f0e-9c31-3e1d3f2d1a00' },
      });
      expect(m).toEqual({
        id: 'srv-1',
        clientMessageId: '0d6a0b4e-7a0e-4f0e-9c31-3e1d3f2d1a00',
        direction: 'inbound',
        type: 'text',
        text: 'Hello world!',
        time: '2022-08-22T19:24:26.704Z',
        status: 'sent',
      });
    });

    test('attachments and cards', () => {
      const m = normalizeMessage({
        id: 'x',
        type: 'Structured',
        direction: 'Outbound',
        originatingEntity: 'Human',
        channel: { time: '2024-01-01T00:00:00.000Z', from: { nickname: 'Ana' } },
        content: [
          {
            contentType: 'Attachment',
            attachment: {
              id: 'a1',
              filename: 'image.png',
              mediaType: 'Image',
              mime: 'image/png',
              url: 'https://api.mypurecloud.com/api/v2/downloads/x',
            },
          },
          {
            contentType: 'Card',
            card: { title: 'Plan', actions: [{ type: 'Link', text: 'Open', url: 'https://example.com' }] },
          },
        ],
      });
      expect(m.originatingEntity).toBe('human');
      expect(m.from).toEqual({ name: 'Ana' });
      expect(m.attachments?.[0]).toMatchObject({ id: 'a1', filename: 'image.png', mime: 'image/png' });
      expect(m.cards?.[0]).toMatchObject({
        title: 'Plan',
        actions: [{ type: 'Link', text: 'Open', url: 'https://example.com' }],
      });
    });
  });
});

describe("as tolerantly as the SDK's fixtures require", () => {
  const frame = (cls: string, body: unknown, extra: Record<string, unknown> = {}) =>
    parseInbound(JSON.stringify({ type: 'message', class: cls, code: 200, body, ...extra }));

  function messageOf(f: InboundFrame) {
    if (f.kind !== 'message') throw new Error(`expected a message frame, got ${f.kind}: ${JSON.stringify(f)}`);
    return normalizeMessage(f.body, new Date('2024-05-01T10:00:00.000Z'));
  }

  describe("every frame of the official SDK's fixtures", () => {
    test.each(Object.entries(RESPONSE_KT).filter(([name]) => name !== 'unknownEvent'))(
      '%s is recognised',
      (_name, raw) => {
        const parsed = parseInbound(raw);
        expect(parsed.kind).not.toBe('unknown');
        if (parsed.kind === 'message') expect(normalizedMessageSchema.safeParse(messageOf(parsed)).success).toBe(true);
      },
    );

    test('the full SessionResponse keeps the fields this service does not use as data', () => {
      expect(parseInbound(RESPONSE_KT.configureSuccess)).toMatchObject({
        kind: 'session',
        body: { connected: true, newSession: true, maxCustomDataBytes: 100, blockedExtensions: ['.ade', '.adp'] },
      });
    });

    test('an unknown event type inside a message is kept, not fatal', () => {
      const raw = RESPONSE_KT.structuredMessageWithEvents.replace(
        '"events": [',
        `"events": [${RESPONSE_KT.unknownEvent},`,
      );
      expect(messageOf(parseInbound(raw)).events).toEqual([
        { type: 'Fake' },
        { type: 'Typing', value: 'Off' },
        { type: 'Typing', value: 'On' },
      ]);
    });

    test('ConnectionClosedEvent: `reason` (mobile SDK) and `reasonCode` (Java SDK) both read', () => {
      expect(parseInbound(RESPONSE_KT.connectionClosedEventReasonSignIn)).toMatchObject({
        kind: 'connectionClosed',
        body: { reason: 'signedIn' },
      });
      expect(frame('ConnectionClosedEvent', { reasonCode: 'signedIn' })).toMatchObject({
        kind: 'connectionClosed',
        body: { reason: 'signedIn' },
      });
      expect(frame('ConnectionClosedEvent', { reason: null })).toMatchObject({
        kind: 'connectionClosed',
        body: { reason: undefined },
      });
      expect(frame('ConnectionClosedEvent', null)).toMatchObject({ kind: 'connectionClosed' });
    });
  });

  describe('null is absence', () => {
    test('a SessionResponse with durationSeconds, expirationDate and the defaulted fields null parses', () => {
      const parsed = frame('SessionResponse', {
        connected: true,
        newSession: null,
        readOnly: null,
        maxCustomDataBytes: null,
        clearedExistingSession: null,
        durationSeconds: null,
        expirationDate: null,
        allowedMedia: null,
      });
      expect(parsed).toMatchObject({
        kind: 'session',
        body: { connected: true, newSession: false, readOnly: false, maxCustomDataBytes: -1 },
      });
      if (parsed.kind !== 'session') return;
      expect(parsed.body.durationSeconds).toBeUndefined();
      expect(parsed.body.expirationDate).toBeUndefined();
    });

    test('an agent message with nulls everywhere optional normalises', () => {
      const parsed = frame(
        'StructuredMessage',
        {
          id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
          type: 'Structured',
          text: null,
          direction: 'Outbound',
          originatingEntity: 'Human',
          originatingMessageId: null,
          channel: {
            time: null,
            messageId: null,
            type: 'Private',
            from: { nickname: 'Ana', firstName: null, lastName: null, image: null },
            to: null,
          },
          content: [
            { contentType: 'QuickReply', quickReply: { text: 'Yes', payload: 'yes', action: null, image: null } },
            {
              contentType: 'Attachment',
              attachment: {
                id: 'att',
                url: 'https://api.mypurecloud.ie/api/v2/downloads/x',
                filename: 'a.pdf',
                fileSize: null,
                mediaType: 'File',
                mime: null,
                sha256: null,
              },
            },
            {
              contentType: 'Card',
              card: {
                title: 'Plan',
                description: null,
                image: null,
                defaultAction: null,
                actions: [{ type: 'Link', text: 'Open', url: 'https://example.com', payload: null }],
              },
            },
          ],
          events: null,
          metadata: null,
        },
        { tracingId: null },
      );
      expect(parsed.kind).toBe('message');
      const m = messageOf(parsed);
      expect(m).toEqual({
        id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
        direction: 'outbound',
        type: 'structured',
        time: '2024-05-01T10:00:00.000Z',
        originatingEntity: 'human',
        from: { name: 'Ana' },
        quickReplies: [{ text: 'Yes', payload: 'yes' }],
        attachments: [
          { id: 'att', url: 'https://api.mypurecloud.ie/api/v2/downloads/x', filename: 'a.pdf', mediaType: 'File' },
        ],
        cards: [{ title: 'Plan', actions: [{ type: 'Link', text: 'Open', url: 'https://example.com' }] }],
      });
      expect(normalizedMessageSchema.safeParse(m).success).toBe(true);
    });

    test('a JwtResponse with nulls takes the SDK defaults instead of timing the request out', () => {
      expect(frame('JwtResponse', { jwt: 'a.b.c', exp: null })).toMatchObject({
        kind: 'jwt',
        body: { jwt: 'a.b.c', exp: 0 },
      });
      expect(frame('JwtResponse', {})).toMatchObject({ kind: 'jwt', body: { jwt: '', exp: 0 } });
    });

    test('a TooManyRequestsErrorMessage with nulls or an odd body still refuses the request', () => {
      const parsed = parseInbound(
        '{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"retryAfter":null,"errorCode":null,"errorMessage":null}}',
      );
      expect(parsed).toMatchObject({ kind: 'tooManyRequests' });
      if (parsed.kind !== 'tooManyRequests') return;
      expect(guestErrorFromFrame(parsed.envelope, 'x', parsed.body.retryAfter)).toMatchObject({
        code: 'rate_limited',
        retryAfterSeconds: 1,
      });
      expect(
        parseInbound(
          '{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"retryAfter":"soon"}}',
        ),
      ).toMatchObject({
        kind: 'tooManyRequests',
      });
      expect(
        parseInbound('{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":"slow down"}'),
      ).toMatchObject({
        kind: 'tooManyRequests',
        body: { errorMessage: 'slow down' },
      });
    });

    test('an unreadable content item is dropped, the message kept', () => {
      const m = messageOf(
        frame('StructuredMessage', {
          id: 'x',
          type: 'Structured',
          direction: 'Outbound',
          content: [7, { contentType: 'QuickReply', quickReply: { text: 'A', payload: 'a' } }],
        }),
      );
      expect(m.quickReplies).toEqual([{ text: 'A', payload: 'a' }]);
    });
  });

  describe('frames that must fail a request rather than let it time out', () => {
    test('an `Error` class frame (Java SDK MessageDataType) is an error frame', () => {
      const parsed = parseInbound(
        '{"type":"response","class":"Error","code":400,"body":"Request failed.","tracingId":"t-1"}',
      );
      expect(parsed).toMatchObject({ kind: 'error', body: 'Request failed.', envelope: { tracingId: 't-1' } });
      if (parsed.kind !== 'error') return;
      expect(guestErrorFromFrame(parsed.envelope, parsed.body)).toMatchObject({
        code: 'upstream_unavailable',
        status: 502,
      });
    });

    test('an `Error` body shaped like ErrorMessage gives its text and code', () => {
      const parsed = frame('Error', { name: 'Error', message: 'm', errorCode: 4006, errorMessage: 'session expired' });
      expect(parsed).toMatchObject({ kind: 'error', body: 'session expired', envelope: { code: 4006 } });
      if (parsed.kind !== 'error') return;
      expect(guestErrorFromFrame(parsed.envelope, parsed.body)).toMatchObject({
        code: 'session_expired',
        fatalForSession: true,
      });
    });
  });

  describe('retryAfter', () => {
    test('a frame asking for 1e12 seconds gives a Retry-After of at most the maximum', () => {
      const parsed = parseInbound(
        '{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"retryAfter":1e12,"errorCode":4029}}',
      );
      expect(parsed.kind).toBe('tooManyRequests');
      if (parsed.kind !== 'tooManyRequests') return;
      expect(guestErrorFromFrame(parsed.envelope, 'slow', parsed.body.retryAfter).retryAfterSeconds).toBe(
        MAX_RETRY_AFTER_SECONDS,
      );
    });

    test.each([
      [Infinity, MAX_RETRY_AFTER_SECONDS],
      [-5, 0],
      [NaN, undefined],
      [3, 3],
    ])('any GuestApiError: %p becomes %p', (given, expected) => {
      expect(new GuestApiError('rate_limited', 'slow', { retryAfterSeconds: given }).retryAfterSeconds).toBe(expected);
    });
  });

  describe('receipts', () => {
    const receiptFrame = (body: Record<string, unknown>) =>
      frame(
        'StructuredMessage',
        { id: 'msg-1', type: 'Receipt', direction: 'Outbound', channel: { time: '2024-05-01T10:00:00.000Z' }, ...body },
        { tracingId: 't-1' },
      );

    test('a Receipt is never a chat message: it is a receipt about the message whose id it carries', () => {
      expect(receiptFrame({ status: 'Delivered' })).toMatchObject({
        kind: 'receipt',
        body: { messageId: 'msg-1', status: 'delivered', at: '2024-05-01T10:00:00.000Z' },
      });
      expect(receiptFrame({ status: 'Read' })).toMatchObject({ kind: 'receipt', body: { status: 'read' } });
      const delivered = receiptFrame({ status: 'Delivered' });
      expect(delivered.kind === 'receipt' && 'reasons' in delivered.body).toBe(false);
    });

    test("a Failed receipt keeps Genesys's reason codes; one it does not know is `other` with its text", () => {
      const failed = receiptFrame({
        status: 'Failed',
        reasons: [
          { code: 'DataFiltered', message: 'blocked by a filter' },
          { code: 'RateLimited' },
          { code: 'SomethingNew', message: 'a new reason' },
          { code: 'AlsoNew' },
          null,
        ],
      });
      expect(failed).toMatchObject({ kind: 'receipt', body: { status: 'failed' } });
      expect(failed.kind === 'receipt' && failed.body.reasons).toEqual([
        { code: 'DataFiltered', message: 'blocked by a filter' },
        { code: 'RateLimited' },
        { code: 'other', message: 'a new reason' },
        { code: 'other', message: 'AlsoNew' },
      ]);
      const none = receiptFrame({ status: 'Failed', reasons: null });
      expect(none.kind === 'receipt' && none.body.reasons).toEqual([]);
      // Genesys's text rides on a stream event and a log line: never more than 500 characters of it.
      const long = receiptFrame({ status: 'Failed', reasons: [{ code: 'GeneralError', message: 'x'.repeat(600) }] });
      expect(long.kind === 'receipt' && long.body.reasons).toEqual([
        { code: 'GeneralError', message: 'x'.repeat(500) },
      ]);
    });

    test.each(['Sent', 'Published', 'Removed', 'Seen', undefined])(
      'a %s receipt is no news for a guest: ignored, never a message',
      (status) => {
        const parsed = receiptFrame(status === undefined ? {} : { status });
        expect(parsed).toMatchObject({
          kind: 'unknown',
          reason: `receipt (${status ?? 'no status'}) for message msg-1, not one a guest is told of`,
        });
      },
    );
  });

  describe('structured content', () => {
    test("the SDK's DatePicker message keeps title, slots and the id an answer refers to", () => {
      const m = messageOf(parseInbound(RESPONSE_KT.onMessageWithDatePickerStructured));
      expect(m.datePickers).toEqual([
        {
          originatingMessageId: 'msg_id',
          title: 'Select a time slot',
          subtitle: 'Choose an available time',
          imageUrl: 'https://example.com/calendar.png',
          availableTimes: [{ dateTime: '2022-08-22T19:24:26.704Z', duration: 30 }],
        },
      ]);
      expect(normalizedMessageSchema.safeParse(m).success).toBe(true);
    });

    // Shapes from MyPureCloud/web-messaging-sdk-java build/docs/ConversationContentListPicker.md,
    // ConversationContentListPickerSection.md, ConversationContentListPickerItem.md and ContentReceivedReplyMessage.md.
    test('a ListPicker keeps sections, item ids and titles', () => {
      const m = messageOf(
        frame('StructuredMessage', {
          id: 'lp-msg',
          type: 'Structured',
          direction: 'Outbound',
          originatingEntity: 'Bot',
          channel: { time: '2024-05-01T10:00:00.000Z' },
          content: [
            {
              contentType: 'ListPicker',
              listPicker: {
                id: 'lp-1',
                receivedMessage: {
                  title: 'Choose a size',
                  subtitle: 'One per section',
                  imageUrl: null,
                  buttonLabel: 'Choose',
                },
                replyMessage: { title: 'Thanks' },
                sections: [
                  {
                    title: 'Sizes',
                    multipleSelection: false,
                    items: [
                      { id: 's', title: 'Small', subtitle: '250 ml', imageUrl: null },
                      { id: 'l', title: 'Large' },
                      { title: 'no id: cannot be answered' },
                    ],
                  },
                  { title: 'Extras', multipleSelection: null, items: null },
                ],
              },
            },
          ],
        }),
      );
      expect(m.type).toBe('structured');
      expect(m.listPickers).toEqual([
        {
          originatingMessageId: 'lp-msg',
          id: 'lp-1',
          title: 'Choose a size',
          subtitle: 'One per section',
          buttonLabel: 'Choose',
          sections: [
            {
              title: 'Sizes',
              multipleSelection: false,
              items: [
                { id: 's', title: 'Small', subtitle: '250 ml' },
                { id: 'l', title: 'Large' },
              ],
            },
            { title: 'Extras', multipleSelection: false, items: [] },
          ],
        },
      ]);
      expect(normalizedMessageSchema.safeParse(m).success).toBe(true);
    });

    // Shapes from MyPureCloud/web-messaging-sdk-java build/docs/ContentForm.md, FormPage.md,
    // FormPageComponent.md, ContentInput.md, ContentWheelPicker.md and ContentIntroduction.md.
    test('a Form keeps its pages and the ids of its components', () => {
      const m = messageOf(
        frame('StructuredMessage', {
          id: 'form-msg',
          type: 'Structured',
          direction: 'Outbound',
          channel: { time: '2024-05-01T10:00:00.000Z' },
          content: [
            {
              contentType: 'Form',
              form: {
                cannedResponseId: 'cr-1',
                introduction: { title: 'Book a visit', buttonText: 'Start' },
                receivedMessage: { title: 'Booking form' },
                showSummary: true,
                formPages: [
                  {
                    title: 'Details',
                    subtitle: 'About you',
                    pageComponents: [
                      {
                        formComponentType: 'Input',
                        input: {
                          id: 'name',
                          title: 'Name',
                          isRequired: true,
                          isMultipleLine: false,
                          placeholderText: null,
                        },
                      },
                      {
                        formComponentType: 'WheelPicker',
                        wheelPicker: { id: 'guests', items: [{ id: 'g1', title: '1', value: '1' }] },
                      },
                      {
                        formComponentType: 'DatePicker',
                        datePicker: {
                          id: 'when',
                          title: 'When',
                          availableTimes: [{ dateTime: '2024-06-01T09:00:00.000Z', duration: 3600 }],
                        },
                      },
                      { formComponentType: 'Hologram', hologram: { id: 'h' } },
                    ],
                  },
                ],
              },
            },
          ],
        }),
      );
      expect(m.forms).toEqual([
        {
          originatingMessageId: 'form-msg',
          cannedResponseId: 'cr-1',
          title: 'Booking form',
          introduction: { title: 'Book a visit', buttonText: 'Start' },
          showSummary: true,
          pages: [
            {
              title: 'Details',
              subtitle: 'About you',
              components: [
                { type: 'Input', id: 'name', input: { title: 'Name', isRequired: true, isMultipleLine: false } },
                { type: 'WheelPicker', id: 'guests', wheelPicker: { items: [{ id: 'g1', title: '1', value: '1' }] } },
                {
                  type: 'DatePicker',
                  id: 'when',
                  datePicker: {
                    title: 'When',
                    availableTimes: [{ dateTime: '2024-06-01T09:00:00.000Z', duration: 3600 }],
                  },
                },
                { type: 'Hologram' },
              ],
            },
          ],
        },
      ]);
      expect(normalizedMessageSchema.safeParse(m).success).toBe(true);
    });

    test('cards and carousels keep every button action, and the default action', () => {
      const card = (title: string) => ({
        title,
        description: 'd',
        image: 'https://example.com/i.png',
        defaultAction: { type: 'Link', url: 'https://example.com/' + title },
        actions: [
          { type: 'Postback', text: 'Pick ' + title, payload: 'pick-' + title },
          { type: 'Link', text: 'More', url: 'https://example.com/more' },
        ],
      });
      const m = messageOf(
        frame('StructuredMessage', {
          id: 'c',
          type: 'Structured',
          direction: 'Outbound',
          content: [
            { contentType: 'Card', card: card('one') },
            { contentType: 'Carousel', carousel: { cards: [card('two'), card('three')] } },
            { contentType: 'Hologram' },
          ],
        }),
      );
      expect(m.cards?.map((c) => c.title)).toEqual(['one', 'two', 'three']);
      expect(m.cards?.[1]).toEqual({
        title: 'two',
        description: 'd',
        image: 'https://example.com/i.png',
        defaultAction: { type: 'Link', url: 'https://example.com/two' },
        actions: [
          { type: 'Postback', text: 'Pick two', payload: 'pick-two' },
          { type: 'Link', text: 'More', url: 'https://example.com/more' },
        ],
      });
    });

    test('a ButtonResponse keeps the message it answers', () => {
      const m = messageOf(
        frame('StructuredMessage', {
          id: 'r',
          type: 'Structured',
          direction: 'Inbound',
          text: 'Select this option',
          content: [
            {
              contentType: 'ButtonResponse',
              buttonResponse: {
                type: 'Button',
                text: 'Select this option',
                payload: 'postback_payload',
                originatingMessageId: 'msg_id',
              },
            },
          ],
        }),
      );
      expect(m.buttonResponse).toEqual({
        type: 'Button',
        text: 'Select this option',
        payload: 'postback_payload',
        originatingMessageId: 'msg_id',
      });
    });
  });
});
