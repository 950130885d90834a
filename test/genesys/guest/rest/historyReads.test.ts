import axios from 'axios';
import nock from 'nock';
import { AppError } from '../../../../src/domain/errors';
import type { GuestSession } from '../../../../src/genesys/guest/guestSession';
import { GuestHistory } from '../../../../src/genesys/guest/rest/history';
import { MemoryStore } from '../../../../src/store';
import { captureLogger } from '../../../support/app';
import {} from '../../../support/platform';

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
  const refused = await history.page(a, 1, 25).catch((e: unknown) => e);
  expect(refused).toMatchObject({ failure: 'rate_limited', code: 'rate_limited', retryAfterSeconds: 60 });
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
  expect(log.lines().some((l) => /without counting the read/.test(String(l.msg)))).toBe(true);
});
