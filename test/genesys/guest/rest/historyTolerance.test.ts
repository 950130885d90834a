import axios from 'axios';
import { captureLogger } from '../../../support/app';
import nock from 'nock';
import type { GuestSession } from '../../../../src/genesys/guest/guestSession';
import type { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import { GuestHistory } from '../../../../src/genesys/guest/rest/history';
import {} from '../../../support/platform';
import {
  MESSAGE_ENTITY_LIST_WITHOUT_MESSAGES,
  MESSAGE_ENTITY_RESPONSE_WITH_3_MESSAGES,
} from '../../../support/sdkFixtures';

/** History pages shaped like Genesys's own SDK fixtures, and pages that are broken or too big. */
const API = 'https://api.mypurecloud.ie';
const session = {
  getJwt: async () => ({ jwt: 'a.b.c', exp: Math.floor(Date.now() / 1000) + 3600 }),
  forgetJwt: () => undefined,
} as unknown as GuestSession;

function historyWith(body: unknown, options: { maxResponseBytes?: number } = {}) {
  nock(API)
    .get('/api/v2/webmessaging/messages')
    .query(true)
    .reply(200, body as nock.Body);
  const log = captureLogger('debug');
  return {
    log,
    history: new GuestHistory(axios.create(), API, 'https://shop.example.com', { logger: log.logger, ...options }),
  };
}

const entity = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'Text',
  text: `text ${id}`,
  direction: 'Outbound',
  channel: { time: '2024-05-01T10:00:00.000Z' },
  ...extra,
});

afterEach(() => nock.cleanAll());

test("the SDK's history fixture parses: entities with channel.time null are kept, their time falling back", async () => {
  const { history, log } = historyWith(JSON.parse(MESSAGE_ENTITY_RESPONSE_WITH_3_MESSAGES));
  const page = await history.page(session, 1, 25);
  expect(page.messages.map((m) => [m.id, m.type, m.text])).toEqual([
    ['message3_id', 'structured', 'quick reply text'],
    ['46e7001c24abed05e9bcd1a006eb54b7', 'event', 'customer msg 7'],
    ['5befde6373a23f32f20b59b4e1cba0e6', 'text', '\u{1F92A}'],
  ]);
  expect(page.messages[2]!.time).toBe('2014-04-30T21:09:51.411Z');
  for (const m of page.messages.slice(0, 2)) expect(Number.isNaN(Date.parse(m.time))).toBe(false);
  expect(page.messages[0]!.quickReplies).toEqual([
    { text: 'text_a', payload: 'payload_a' },
    { text: 'text_b', payload: 'payload_b' },
  ]);
  expect(page.messages[1]!.events).toEqual([{ type: 'Presence', value: 'Join' }]);
  expect(page).toMatchObject({ total: 3, pageCount: 1 });
  expect(log.messages('warn')).toEqual([]);
});

test('a message Genesys gives no time takes the time of the next newer one that has one: the same on every read, in the page order', async () => {
  const untimed = { channel: { time: null } };
  const at = (hms: string) => ({ channel: { time: `2024-05-01T${hms}.000Z` } });
  // Newest first, as Genesys pages come.
  const body = {
    entities: [
      entity('n5', untimed),
      entity('n4', at('10:00:05')),
      entity('n3', untimed),
      entity('n2', untimed),
      entity('n1', at('10:00:01')),
      entity('n0', untimed),
    ],
    total: 6,
  };
  nock(API).get('/api/v2/webmessaging/messages').query(true).times(2).reply(200, body);
  let now = Date.parse('2024-05-01T12:00:00.000Z');
  const history = new GuestHistory(axios.create(), API, 'https://shop.example.com', { now: () => now });
  const first = await history.page(session, 1, 25);
  expect(first.messages.map((m) => [m.id, m.time.slice(11)])).toEqual([
    ['n0', '10:00:01.000Z'],
    ['n1', '10:00:01.000Z'],
    ['n2', '10:00:05.000Z'],
    ['n3', '10:00:05.000Z'],
    ['n4', '10:00:05.000Z'],
    // The newest: when it was read, on the service's clock.
    ['n5', '12:00:00.000Z'],
  ]);
  now += 60_000;
  const second = await history.page(session, 1, 25);
  expect(second.messages.slice(0, 5)).toEqual(first.messages.slice(0, 5));
});

test("the SDK's empty history fixture is an empty page", async () => {
  const { history } = historyWith(JSON.parse(MESSAGE_ENTITY_LIST_WITHOUT_MESSAGES));
  await expect(history.page(session, 1, 25)).resolves.toMatchObject({ messages: [], total: 0 });
});

test('one unreadable entity is skipped with a log line; the rest of the page survives', async () => {
  const { history, log } = historyWith({
    entities: [entity('newest'), { type: 'Text', text: 'no id' }, entity('oldest', { channel: { time: null } })],
    pageSize: 25,
    pageNumber: 1,
    total: 3,
    pageCount: 1,
  });
  const page = await history.page(session, 1, 25);
  expect(page.messages.map((m) => m.id)).toEqual(['oldest', 'newest']);
  expect(log.messages('warn')).toEqual(['skipped an unreadable Genesys history entity']);
  expect(log.lines().find((l) => l.level === 40)).toMatchObject({ index: 1 });
});

test('null page fields are absence', async () => {
  const { history } = historyWith({
    entities: [entity('only')],
    pageSize: null,
    pageNumber: null,
    total: null,
    pageCount: null,
  });
  await expect(history.page(session, 2, 25)).resolves.toMatchObject({
    page: 2,
    total: 1,
    pageCount: 1,
    messages: [{ id: 'only' }],
  });
});

test('receipts in the history are not messages', async () => {
  const { history } = historyWith({
    entities: [entity('m1', { type: 'Receipt', status: 'Read', text: null }), entity('m1')],
    total: 2,
  });
  const page = await history.page(session, 1, 25);
  expect(page.messages).toEqual([expect.objectContaining({ id: 'm1', type: 'text', text: 'text m1' })]);
});

test('never more entities than the page size asked for: the newest are kept', async () => {
  const entities = Array.from({ length: 40 }, (_, i) => entity(`m${i}`));
  const { history } = historyWith({ entities, pageSize: 40, pageNumber: 1, total: 40, pageCount: 1 });
  const page = await history.page(session, 1, 10);
  expect(page.messages).toHaveLength(10);
  expect(page.messages[9]!.id).toBe('m0');
  expect(page.messages[0]!.id).toBe('m9');
});

test('a history response larger than the bound is refused, not buffered', async () => {
  const entities = Array.from({ length: 50 }, (_, i) => entity(`m${i}`, { text: 'x'.repeat(200) }));
  const { history } = historyWith({ entities, total: 50 }, { maxResponseBytes: 4096 });
  await expect(history.page(session, 1, 25)).rejects.toMatchObject({
    code: 'upstream_unavailable',
    message: expect.stringContaining('larger than this service reads'),
  });
});

test('a huge Retry-After on a history 429 is clamped', async () => {
  nock(API).get('/api/v2/webmessaging/messages').query(true).reply(429, {}, { 'Retry-After': '1000000000000' });
  const history = new GuestHistory(axios.create(), API, 'https://shop.example.com');
  await expect(history.page(session, 1, 25)).rejects.toMatchObject({ code: 'rate_limited', retryAfterSeconds: 300 });
});

describe('when Genesys does not answer with a history', () => {
  const history = () => new GuestHistory(axios.create(), API, 'https://shop.example.com');
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => Promise.reject(new Error('expected a failure')),
      (error: unknown) => error as GuestApiError,
    );

  test('unreachable: the client is told to retry, and the network error is kept as the cause for the log', async () => {
    nock(API)
      .get('/api/v2/webmessaging/messages')
      .query(true)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const error = await failure(history().page(session, 1, 25));
    expect(error).toMatchObject({
      code: 'upstream_unavailable',
      message: expect.stringMatching(/Could not reach Genesys.*please retry/),
    });
    expect(error.cause).toMatchObject({ code: 'ECONNRESET' });
  });

  test('an error status: the client is told to retry; the log gets the correlation id and at most 500 characters of the body', async () => {
    const body = { message: 'x'.repeat(2000), code: 'service.unavailable' };
    nock(API).get('/api/v2/webmessaging/messages').query(true).reply(503, body, { 'inin-correlation-id': 'corr-42' });
    const error = await failure(history().page(session, 1, 25));
    expect(error).toMatchObject({
      code: 'upstream_unavailable',
      message: expect.stringMatching(/could not return the conversation history.*please retry/),
    });
    expect(error.logDetail).toMatchObject({
      genesysCode: 503,
      genesysText: `corr-42 ${JSON.stringify(body).slice(0, 500)}`,
    });
  });

  test('an error status without a correlation id: the log gets the body alone', async () => {
    nock(API).get('/api/v2/webmessaging/messages').query(true).reply(500, { code: 'internal' });
    const error = await failure(history().page(session, 1, 25));
    expect(String(error.logDetail?.genesysText).trim()).toBe('{"code":"internal"}');
  });

  test('a body that is not a history: the client is told so, and the log gets what did not parse', async () => {
    nock(API).get('/api/v2/webmessaging/messages').query(true).reply(200, { entities: 'none today' });
    const error = await failure(history().page(session, 1, 25));
    expect(error).toMatchObject({
      code: 'upstream_unavailable',
      message: expect.stringMatching(/history this service cannot read/),
    });
    expect(String(error.logDetail?.genesysText)).toContain('entities');
  });
});
