import { AppError } from '../../domain/errors';
import { changeRecord, type SharedStore } from '../../store';
import type { PushTarget } from './pushSender';

/**
 * What the shared store holds for Web Push, per chat (`{sk}`: sessionKeyOf of its guest token), every key with an
 * expiry:
 *
 * - `notify:{sk}`: the subscription, JSON `{ v: 1, chat, endpoint, p256dh, auth, url, since }`: `chat` is the
 *   guest token (and a signed-in customer's credentials) sealed with the deployment's session keys, so a reader of
 *   the store learns no way into the chat; `since` (epoch ms) when it was made. It lives as long as a token of the
 *   chat could (the session's standing record's lifetime).
 * - `notify-index:<0..15>`: JSON lists of the `{sk}` with a subscription, where instances find chats to watch;
 *   changed by compare-and-swap, each list at most INDEX_BUCKET_MAX long.
 * - `notify-seen:{sk}`: present while a page stream of the chat is open, and for NOTIFY_AFTER_SECONDS after the last
 *   one closed.
 * - `notify-lease:{sk}`: the instance that watches the chat (one across instances), renewed while it does.
 * - `notify-msg:{sk}:<message id>`: `shown` when a page stream showed the reply; else `pending:<instance>` while
 *   that instance pushes it, then `sent`, `gone` or `failed`: one push per message across instances.
 * - `notify-heard:{sk}`: the replies the chat's live socket heard while no page stream of it was open, sealed, at
 *   most HEARD_MAX, until a page stream opens again (heardReplies.ts): a watch pushes them without a history read.
 */

export interface PushRecord extends PushTarget {
  v: 1;
  chat: string;
  url: string;
  since: number;
}

export const recordKeys = (sk: string) => ({
  record: `notify:${sk}`,
  seen: `notify-seen:${sk}`,
  lease: `notify-lease:${sk}`,
  heard: `notify-heard:${sk}`,
  message: (id: string) => `notify-msg:${sk}:${id}`,
});

export const INDEX_BUCKETS = 16;
/** The most chats one bucket lists: 16 × 4096 subscribed chats per deployment at once. */
export const INDEX_BUCKET_MAX = 4096;

export const indexKey = (bucket: number) => `notify-index:${bucket}`;

/** The bucket a chat is listed in, from its session key (a hash, so buckets fill evenly). */
export function bucketOf(sk: string): number {
  let h = 0;
  for (const c of sk) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % INDEX_BUCKETS;
}

export function parseRecord(value: string | undefined): PushRecord | undefined {
  if (value === undefined) return undefined;
  try {
    const r = JSON.parse(value) as Partial<PushRecord>;
    return r.v === 1 && typeof r.chat === 'string' && typeof r.endpoint === 'string' ? (r as PushRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** The chats a bucket lists. */
export async function listed(store: SharedStore, bucket: number): Promise<string[]> {
  const value = await store.get(indexKey(bucket));
  return value === undefined ? [] : parseList(value);
}

/** Adds or drops `sk` in its bucket (compare-and-swap, retried a bounded number of times); `ttlMs` renews the list. */
export async function changeIndex(store: SharedStore, sk: string, add: boolean, ttlMs: number): Promise<void> {
  const changed = await changeRecord(
    store,
    indexKey(bucketOf(sk)),
    ttlMs,
    (current) => {
      const list = current === undefined ? [] : parseList(current);
      const has = list.includes(sk);
      // Added again, the list is still written: its expiry moves out with the record's.
      if (!add && !has) return { answer: undefined };
      if (add && !has && list.length >= INDEX_BUCKET_MAX) {
        throw new AppError('rate_limited', 'This deployment holds as many push subscriptions as it may; retry later.', {
          retryAfterSeconds: 60,
        });
      }
      const next = add ? (has ? list : [...list, sk]) : list.filter((s) => s !== sk);
      return { write: next.length > 0 ? JSON.stringify(next) : undefined, answer: undefined };
    },
    32,
  );
  if (changed) return;
  throw new AppError('store_unavailable', 'The push subscription list is busy; retry shortly.', {
    retryAfterSeconds: 1,
  });
}

function parseList(value: string): string[] {
  try {
    const list = JSON.parse(value) as unknown;
    return Array.isArray(list) ? list.filter((sk): sk is string => typeof sk === 'string') : [];
  } catch {
    return [];
  }
}
