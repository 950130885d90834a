import { registry } from '../../../../src/observability/metrics';
import { inboundTarget } from '../../../support/inboundTarget';

/**
 * The replies and events whose handling only the API suites stated: an attachment reply goes to the
 * request for its own file and kind only, an upload's verdict carries its download URL, a Disconnect
 * makes the chat read-only only when Genesys says so, and messages are counted by direction.
 */
const INFO = 30;
const fileFrame = (cls: string, body: object, tracingId?: string) => ({
  type: cls === 'PresignedUrlResponse' ? 'response' : 'message',
  class: cls,
  code: 200,
  body,
  ...(tracingId ? { tracingId } : {}),
});
const presigned = {
  attachmentId: 'f1',
  url: 'https://files.example.test/f1',
  headers: { 'x-amz-acl': 'private' },
  fileName: 'a.png',
  fileType: 'image/png',
  fileSize: 3,
};

describe('attachment replies', () => {
  test('a PresignedUrlResponse answers the request about its file with the URL and headers to upload to', () => {
    const h = inboundTarget();
    h.add('attachment', 'A', { attachmentId: 'f1' });
    h.feed(fileFrame('PresignedUrlResponse', presigned, 'A'));
    expect(h.settled.get('A')).toEqual({
      value: expect.objectContaining({ attachmentId: 'f1', url: presigned.url, headers: presigned.headers }),
    });
    expect(h.lines).toEqual([]);
  });

  test('a reply whose tracingId names a request of another kind, or about another file, settles nothing and is logged as dropped', () => {
    const h = inboundTarget();
    h.add('send', 'S');
    h.add('attachment', 'B', { attachmentId: 'f2' });
    h.feed(fileFrame('PresignedUrlResponse', presigned, 'S'));
    h.feed(fileFrame('PresignedUrlResponse', presigned, 'B'));
    expect(h.settled.size).toBe(0);
    expect(h.lines).toEqual([
      expect.objectContaining({
        level: INFO,
        attachmentId: 'f1',
        msg: expect.stringMatching(/no waiting request; dropped/),
      }),
      expect.objectContaining({
        level: INFO,
        attachmentId: 'f1',
        msg: expect.stringMatching(/no waiting request; dropped/),
      }),
    ]);
  });

  test('UploadSuccessEvent hands its download URL to the upload waiting for that file, and logs nothing', () => {
    const h = inboundTarget({ uploads: ['f1'] });
    h.feed(
      fileFrame('UploadSuccessEvent', {
        attachmentId: 'f1',
        downloadUrl: 'https://files.example.test/f1?dl',
        timestamp: null,
      }),
    );
    expect(h.uploadVerdicts).toEqual([['f1', { downloadUrl: 'https://files.example.test/f1?dl' }]]);
    expect(h.lines).toEqual([]);
  });
});

test("a message echo whose tracingId names a request that is not a send or a Join is never that request's reply", () => {
  const h = inboundTarget();
  h.add('jwt', 'X');
  h.feed({
    type: 'message',
    class: 'StructuredMessage',
    code: 200,
    tracingId: 'X',
    body: { id: 'g9', type: 'Text', text: 'hi', direction: 'Inbound' },
  });
  expect(h.settled.size).toBe(0);
});

describe('presence and counting', () => {
  const agentEvent = (events: object[], metadata?: object) => ({
    type: 'message',
    class: 'StructuredMessage',
    code: 200,
    body: { id: 'ev', type: 'Event', direction: 'Outbound', events, ...(metadata ? { metadata } : {}) },
  });

  test('a Disconnect without readOnly leaves the chat writable; with readOnly "true" it becomes read-only', () => {
    const h = inboundTarget({ info: { connected: true, newSession: false, readOnly: false, maxCustomDataBytes: -1 } });
    h.feed(agentEvent([{ eventType: 'Presence', presence: { type: 'Disconnect' } }]));
    expect(h.events).toEqual([{ type: 'presence', presence: 'disconnect', readOnly: false }]);
    expect(h.state.updates).toBe(0);
    h.feed(agentEvent([{ eventType: 'Presence', presence: { type: 'Disconnect' } }], { readOnly: 'true' }));
    expect(h.events[1]).toEqual({ type: 'presence', presence: 'disconnect', readOnly: true });
    expect(h.state.info).toMatchObject({ readOnly: true });
  });

  test("an agent's message counts as outbound, the echo of the guest's send as inbound, and the echo of a Join as neither", async () => {
    const count = async (direction: string) =>
      (await registry.getSingleMetric('genesys_bff_messages_total')?.get())?.values.find(
        (v) => v.labels.direction === direction,
      )?.value ?? 0;
    const h = inboundTarget();
    const [inbound, outbound] = [await count('inbound'), await count('outbound')];
    h.feed({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      body: { id: 'a1', type: 'Text', text: 'hello', direction: 'Outbound' },
    });
    expect([await count('inbound'), await count('outbound')]).toEqual([inbound, outbound + 1]);
    h.add('send', 'S', { messageId: 'ours', text: 'hi' });
    h.feed({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      tracingId: 'S',
      body: { id: 'g1', type: 'Text', text: 'hi', direction: 'Inbound' },
    });
    expect(h.settled.get('S')).toEqual({ value: expect.objectContaining({ id: 'g1' }) });
    expect([await count('inbound'), await count('outbound')]).toEqual([inbound + 1, outbound + 1]);
    h.add('join', 'J');
    h.feed({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      tracingId: 'J',
      body: {
        id: 'j1',
        type: 'Event',
        direction: 'Inbound',
        events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
      },
    });
    expect(h.settled.get('J')).toEqual({ value: expect.objectContaining({ id: 'j1' }) });
    expect([await count('inbound'), await count('outbound')]).toEqual([inbound + 1, outbound + 1]);
  });

  test('only a Presence event of type Join answers a Join: another event carrying a presence is not taken for one', () => {
    const h = inboundTarget();
    h.add('join', 'J');
    const echo = (eventType: string) => ({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      body: {
        id: `e-${eventType}`,
        type: 'Event',
        direction: 'Inbound',
        events: [{ eventType, presence: { type: 'Join' } }],
      },
    });
    h.feed(echo('Typing'));
    expect(h.settled.size).toBe(0);
    h.feed(echo('Presence'));
    expect(h.settled.get('J')).toEqual({ value: expect.objectContaining({ id: 'e-Presence' }) });
  });
});
