import type { SessionResponse } from '../../../../src/genesys/guest/protocol/frames';
import { registry } from '../../../../src/observability/metrics';
import { inboundHarness } from '../../../support/inbound';

/**
 * What each inbound frame does to a session (src/genesys/guest/desk/inboundDispatch.ts), beyond
 * which request it settles (correlation.test.ts): what the session learns, what the live streams
 * and the customer are told, what an operator reads in the log, and which upload a file's verdict
 * ends. Frames are the shapes of docs/genesys-protocol.md.
 */

const DEBUG = 20;
const INFO = 30;
const WARN = 40;
const READ_RECEIPTS_OFF = 'Genesys refused a read receipt: set READ_RECEIPTS=off for this deployment';

describe('what each frame does to a session', () => {
  const harness = (options: Parameters<typeof inboundHarness>[0] = {}) =>
    inboundHarness({ now: Date.parse('2026-11-22T10:00:00Z'), ...options });

  const traced = (tracingId?: string) => (tracingId === undefined ? {} : { tracingId });
  const sessionResponse = (body: object, tracingId?: string) => ({
    type: 'response',
    class: 'SessionResponse',
    code: 200,
    body,
    ...traced(tracingId),
  });
  const jwtResponse = (tracingId?: string) => ({
    type: 'response',
    class: 'JwtResponse',
    code: 200,
    body: { jwt: 'x.y.z', exp: 2_000_000_000 },
    ...traced(tracingId),
  });
  const errorFrame = (code: number, text: string, tracingId?: string) => ({
    type: 'response',
    class: 'string',
    code,
    body: text,
    ...traced(tracingId),
  });
  const message = (body: object, tracingId?: string, type = 'message') => ({
    type,
    class: 'StructuredMessage',
    code: 200,
    body,
    ...traced(tracingId),
  });
  const agentEvent = (events: object[], metadata?: object) =>
    message({ id: 'ev', type: 'Event', direction: 'Outbound', events, ...(metadata ? { metadata } : {}) });
  const fileFrame = (cls: string, body: object, tracingId?: string) => ({
    type: cls === 'PresignedUrlResponse' ? 'response' : 'message',
    class: cls,
    code: 200,
    body,
    ...traced(tracingId),
  });

  const connected: SessionResponse = { connected: true, newSession: false, readOnly: false, maxCustomDataBytes: -1 };

  describe('replies no request waits for', () => {
    test('a SessionResponse nobody asked for tells the session what Genesys now says (here: the conversation is read-only)', () => {
      const h = harness({ info: connected });
      h.feed(sessionResponse({ connected: true, readOnly: true }));
      expect(h.session.info).toMatchObject({ connected: true, readOnly: true });
    });

    test('a reply to a request that gave up is dropped and logged as late; one whose tracingId nothing sent, as not late', () => {
      const h = harness();
      h.desk.expire(h.desk.add('jwt', 'J'));
      h.feed(jwtResponse('J'));
      h.feed(jwtResponse('never-sent'));
      expect(h.desk.settled.get('J')).toMatchObject({ failure: 'timeout' }); // its own deadline, not the late reply
      expect(h.lines).toEqual([
        expect.objectContaining({ level: INFO, replyClass: 'jwt', late: true, msg: expect.stringMatching(/dropped/) }),
        expect.objectContaining({ level: INFO, replyClass: 'jwt', late: false, msg: expect.stringMatching(/dropped/) }),
      ]);
    });
  });

  describe('error frames', () => {
    test('a 429 whose body has no text is still logged by the error it carries as rate limiting', () => {
      const h = harness();
      h.feed({ type: 'response', class: 'TooManyRequestsErrorMessage', code: 429, body: { retryAfter: 3 } });
      expect(h.desk.refusals).toHaveLength(1);
      expect(h.desk.refusals[0]![1]).toMatchObject({
        failure: 'rate_limited',
        retryAfterSeconds: 3,
        logDetail: { genesysCode: 429, genesysText: 'rate limited' },
      });
    });

    test('an error for a request that gave up is dropped with a warning that says it came late; one for nothing sent, not late', () => {
      const h = harness();
      h.desk.expire(h.desk.add('send', 'S', { messageId: 'ms', text: 'hello' }));
      h.feed(errorFrame(4011, 'Message length 5000 is larger than 4096', 'S'));
      h.feed(errorFrame(4011, 'Message length 5000 is larger than 4096', 'never-sent'));
      const warnings = h.lines.filter((l) => l.level === WARN);
      expect(warnings).toEqual([
        expect.objectContaining({
          genesysCode: 4011,
          guestFailure: 'message_too_long',
          late: true,
          msg: expect.stringMatching(/no waiting request/),
        }),
        expect.objectContaining({
          genesysCode: 4011,
          guestFailure: 'message_too_long',
          late: false,
          msg: expect.stringMatching(/no waiting request/),
        }),
      ]);
    });

    test('an untraced error that more than one request could have caused settles none of them and warns with how many', () => {
      const h = harness();
      h.desk.add('send', 'S1', { messageId: 'm1', text: 'one' });
      h.desk.add('send', 'S2', { messageId: 'm2', text: 'two' });
      h.feed(errorFrame(5000, 'Request failed.'));
      expect(h.desk.settled.size).toBe(0);
      expect(h.session.credentialsRefused).toEqual([]);
      expect(h.lines).toEqual([
        expect.objectContaining({
          level: WARN,
          genesysCode: 5000,
          guestFailure: 'bad_request',
          candidates: 2,
          msg:
            'Genesys reported an error without tracingId that more than one request could have caused; ' +
            'left to their own replies and deadlines',
        }),
      ]);
    });

    test('an error for a read receipt just sent says to turn read receipts off, traced or not, its text cut to 200', () => {
      const h = harness();
      h.desk.pending.sentWithoutReply('R1', 'read');
      h.feed(errorFrame(400, 'x'.repeat(250), 'R1'));
      h.desk.pending.sentWithoutReply('R2', 'read');
      h.feed(errorFrame(400, 'y'.repeat(250)));
      expect(h.desk.settled.size).toBe(0);
      expect(h.lines).toEqual([
        expect.objectContaining({
          level: WARN,
          genesysCode: 400,
          guestFailure: 'bad_request',
          genesysText: 'x'.repeat(200),
          msg: READ_RECEIPTS_OFF,
        }),
        expect.objectContaining({
          level: WARN,
          genesysCode: 400,
          guestFailure: 'bad_request',
          genesysText: 'y'.repeat(200),
          traced: false,
          msg: READ_RECEIPTS_OFF,
        }),
      ]);
      expect(h.lines[0]).not.toHaveProperty('traced');
    });

    test('an untraced error no waiting request could have caused is dropped with a warning, and never taken for a refused sign-in', () => {
      const h = harness();
      h.feed(errorFrame(400, 'Request failed.'));
      expect(h.session.credentialsRefused).toEqual([]);
      expect(h.lines).toEqual([
        expect.objectContaining({
          level: WARN,
          genesysCode: 400,
          guestFailure: 'bad_request',
          msg: expect.stringMatching(/no waiting request/),
        }),
      ]);
    });

    test('an untraced error that only one waiting send could have caused fails that send, even where a refused sign-in is handled', () => {
      const h = harness();
      h.desk.add('send', 'S', { messageId: 'ms', text: 'x'.repeat(5000) });
      h.feed(errorFrame(4011, 'Message length 5000 is larger than 4096'));
      expect(h.desk.settled.get('S')).toMatchObject({ failure: 'message_too_long' });
      expect(h.session.credentialsRefused).toEqual([]);
    });

    test('an untraced 401 while a configure waits answers that configure (its own renewals decide), not the running session', () => {
      const h = harness();
      h.desk.add('configure', 'C');
      h.feed(errorFrame(401, 'User is unauthorized'));
      expect(h.desk.settled.get('C')).toMatchObject({ failure: 'unauthorized' });
      expect(h.session.credentialsRefused).toEqual([]);
    });

    test('an untraced 401 with no configure waiting refused a request of the running session: configure again, and say so in the log', () => {
      const h = harness();
      h.desk.add('send', 'S', { messageId: 'ms', text: 'hello' });
      h.feed(errorFrame(401, 'User is unauthorized'));
      expect(h.session.credentialsRefused).toEqual([[undefined, expect.objectContaining({ failure: 'unauthorized' })]]);
      expect(h.desk.settled.size).toBe(0);
      expect(h.lines).toEqual([
        expect.objectContaining({
          level: INFO,
          genesysCode: 401,
          guestFailure: 'unauthorized',
          msg: expect.stringMatching(/401 mid-session/),
        }),
      ]);
    });

    test('a traced 401 answering a configure fails that configure; one answering a send configures again', () => {
      const h = harness();
      h.desk.add('configure', 'C');
      h.desk.add('send', 'S', { messageId: 'ms', text: 'hello' });
      h.feed(errorFrame(401, 'User is unauthorized', 'C'));
      h.feed(errorFrame(401, 'User is unauthorized', 'S'));
      expect(h.desk.settled.get('C')).toMatchObject({ failure: 'unauthorized' });
      expect(h.desk.settled.has('S')).toBe(false);
      expect(h.session.credentialsRefused).toEqual([['S', expect.objectContaining({ failure: 'unauthorized' })]]);
    });

    test('a traced error other than 401 fails its request, even where a refused sign-in is handled', () => {
      const h = harness();
      h.desk.add('send', 'S', { messageId: 'ms', text: 'hello' });
      h.feed(errorFrame(4011, 'Message length 5000 is larger than 4096', 'S'));
      expect(h.desk.settled.get('S')).toMatchObject({ failure: 'message_too_long' });
      expect(h.session.credentialsRefused).toEqual([]);
    });
  });

  describe('the session ending or closing', () => {
    test('SessionExpiredEvent ends the session, telling the customer to start a new one', () => {
      const h = harness();
      h.feed({ type: 'response', class: 'SessionExpiredEvent', code: 200, body: {} });
      expect(h.session.ended).toHaveLength(1);
      expect(h.session.ended[0]).toMatchObject({
        failure: 'session_expired',
        message: expect.stringMatching(/expired.*start a new one/),
      });
    });

    test('ConnectionClosedEvent signedIn on a signed-in connection ends the session: the conversation went on in another', () => {
      // Only an anonymous session steps up, so a signed-in one hears signedIn only when the customer's
      // newer sign-in cleared it (SessionResponse.clearedExistingSession on the other side).
      const h = harness({ signedIn: true });
      h.feed({ type: 'message', class: 'ConnectionClosedEvent', code: 200, body: { reason: 'signedIn' } });
      expect(h.session.heard('closing')).toBe(1);
      expect(h.session.ended).toEqual([
        expect.objectContaining({
          failure: 'signed_in_elsewhere',
          message: expect.stringMatching(/signed-in session/),
        }),
      ]);
      expect(h.session.heard('signedInElsewhere')).toBe(0);
      expect(h.session.events).toEqual([]);
    });

    test('ConnectionClosedEvent signedIn on an anonymous connection is this session signed in elsewhere: it goes on', () => {
      // The step-up of this very token through another connection (another instance that took the session
      // over) closes this one: nothing ended, so the session is handed over rather than ended.
      for (const body of [{ reason: 'signedIn' }, { reasonCode: 'signedIn' }]) {
        const h = harness({ signedIn: false });
        h.feed({ type: 'message', class: 'ConnectionClosedEvent', code: 200, body });
        expect(h.session.heard('closing')).toBe(1);
        expect(h.session.heard('signedInElsewhere')).toBe(1);
        expect(h.session.ended).toEqual([]);
        expect(h.session.events).toEqual([]);
        expect(h.lines).toEqual([
          expect.objectContaining({
            level: INFO,
            msg: 'this session was signed in through another connection; its streams reconnect there',
          }),
        ]);
      }
    });

    test('any other ConnectionClosedEvent tells the streams and the log why Genesys closed the connection, when it says', () => {
      const h = harness();
      h.feed({
        type: 'message',
        class: 'ConnectionClosedEvent',
        code: 200,
        body: { reasonCode: 'conversationCleared' },
      });
      h.feed({ type: 'message', class: 'ConnectionClosedEvent', code: 200, body: {} });
      expect(h.session.ended).toEqual([]);
      expect(h.session.events).toEqual([
        { type: 'session', state: 'closed', detail: 'Genesys closed this connection (conversationCleared).' },
        { type: 'session', state: 'closed', detail: 'Genesys closed this connection.' },
      ]);
      expect(h.lines).toEqual([
        expect.objectContaining({
          level: INFO,
          reason: 'conversationCleared',
          msg: expect.stringMatching(/closed this guest connection/),
        }),
        expect.objectContaining({ level: INFO, msg: expect.stringMatching(/closed this guest connection/) }),
      ]);
    });

    test('SessionClearedEvent leaves the session read-only, with the rest of what it knew', () => {
      const h = harness({ info: { ...connected, maxCustomDataBytes: 2048 } });
      h.desk.add('clear', 'CL');
      h.feed({ type: 'message', class: 'SessionClearedEvent', code: 200, body: {} });
      expect(h.session.info).toEqual({ ...connected, maxCustomDataBytes: 2048, readOnly: true });
      expect(h.desk.settled.has('CL')).toBe(true);
    });
  });

  describe('messages and events', () => {
    test('the reply to an echo health check answers only an echo, never the send whose tracingId it carries', () => {
      const h = harness();
      h.desk.add('send', 'S', { messageId: 'ms', text: 'ping' });
      h.feed(message({ id: 'r1', type: 'Text', text: 'ping', direction: 'Inbound' }, 'S', 'response'));
      expect(h.desk.settled.has('S')).toBe(false);
      h.desk.add('echo', 'E');
      h.feed(message({ id: 'r2', type: 'Text', text: 'ping', direction: 'Inbound' }, 'E', 'response'));
      expect(h.desk.settled.get('E')).toMatchObject({ value: { id: 'r2', text: 'ping' } });
      // Its metadata said nothing of the expiry: the session hears nothing of it.
      expect(h.session.heard('expiry')).toBe(0);
    });

    test('a receipt reaches the streams and is counted; a Failed one is logged with its reasons, others at debug', async () => {
      const counted = async (receipt: string) =>
        (await registry.getSingleMetric('genesys_bff_receipts_total')!.get()).values
          .filter((v) => v.labels.receipt === receipt)
          .reduce((sum, v) => sum + v.value, 0);
      const before = [await counted('delivered'), await counted('failed')];
      const h = harness({ logLevel: 'debug' });
      h.feed(
        message({
          id: 'g1',
          type: 'Receipt',
          status: 'Delivered',
          direction: 'Outbound',
          channel: { time: '2026-11-22T09:59:58.000Z' },
        }),
      );
      h.feed(
        message({
          id: 'g2',
          type: 'Receipt',
          status: 'Failed',
          direction: 'Outbound',
          reasons: [{ code: 'DataFiltered', message: 'Blocked' }],
        }),
      );
      expect([(await counted('delivered')) - before[0]!, (await counted('failed')) - before[1]!]).toEqual([1, 1]);
      expect(h.lines.filter((l) => /receipt|guest message/.test(l.msg))).toEqual([
        expect.objectContaining({ level: DEBUG, messageId: 'g1', status: 'delivered', msg: 'Genesys sent a receipt' }),
        expect.objectContaining({
          level: WARN,
          messageId: 'g2',
          status: 'failed',
          reasons: ['DataFiltered'],
          msg: 'Genesys failed a guest message',
        }),
      ]);
      // A receipt without a time of its own is the moment it came.
      expect(h.session.events).toEqual([
        { type: 'receipt', receipt: { messageId: 'g1', status: 'delivered', at: '2026-11-22T09:59:58.000Z' } },
        {
          type: 'receipt',
          receipt: {
            messageId: 'g2',
            status: 'failed',
            reasons: [{ code: 'DataFiltered', message: 'Blocked' }],
            at: '2026-11-22T10:00:00.000Z',
          },
        },
      ]);
    });

    test("an agent's message with the text of a send waiting for its echo is no echo: the send still waits", () => {
      const h = harness();
      h.desk.add('send', 'S', { messageId: 'ms', text: 'hello' });
      h.feed(message({ id: 'a1', type: 'Text', text: 'hello', direction: 'Outbound' }));
      expect(h.desk.settled.has('S')).toBe(false);
      expect(h.session.events).toEqual([{ type: 'message', message: expect.objectContaining({ id: 'a1' }) }]);
    });

    test('each agent or bot message is counted as an outbound message', async () => {
      const outbound = async () =>
        (await registry.getSingleMetric('genesys_bff_messages_total')!.get()).values.find(
          (v) => v.labels.direction === 'outbound',
        )?.value ?? 0;
      const before = await outbound();
      const h = harness();
      h.feed(
        message({ id: 'a1', type: 'Text', text: 'How can I help?', direction: 'Outbound', originatingEntity: 'Human' }),
      );
      expect(await outbound()).toBe(before + 1);
      expect(h.session.events).toEqual([
        { type: 'message', message: expect.objectContaining({ id: 'a1', direction: 'outbound' }) },
      ]);
    });

    test("the untraced echo of a quick-reply answer, which has no text of its own, settles the send by the answer's text", () => {
      const h = harness();
      h.desk.add('send', 'Q', { messageId: 'mq', text: 'Yes' });
      h.feed(
        message({
          id: 'g-q',
          type: 'Structured',
          direction: 'Inbound',
          content: [
            { contentType: 'ButtonResponse', buttonResponse: { text: 'Yes', payload: 'YES', type: 'QuickReply' } },
          ],
        }),
      );
      expect(h.desk.settled.get('Q')).toMatchObject({ value: { id: 'g-q', buttonResponse: { payload: 'YES' } } });
    });

    test('an untraced Inbound event never settles a send, even one whose text it carries', () => {
      const h = harness();
      h.desk.add('send', 'S', { messageId: 'ms', text: 'hello' });
      h.feed(
        message({
          id: 'ev',
          type: 'Event',
          text: 'hello',
          direction: 'Inbound',
          events: [{ eventType: 'Presence', presence: { type: 'SignIn' } }],
        }),
      );
      expect(h.desk.settled.has('S')).toBe(false);
      expect(h.session.events).toEqual([{ type: 'session', state: 'signed_in' }]);
    });

    test("the SignIn event carries the signed-in customer's name to the streams, as the SDK's SignedIn does", () => {
      const h = harness();
      h.feed(
        message({
          id: 'si',
          type: 'Event',
          direction: 'Inbound',
          channel: { from: { firstName: 'Ada', lastName: 'Lovelace' } },
          events: [{ eventType: 'Presence', presence: { type: 'SignIn' } }],
        }),
      );
      expect(h.session.events).toEqual([
        { type: 'session', state: 'signed_in', customer: { firstName: 'Ada', lastName: 'Lovelace' } },
      ]);
    });

    test('agent typing On reaches the streams with its duration; typing Off does not', () => {
      const h = harness();
      h.feed(agentEvent([{ eventType: 'Typing', typing: { type: 'On', duration: 5000 } }]));
      h.feed(agentEvent([{ eventType: 'Typing', typing: { type: 'Off' } }]));
      expect(h.session.events).toEqual([{ type: 'typing', durationMs: 5000 }]);
    });

    test('only a Presence event is presence: an event of a type this service does not know is not, whatever fields it carries', () => {
      const h = harness();
      h.feed(agentEvent([{ eventType: 'CoBrowse', presence: { type: 'Join' } }]));
      expect(h.session.events).toEqual([]);
    });

    test('a Disconnect whose metadata says readOnly (as the string Genesys sends, or a boolean) makes the session read-only', () => {
      for (const readOnly of ['true', true]) {
        const h = harness({ info: connected });
        h.feed(agentEvent([{ eventType: 'Presence', presence: { type: 'Disconnect' } }], { readOnly }));
        expect(h.session.info).toMatchObject({ readOnly: true });
        expect(h.session.events).toEqual([
          { type: 'presence', genesysId: expect.any(String), presence: 'disconnect', readOnly: true },
        ]);
      }
    });

    test('only a Disconnect turns the conversation read-only: an agent Join with the same metadata does not', () => {
      const h = harness({ info: connected });
      h.feed(agentEvent([{ eventType: 'Presence', presence: { type: 'Join' } }], { readOnly: 'true' }));
      expect(h.session.info).toMatchObject({ readOnly: false });
      expect(h.session.events).toEqual([{ type: 'presence', genesysId: expect.any(String), presence: 'join' }]);
    });
    test("a Join or Disconnect names who joined or left when Genesys does (channel.from), as a message's author", () => {
      const h = harness({ info: connected });
      const named = (type: string, from: object, metadata?: object) =>
        message({
          id: `ev-${type}`,
          type: 'Event',
          direction: 'Outbound',
          channel: { from },
          events: [{ eventType: 'Presence', presence: { type } }],
          ...(metadata ? { metadata } : {}),
        });
      h.feed(named('Join', { nickname: 'Alex', firstName: 'Alexander' }));
      h.feed(named('Disconnect', { firstName: 'Alex', lastName: 'Smith' }, { readOnly: 'false' }));
      h.feed(agentEvent([{ eventType: 'Presence', presence: { type: 'Join' } }]));
      expect(h.session.events).toStrictEqual([
        { type: 'presence', genesysId: expect.any(String), presence: 'join', name: 'Alex' },
        {
          type: 'presence',
          genesysId: expect.any(String),
          presence: 'disconnect',
          readOnly: false,
          name: 'Alex Smith',
        },
        { type: 'presence', genesysId: expect.any(String), presence: 'join' },
      ]);
    });
    test("a Join or Disconnect carries Genesys's time for it (channel.time) when it is a readable time, else none", () => {
      const h = harness({ info: connected });
      const at = (id: string, time: unknown) =>
        message({
          id,
          type: 'Event',
          direction: 'Outbound',
          channel: { time },
          events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
        });
      h.feed(at('ev-1', '2026-03-02T10:00:30.000Z'));
      h.feed(at('ev-2', 'yesterday-ish'));
      expect(h.session.events).toEqual([
        { type: 'presence', genesysId: expect.any(String), presence: 'join', time: '2026-03-02T10:00:30.000Z' },
        { type: 'presence', genesysId: expect.any(String), presence: 'join' },
      ]);
    });
  });

  describe('attachment frames', () => {
    const failure = { attachmentId: 'f1', errorCode: 4001, errorMessage: 'File type not allowed' };

    test('an upload verdict for no waiting upload is dropped with the file named in the log', () => {
      const h = harness();
      h.feed(
        fileFrame('UploadSuccessEvent', {
          attachmentId: 'f1',
          downloadUrl: 'https://files.example.test/f1',
          timestamp: null,
        }),
      );
      h.feed(fileFrame('UploadFailureEvent', failure));
      expect(h.lines).toEqual([
        expect.objectContaining({
          level: INFO,
          attachmentId: 'f1',
          msg: expect.stringMatching(/upload verdict.*dropped/),
        }),
        expect.objectContaining({
          level: INFO,
          attachmentId: 'f1',
          msg: expect.stringMatching(/upload failure.*dropped/),
        }),
      ]);
    });

    test('UploadFailureEvent ends the upload of its file, never a request about the same file', () => {
      const h = harness({ uploads: ['f1'] });
      h.desk.add('attachment', 'A', { attachmentId: 'f1' });
      h.feed(fileFrame('UploadFailureEvent', failure));
      expect(h.uploads.verdicts).toEqual([['f1', { failure: expect.objectContaining({ errorCode: 4001 }) }]]);
      expect(h.desk.settled.has('A')).toBe(false);
      expect(h.lines).toEqual([]);
    });

    test('GenerateUrlError answers the request about its file, not the upload', () => {
      const h = harness({ uploads: ['f1'] });
      h.desk.add('attachment', 'A', { attachmentId: 'f1' });
      h.feed(fileFrame('GenerateUrlError', failure));
      expect(h.desk.settled.get('A')).toMatchObject({ code: 'attachment_type_not_allowed' });
      expect(h.uploads.verdicts).toEqual([]);
    });

    test('a refusal of a file whose request no longer waits still ends its upload, and is not logged as dropped', () => {
      const h = harness({ uploads: ['f1'] });
      h.feed(fileFrame('GenerateUrlError', failure));
      expect(h.uploads.verdicts).toEqual([['f1', { failure: expect.objectContaining({ errorCode: 4001 }) }]]);
      expect(h.lines).toEqual([]);
    });

    test('an attachment reply for no waiting request ends no upload and is dropped with its file and class in the log', () => {
      const h = harness({ uploads: ['f1'] });
      h.feed(
        fileFrame('PresignedUrlResponse', { attachmentId: 'f1', url: 'https://files.example.test/f1', headers: {} }),
      );
      expect(h.uploads.verdicts).toEqual([]);
      expect(h.lines).toEqual([
        expect.objectContaining({
          level: INFO,
          attachmentId: 'f1',
          class: 'PresignedUrlResponse',
          msg: expect.stringMatching(/no waiting request; dropped/),
        }),
      ]);
    });
  });
});

describe('replies and events the API suites pass through', () => {
  /**
   * The replies and events whose handling only the API suites stated: an attachment reply goes to the
   * request for its own file and kind only, an upload's verdict carries its download URL, a Disconnect
   * makes the chat read-only only when Genesys says so, and messages are counted by direction.
   */
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
      const h = inboundHarness();
      h.desk.add('attachment', 'A', { attachmentId: 'f1' });
      h.feed(fileFrame('PresignedUrlResponse', presigned, 'A'));
      expect(h.desk.settled.get('A')).toEqual({
        value: expect.objectContaining({ attachmentId: 'f1', url: presigned.url, headers: presigned.headers }),
      });
      expect(h.lines).toEqual([]);
    });

    test('a reply whose tracingId names a request of another kind, or about another file, settles nothing and is logged as dropped', () => {
      const h = inboundHarness();
      // A send about the very same file is still no attachment request.
      h.desk.add('send', 'S', { attachmentId: 'f1' });
      h.desk.add('attachment', 'B', { attachmentId: 'f2' });
      h.feed(fileFrame('PresignedUrlResponse', presigned, 'S'));
      h.feed(fileFrame('PresignedUrlResponse', presigned, 'B'));
      expect(h.desk.settled.size).toBe(0);
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

    test('AttachmentDeletedResponse answers the request about its file, with nothing to hand over', () => {
      const h = inboundHarness();
      h.desk.add('attachment', 'D', { attachmentId: 'f1' });
      h.feed(fileFrame('AttachmentDeletedResponse', { attachmentId: 'f1' }, 'D'));
      expect(h.desk.settled.get('D')).toEqual({ value: undefined });
      expect(h.lines).toEqual([]);
    });

    test('UploadSuccessEvent hands its download URL to the upload waiting for that file, and logs nothing', () => {
      const h = inboundHarness({ uploads: ['f1'] });
      h.feed(
        fileFrame('UploadSuccessEvent', {
          attachmentId: 'f1',
          downloadUrl: 'https://files.example.test/f1?dl',
          timestamp: null,
        }),
      );
      expect(h.uploads.verdicts).toEqual([['f1', { downloadUrl: 'https://files.example.test/f1?dl' }]]);
      expect(h.lines).toEqual([]);
    });
  });

  test("a message echo whose tracingId names a request that is not a send or a Join is never that request's reply", () => {
    const h = inboundHarness();
    h.desk.add('jwt', 'X');
    h.feed({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      tracingId: 'X',
      body: { id: 'g9', type: 'Text', text: 'hi', direction: 'Inbound' },
    });
    expect(h.desk.settled.size).toBe(0);
  });

  describe('presence and counting', () => {
    const agentEvent = (events: object[], metadata?: object) => ({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      body: { id: 'ev', type: 'Event', direction: 'Outbound', events, ...(metadata ? { metadata } : {}) },
    });

    test('a Disconnect without readOnly leaves the chat writable; with readOnly "true" it becomes read-only', () => {
      const h = inboundHarness({
        info: { connected: true, newSession: false, readOnly: false, maxCustomDataBytes: -1 },
      });
      h.feed(agentEvent([{ eventType: 'Presence', presence: { type: 'Disconnect' } }]));
      expect(h.session.events).toEqual([
        { type: 'presence', genesysId: expect.any(String), presence: 'disconnect', readOnly: false },
      ]);
      expect(h.session.heard('readOnly')).toBe(0);
      h.feed(agentEvent([{ eventType: 'Presence', presence: { type: 'Disconnect' } }], { readOnly: 'true' }));
      expect(h.session.events[1]).toEqual({
        type: 'presence',
        genesysId: expect.any(String),
        presence: 'disconnect',
        readOnly: true,
      });
      expect(h.session.info).toMatchObject({ readOnly: true });
    });

    test("an agent's message counts as outbound, the echo of the guest's send as inbound, and the echo of a Join as neither", async () => {
      const count = async (direction: string) =>
        (await registry.getSingleMetric('genesys_bff_messages_total')?.get())?.values.find(
          (v) => v.labels.direction === direction,
        )?.value ?? 0;
      const h = inboundHarness();
      const [inbound, outbound] = [await count('inbound'), await count('outbound')];
      h.feed({
        type: 'message',
        class: 'StructuredMessage',
        code: 200,
        body: { id: 'a1', type: 'Text', text: 'hello', direction: 'Outbound' },
      });
      expect([await count('inbound'), await count('outbound')]).toEqual([inbound, outbound + 1]);
      h.desk.add('send', 'S', { messageId: 'ours', text: 'hi' });
      h.feed({
        type: 'message',
        class: 'StructuredMessage',
        code: 200,
        tracingId: 'S',
        body: { id: 'g1', type: 'Text', text: 'hi', direction: 'Inbound' },
      });
      expect(h.desk.settled.get('S')).toEqual({ value: expect.objectContaining({ id: 'g1' }) });
      expect([await count('inbound'), await count('outbound')]).toEqual([inbound + 1, outbound + 1]);
      h.desk.add('join', 'J');
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
      expect(h.desk.settled.get('J')).toEqual({ value: expect.objectContaining({ id: 'j1' }) });
      expect([await count('inbound'), await count('outbound')]).toEqual([inbound + 1, outbound + 1]);
    });

    test('only a Presence event of type Join answers a Join: another event carrying a presence is not taken for one', () => {
      const h = inboundHarness();
      h.desk.add('join', 'J');
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
      expect(h.desk.settled.size).toBe(0);
      h.feed(echo('Presence'));
      expect(h.desk.settled.get('J')).toEqual({ value: expect.objectContaining({ id: 'e-Presence' }) });
      // The guest's own Join is not a sign-in: the streams hear nothing of it.
      expect(h.session.events).toEqual([]);
    });
  });
});

describe('what an operator reads of a frame no request waits for', () => {
  /**
   * What an operator reads when Genesys sends what no request waits for: a frame of a class this
   * service does not know, a rate refusal (with or without the tracingId the strict profile may leave
   * out), a sign-out. Each leaves one line with the fields a search needs; none passes in silence.
   */

  test('a frame of a class this service does not know is ignored with a warning that names its class', () => {
    const h = inboundHarness();
    h.feed({ type: 'response', class: 'SomethingNewFromGenesys', code: 200, body: {} });
    expect(h.lines).toEqual([
      expect.objectContaining({
        level: WARN,
        msg: 'ignored an unknown Guest API frame',
        class: 'SomethingNewFromGenesys',
        reason: 'unknown class SomethingNewFromGenesys',
      }),
    ]);
    expect(h.session.ended).toEqual([]);
  });

  test.each([
    ['without a tracingId', undefined, false],
    ['with a tracingId', 'T-1', true],
  ])(
    'a rate refusal %s is logged once, saying whether it named its request and how long to wait',
    (_, tracingId, traced) => {
      const h = inboundHarness();
      h.feed({
        type: 'response',
        class: 'TooManyRequestsErrorMessage',
        code: 429,
        body: { retryAfter: 3, errorCode: 4029, errorMessage: 'Message rate too high for this session' },
        ...(tracingId ? { tracingId } : {}),
      });
      expect(h.lines).toEqual([
        expect.objectContaining({
          level: INFO,
          msg: 'Genesys refused a frame for its rate; it goes out again after the wait',
          genesysCode: 429,
          guestFailure: 'rate_limited',
          traced,
          retryAfterSeconds: 3,
        }),
      ]);
      expect(h.desk.refusals.map(([id]) => id)).toEqual([tracingId]);
    },
  );

  test('a sign-out from Genesys ends the session with signed_out and says so', () => {
    const h = inboundHarness();
    h.feed({ type: 'message', class: 'LogoutEvent', code: 200, body: {} });
    expect(h.session.ended).toHaveLength(1);
    expect(h.session.ended[0]).toMatchObject({ failure: 'signed_out', message: 'The customer signed out.' });
  });
});
