import axios from 'axios';
import nock from 'nock';
import pino from 'pino';
import { clampRetryAfter, guestErrorFromFrame } from '../../../src/genesys/guest/errors';
import { parseInbound } from '../../../src/genesys/guest/frames';
import { GuestHistory } from '../../../src/genesys/guest/history';
import { normalizeMessage } from '../../../src/genesys/guest/normalize';
import type { GuestSession } from '../../../src/genesys/guest/guestSession';

/**
 * Every shape Genesys's own transport SDK accepts, taken from its fixtures
 * (MyPureCloud/genesys-messenger-transport-mobile-sdk:
 * transport/src/androidUnitTest/kotlin/transport/util/Response.kt and
 * transport/src/commonTest/kotlin/com/genesys/cloud/messenger/transport/network/TestWebMessagingApiResponses.kt),
 * parses here too, and what comes back is bounded.
 */

/** `messageEntityResponseWith3Messages` from TestWebMessagingApiResponses.kt (two entities have `channel.time: null`). */
const SDK_HISTORY = `{"entities":[{"id":"5befde6373a23f32f20b59b4e1cba0e6","channel":{"time":"2014-04-30T21:09:51.411Z"},"type":"Text","text":"\\uD83E\\uDD2A","content":[],"direction":"Outbound","originatingEntity":"Bot"},{"id":"46e7001c24abed05e9bcd1a006eb54b7","channel":{"time":null},"type":"Event","events":[{"eventType":"Presence","presence":{"type":"Join"}}],"text":"customer msg 7","content":[],"direction":"Inbound","originatingEntity":"Human"},{"text":"quick reply text","type":"Structured","direction":"Outbound","id":"message3_id","channel":{"time":null},"content":[{"contentType":"QuickReply","quickReply":{"text":"text_a","payload":"payload_a","action":"action_a"}},{"contentType":"QuickReply","quickReply":{"text":"text_b","payload":"payload_b","action":"action_b"}}],"originatingEntity":"Bot"}],"pageSize":25,"pageNumber":1, "total": 3, "pageCount": 1}`;

const API = 'https://api.mypurecloud.ie';
const session = { getJwt: async () => ({ jwt: 'jwt', exp: 2e9 }), forgetJwt: () => undefined } as unknown as GuestSession;

function historyWith(body: string | Record<string, unknown>) {
  nock(API).get('/api/v2/webmessaging/messages').query(true).reply(200, body);
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { history: new GuestHistory(axios.create(), API, 'https://shop.example.com', logger), lines };
}

afterEach(() => nock.cleanAll());

describe('inbound frames', () => {
  test("the SDK's SessionResponse fixtures parse, with nulls and with the minimal live body", () => {
    const full = parseInbound(
      '{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true,"readOnly":false,"maxCustomDataBytes":100,"clearedExistingSession":false,"durationSeconds":null,"expirationDate":null}}',
    );
    expect(full).toMatchObject({ kind: 'session', body: { connected: true, maxCustomDataBytes: 100 } });
    expect(full.kind === 'session' && full.body.durationSeconds).toBeUndefined();
    expect(parseInbound('{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":false}}')).toMatchObject({
      kind: 'session',
      body: { connected: true, newSession: false, readOnly: false },
    });
  });

  test('an agent message with nulls in optional fields reaches the stream shape', () => {
    const frame = parseInbound(
      '{"type":"message","class":"StructuredMessage","code":200,"body":{"id":"a1","type":"Text","text":"Hello","direction":"Outbound","originatingEntity":"Human","channel":{"time":null,"messageId":null,"from":{"nickname":"Ann","image":null,"lastName":null}},"content":null,"metadata":null,"futureField":{"x":1}}}',
    );
    expect(frame.kind).toBe('message');
    if (frame.kind !== 'message') return;
    expect(normalizeMessage(frame.body, new Date('2026-01-01T00:00:00Z'))).toEqual({
      id: 'a1',
      direction: 'outbound',
      type: 'text',
      text: 'Hello',
      time: '2026-01-01T00:00:00.000Z',
      originatingEntity: 'human',
      from: { name: 'Ann' },
    });
  });

  test("the SDK's DatePicker message keeps what the guest needs to answer; unknown content is kept as data", () => {
    const frame = parseInbound(
      '{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"msg_id","originatingMessageId":"msg_id","channel":{"time":"2026-01-01T00:00:00Z","type":"Private"},"type":"Structured","text":"Pick a time","content":[{"contentType":"DatePicker","datePicker":{"title":"Title","subtitle":"Sub","imageUrl":"https://x/i.png","availableTimes":[{"duration":30,"dateTime":"2026-12-01T10:00:00Z"}]}},{"contentType":"ListPicker","listPicker":{"title":"Pick one","items":[{"id":"1"}]}}],"originatingEntity":"Bot"}}',
    );
    if (frame.kind !== 'message') throw new Error(frame.kind);
    const message = normalizeMessage(frame.body);
    expect(message.datePickers).toEqual([{ title: 'Title', subtitle: 'Sub', imageUrl: 'https://x/i.png', availableTimes: [{ dateTime: '2026-12-01T10:00:00Z', durationMinutes: 30 }] }]);
    expect(message.otherContent).toEqual([{ contentType: 'ListPicker', data: { title: 'Pick one', items: [{ id: '1' }] } }]);
  });

  test('an `Error` class frame is an error (its request fails rather than times out); ConnectionClosedEvent reads reasonCode too', () => {
    expect(parseInbound('{"type":"response","class":"Error","code":400,"body":{"message":"Request failed."}}')).toMatchObject({ kind: 'error', body: 'Request failed.' });
    expect(parseInbound('{"type":"message","class":"ConnectionClosedEvent","code":200,"body":{"reasonCode":"signedIn"}}')).toMatchObject({
      kind: 'connectionClosed',
      body: { reasonCode: 'signedIn' },
    });
  });

  test('a retryAfter of 1e12 never becomes a client Retry-After', () => {
    const error = guestErrorFromFrame({ type: 'response', class: 'TooManyRequestsErrorMessage', code: 429, body: {} }, 'slow', 1e12);
    expect(error.retryAfterSeconds).toBe(300);
    expect(clampRetryAfter(Number.NaN, 6)).toBe(6);
    expect(clampRetryAfter(2.2)).toBe(3);
  });
});

describe('history', () => {
  test("the SDK's own history fixture parses: entities with channel.time null are kept", async () => {
    const { history } = historyWith(SDK_HISTORY);
    const page = await history.page(session, 1, 25);
    expect(page.messages.map((m) => m.id)).toEqual(['message3_id', '46e7001c24abed05e9bcd1a006eb54b7', '5befde6373a23f32f20b59b4e1cba0e6']);
    expect(page.messages[0]!.quickReplies).toEqual([
      { text: 'text_a', payload: 'payload_a' },
      { text: 'text_b', payload: 'payload_b' },
    ]);
  });

  test('one unreadable entity is skipped with a log line; receipts are never messages; the page holds at most pageSize', async () => {
    const entities = [
      { id: 'ok-1', type: 'Text', text: 'one', direction: 'Inbound', channel: { time: '2026-01-01T00:00:00Z' } },
      { id: 42, type: 'Text', text: 'bad id' },
      { id: 'r1', type: 'Receipt', direction: 'Outbound', channel: { time: '2026-01-01T00:00:01Z' } },
      ...Array.from({ length: 30 }, (_, i) => ({ id: `extra-${i}`, type: 'Text', text: 'x', direction: 'Outbound' })),
    ];
    const { history, lines } = historyWith({ entities, pageNumber: 1, total: 33 });
    const page = await history.page(session, 1, 3);
    expect(page.messages.map((m) => m.id)).toEqual(['ok-1']);
    expect(lines.some((l) => l.msg === 'skipped a history entity this service cannot read')).toBe(true);
    expect(lines.some((l) => String(l.msg).startsWith('Genesys returned more history entities'))).toBe(true);
  });

  test('a history body larger than the limit is refused, not buffered', async () => {
    const { history } = historyWith({ entities: [{ id: 'big', type: 'Text', text: 'x'.repeat(3 * 1024 * 1024), direction: 'Outbound' }] });
    await expect(history.page(session, 1, 25)).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});
