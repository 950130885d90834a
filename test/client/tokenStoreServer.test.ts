import { localStorageTokenStore, sessionStorageTokenStore } from '../../client/src';

/**
 * The token stores where there is no window (the chat hook's default store, made while a server renders the page,
 * Next.js): nothing is stored, nothing is heard, and nothing throws.
 */
test('without a window the stores hold nothing and listen to nothing, without throwing', () => {
  expect(typeof window).toBe('undefined');
  for (const store of [localStorageTokenStore(), sessionStorageTokenStore()]) {
    expect(() => store.set('token-1')).not.toThrow();
    expect(store.get()).toBeUndefined();
    expect(() => store.clear()).not.toThrow();
  }
  let stop: (() => void) | undefined;
  expect(() => (stop = localStorageTokenStore().subscribe!(() => undefined))).not.toThrow();
  expect(() => stop!()).not.toThrow();
});
