'use client';

import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import {
  BffClient,
  localStorageTokenStore,
  type Availability,
  type BffError,
  type Capabilities,
  type ChatMessage,
  type SendInput,
  type SignInGrant,
  type StartedSession,
  type StartSessionOptions,
  type TokenStore,
} from '../index.js';
import { wordingFor, type WordKey, type Wording } from '../wording/index.js';
import { readReporter, type ReadReporter } from '../receipts.js';
import { statusOf, type ChatEnded, type ChatState, type ChatStatus } from './chatState.js';
import { GuestChat } from './guestChat.js';
import { useAttention, type AttentionSettings } from './useAttention.js';
import { useUploads, type Uploads } from './useUploads.js';
import { useChosenWording } from './wording.js';

export interface UseChatOptions {
  /** The service's base URL (or pass a `client` of your own). */
  baseUrl?: string;
  client?: BffClient;
  /**
   * Default: localStorage, shared by the site's tabs: one chat per browser, every tab live on one stream
   * (`BffClientOptions.shareTabs`), and a reload or a new tab resumes the chat.
   */
  tokenStore?: TokenStore;
  /** What a new session starts with (name, attributes, an identity token…); `start(details)` adds to it. */
  start?: StartSessionOptions;
  /** Messages per history page. Default 50. Read on mount, as `client` and `start` are. */
  historyPageSize?: number;
  /**
   * Start (or resume) the session on mount. Default true. `'resume'`: resume a session this browser holds on mount,
   * else wait for `start(details)`, as a pre-chat form does (`status` stays `idle` until then). `false`: wait for
   * `start()` in any case.
   */
  autoStart?: boolean | 'resume';
  /**
   * The language of the kit's words (`de`, `fr-CA`…). Default: the page's `<html lang>` when the kit has it,
   * else the deployment's `defaultLanguage`, else English.
   */
  locale?: string;
  /** While the page is hidden: the unread count in the title, notifications, a sound (each off by default). */
  attention?: AttentionSettings;
}

export type { ChatEnded, ChatStatus } from './chatState.js';

export interface Chat {
  client: BffClient;
  status: ChatStatus;
  /** The words in the chosen language, for the components (`ChatWording`), `describeError` and the root's `dir`. */
  wording: Wording;
  /** The conversation, one entry per message id, in time order (events included: `type: 'event'`). */
  messages: ChatMessage[];
  session?: StartedSession;
  capabilities?: Capabilities;
  /** The last failure, for a notice; `describeError` words it. */
  error?: BffError;
  /** Set when the conversation ended; `startNew()` begins another. */
  ended?: ChatEnded;
  /** An agent or bot is typing: who, until `durationMs` runs out or their message arrives. */
  typing?: { name: string };
  /** A human agent joined the conversation (presence `join`). */
  agentPresent: boolean;
  /**
   * While waiting for an agent: the newest `availability` stream event (open or not, the estimated wait); cleared when
   * an agent joins or writes. Give it to `useAvailability({ live })` or `availabilityStatus` to word it.
   */
  availability?: Availability;
  signedIn: boolean;
  /** The service warned that the session is about to end for lack of activity. */
  expiring: boolean;
  /**
   * Ids of the guest's messages (and files) whose card number, IBAN or other sensitive data the service hid before
   * Genesys saw it, each once: give it to `MessageList` (`masked`), which tells the customer under each of them.
   */
  masked: readonly string[];
  /** Agent and bot messages that came while the page was hidden; 0 again once it is seen. */
  unread: number;
  /** The reader has seen the conversation (done by itself when the page becomes visible). */
  markSeen(): void;
  /** The browser's notification permission: offer `requestNotifications` while it is `default`. */
  notifications: NotificationPermission | 'unsupported';
  /** Asks to notify (call it from a click: browsers ask only then); when allowed, notifications are on. */
  requestNotifications(): Promise<NotificationPermission | 'unsupported'>;
  /** Older history pages remain. */
  hasOlder: boolean;
  loadOlder(): Promise<void>;
  /**
   * Starts the session with these details (a pre-chat form's name, email, attributes), added to the `start` option;
   * they are kept for `startNew()`. Resumes instead when a session is held. While a start is on its way, joins it.
   */
  start(details?: StartSessionOptions): Promise<void>;
  /** Text, an answer, or files; retried with one Idempotency-Key. Resolves false (with `error` set) if it failed. */
  send(input: SendInput): Promise<boolean>;
  /** The composer's text together with the files uploaded for it. */
  submit(text: string): Promise<boolean>;
  /** The guest is typing (throttled to what Genesys asks). */
  notifyTyping(): void;
  uploads: Uploads;
  /**
   * Ends the conversation. The client forgets the session's token whatever the answer, so the chat ends here even
   * when the service cannot confirm it; `error` then says why.
   */
  endChat(): Promise<void>;
  /** Starts a fresh conversation (after one ended). */
  startNew(): Promise<void>;
  signIn(grant: SignInGrant): Promise<void>;
  /** Signs out and ends the chat here (`ended: 'signed_out'`), as `endChat()` does, even when refused. */
  signOut(): Promise<void>;
  dismissError(): void;
}

/**
 * A chat against the service: session, live stream (resumed after a drop), history, sending, files and sign-in. Its
 * state and what changes it are a `GuestChat` (guestChat.ts, over chatState.ts); this hook shows it, adds the page's
 * words, attention and uploads, and ties the chat's start and end to the component's life.
 */
export function useChat(options: UseChatOptions): Chat {
  // One chat for the component's life: a new one would drop the session.
  const [chat] = useState(
    () =>
      new GuestChat(
        options.client ??
          new BffClient({ baseUrl: options.baseUrl ?? '', tokenStore: options.tokenStore ?? localStorageTokenStore() }),
        { start: options.start, pageSize: options.historyPageSize ?? 50 },
      ),
  );
  // The server's render sees the same first state as the browser's.
  const state = useSyncExternalStore(chat.subscribe, chat.snapshot, chat.snapshot);
  const wording = useChosenWording(options.locale, state.capabilities?.defaultLanguage);
  const view = useMemo(() => viewOf(state, wording), [state, wording]);
  const attention = useAttention(options.attention, wording);
  const uploads = useUploads(chat.client, chat.showFailure);
  const autoStart = options.autoStart ?? true;

  useEffect(() => chat.onArrival(attention.arrived), [chat, attention.arrived]);
  useEffect(() => chat.followOtherTabs(), [chat]);
  useEffect(() => chat.attach(autoStart), [chat, autoStart]);
  // Where the deployment sends read receipts, the newest agent message shown in a visible tab is reported read.
  const reportsReads = state.capabilities?.readReceipts === true;
  const [reads, setReads] = useState<ReadReporter | undefined>(undefined);
  useEffect(() => {
    if (!reportsReads) return;
    const reporter = readReporter(chat.client);
    setReads(reporter);
    return () => {
      reporter.stop();
      setReads(undefined);
    };
  }, [chat, reportsReads]);
  useEffect(() => reads?.shown(state.messages), [reads, state.messages]);

  const { send } = chat;
  const submit = useCallback(
    async (text: string) => {
      const attachmentIds = uploads.readyIds();
      const trimmed = text.trim();
      if (trimmed === '' && attachmentIds.length === 0) return false;
      const sent = await send(
        attachmentIds.length > 0 ? { ...(trimmed ? { text: trimmed } : {}), attachmentIds } : trimmed,
      );
      if (sent) uploads.clear();
      return sent;
    },
    [send, uploads],
  );

  return {
    client: chat.client,
    wording,
    ...view,
    unread: attention.unread,
    markSeen: attention.markSeen,
    notifications: attention.notifications,
    requestNotifications: attention.requestNotifications,
    loadOlder: chat.loadOlder,
    start: chat.start,
    send,
    submit,
    notifyTyping: chat.notifyTyping,
    uploads,
    endChat: chat.endChat,
    startNew: chat.startNew,
    signIn: chat.signIn,
    signOut: chat.signOut,
    dismissError: chat.dismissError,
  };
}

type ChatView = Pick<
  Chat,
  | 'status'
  | 'messages'
  | 'session'
  | 'capabilities'
  | 'error'
  | 'ended'
  | 'typing'
  | 'agentPresent'
  | 'availability'
  | 'signedIn'
  | 'expiring'
  | 'masked'
  | 'hasOlder'
>;

const NONE_MASKED: readonly string[] = [];

/** What the state says, as `Chat` names it. */
function viewOf(state: ChatState, { t }: Wording): ChatView {
  const live = state.phase === 'live' ? state : undefined;
  return {
    status: statusOf(state),
    messages: state.messages,
    session: state.session,
    capabilities: state.capabilities,
    error: state.error,
    ended: state.phase === 'ended' ? state.ended : undefined,
    // Worded now, so a switch of language rewords who is typing too.
    typing: live?.typing && {
      name: live.typing.author.name ?? t(live.typing.author.role === 'bot' ? 'bot' : 'someAgent'),
    },
    agentPresent: state.agentPresent,
    availability: live?.availability,
    signedIn: state.signedIn,
    expiring: live?.expiring ?? false,
    masked: state.masked ?? NONE_MASKED,
    hasOlder: typeof state.older === 'number',
  };
}

const STATUS_WORDS: Record<ChatStatus, WordKey> = {
  idle: 'notConnected',
  connecting: 'connecting',
  open: 'connected',
  reconnecting: 'reconnecting',
  ended: 'chatEnded',
  failed: 'notConnected',
};

/** A status line's words for `chat.status`, in the chat's language: "Connected", "Verbunden", "متصل". */
export function describeStatus(status: ChatStatus, { t }: Wording = wordingFor('en')): string {
  return t(STATUS_WORDS[status]);
}
