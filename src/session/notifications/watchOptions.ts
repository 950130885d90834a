import type { NormalizedMessage } from '../../domain/message';
import type { SessionHub } from '../../genesys/guest';
import type { Logger } from '../../observability/logger';
import type { SharedStore } from '../../store';
import type { Revocations, Sealer } from '../tokens';
import type { HeardReplies } from './heardReplies';
import type { HistoryWatchParts } from './historyWatch';
import type { PushSender } from './pushSender';

/** Another way of reaching the customer that a watch serves (e-mail): a chat opted in to it is watched too. */
export interface WatchedAlso {
  /** The chat sealed (as a subscription's `chat`) when `sk` has an opt-in to watch for; else undefined. */
  sealedChat(sk: string): Promise<string | undefined>;
  /** Each agent's or bot's reply the watch heard, or found in history after what the guest last wrote. */
  reply(sk: string, message: NormalizedMessage): void;
  /** The chat is over (ended, expired, signed out): its opt-in ends with it. */
  chatOver(sk: string): Promise<void>;
}

/** What a chat's watch (watch.ts, by way of chatWatch.ts) works with: the process's parts and its deployment's. */
export interface ChatWatchOptions {
  store: SharedStore;
  /** The deployment's hub of watching sockets, under the instance's NOTIFY_SOCKETS_MAX ceiling. */
  hub: SessionHub;
  sealer: Sealer;
  /** Absent: the deployment has no Web Push; chats are watched only for `also`. */
  sender?: PushSender;
  also?: WatchedAlso;
  /** The replies the chat's live socket heard after its page left: found without a history read. */
  heard?: HeardReplies;
  revocations: Pick<Revocations, 'isEnded'>;
  instanceId: string;
  /** NOTIFY_AFTER_SECONDS, in ms. */
  afterMs: number;
  preview: boolean;
  /** How long a subscription's records live (the chat's lifetime). */
  recordMs: number;
  /** Whether this instance may watch one more chat on a socket (its NOTIFY_SOCKETS_MAX). */
  room: () => boolean;
  /** Past that ceiling a chat is watched by paced history reads (historyWatch.ts). */
  history: HistoryWatchParts;
  logger: Logger;
  now?: () => number;
  coalesceMs?: number;
  /** Tests shorten how long a claim to push a message holds (PENDING_MS). */
  pendingMs?: number;
}

/** How a chat is watched: on a kept socket, or by paced history reads past the sockets' ceiling. */
export type WatchMode = 'socket' | 'history';
