import { guestErrorFromFrame } from '../../../../src/genesys/guest/protocol/errors';
import { parseInbound } from '../../../../src/genesys/guest/protocol/frames';
import { normalizeMessage } from '../../../../src/genesys/guest/protocol/normalize';

/** Frames exactly as the reference records them (docs/genesys-protocol.md#server-frames). */
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
    expect(parseInbound('{"type":"message","class":"StructuredMessage","code":200,"body":{"no":"id"}}')).toMatchObject({
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
      reason: 'receipt (no status) for message msg-1, not a chat message',
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

  test('the echo of a guest message keeps our id and has no entity', () => {
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
