'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import {
  BffClient,
  BffError,
  localStorageTokenStore,
  type Availability,
  type Capabilities,
  type ChatMessage,
  type ChatStream,
  type SendInput,
  type SignInGrant,
  type StartedSession,
  type StartSessionOptions,
  type TokenStore,
} from '../index.js';
import type { Wording } from '../wording/index.js';
import { authorOf, mergeMessages } from './conversation.js';
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
  /** What a new session starts with (name, attributes, an identity token…). */
  start?: StartSessionOptions;
  /** Messages per history page. Default 50. */
  historyPageSize?: number;
  /** Start (or resume) the session on mount. Default true. */
  autoStart?: boolean;
  /**
   * The language of the kit's words (`de`, `fr-CA`…). Default: the page's `<html lang>` when the kit has it,
   * else the deployment's `defaultLanguage`, else English.
   */
  locale?: string;
  /** While the page is hidden: the unread count in the title, notifications, a sound (each off by default). */
  attention?: AttentionSettings;
}

export type ChatStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'ended' | 'failed';

/** Why the conversation can no longer be written to. */
export type ChatEnded =
  'agent' | 'guest' | 'expired' | 'signed_out' | 'signed_in_elsewhere' | 'reauthentication_required';

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
  /** Text, an answer, or files; retried with one Idempotency-Key. Resolves false (with `error` set) if it failed. */
  send(input: SendInput): Promise<boolean>;
  /** The composer's text together with the files uploaded for it. */
  submit(text: string): Promise<boolean>;
  /** The guest is typing (throttled to what Genesys asks). */
  notifyTyping(): void;
  uploads: Uploads;
  endChat(): Promise<void>;
  /** Starts a fresh conversation (after one ended). */
  startNew(): Promise<void>;
  signIn(grant: SignInGrant): Promise<void>;
  signOut(): Promise<void>;
  dismissError(): void;
}

const DEFAULT_TYPING_MS = 5000;

/** A chat against the service: session, live stream (resumed after a drop), history, sending, files and sign-in. */
export function useChat(options: UseChatOptions): Chat {
  // One client for the component's life: a new one would drop the session.
  const [client] = useState(
    () =>
      options.client ??
      new BffClient({ baseUrl: options.baseUrl ?? '', tokenStore: options.tokenStore ?? localStorageTokenStore() }),
  );
  const pageSize = options.historyPageSize ?? 50;
  const [status, setStatus] = useState<ChatStatus>('idle');
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [session, setSession] = useState<StartedSession>();
  const [capabilities, setCapabilities] = useState<Capabilities>();
  const [error, setError] = useState<BffError>();
  const [ended, setEnded] = useState<ChatEnded>();
  const [typing, setTyping] = useState<{ name: string }>();
  const [agentPresent, setAgentPresent] = useState(false);
  const [availability, setAvailability] = useState<Availability>();
  const [signedIn, setSignedIn] = useState(false);
  const [expiring, setExpiring] = useState(false);
  const [olderPage, setOlderPage] = useState<number | undefined>();
  const live = useRef<ChatStream | undefined>(undefined);
  /** The session shown: another tab's new session (`started`) replaces it. */
  const shown = useRef<string | undefined>(undefined);
  /** Every message id on the page: only a new one counts as unread. */
  const known = useRef(new Set<string>());
  const typingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const lastAuthor = useRef('The agent');
  const endedBy = useRef<ChatEnded | undefined>(undefined);
  const generation = useRef(0);
  /** The session start in flight: StrictMode's mount, unmount, mount joins it rather than opening a second session. */
  const starting = useRef<Promise<StartedSession> | undefined>(undefined);

  const fail = useCallback(
    (e: unknown) =>
      setError(e instanceof BffError ? e : new BffError({ status: 0, code: 'unknown', message: String(e) })),
    [],
  );
  const uploads = useUploads(client, fail);
  const add = useCallback((incoming: ChatMessage[]) => {
    for (const message of incoming) known.current.add(message.id);
    setMessages((current) => mergeMessages(current, incoming));
  }, []);
  const wording = useChosenWording(options.locale, capabilities?.defaultLanguage);
  const attention = useAttention(options.attention, wording);

  const stopTyping = useCallback(() => {
    clearTimeout(typingTimer.current);
    setTyping(undefined);
  }, []);

  const loadNewest = useCallback(async () => {
    const page = await client.history({ page: 1, pageSize });
    add(page.messages);
    setOlderPage((known) => known ?? (page.page * page.pageSize < page.total ? 2 : undefined));
  }, [add, client, pageSize]);

  const finish = useCallback(
    (why: ChatEnded) => {
      live.current?.close();
      stopTyping();
      setEnded(why);
      setStatus('ended');
    },
    [stopTyping],
  );

  const openStream = useCallback(
    (mine: number) => {
      live.current = client.stream(
        {
          // Every (re)open: the stream resumes from its last event. Reloading the newest page after a reconnect also
          // covers a gap it could not replay, waiting out a Retry-After; the stream itself does the same on
          // `replay_incomplete`, handing what it reloads to `message`.
          open: ({ reconnected }) => {
            if (mine !== generation.current) return;
            setStatus('open');
            (reconnected ? client.catchUp({ pageSize }).then(add) : loadNewest()).catch(fail);
          },
          state: (state) => mine === generation.current && state === 'reconnecting' && setStatus('reconnecting'),
          message: (message) => {
            // Sounded by the tab holding the stream only; every hidden tab counts it and may notify (one per id).
            if (!known.current.has(message.id)) attention.arrived(message, { sound: live.current?.leading ?? true });
            add([message]);
            if (message.direction === 'outbound' && message.type !== 'event') {
              lastAuthor.current = authorOf(message).name;
              stopTyping();
            }
            // A person answered: the wait is over (and the stream sends no more availability).
            if (message.direction === 'outbound' && message.originatingEntity === 'human') setAvailability(undefined);
          },
          typing: (event) => {
            clearTimeout(typingTimer.current);
            setTyping({ name: lastAuthor.current });
            typingTimer.current = setTimeout(() => setTyping(undefined), event.durationMs ?? DEFAULT_TYPING_MS);
          },
          presence: (event) => {
            if (event.presence === 'join') {
              setAgentPresent(true);
              setAvailability(undefined);
            }
            if (event.presence === 'disconnect') setAgentPresent(false);
            if (event.presence === 'disconnect' && event.readOnly) finish('agent');
          },
          availability: (event) => mine === generation.current && setAvailability(event),
          session: (event) => {
            if (event.state === 'expiring') setExpiring(true);
            if (event.state === 'expiry_cleared') setExpiring(false);
            if (event.state === 'signed_in') setSignedIn(true);
            if (
              event.state === 'signed_out' ||
              event.state === 'signed_in_elsewhere' ||
              event.state === 'reauthentication_required'
            )
              endedBy.current = event.state;
          },
          error: (e) => {
            if (mine !== generation.current) return;
            if (endedBy.current) {
              setSignedIn(false);
              finish(endedBy.current);
              return;
            }
            if (e.sessionLost) finish('expired');
            else setStatus('failed');
            setError(e);
          },
        },
        { catchUpPageSize: pageSize },
      );
    },
    [add, attention.arrived, client, fail, finish, loadNewest, pageSize, stopTyping],
  );

  const begin = useCallback(
    /** `fresh`: another tab started this session, so none of what the page shows belongs to it. */
    async (start: StartSessionOptions, rejoin = false, fresh = false) => {
      const mine = ++generation.current;
      live.current?.close();
      endedBy.current = undefined;
      stopTyping();
      setStatus('connecting');
      setEnded(undefined);
      setExpiring(false);
      setAvailability(undefined);
      const pending = (rejoin && starting.current) || client.startSession(start);
      starting.current = pending;
      try {
        const started = await pending;
        if (starting.current === pending) starting.current = undefined;
        if (mine !== generation.current) return;
        setSession(started);
        shown.current = started.routingKey;
        setSignedIn(started.authenticated);
        setError(undefined);
        // A new conversation starts on a clean page.
        if (!started.resumed || start.startNew || fresh) {
          known.current.clear();
          setMessages([]);
          setOlderPage(undefined);
        }
        openStream(mine);
        if (started.readOnly) finish('agent');
        client.capabilities().then(
          (caps) => mine === generation.current && setCapabilities(caps),
          () => undefined,
        );
      } catch (e) {
        if (starting.current === pending) starting.current = undefined;
        if (mine !== generation.current) return;
        setStatus('failed');
        fail(e);
      }
    },
    [client, fail, finish, openStream, stopTyping],
  );

  const startOptions = useRef(options.start ?? {});

  // The site's other tabs share this chat: what one does to it shows in all, with the reason it happened.
  useEffect(
    () =>
      client.onOtherTab((event) => {
        if (event.type === 'ending') endedBy.current = 'guest';
        if (event.type === 'end_failed' && endedBy.current === 'guest') endedBy.current = undefined;
        if (event.type === 'ended') finish('guest');
        // A start under way here resumes that session anyway (one tab starts at a time, the next resumes).
        if (event.type === 'started' && event.routingKey !== shown.current && !starting.current)
          void begin(startOptions.current, false, true);
      }),
    [begin, client, finish],
  );
  useEffect(() => {
    if (options.autoStart === false) return;
    void begin(startOptions.current, true);
    return () => {
      generation.current++;
      live.current?.close();
      clearTimeout(typingTimer.current);
    };
  }, [begin, options.autoStart]);

  const send = useCallback(
    async (input: SendInput) => {
      try {
        add([await client.send(input)]);
        setError(undefined);
        setExpiring(false);
        return true;
      } catch (e) {
        fail(e);
        if (e instanceof BffError && e.sessionLost) finish('expired');
        return false;
      }
    },
    [add, client, fail, finish],
  );

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

  const loadOlder = useCallback(async () => {
    if (olderPage === undefined) return;
    try {
      const page = await client.history({ page: olderPage, pageSize });
      add(page.messages);
      setOlderPage(page.page * page.pageSize < page.total ? page.page + 1 : undefined);
    } catch (e) {
      fail(e);
    }
  }, [add, client, fail, olderPage, pageSize]);

  const endChat = useCallback(async () => {
    // The stream may hear the end before the answer comes: it is the guest's, not an expiry.
    endedBy.current = 'guest';
    try {
      await client.endSession();
      finish('guest');
    } catch (e) {
      endedBy.current = undefined;
      fail(e);
    }
  }, [client, fail, finish]);

  const signIn = useCallback(
    async (grant: SignInGrant) => {
      try {
        await client.signIn(grant);
        setSignedIn(true);
      } catch (e) {
        fail(e);
      }
    },
    [client, fail],
  );

  const signOut = useCallback(async () => {
    endedBy.current = 'signed_out';
    live.current?.close();
    try {
      await client.signOut();
      setSignedIn(false);
      finish('signed_out');
    } catch (e) {
      fail(e);
    }
  }, [client, fail, finish]);

  return {
    client,
    wording,
    status,
    messages,
    session,
    capabilities,
    error,
    ended,
    typing,
    agentPresent,
    availability,
    signedIn,
    expiring,
    unread: attention.unread,
    markSeen: attention.markSeen,
    notifications: attention.notifications,
    requestNotifications: attention.requestNotifications,
    hasOlder: olderPage !== undefined,
    loadOlder,
    send,
    submit,
    notifyTyping: useCallback(() => void client.typing().catch(() => undefined), [client]),
    uploads,
    endChat,
    // An ended conversation still held (the agent ended it) is replaced; without a token, a plain start is new anyway.
    startNew: useCallback(
      () => begin({ ...startOptions.current, ...(client.sessionToken ? { startNew: true } : {}) }),
      [begin, client],
    ),
    signIn,
    signOut,
    dismissError: useCallback(() => setError(undefined), []),
  };
}
