import axios from 'axios';
import fc from 'fast-check';
import nock from 'nock';
import { AppError } from '../../../../src/domain/errors';
import type { GuestSession } from '../../../../src/genesys/guest/guestSession';
import { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import {
  CONVERSATION_PAGE_SIZE,
  CONVERSATION_PAGES,
  GuestHistory,
  foldReceipts,
} from '../../../../src/genesys/guest/rest/history';
import { limitsRefused } from '../../../../src/observability/metrics';
import { MemoryStore } from '../../../../src/store';
import { captureLogger } from '../../../support/app';
import { StandInGate } from '../../../support/genesysGate';
import { useFixture } from '../../../support/nockBack';
import {} from '../../../support/platform';
import {
  MESSAGE_ENTITY_LIST_WITHOUT_MESSAGES,
  MESSAGE_ENTITY_RESPONSE_WITH_3_MESSAGES,
} from '../../../support/sdkFixtures';

/**
 * REST history (src/genesys/guest/rest/history.ts): against nock-recorded Genesys answers; the 10
 * history reads a minute per session Genesys allows, counted in the shared store; when a whole
 * conversation is complete; and pages shaped like Genesys's own SDK fixtures, or broken, or too big.
 */

describe('against recorded Genesys answers (test/fixtures/genesys/history-*.json)', () => {
  const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmaXh0dXJlIn0.c2lnbmF0dXJl';
  /**
   * A guest session as GuestHistory sees it: a cached JWT that stays the same
   * until forgotten, then a new one. Which JWT each request carried is read
   * from the wire, not from this double.
   */
  let issued = 0;
  let cached: string | undefined;
  const session = {
    getJwt: async () => ({
      jwt: (cached ??= issued++ === 0 ? JWT : `${JWT}-${issued}`),
      exp: Math.floor(Date.now() / 1000) + 3600,
    }),
    forgetJwt: () => (cached = undefined),
  } as unknown as GuestSession;
  beforeEach(() => {
    issued = 0;
    cached = undefined;
  });
  const history = new GuestHistory(axios.create(), 'https://api.mypurecloud.ie', 'https://shop.example.com');

  test('GET /api/v2/webmessaging/messages with the guest JWT; newest-first pages come back oldest first, normalised', async () => {
    const fixture = await useFixture('history-page.json');
    try {
      const page = await history.page(session, 1, 25);
      expect(page.messages.map((m) => [m.direction, m.type, m.text])).toEqual([
        ['outbound', 'structured', 'What would you like to do?'],
        ['inbound', 'text', 'Where is my order?'],
        ['outbound', 'text', 'Your order ships today.'],
      ]);
      expect(page.messages[0]!.quickReplies).toEqual([
        { text: 'Track order', payload: 'track' },
        { text: 'Talk to us', payload: 'agent' },
      ]);
      expect(page.messages[1]!.clientMessageId).toBe('4c6b0a7e-1f2d-4e3a-9b8c-7d6e5f4a3b2c');
      expect(page.messages[2]).toMatchObject({ originatingEntity: 'human', from: { name: 'Sam' } });
      expect(page).toMatchObject({ page: 1, pageSize: 25, total: 3 });
      const [request] = fixture.requests({ path: '/api/v2/webmessaging/messages' });
      expect(request!.headers.authorization).toBe(`bearer ${JWT}`);
    } finally {
      fixture.done();
    }
  });

  test('an empty conversation is an empty page', async () => {
    const fixture = await useFixture('history-empty.json');
    try {
      await expect(history.page(session, 1, 25)).resolves.toMatchObject({ messages: [], total: 0 });
    } finally {
      fixture.done();
    }
  });

  test('a rejected JWT is upstream_unavailable, with the Genesys detail kept for the log', async () => {
    const fixture = await useFixture('history-unauthorized.json');
    try {
      const error = (await history.page(session, 1, 25).catch((e: unknown) => e)) as GuestApiError;
      expect(error).toBeInstanceOf(GuestApiError);
      expect(error.code).toBe('upstream_unavailable');
      expect(error.logDetail?.genesysCode).toBe(401);
      expect(String(error.logDetail?.genesysText)).toContain('bad.credentials');
      expect(error.message).not.toContain('bad.credentials');
      expect(fixture.requests({ path: '/api/v2/webmessaging/messages' })).toHaveLength(2);
    } finally {
      fixture.done();
    }
  });

  test('a 401 gets one fresh JWT and one retry, not more', async () => {
    const fixture = await useFixture('history-401-then-200.json');
    try {
      await expect(history.page(session, 1, 25)).resolves.toMatchObject({ total: 3 });
      // The retry carried a JWT other than the refused one: the cached JWT was dropped, not re-sent.
      const sent = fixture.requests({ path: '/api/v2/webmessaging/messages' }).map((r) => r.headers.authorization);
      expect(sent).toEqual([`bearer ${JWT}`, `bearer ${JWT}-2`]);
    } finally {
      fixture.done();
    }
  });

  test('a Genesys 429 is rate_limited with its Retry-After', async () => {
    const fixture = await useFixture('history-rate-limited.json');
    try {
      await expect(history.page(session, 1, 25)).rejects.toMatchObject({
        code: 'rate_limited',
        status: 429,
        retryAfterSeconds: 12,
      });
    } finally {
      fixture.done();
    }
  });
});

describe('the reads a minute per session, in the shared store', () => {
  /** Genesys's 10 history reads a minute per session, counted in the shared store on an injected clock. */
  const API = 'https://api.mypurecloud.ie';
  let clock = 1_000_000;
  beforeEach(() => {
    clock = 1_000_000;
  });
  afterEach(() => nock.cleanAll());

  const sessionNamed = (token: string) =>
    ({
      token,
      getJwt: async () => ({ jwt: 'a.b.c', exp: Math.floor(Date.now() / 1000) + 3600 }),
      forgetJwt: () => undefined,
    }) as unknown as GuestSession;
  const a = sessionNamed('guest-token-a');
  const b = sessionNamed('guest-token-b');

  /** Genesys answering `times` history reads (nock refuses any more). */
  const genesysAnswers = (times: number) =>
    nock(API).get('/api/v2/webmessaging/messages').query(true).times(times).reply(200, { entities: [], total: 0 });
  const historyRefusals = async () =>
    (await limitsRefused.get()).values.find((v) => v.labels.limit === 'history_reads')?.value ?? 0;
  const historyOn = (store: MemoryStore, logger = captureLogger().logger) =>
    new GuestHistory(axios.create(), API, 'https://shop.example.com', { store, logger });

  test('every reader shares one window of 10 reads a minute per session; over it, a read is refused without asking Genesys', async () => {
    const scope = genesysAnswers(10);
    const history = historyOn(new MemoryStore(100, () => clock));
    for (let i = 0; i < 4; i++) await history.page(a, 1, 25);
    // A stream's replay and a delivery proof read the newest page: the same budget.
    for (let i = 0; i < 3; i++) await history.newest(a);
    for (let i = 0; i < 3; i++) await history.newestForProof(a);
    expect(scope.isDone()).toBe(true);
    const refusedBefore = await historyRefusals();
    const refused = await history.page(a, 1, 25).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      failure: 'rate_limited',
      code: 'rate_limited',
      retryAfterSeconds: 60,
      message: 'Genesys allows 10 history reads a minute in a session; retry later.',
    });
    expect(await historyRefusals()).toBe(refusedBefore + 1);
    await expect(history.newest(a)).rejects.toMatchObject({ failure: 'rate_limited' });
    // A proof is still made (it decides whether a message is sent twice), and counted: the wait grows.
    genesysAnswers(1);
    await history.newestForProof(a);
    clock += 30_000;
    await expect(history.page(a, 1, 25)).rejects.toMatchObject({ failure: 'rate_limited', retryAfterSeconds: 30 });
    // Another session has its own window; a minute after the first reads, this one reads again.
    genesysAnswers(1);
    await history.page(b, 1, 25);
    clock += 30_000;
    genesysAnswers(1);
    await expect(history.page(a, 1, 25)).resolves.toMatchObject({ messages: [] });
  });

  test('a catch-up no client asked for is refused once half the minute is used; a resume and the history route read the rest', async () => {
    const history = historyOn(new MemoryStore(100, () => clock));
    genesysAnswers(4);
    for (let i = 0; i < 4; i++) await history.page(a, 1, 25);
    clock += 10_000;
    genesysAnswers(1);
    await history.newest(a, 'reconnect');
    // Five used: a sixth catch-up waits until the first reads leave the window, 50 s on.
    await expect(history.newest(a, 'reconnect')).rejects.toMatchObject({
      failure: 'rate_limited',
      retryAfterSeconds: 50,
    });
    const scope = genesysAnswers(5);
    for (let i = 0; i < 3; i++) await history.newest(a, 'resume');
    for (let i = 0; i < 2; i++) await history.page(a, 1, 25);
    expect(scope.isDone()).toBe(true);
    await expect(history.page(a, 1, 25)).rejects.toMatchObject({ failure: 'rate_limited' });
  });

  /** A Genesys text entity, newest-first pages being made of them. */
  const entity = (n: number) => ({
    id: `m${n}`,
    type: 'Text',
    text: `message ${n}`,
    direction: 'Outbound',
    channel: { time: new Date(1_700_000_000_000 + n * 1000).toISOString() },
  });
  /** Page `page` of 100 of a conversation of messages 1..`total`, newest first, as Genesys pages it. */
  const pageOf = (total: number, page: number) => ({
    entities: Array.from({ length: total }, (_, i) => entity(total - i)).slice((page - 1) * 100, page * 100),
    pageSize: 100,
    pageNumber: page,
    total,
    pageCount: Math.ceil(total / 100),
  });

  test('the whole conversation: every page once, oldest first; a message that arrives between reads is kept once', async () => {
    const history = historyOn(new MemoryStore(100, () => clock));
    // Page 1 is read with 250 messages; message 251 arrives before page 2, shifting every older page by one.
    const scope = nock(API)
      .get('/api/v2/webmessaging/messages')
      .query({ pageNumber: '1', pageSize: '100' })
      .reply(200, pageOf(250, 1))
      .get('/api/v2/webmessaging/messages')
      .query({ pageNumber: '2', pageSize: '100' })
      .reply(200, pageOf(251, 2))
      .get('/api/v2/webmessaging/messages')
      .query({ pageNumber: '3', pageSize: '100' })
      .reply(200, pageOf(251, 3));
    const whole = await history.wholeConversation(a);
    expect(scope.isDone()).toBe(true);
    expect(whole.messages.map((m) => m.id)).toEqual(Array.from({ length: 250 }, (_, i) => `m${i + 1}`));
    expect(whole).toMatchObject({ total: 250, complete: true });
  });

  test("each read of the newest page is told with the session's token, whoever reads it; older pages and failed reads are not", async () => {
    const told: Array<[string, string[]]> = [];
    const history = new GuestHistory(axios.create(), API, 'https://shop.example.com', {
      store: new MemoryStore(100, () => clock),
      onNewestPage: (token, page) => told.push([token, page.messages.map((m) => m.id)]),
    });
    const pages = (total: number) =>
      nock(API)
        .get('/api/v2/webmessaging/messages')
        .query(true)
        .times(5)
        .reply(200, (uri) => pageOf(total, Number(new URL(uri, API).searchParams.get('pageNumber'))));
    const scope = pages(3);
    await history.newest(a, 'resume');
    await history.newest(b, 'reconnect');
    await history.newestForProof(a);
    await history.page(a, 1, 25);
    await history.page(a, 2, 25);
    expect(told).toEqual([
      ['guest-token-a', ['m1', 'm2', 'm3']],
      ['guest-token-b', ['m1', 'm2', 'm3']],
      ['guest-token-a', ['m1', 'm2', 'm3']],
      ['guest-token-a', ['m1', 'm2', 'm3']],
    ]);
    expect(scope.isDone()).toBe(true);
    // A transcript's first page is the newest page; its older pages are not.
    pages(150);
    await history.wholeConversation(b);
    expect(told.slice(4).map(([token, ids]) => [token, ids.length, ids.at(-1)])).toEqual([
      ['guest-token-b', 100, 'm150'],
    ]);
    // A read Genesys fails tells nothing.
    nock.cleanAll();
    nock(API).get('/api/v2/webmessaging/messages').query(true).reply(500, {});
    await expect(history.newest(b, 'resume')).rejects.toBeInstanceOf(Error);
    expect(told).toHaveLength(5);
  });

  test('the older pages are read only when all of them fit in the spare half of the minute; page 1 tells how many', async () => {
    const history = historyOn(new MemoryStore(100, () => clock));
    genesysAnswers(3);
    for (let i = 0; i < 3; i++) await history.page(a, 1, 25);
    // Three used: page 1 fits (the fourth read), but its three older pages would take the spare half to six.
    const scope = nock(API).get('/api/v2/webmessaging/messages').query(true).once().reply(200, pageOf(400, 1));
    await expect(history.wholeConversation(a)).rejects.toMatchObject({ failure: 'rate_limited' });
    expect(scope.isDone()).toBe(true);
    // The other half is left for the reads that need it.
    const rest = genesysAnswers(6);
    for (let i = 0; i < 6; i++) await history.page(a, 1, 25);
    expect(rest.isDone()).toBe(true);
  });

  test('a conversation longer than the spare half holds: the newest five pages, marked incomplete', async () => {
    const history = historyOn(new MemoryStore(100, () => clock));
    const scope = nock(API);
    for (let page = 1; page <= 5; page++)
      scope
        .get('/api/v2/webmessaging/messages')
        .query({ pageNumber: String(page), pageSize: '100' })
        .reply(200, pageOf(720, page));
    const whole = await history.wholeConversation(a);
    expect(scope.isDone()).toBe(true);
    expect(whole.messages).toHaveLength(500);
    expect(whole.messages[0]!.id).toBe('m221');
    expect(whole).toMatchObject({ total: 720, complete: false });
  });

  test('without pageCount, total and the page size tell the pages: read to the oldest, or marked incomplete', async () => {
    // Which of the page fields an answer leaves out; without pageSize, the size asked for counts.
    const left = fc.record({ pageCount: fc.boolean(), pageSize: fc.boolean() });
    // Every boundary of pages and of the spare half, with both fields given and both left out.
    const boundaries = [0, 1, 100, 101, 250, 500, 501, 720].flatMap((total) => [
      [total, { pageCount: true, pageSize: true }],
      [total, { pageCount: false, pageSize: false }],
    ]) as [number, { pageCount: boolean; pageSize: boolean }][];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 800 }), left, async (total, given) => {
        nock.cleanAll();
        const pages = Math.ceil(total / 100);
        const scope = nock(API)
          .get('/api/v2/webmessaging/messages')
          .query(true)
          .times(Math.min(Math.max(pages, 1), 5))
          .reply((uri) => {
            const { pageCount, pageSize, ...rest } = pageOf(
              total,
              Number(new URL(uri, API).searchParams.get('pageNumber')),
            );
            return [
              200,
              { ...rest, ...(given.pageCount ? { pageCount } : {}), ...(given.pageSize ? { pageSize } : {}) },
            ];
          });
        const whole = await historyOn(new MemoryStore(100, () => clock)).wholeConversation(a);
        expect(scope.isDone()).toBe(true);
        const kept = Math.min(total, 500);
        expect(whole.messages.map((m) => m.id)).toEqual(
          Array.from({ length: kept }, (_, i) => `m${total - kept + i + 1}`),
        );
        expect(whole).toMatchObject({ total, complete: pages <= 5 });
      }),
      { examples: boundaries, numRuns: 40 },
    );
  });

  test('delivery proofs take at most 7 of the 10 reads a minute: the catch-up a stream asks for always finds 3', async () => {
    const history = historyOn(new MemoryStore(100, () => clock));
    const proofs = genesysAnswers(7);
    for (let i = 0; i < 7; i++) {
      await history.newestForProof(a);
      clock += 1_000;
    }
    expect(proofs.isDone()).toBe(true);
    // The eighth proof is refused without asking Genesys, with the wait until the first leaves the minute.
    await expect(history.newestForProof(a)).rejects.toMatchObject({
      failure: 'rate_limited',
      retryAfterSeconds: 53,
      message: "Checking messages in doubt may use 7 of a session's 10 history reads a minute; retry later.",
    });
    // Each session has its own share of proofs.
    const otherSession = genesysAnswers(1);
    await history.newestForProof(b);
    expect(otherSession.isDone()).toBe(true);
    const catchUp = genesysAnswers(3);
    for (let i = 0; i < 3; i++) await history.page(a, 1, 25);
    expect(catchUp.isDone()).toBe(true);
    await expect(history.page(a, 1, 25)).rejects.toMatchObject({ failure: 'rate_limited' });
  });

  test('while the circuit to Genesys is open, a read of any kind is refused before it is counted', async () => {
    const gate = new StandInGate();
    gate.open();
    const history = new GuestHistory(axios.create(), API, 'https://shop.example.com', {
      store: new MemoryStore(100, () => clock),
      logger: captureLogger().logger,
      upstream: gate,
    });
    for (let i = 0; i < 12; i++) {
      await expect(history.newestForProof(a)).rejects.toMatchObject({ failure: 'circuit_open' });
      await expect(history.page(a, 1, 25)).rejects.toMatchObject({ failure: 'circuit_open' });
      await expect(history.newest(a, 'reconnect')).rejects.toMatchObject({ failure: 'circuit_open' });
    }
    // Genesys is back: the whole minute's reads are there, none spent on the outage.
    gate.close();
    const scope = genesysAnswers(10);
    await history.newest(a, 'reconnect');
    for (let i = 0; i < 3; i++) await history.newestForProof(a);
    for (let i = 0; i < 6; i++) await history.page(a, 1, 25);
    expect(scope.isDone()).toBe(true);
  });

  test('a read still waiting on Genesys when the circuit opens is refused then, not at its deadline', async () => {
    const gate = new StandInGate();
    const history = new GuestHistory(axios.create(), API, 'https://shop.example.com', {
      store: new MemoryStore(100, () => clock),
      logger: captureLogger().logger,
      upstream: gate,
    });
    const scope = nock(API)
      .get('/api/v2/webmessaging/messages')
      .query(true)
      .delay(60_000)
      .reply(200, { entities: [], total: 0 });
    const asked = new Promise((resolve) => scope.on('request', resolve));
    try {
      const read = history.page(a, 1, 25);
      await asked;
      gate.open();
      await expect(read).rejects.toMatchObject({ failure: 'circuit_open' });
    } finally {
      nock.abortPendingRequests();
    }
  });

  test('two instances on one store share a session budget: 10 reads between them, the 11th refused on either', async () => {
    const store = new MemoryStore(100, () => clock);
    const [first, second] = [historyOn(store), historyOn(store)];
    const scope = genesysAnswers(10);
    for (let i = 0; i < 5; i++) {
      await first.page(a, 1, 25);
      await second.page(a, 1, 25);
    }
    expect(scope.isDone()).toBe(true);
    await expect(first.page(a, 1, 25)).rejects.toMatchObject({
      failure: 'rate_limited',
      status: 429,
      retryAfterSeconds: 60,
    });
    await expect(second.page(a, 1, 25)).rejects.toMatchObject({
      failure: 'rate_limited',
      status: 429,
      retryAfterSeconds: 60,
    });
  });

  /** A store whose Redis is away: every count fails as RedisStore's do. */
  class UnreachableStore extends MemoryStore {
    override take(): Promise<number> {
      return Promise.reject(
        new AppError('store_unavailable', 'The shared store (Redis) did not answer.', { retryAfterSeconds: 1 }),
      );
    }

    override record(): Promise<void> {
      return Promise.reject(
        new AppError('store_unavailable', 'The shared store (Redis) did not answer.', { retryAfterSeconds: 1 }),
      );
    }
  }

  test('store away: the history route and a replay are refused with store_unavailable before Genesys is asked; a delivery proof reads uncounted', async () => {
    const log = captureLogger('debug');
    const history = historyOn(new UnreachableStore(), log.logger);
    const scope = genesysAnswers(1);
    await expect(history.page(a, 1, 25)).rejects.toMatchObject({ code: 'store_unavailable', status: 503 });
    await expect(history.newest(a, 'resume')).rejects.toMatchObject({ code: 'store_unavailable' });
    await expect(history.newest(a, 'reconnect')).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(scope.isDone()).toBe(false);
    // The proof is what keeps a message in doubt from being sent twice: it reads all the same.
    await expect(history.newestForProof(a)).resolves.toEqual([]);
    expect(scope.isDone()).toBe(true);
    expect(log.lines().find((l) => /without counting the read/.test(String(l.msg)))).toMatchObject({
      level: 40,
      err: { message: expect.any(String) },
    });
  });
});

describe(`a whole conversation is complete when it has at most ${CONVERSATION_PAGES} pages`, () => {
  /**
   * A transcript reads at most CONVERSATION_PAGES pages of CONVERSATION_PAGE_SIZE (the spare half of Genesys's
   * reads a minute): a conversation that fills exactly that many pages is read whole and complete; only one with
   * more is marked incomplete. Every boundary of the last page, against a fake of the history endpoint.
   */
  const API = 'https://api.mypurecloud.ie';
  const session = {
    token: 'guest-token-pages',
    getJwt: async () => ({ jwt: 'a.b.c', exp: Math.floor(Date.now() / 1000) + 3600 }),
    forgetJwt: () => undefined,
  } as unknown as GuestSession;
  const SIZE = CONVERSATION_PAGE_SIZE;
  const HELD = CONVERSATION_PAGES * SIZE;
  afterEach(() => nock.cleanAll());

  /**
   * Genesys holding messages 1..`total`: each page asked for, newest first, of the size asked, with the
   * total and pageCount Genesys gives. Returns the page numbers read, in order.
   */
  function genesysHolding(total: number): number[] {
    const read: number[] = [];
    nock(API)
      .persist()
      .get('/api/v2/webmessaging/messages')
      .query(true)
      .reply((uri) => {
        const params = new URL(uri, API).searchParams;
        const page = Number(params.get('pageNumber'));
        const pageSize = Number(params.get('pageSize'));
        read.push(page);
        const newest = total - (page - 1) * pageSize;
        const entities = Array.from({ length: Math.max(0, Math.min(pageSize, newest)) }, (_, i) => ({
          id: `m${newest - i}`,
          type: 'Text',
          text: `message ${newest - i}`,
          direction: 'Outbound',
          channel: { time: new Date(1_700_000_000_000 + (newest - i) * 1000).toISOString() },
        }));
        return [200, { entities, pageSize, pageNumber: page, total, pageCount: Math.ceil(total / pageSize) }];
      });
    return read;
  }

  /** The whole conversation of `total` messages as a fresh instance reads it (a fresh minute of reads). */
  async function readWhole(total: number) {
    nock.cleanAll();
    const read = genesysHolding(total);
    const history = new GuestHistory(axios.create(), API, 'https://shop.example.com', {
      store: new MemoryStore(100),
      logger: captureLogger().logger,
    });
    return { whole: await history.wholeConversation(session), read };
  }

  /** What the transcript must be for `total` messages: the newest it can hold, oldest first, and whether that is all. */
  function expected(total: number) {
    const kept = Math.min(total, HELD);
    return {
      ids: Array.from({ length: kept }, (_, i) => `m${total - kept + i + 1}`),
      pagesRead: Array.from(
        { length: Math.min(Math.max(1, Math.ceil(total / SIZE)), CONVERSATION_PAGES) },
        (_, i) => i + 1,
      ),
      complete: total <= HELD,
    };
  }

  test(`exactly ${CONVERSATION_PAGES} pages (${HELD - SIZE + 1} to ${HELD} messages): every message, complete`, async () => {
    for (const total of [HELD - SIZE + 1, HELD - SIZE / 2, HELD - 1, HELD]) {
      const { whole, read } = await readWhole(total);
      expect({ total, pagesRead: read }).toEqual({ total, pagesRead: expected(total).pagesRead });
      expect(whole.messages.map((m) => m.id)).toEqual(expected(total).ids);
      expect({ total, complete: whole.complete }).toEqual({ total, complete: true });
    }
  });

  test(`one message past ${CONVERSATION_PAGES} pages: the newest ${HELD} messages, marked incomplete`, async () => {
    const { whole, read } = await readWhole(HELD + 1);
    expect(read).toEqual(expected(HELD + 1).pagesRead);
    expect(whole.messages).toHaveLength(HELD);
    expect(whole.messages[0]!.id).toBe('m2');
    expect(whole).toMatchObject({ total: HELD + 1, complete: false });
  });

  test(`complete exactly when the pages fit in ${CONVERSATION_PAGES}: every total from 0 to ${HELD + 2 * SIZE}`, async () => {
    // The boundaries of the last page read and of the one after it, always tried, whatever the seed draws.
    const boundaries = [0, 1, HELD - SIZE, HELD - SIZE + 1, HELD - 1, HELD, HELD + 1].map((total) => [total]) as [
      number,
    ][];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: HELD + 2 * SIZE }), async (total) => {
        const { whole, read } = await readWhole(total);
        const want = expected(total);
        expect(read).toEqual(want.pagesRead);
        expect(whole.messages.map((m) => m.id)).toEqual(want.ids);
        expect(whole).toMatchObject({ total, complete: want.complete });
      }),
      { examples: boundaries, numRuns: 60 },
    );
  });
});

describe('pages as the SDK shapes them, broken or too big', () => {
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

  test("with Genesys's clock ahead of this instance's, the newest untimed message takes the page's latest time, not the read", async () => {
    const body = {
      entities: [
        entity('n2', { channel: { time: null } }),
        // Stamped a minute after this instance reads the page; and one time Genesys wrote that is no time at all.
        entity('n1', { channel: { time: '2024-05-01T12:01:00.000Z' } }),
        entity('n0', { channel: { time: 'soon' } }),
      ],
      total: 3,
    };
    nock(API).get('/api/v2/webmessaging/messages').query(true).reply(200, body);
    const now = () => Date.parse('2024-05-01T12:00:00.000Z');
    const history = new GuestHistory(axios.create(), API, 'https://shop.example.com', { now });
    const page = await history.page(session, 1, 25);
    // Not 12:00, which would show the newest message before n1.
    expect(page.messages.map((m) => [m.id, m.time])).toEqual([
      ['n0', 'soon'],
      ['n1', '2024-05-01T12:01:00.000Z'],
      ['n2', '2024-05-01T12:01:00.000Z'],
    ]);
  });

  test('an untimed message takes the time of its receipt (a receipt is no message, but it came no earlier)', async () => {
    const body = {
      entities: [
        entity('m1', { type: 'Receipt', status: 'Delivered', channel: { time: '2024-05-01T10:00:03.000Z' } }),
        entity('m1', { channel: { time: null } }),
      ],
      total: 2,
    };
    nock(API).get('/api/v2/webmessaging/messages').query(true).reply(200, body);
    const now = () => Date.parse('2024-05-01T12:00:00.000Z');
    const history = new GuestHistory(axios.create(), API, 'https://shop.example.com', { now });
    const page = await history.page(session, 3, 2);
    expect(page.messages.map((m) => [m.id, m.time.slice(11)])).toEqual([['m1', '10:00:03.000Z']]);
  });

  test('on an earlier page, the newest untimed messages take the next older time, not the read: they stay before the newer pages', async () => {
    const body = {
      entities: [
        entity('n2', { channel: { time: null } }),
        entity('n1', { channel: { time: '2024-05-01T10:00:01.000Z' } }),
        entity('n0', { channel: { time: '2024-05-01T10:00:00.000Z' } }),
      ],
      total: 9,
    };
    nock(API).get('/api/v2/webmessaging/messages').query(true).reply(200, body);
    const now = () => Date.parse('2024-05-01T12:00:00.000Z');
    const history = new GuestHistory(axios.create(), API, 'https://shop.example.com', { now });
    const page = await history.page(session, 2, 3);
    expect(page.messages.map((m) => [m.id, m.time.slice(11)])).toEqual([
      ['n0', '10:00:00.000Z'],
      ['n1', '10:00:01.000Z'],
      ['n2', '10:00:01.000Z'],
    ]);
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

  test('an entity wrong in every field is logged with its first three issues, not all of them', async () => {
    const { history, log } = historyWith({
      entities: [{ id: 1, type: 2, text: 3, direction: 4, channel: 5 }, entity('kept')],
      total: 2,
    });
    const page = await history.page(session, 1, 25);
    expect(page.messages.map((m) => m.id)).toEqual(['kept']);
    expect(log.lines().find((l) => l.level === 40)!.issues).toHaveLength(3);
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

  test("a guest message's status is the furthest its receipts on the page say; the page lists them, oldest first", async () => {
    const guest = (id: string, second: number) =>
      entity(id, { direction: 'Inbound', channel: { time: `2024-05-01T10:00:0${second}.000Z` } });
    const receipt = (id: string, status: string, second: number | null, extra: Record<string, unknown> = {}) =>
      entity(id, {
        type: 'Receipt',
        status,
        text: null,
        channel: { time: second === null ? null : `2024-05-01T10:00:0${second}.000Z` },
        ...extra,
      });
    const { history } = historyWith({
      // Newest first, as Genesys pages: g1's late Delivered never hides its Read; g3 failed; g4 has no receipt.
      entities: [
        receipt('g1', 'Delivered', 9),
        receipt('g3', 'Failed', 8, { reasons: [{ code: 'DataFiltered', message: 'filtered' }] }),
        guest('g4', 7),
        receipt('g1', 'Read', null),
        receipt('g2', 'Sent', 5),
        receipt('g1', 'Delivered', 4),
        guest('g3', 3),
        guest('g2', 2),
        guest('g1', 1),
        entity('a0'),
      ],
      total: 10,
    });
    const page = await history.page(session, 1, 25);
    expect(page.messages.map((m) => [m.id, m.status, m.reasons])).toEqual([
      ['a0', undefined, undefined],
      ['g1', 'read', undefined],
      ['g2', 'sent', undefined],
      ['g3', 'failed', [{ code: 'DataFiltered', message: 'filtered' }]],
      ['g4', 'sent', undefined],
    ]);
    // The untimed Read takes the time of the next newer entity with one (g4's), as an untimed message would.
    expect(page.receipts).toEqual([
      { messageId: 'g1', status: 'delivered', at: '2024-05-01T10:00:04.000Z' },
      { messageId: 'g1', status: 'read', at: '2024-05-01T10:00:07.000Z' },
      {
        messageId: 'g3',
        status: 'failed',
        reasons: [{ code: 'DataFiltered', message: 'filtered' }],
        at: '2024-05-01T10:00:08.000Z',
      },
      { messageId: 'g1', status: 'delivered', at: '2024-05-01T10:00:09.000Z' },
    ]);
  });

  test('whatever receipts come in whatever order, each guest message ends at the furthest status any of them says', () => {
    const RANK = ['sent', 'delivered', 'read', 'failed'] as const;
    const receiptArb = fc.record({
      messageId: fc.constantFrom('g0', 'g1', 'g2', 'elsewhere'),
      status: fc.constantFrom('delivered' as const, 'read' as const, 'failed' as const),
    });
    fc.assert(
      fc.property(fc.array(receiptArb, { maxLength: 12 }), (given) => {
        const receipts = given.map((r) => ({
          ...r,
          at: '2024-05-01T10:00:00.000Z',
          ...(r.status === 'failed' ? { reasons: [{ code: 'GeneralError' as const }] } : {}),
        }));
        const messages = ['g0', 'g1', 'g2'].map((id) => ({
          id,
          direction: 'inbound' as const,
          type: 'text' as const,
          time: '2024-05-01T10:00:00.000Z',
          status: 'sent' as const,
        }));
        const agent = { id: 'a', direction: 'outbound' as const, type: 'text' as const, time: messages[0]!.time };
        const folded = foldReceipts([agent, ...messages], receipts);
        expect(folded[0]).toBe(agent);
        for (const m of folded.slice(1)) {
          // The oracle: the highest rank named for this id, counted from the list by hand.
          let best = 0;
          for (const r of given) if (r.messageId === m.id) best = Math.max(best, RANK.indexOf(r.status));
          expect(m.status).toBe(RANK[best]);
          expect(m.reasons !== undefined).toBe(RANK[best] === 'failed');
        }
        // The order they came in changes nothing.
        expect(foldReceipts([agent, ...messages], [...receipts].reverse())).toEqual(folded);
      }),
    );
  });

  test("a receipt changes only a guest message it takes further: an agent's message, or one failed already, is as it was", () => {
    const at = '2024-05-01T10:00:00.000Z';
    const agent = { id: 'a1', direction: 'outbound' as const, type: 'text' as const, time: at };
    const failed = {
      id: 'g1',
      direction: 'inbound' as const,
      type: 'text' as const,
      time: at,
      status: 'failed' as const,
      reasons: [{ code: 'DataFiltered' as const }],
    };
    // Frozen: a fold that changed them in place would throw, not pass as the same object.
    const folded = foldReceipts(
      [Object.freeze(agent), Object.freeze(failed)],
      [
        { messageId: 'a1', status: 'read', at },
        { messageId: 'g1', status: 'delivered', at },
        { messageId: 'g1', status: 'failed', at, reasons: [{ code: 'GeneralError' as const }] },
      ],
    );
    expect(folded[0]).toBe(agent);
    expect(folded[1]).toBe(failed);
  });

  test("a message fails once: a second failure reported for it keeps the first one's reasons, as a failed message keeps its own", () => {
    const at = '2024-05-01T10:00:00.000Z';
    const sent = { id: 'g1', direction: 'inbound' as const, type: 'text' as const, time: at, status: 'sent' as const };
    const [folded] = foldReceipts(
      [sent],
      [
        { messageId: 'g1', status: 'failed', at, reasons: [{ code: 'DataFiltered' as const }] },
        { messageId: 'g1', status: 'failed', at, reasons: [{ code: 'GeneralError' as const }] },
      ],
    );
    expect(folded).toMatchObject({ status: 'failed', reasons: [{ code: 'DataFiltered' }] });
  });

  test('a page Genesys capped below the size asked for says the size it used, so paging by it misses nothing', async () => {
    const entities = Array.from({ length: 20 }, (_, i) => entity(`m${i}`));
    const capped = historyWith({ entities, pageSize: 20, pageNumber: 1, total: 45 });
    await expect(capped.history.page(session, 1, 25)).resolves.toMatchObject({ pageSize: 20, pageCount: 3 });
    nock.cleanAll();
    // One that says nothing of its size, or a larger one than asked, is the size asked for.
    const silent = historyWith({ entities, total: 45 });
    await expect(silent.history.page(session, 1, 25)).resolves.toMatchObject({ pageSize: 25, pageCount: 2 });
    nock.cleanAll();
    const larger = historyWith({ entities, pageSize: 100, total: 45 });
    await expect(larger.history.page(session, 1, 25)).resolves.toMatchObject({ pageSize: 25 });
    nock.cleanAll();
    // A size below one says nothing either.
    const negative = historyWith({ entities, pageSize: -5, total: 45 });
    await expect(negative.history.page(session, 1, 25)).resolves.toMatchObject({ pageSize: 25, pageCount: 2 });
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
    const refused = await history.page(session, 1, 25).catch((error: unknown) => error as GuestApiError);
    expect(refused).toMatchObject({
      code: 'upstream_unavailable',
      message: 'Genesys returned a conversation history larger than this service reads.',
      logDetail: { genesysText: 'larger than 4096 bytes' },
      cause: { message: expect.stringMatching(/maxContentLength/) },
    });
  });

  test.each(['0', '-5', 'soon'])('a history 429 with a Retry-After of %j waits the default 6 s', async (header) => {
    nock(API).get('/api/v2/webmessaging/messages').query(true).reply(429, {}, { 'Retry-After': header });
    const history = new GuestHistory(axios.create(), API, 'https://shop.example.com');
    await expect(history.page(session, 1, 25)).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfterSeconds: 6,
      message: 'Genesys limits history reads; retry later.',
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
});
