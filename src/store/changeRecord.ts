import type { SharedStore } from './sharedStore';

/** What a change does with the record it read: writes `write` (undefined removes it) or leaves it, and answers. */
export type RecordChange<T> = { write: string | undefined; answer: T } | { answer: T };

/**
 * Changes one record by compare-and-swap: reads it, asks `change` what to do with what it read (undefined: no
 * record), and writes that only if the record is still what was read (one created or removed meanwhile counts as
 * changed); read and decided again when another writer came between, at most `tries` times. `change` may be async
 * (a record to unseal first). Answers `{ answer }`
 * of the decision that held, or undefined when every try lost its race (the caller says "busy"). What `change`
 * throws is thrown, with nothing written. `ttlMs` is the written record's lifetime.
 */
export async function changeRecord<T>(
  store: Pick<SharedStore, 'get' | 'claim' | 'swap'>,
  key: string,
  ttlMs: number,
  change: (current: string | undefined) => RecordChange<T> | Promise<RecordChange<T>>,
  tries = 8,
): Promise<{ answer: T } | undefined> {
  for (let i = 0; i < tries; i++) {
    const current = await store.get(key);
    const decided = await change(current);
    if (!('write' in decided)) return { answer: decided.answer };
    const held =
      current === undefined
        ? decided.write === undefined || (await store.claim(key, decided.write, ttlMs))
        : await store.swap(key, current, decided.write, ttlMs);
    if (held) return { answer: decided.answer };
  }
  return undefined;
}
