import { AppError } from '../../../src/domain/errors';
import {
  INDEX_BUCKETS,
  INDEX_BUCKET_MAX,
  bucketOf,
  changeIndex,
  indexKey,
  listed,
  parseRecord,
  recordKeys,
  type PushRecord,
} from '../../../src/session/notifications/pushRecords';
import { MemoryStore, sessionKeyOf, type SharedStore } from '../../../src/store';

/**
 * The Web Push records in the shared store and the subscription lists (src/session/notifications/pushRecords.ts).
 * Every instance, of this version or the one a rolling upgrade replaces, reads the same lists: a chat's bucket and
 * the lists' keys are pinned here, not recomputed.
 */

const TTL_MS = 60_000;
const SK = sessionKeyOf('guest-token-1');

test("a chat's records have keys of their own, and the lists' keys are pinned", () => {
  const a = recordKeys('{chat-a}');
  const b = recordKeys('{chat-b}');
  const keys = [a.record, a.seen, a.lease, a.heard, a.message('m1'), a.message('m2'), b.record, b.message('m1')];
  expect(new Set(keys).size).toBe(keys.length);
  for (const key of [a.record, a.seen, a.lease, a.heard, a.message('m1')]) expect(key).toContain('{chat-a}');
  expect(indexKey(0)).toBe('notify-index:0');
  expect(indexKey(15)).toBe('notify-index:15');
});

test("a chat's bucket is pinned, and session keys fill the buckets evenly", () => {
  expect(bucketOf(SK)).toBe(6);
  expect(bucketOf(sessionKeyOf('guest-token-2'))).toBe(1);
  expect(bucketOf('{chat-a}')).toBe(6);
  expect(bucketOf('abc')).toBe(2);
  const counts = new Array<number>(INDEX_BUCKETS).fill(0);
  for (let i = 0; i < 1600; i++) counts[bucketOf(sessionKeyOf(`guest-${i}`))]!++;
  for (const count of counts) expect(count).toBeGreaterThan(60);
});

test('a subscription reads back as written; one of another shape, or no JSON, reads as none', () => {
  const record: PushRecord = {
    v: 1,
    chat: 'sealed-chat',
    endpoint: 'https://push.example.com/sub',
    p256dh: 'p256dh',
    auth: 'auth',
    url: 'https://shop.example.com/chat',
    since: 1,
  };
  expect(parseRecord(JSON.stringify(record))).toEqual(record);
  expect(parseRecord(undefined)).toBeUndefined();
  expect(parseRecord(JSON.stringify({ ...record, v: 2 }))).toBeUndefined();
  expect(parseRecord(JSON.stringify({ ...record, chat: 7 }))).toBeUndefined();
  expect(parseRecord(JSON.stringify({ ...record, endpoint: undefined }))).toBeUndefined();
  expect(parseRecord('{"v":1')).toBeUndefined();
});

test('a list reads as the chats it holds: none when absent, not a list or not JSON', async () => {
  const store = new MemoryStore();
  expect(await listed(store, 3)).toEqual([]);
  await store.put(indexKey(3), JSON.stringify(['{a}', 7, '{b}', null]), TTL_MS);
  expect(await listed(store, 3)).toEqual(['{a}', '{b}']);
  await store.put(indexKey(3), JSON.stringify({ list: ['{a}'] }), TTL_MS);
  expect(await listed(store, 3)).toEqual([]);
  await store.put(indexKey(3), '["{a}"', TTL_MS);
  expect(await listed(store, 3)).toEqual([]);
});

test('a chat is listed once in its bucket, and the list goes with the last chat it held', async () => {
  const store = new MemoryStore();
  const other = sessionKeyOf('guest-token-7');
  expect(bucketOf(other)).toBe(bucketOf(SK));
  await changeIndex(store, SK, true, TTL_MS);
  expect(await listed(store, bucketOf(SK))).toEqual([SK]);
  await changeIndex(store, SK, true, TTL_MS);
  await changeIndex(store, other, true, TTL_MS);
  expect(await listed(store, bucketOf(SK))).toEqual([SK, other]);
  // Dropping a chat the list does not hold changes nothing.
  await changeIndex(store, sessionKeyOf('guest-token-9'), false, TTL_MS);
  expect(await listed(store, bucketOf(SK))).toEqual([SK, other]);
  await changeIndex(store, SK, false, TTL_MS);
  expect(await listed(store, bucketOf(SK))).toEqual([other]);
  await changeIndex(store, other, false, TTL_MS);
  expect(await store.get(indexKey(bucketOf(SK)))).toBeUndefined();
});

test('a full bucket refuses one chat more with 429 and a Retry-After, and takes again or drops a chat it holds', async () => {
  const store = new MemoryStore();
  const bucket = bucketOf(SK);
  const another = sessionKeyOf('guest-token-7');
  expect(bucketOf(another)).toBe(bucket);
  const full = [SK, ...Array.from({ length: INDEX_BUCKET_MAX - 1 }, (_, i) => `{listed-${i}}`)];
  await store.put(indexKey(bucket), JSON.stringify(full), TTL_MS);
  const refused = await changeIndex(store, another, true, TTL_MS).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(AppError);
  expect(refused).toMatchObject({
    code: 'rate_limited',
    status: 429,
    retryAfterSeconds: 60,
    message: 'This deployment holds as many push subscriptions as it may; retry later.',
  });
  expect(await listed(store, bucket)).toEqual(full);
  // A chat already listed is added again (its list's expiry renewed) at the ceiling, and may leave it.
  await expect(changeIndex(store, SK, true, TTL_MS)).resolves.toBeUndefined();
  expect(await listed(store, bucket)).toEqual(full);
  await changeIndex(store, SK, false, TTL_MS);
  expect(await listed(store, bucket)).toEqual(full.slice(1));
  // One below the ceiling takes one more.
  await changeIndex(store, another, true, TTL_MS);
  expect(await listed(store, bucket)).toEqual([...full.slice(1), another]);
});

test('a list whose every write loses its race is answered 503 with a Retry-After, and left as it was', async () => {
  const store = new MemoryStore();
  await changeIndex(store, SK, true, TTL_MS);
  let swaps = 0;
  const contended: SharedStore = Object.assign(Object.create(store) as MemoryStore, {
    swap: async () => {
      swaps++;
      return false;
    },
  });
  const refused = await changeIndex(contended, sessionKeyOf('guest-token-7'), true, TTL_MS).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(AppError);
  expect(refused).toMatchObject({
    code: 'store_unavailable',
    status: 503,
    retryAfterSeconds: 1,
    message: 'The push subscription list is busy; retry shortly.',
  });
  expect(swaps).toBe(32);
  expect(await listed(store, bucketOf(SK))).toEqual([SK]);
});
