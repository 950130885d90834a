import type { NormalizedMessage } from '../../src/domain/message';
import type { GuestEvent, GuestSession, NewestPage, SessionHub } from '../../src/genesys/guest';
import { currentContext } from '../../src/observability/requestContext';
import { ChatWatch, type WatchedAlso } from '../../src/session/notifications/chatWatch';
import { HeardReplies } from '../../src/session/notifications/heardReplies';
import type { HistoryWatchParts } from '../../src/session/notifications/historyWatch';
import { changeIndex, recordKeys, type PushRecord } from '../../src/session/notifications/pushRecords';
import type { PushSender } from '../../src/session/notifications/pushSender';
import { Sealer, deriveKeys } from '../../src/session/tokens';
import { MemoryStore, sessionKeyOf } from '../../src/store';
import { captureLogger } from './app';

/** How long the harness's subscription and push records live. */
export const RECORD_MS = 60_000;

export interface WatchedChat {
  store: MemoryStore;
  /** What the watch pushed, in order: each push's payload. */
  pushes: { type: string; from: string; preview?: string; url: string }[];
  watch: ChatWatch;
  /** How many history reads the watch made. */
  reads: () => number;
  /** The watch's log lines. */
  log: ReturnType<typeof captureLogger>;
  /** The request id each push went out under (its log lines carry it), in order. */
  pushedUnder: (string | undefined)[];
  /** The chat's socket hears `event` (once the watch has subscribed). */
  hear: (event: GuestEvent) => void;
  /**
   * What the e-mail opt-in (`also`) was told: the id of each reply, and how often the chat was over; `kept`: whether
   * it is still there (set it false to take it away).
   */
  also: { replies: string[]; over: number; kept: boolean };
  /** Why the chat's socket was let go, each time it was. */
  retired: string[];
}

export interface WatchedChatOptions {
  /** The chat's guest token. */
  gt: string;
  /** Each history read's answer, in turn (the last one for every read after that). */
  newest: (() => Promise<NewestPage>)[];
  /**
   * What the chat's live socket heard after its page left (heardReplies.ts), oldest first; unset: no such record;
   * `unreadable`: its record cannot be read.
   */
  heard?: NormalizedMessage[] | 'unreadable';
  /** Runs on the store once the subscription is in it, before the watch starts (another instance's records). */
  before?: (store: MemoryStore) => Promise<void>;
  instanceId?: string;
  /** How long a claim to push lives (pushRecords `pending:`). */
  pendingMs?: number;
  /** What the push service answers each push (default `sent`), or when and what it answers. */
  outcome?: 'sent' | 'gone' | (() => Promise<'sent' | 'gone'>);
  /** The chat has an e-mail opt-in too (`also`), which hears every reply. */
  emailOptIn?: boolean;
  /** Whether the chat was ended (its standing record), asked as the watch starts and at each renewal. */
  ended?: () => boolean;
  /** The socket's readiness (default: ready at once). */
  ready?: () => Promise<unknown>;
  /** How long replies are gathered into one push (default 10 ms); `null`: the watch's own default. */
  coalesceMs?: number | null;
}

/**
 * One subscribed chat nobody looks at, watched by a fresh ChatWatch on this instance: the service's own in-memory
 * store and sealing, a stand-in Guest API session (a socket that hears what the test says) and hub (history reads answered by
 * `newest`), and a stand-in push service that takes every push. A watch always has a socket here (room), so the
 * history-read parts are never reached. The caller closes the watch.
 */
export async function watchedChat(options: WatchedChatOptions): Promise<WatchedChat> {
  const store = new MemoryStore();
  const sealer = new Sealer(deriveKeys(['watched-chat-secret-0123456789abcdef']));
  const sk = sessionKeyOf(options.gt);
  const record: PushRecord = {
    v: 1,
    chat: await sealer.seal({ typ: 'watch', gt: options.gt }),
    endpoint: 'https://push.example.com/sub',
    p256dh: 'p256dh',
    auth: 'auth',
    url: 'https://shop.example.com/chat',
    since: Date.now(),
  };
  await store.put(recordKeys(sk).record, JSON.stringify(record), RECORD_MS);
  await changeIndex(store, sk, true, RECORD_MS);
  let heard: HeardReplies | undefined;
  if (options.heard === 'unreadable') {
    heard = { read: () => Promise.reject(new Error('the record does not unseal')) } as unknown as HeardReplies;
  } else if (options.heard) {
    heard = new HeardReplies(store, sealer, RECORD_MS);
    for (const m of options.heard) await heard.add(sk, m, async () => true);
  }
  await options.before?.(store);
  const listeners = new Set<(event: GuestEvent) => void>();
  const retired: string[] = [];
  const session = {
    subscribe: (listener: (event: GuestEvent) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ready: options.ready ?? (async () => ({})),
    retire: (why: string) => void retired.push(why),
  } as unknown as GuestSession;
  const told: WatchedChat['also'] = { replies: [], over: 0, kept: true };
  const also: WatchedAlso = {
    sealedChat: async () => (options.emailOptIn && told.kept && told.over === 0 ? record.chat : undefined),
    reply: (_sk, message) => void told.replies.push(message.id),
    chatOver: async () => void told.over++,
  };
  let read = 0;
  const { newest } = options;
  const hub = {
    session: () => session,
    history: { newest: () => newest[Math.min(read++, newest.length - 1)]!() },
  } as unknown as SessionHub;
  const pushes: WatchedChat['pushes'] = [];
  const pushedUnder: WatchedChat['pushedUnder'] = [];
  const sender = {
    send: async (_target: unknown, payload: WatchedChat['pushes'][number]) => {
      pushes.push(payload);
      pushedUnder.push(currentContext()?.requestId);
      const { outcome } = options;
      return typeof outcome === 'function' ? outcome() : (outcome ?? 'sent');
    },
  } as unknown as PushSender;
  const log = captureLogger('info');
  const watch = new ChatWatch({
    store,
    hub,
    sealer,
    sender,
    ...(heard ? { heard } : {}),
    ...(options.emailOptIn ? { also } : {}),
    revocations: { isEnded: async () => options.ended?.() ?? false },
    instanceId: options.instanceId ?? 'instance-b',
    afterMs: 1000,
    preview: true,
    recordMs: RECORD_MS,
    room: () => true,
    history: {} as HistoryWatchParts,
    logger: log.logger,
    ...(options.coalesceMs === null ? {} : { coalesceMs: options.coalesceMs ?? 10 }),
    ...(options.pendingMs === undefined ? {} : { pendingMs: options.pendingMs }),
  });
  const hear = (event: GuestEvent) => {
    for (const listener of listeners) listener(event);
  };
  return { store, pushes, watch, reads: () => read, log, pushedUnder, hear, also: told, retired };
}
