import { AppError } from '../../../src/domain/errors';
import { MemoryStore, sessionKeyOf } from '../../../src/store';
import { manualClock } from '../../support/platform';

/**
 * The edges of the in-process store (src/store/sharedStore.ts) that the shared contract
 * (sharedStore.test.ts) leaves open: the instant a record expires, when a full store looks for
 * room, what its refusals say, when a read renews a record, and the bound on rate windows.
 */

function refusal(run: () => Promise<unknown>): Promise<AppError> {
  return run().then(
    () => {
      throw new Error('not refused');
    },
    (error: unknown) => error as AppError,
  );
}

test("a session's name in the store is a hash tag of 32 characters that does not contain its guest token", () => {
  const key = sessionKeyOf('guest-token-0123456789');
  expect(key).toMatch(/^\{[A-Za-z0-9_-]{32}\}$/);
  expect(key).not.toContain('guest-token');
  expect(sessionKeyOf('guest-token-0123456789')).toBe(key);
  expect(sessionKeyOf('guest-token-0123456780')).not.toBe(key);
});

test('a record is gone at the very millisecond it expires', async () => {
  const clock = manualClock();
  const store = new MemoryStore(10, clock.now);
  await store.put('k', 'v', 1000);
  clock.advance(999);
  expect(await store.get('k')).toBe('v');
  clock.advance(1);
  expect(await store.get('k')).toBeUndefined();
});

describe('a full store', () => {
  test('still rewrites the records it holds', async () => {
    const clock = manualClock();
    const store = new MemoryStore(2, clock.now);
    await store.put('a', '1', 60_000);
    await store.put('b', '1', 60_000);
    await store.put('a', '2', 60_000);
    expect(await store.swap('b', '1', '2', 60_000)).toBe(true);
    expect([await store.get('a'), await store.get('b')]).toEqual(['2', '2']);
  });

  test('refuses a new record, saying what it holds and its bound, and looks for expired ones at most once a second', async () => {
    const clock = manualClock();
    const store = new MemoryStore(2, clock.now);
    await store.put('a', '1', 500);
    await store.put('b', '1', 60_000);
    const refused = await refusal(() => store.put('c', '1', 60_000));
    expect(refused).toMatchObject({
      code: 'store_unavailable',
      retryAfterSeconds: 1,
      message:
        "This instance's in-memory store holds as many records as it may (2), none expired yet; nothing was done. Retry shortly.",
    });
    // `a` expires at 500 ms; the next look for room is a second after the last.
    clock.advance(600);
    await expect(store.put('c', '1', 60_000)).rejects.toMatchObject({ code: 'store_unavailable' });
    clock.advance(400);
    await store.put('c', '1', 60_000);
    expect(await store.get('c')).toBe('1');
  });

  test('makes room of a record that expires at the very moment it looks', async () => {
    const clock = manualClock();
    const store = new MemoryStore(1, clock.now);
    await store.put('a', '1', 1000);
    clock.advance(1000);
    await store.put('b', '1', 60_000);
    expect(await store.get('b')).toBe('1');
  });

  test('looks for expired records as soon as it is full, however recently a record was written while it had room', async () => {
    const clock = manualClock();
    const store = new MemoryStore(1, clock.now);
    await store.put('a', '1', 100);
    clock.advance(500);
    await store.put('b', '1', 60_000);
    expect(await store.get('b')).toBe('1');
  });

  test('makes room only of expired records: the live ones stay and still count against its bound', async () => {
    const clock = manualClock();
    const store = new MemoryStore(2, clock.now);
    await store.put('a', '1', 500);
    await store.put('b', '1', 60_000);
    clock.advance(500);
    await store.put('c', '1', 60_000);
    expect([await store.get('a'), await store.get('b'), await store.get('c')]).toEqual([undefined, '1', '1']);
    clock.advance(1000);
    await expect(store.put('d', '1', 60_000)).rejects.toMatchObject({ code: 'store_unavailable' });
  });

  test("a scope of it keeps the security records' own bound: a flood of other records in the scope does not refuse them", async () => {
    const store = new MemoryStore(1, manualClock().now, { protectedPrefixes: ['standing:'] });
    const brand = store.scoped('brand-a:');
    await brand.put('idempotency:1', 'done', 60_000);
    await brand.put('standing:a', 'ended', 60_000);
    expect(await brand.get('standing:a')).toBe('ended');
    expect((await refusal(() => brand.put('standing:b', 'ended', 60_000))).message).toContain('security records');
  });

  test('of security records says so', async () => {
    const store = new MemoryStore(1, manualClock().now, { protectedPrefixes: ['standing:'] });
    await store.put('standing:a', 'ended', 60_000);
    expect((await refusal(() => store.put('standing:b', 'ended', 60_000))).message).toBe(
      "This instance's in-memory store holds as many security records (ended sessions, sign-in cut-offs) as it may (1), none expired yet; nothing was done. Retry shortly.",
    );
  });
});

test('a read renews a record only when less than `renewBelowMs` is left', async () => {
  const clock = manualClock();
  const store = new MemoryStore(10, clock.now);
  await store.put('k', 'v', 10_000);
  clock.advance(5000); // 5 s left, renewed below 5 s: not yet
  expect(await store.getRenewing('k', 10_000, 5000)).toBe('v');
  clock.advance(4999); // 1 ms left had it not been renewed
  expect(await store.get('k')).toBe('v');
  clock.advance(1);
  expect(await store.get('k')).toBeUndefined();

  await store.put('k', 'v', 10_000);
  clock.advance(5001); // 4.999 s left: renewed to 10 s from now
  expect(await store.getRenewing('k', 10_000, 5000)).toBe('v');
  clock.advance(9999);
  expect(await store.get('k')).toBe('v');
});

test('rate windows are bounded in number: past the bound the oldest is forgotten (it only errs towards allowing)', async () => {
  const clock = manualClock();
  const store = new MemoryStore(3, clock.now);
  for (const key of ['w1', 'w2', 'w3']) expect(await store.take(key, 1, 60_000)).toBe(0);
  expect(await store.take('w1', 1, 60_000)).toBeGreaterThan(0);
  expect(await store.take('w4', 1, 60_000)).toBe(0); // a fourth window: the oldest (w1) goes
  expect(await store.take('w1', 1, 60_000)).toBe(0); // forgotten: allowed again (and w2 goes)
  expect(await store.take('w3', 1, 60_000)).toBeGreaterThan(0);
  expect(await store.take('w2', 1, 60_000)).toBe(0);
});

test('a memory store, and every scope of it, is this instance alone: not shared with others', () => {
  const store = new MemoryStore();
  expect(store.shared).toBe(false);
  expect(store.scoped('brand-a:').shared).toBe(false);
});
