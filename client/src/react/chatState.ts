import type {
  Availability,
  BffError,
  Capabilities,
  ChatMessage,
  HistoryPage,
  ReceiptEvent,
  StartedSession,
} from '../index.js';
import { applyReceipt } from '../receipts.js';
import { mergeMessages, presenceEntry } from './conversation.js';

/**
 * A chat as the page holds it, as one value changed only by `transition` over named events, the way the service
 * holds a guest session's upstream link (src/genesys/guest/linkState.ts). `GuestChat` (guestChat.ts) applies each
 * event in one place and does what follows from it; `useChat` shows the value. Nothing here does I/O or reads a
 * clock: times come in the events.
 *
 * What each phase says:
 *
 * - `idle`: nothing under way: before the first start (`autoStart` off, a pre-chat form), or once the page let go of
 *   the chat (unmounted).
 * - `starting`: a session start (or resume) is on its way. `fresh`: the page starts clean whatever the answer says
 *   (a new chat asked for here, or one another tab started).
 * - `live`: a session is held and its stream is `connecting`, `open` or `reconnecting`. What only a live chat has
 *   lives here and goes with it: the agent typing, the expiry warning, the wait for an agent, and `endingAs`, the
 *   end the page expects the stream to stop on (the guest's or a sign-out), so that stop reads as that end.
 * - `ended`: the conversation can no longer be written to; `ended` says why.
 * - `failed`: the start, or the stream, stopped for good on an error (in `error`).
 *
 * Beside the phase, what the page shows whatever it is: the conversation, the session, what the deployment allows,
 * the last failure. `attempt` counts the starts: what comes for an earlier one (its answer, its stream, its
 * history) is stale and refused.
 */
export type ChatState = Shown & ChatPhase;

export type ChatStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'ended' | 'failed';

/** Why the conversation can no longer be written to. */
export type ChatEnded =
  'agent' | 'guest' | 'expired' | 'signed_out' | 'signed_in_elsewhere' | 'reauthentication_required';

/** An end the page asked for, here or in another tab. */
export type RequestedEnd = 'guest' | 'signed_out';

/** An end the stream announces before it stops (a `session` event). */
export type AnnouncedEnd = 'signed_out' | 'signed_in_elsewhere' | 'reauthentication_required';

export const ANNOUNCED_ENDS: readonly AnnouncedEnd[] = [
  'signed_out',
  'signed_in_elsewhere',
  'reauthentication_required',
];

/** What the page shows in every phase. */
export interface Shown {
  attempt: number;
  /** One entry per message id, in time order. */
  messages: ChatMessage[];
  /** The next older history page; `none` once the oldest is in, `unknown` until the newest page came. */
  older: number | 'none' | 'unknown';
  agentPresent: boolean;
  /** Who wrote the newest agent or bot message: whom the agent's typing names (worded when shown, not here). */
  lastAuthor: Author;
  session?: StartedSession;
  capabilities?: Capabilities;
  signedIn: boolean;
  error?: BffError;
  /**
   * The guest's messages (and files) whose text (or name) the service masked before Genesys saw it, by id, each
   * once: the page tells the customer once per message (`MessageList`'s `masked`).
   */
  masked?: readonly string[];
}

/** An agent or bot as the conversation knows them: their name when Genesys gives one, worded only when shown. */
export interface Author {
  role: 'bot' | 'agent';
  name?: string;
}

export interface AgentTyping {
  author: Author;
  /** When it lapses (ms since the epoch), unless a message or a new typing event comes first. */
  until: number;
}

export type ChatPhase =
  | { phase: 'idle' }
  | { phase: 'starting'; fresh: boolean }
  | {
      phase: 'live';
      stream: 'connecting' | 'open' | 'reconnecting';
      expiring: boolean;
      availability?: Availability;
      typing?: AgentTyping;
      endingAs?: RequestedEnd | AnnouncedEnd;
    }
  | { phase: 'ended'; ended: ChatEnded }
  | { phase: 'failed' };

export type ChatPhaseName = ChatPhase['phase'];

export const CHAT_PHASES: readonly ChatPhaseName[] = ['idle', 'starting', 'live', 'ended', 'failed'];

type Live = Extract<ChatState, { phase: 'live' }>;
type Starting = Extract<ChatState, { phase: 'starting' }>;

export const initialChatState: ChatState = {
  phase: 'idle',
  attempt: 0,
  messages: [],
  older: 'unknown',
  agentPresent: false,
  lastAuthor: { role: 'agent' },
  signedIn: false,
};

/** A presence event from the stream: a join or a disconnect; `readOnly`: the agent ended the conversation. */
export interface Presence {
  presence: string;
  name?: string;
  readOnly?: boolean;
  /** When Genesys says it happened (ISO 8601); the line goes there among the messages, not where it arrived. */
  time?: string;
}

/** What the stream of one attempt says; heard only while that attempt is live. */
export type StreamEvent =
  | { type: 'streamOpened'; attempt: number }
  | { type: 'streamReconnecting'; attempt: number }
  /** The stream stopped for good. */
  | { type: 'streamFailed'; attempt: number; error: BffError }
  | { type: 'messageArrived'; attempt: number; message: ChatMessage }
  /** Genesys said more of one of the guest's messages: it moves on to that status (never back). */
  | { type: 'receiptArrived'; attempt: number; receipt: ReceiptEvent }
  /** The service masked sensitive data in the guest's message (or file name) `id` before Genesys saw it. */
  | { type: 'inputMasked'; attempt: number; id: string }
  | { type: 'agentTyping'; attempt: number; until: number }
  | { type: 'presenceChanged'; attempt: number; presence: Presence; at: number }
  | { type: 'availabilityChanged'; attempt: number; availability: Availability }
  | { type: 'expiryWarned'; attempt: number }
  | { type: 'expiryCleared'; attempt: number }
  | { type: 'endAnnounced'; attempt: number; as: AnnouncedEnd };

/** What happens to the chat: each is asked of `transition`, which allows it or refuses it. */
export type ChatEvent =
  | StreamEvent
  /** A start or resume was asked for (on mount, `start()`, `startNew()`, another tab's new chat). */
  | { type: 'startRequested'; fresh: boolean }
  | { type: 'sessionStarted'; attempt: number; session: StartedSession }
  | { type: 'startFailed'; attempt: number; error: BffError }
  | { type: 'capabilitiesRead'; attempt: number; capabilities: Capabilities }
  /** The newest history page, read when a stream first opens. */
  | { type: 'newestPageLoaded'; attempt: number; page: HistoryPage }
  | { type: 'olderPageLoaded'; attempt: number; page: HistoryPage }
  /** What a reopened stream might have missed, read back from history. */
  | { type: 'caughtUp'; attempt: number; messages: ChatMessage[] }
  /** The agent's typing shown until `until` lapsed (a timer says so). */
  | { type: 'typingLapsed'; until: number }
  | { type: 'sent'; message: ChatMessage }
  | { type: 'sendFailed'; error: BffError }
  /** A call whose failure only shows a notice failed (history, sign-in, an upload). */
  | { type: 'requestFailed'; error: BffError }
  | { type: 'errorDismissed' }
  /** Ending the chat, or signing out, was asked for (here or in another tab): the stream's stop that follows is it. */
  | { type: 'endRequested'; as: RequestedEnd }
  /** The end another tab asked for failed: the chat goes on. */
  | { type: 'endFailed' }
  /**
   * The guest ended the chat (here or in another tab), or signed out. `error`: the service did not confirm it; the
   * client has let go of the session's token all the same, so the chat cannot go on here.
   */
  | { type: 'chatEnded'; as: RequestedEnd; error?: BffError }
  | { type: 'signedIn' }
  /** The page let go of the chat (unmounted): nothing of it goes on here. */
  | { type: 'detached' };

export type ChatEventType = ChatEvent['type'];

const STREAM_EVENT_TYPES: readonly StreamEvent['type'][] = [
  'streamOpened',
  'streamReconnecting',
  'streamFailed',
  'messageArrived',
  'receiptArrived',
  'inputMasked',
  'agentTyping',
  'presenceChanged',
  'availabilityChanged',
  'expiryWarned',
  'expiryCleared',
  'endAnnounced',
];

export const CHAT_EVENT_TYPES: readonly ChatEventType[] = [
  ...STREAM_EVENT_TYPES,
  'startRequested',
  'sessionStarted',
  'startFailed',
  'capabilitiesRead',
  'newestPageLoaded',
  'olderPageLoaded',
  'caughtUp',
  'typingLapsed',
  'sent',
  'sendFailed',
  'requestFailed',
  'errorDismissed',
  'endRequested',
  'endFailed',
  'chatEnded',
  'signedIn',
  'detached',
];

const isStreamEvent = (event: ChatEvent): event is StreamEvent =>
  (STREAM_EVENT_TYPES as readonly ChatEventType[]).includes(event.type);

/** The next state, or `undefined` when the event is refused in this state (the state stays as it is). */
export function transition(state: ChatState, event: ChatEvent): ChatState | undefined {
  if (isStreamEvent(event)) {
    if (state.phase !== 'live' || event.attempt !== state.attempt) return undefined;
    return heard(state, event);
  }
  switch (event.type) {
    case 'startRequested':
      // A start that joins one on its way (a double submit) keeps that one's clean page.
      return {
        ...shown(state),
        attempt: state.attempt + 1,
        phase: 'starting',
        fresh: event.fresh || (state.phase === 'starting' && state.fresh),
      };
    case 'sessionStarted':
      if (state.phase !== 'starting' || event.attempt !== state.attempt) return undefined;
      return sessionStarted(state, event.session);
    case 'startFailed':
      if (state.phase !== 'starting' || event.attempt !== state.attempt) return undefined;
      return { ...shown(state), error: event.error, phase: 'failed' };
    case 'capabilitiesRead':
      if (event.attempt !== state.attempt) return undefined;
      return { ...state, capabilities: event.capabilities };
    case 'newestPageLoaded':
      if (event.attempt !== state.attempt) return undefined;
      return {
        ...withMessages(state, event.page.messages),
        older: state.older === 'unknown' ? olderAfter(event.page) : state.older,
      };
    case 'olderPageLoaded':
      if (event.attempt !== state.attempt) return undefined;
      return { ...withMessages(state, event.page.messages), older: olderAfter(event.page) };
    case 'caughtUp':
      if (event.attempt !== state.attempt) return undefined;
      return withMessages(state, event.messages);
    case 'typingLapsed':
      if (state.phase !== 'live' || state.typing?.until !== event.until) return undefined;
      return { ...state, typing: undefined };
    case 'sent':
      return state.phase === 'live'
        ? { ...withMessages(state, [event.message]), error: undefined, expiring: false }
        : { ...withMessages(state, [event.message]), error: undefined };
    case 'sendFailed':
      // The session is gone: a chat that was going on has ended; one already ended keeps its reason.
      if (event.error.sessionLost && (state.phase === 'live' || state.phase === 'failed'))
        return { ...shown(state), error: event.error, phase: 'ended', ended: 'expired' };
      return { ...state, error: event.error };
    case 'requestFailed':
      return { ...state, error: event.error };
    case 'errorDismissed':
      if (!state.error) return undefined;
      return { ...state, error: undefined };
    case 'endRequested':
      if (state.phase !== 'live') return undefined;
      return { ...state, endingAs: event.as };
    case 'endFailed':
      if (state.phase !== 'live' || state.endingAs !== 'guest') return undefined;
      return { ...state, endingAs: undefined };
    case 'chatEnded':
      // An idle page shows no chat to end.
      if (state.phase === 'idle') return undefined;
      return {
        ...shown(state),
        signedIn: event.as === 'signed_out' ? false : state.signedIn,
        error: event.error ?? state.error,
        phase: 'ended',
        ended: event.as,
      };
    case 'signedIn':
      return { ...state, signedIn: true };
    case 'detached':
      if (state.phase !== 'starting' && state.phase !== 'live') return undefined;
      return { ...shown(state), phase: 'idle' };
  }
}

function sessionStarted(state: Starting, session: StartedSession): ChatState {
  // A new conversation starts on a clean page.
  const clean = !session.resumed || state.fresh;
  const next: Shown = {
    ...shown(state),
    session,
    signedIn: session.authenticated,
    error: undefined,
    ...(clean ? { messages: [], older: 'unknown' as const, agentPresent: false, masked: undefined } : {}),
  };
  if (session.readOnly) return { ...next, phase: 'ended', ended: 'agent' };
  return { ...next, phase: 'live', stream: 'connecting', expiring: false };
}

/** What the live stream says. */
function heard(state: Live, event: StreamEvent): ChatState {
  switch (event.type) {
    case 'streamOpened':
      return { ...state, stream: 'open' };
    case 'streamReconnecting':
      return { ...state, stream: 'reconnecting' };
    case 'streamFailed':
      return streamFailed(state, event.error);
    case 'messageArrived':
      return messageArrived(state, event.message);
    case 'receiptArrived': {
      const messages = applyReceipt(state.messages, event.receipt);
      return messages === state.messages ? state : { ...state, messages };
    }
    case 'inputMasked':
      if (state.masked?.includes(event.id)) return state;
      return { ...state, masked: [...(state.masked ?? []), event.id] };
    case 'agentTyping':
      return { ...state, typing: { author: state.lastAuthor, until: event.until } };
    case 'presenceChanged':
      return presenceChanged(state, event.presence, event.at);
    case 'availabilityChanged':
      // A page reloaded after an agent wrote shows it from history, while its new stream, which knows only what it
      // sends, may still tell whether anyone is there: the wait is over all the same.
      return agentHasWritten(state.messages) ? state : { ...state, availability: event.availability };
    case 'expiryWarned':
      return { ...state, expiring: true };
    case 'expiryCleared':
      return { ...state, expiring: false };
    case 'endAnnounced':
      return { ...state, endingAs: event.as };
  }
}

function streamFailed(state: Live, error: BffError): ChatState {
  // The stop the page expected: the end it asked for or was told of, not an expiry.
  if (state.endingAs) return { ...shown(state), signedIn: false, phase: 'ended', ended: state.endingAs };
  if (error.sessionLost) return { ...shown(state), error, phase: 'ended', ended: 'expired' };
  return { ...shown(state), error, phase: 'failed' };
}

/** A message a person of the centre (not a bot) wrote: not a presence line, which may name them too. */
function isAgentsMessage(m: ChatMessage): boolean {
  return m.direction === 'outbound' && m.originatingEntity === 'human' && m.type !== 'event';
}

function agentHasWritten(messages: readonly ChatMessage[]): boolean {
  return messages.some(isAgentsMessage);
}

function messageArrived(state: Live, message: ChatMessage): ChatState {
  const next: Live = { ...withMessages(state, [message]) };
  if (message.direction === 'outbound' && message.type !== 'event') {
    next.lastAuthor = {
      role: message.originatingEntity === 'bot' ? 'bot' : 'agent',
      ...(message.from?.name ? { name: message.from.name } : {}),
    };
    next.typing = undefined;
  }
  // A person answered: the wait is over (and the stream sends no more availability).
  if (isAgentsMessage(message)) next.availability = undefined;
  return next;
}

function presenceChanged(state: Live, presence: Presence, at: number): ChatState {
  const joined = presence.presence === 'join';
  const left = presence.presence === 'disconnect';
  // A line when an agent joins, and when one who joined (or who is named) leaves.
  const entry = presenceEntry(presence, new Date(placedAt(presence.time) ?? at));
  const messages =
    entry && (joined || presence.name || state.agentPresent) ? mergeMessages(state.messages, [entry]) : state.messages;
  const agentPresent = joined || (state.agentPresent && !left);
  if (left && presence.readOnly) return { ...shown(state), messages, agentPresent, phase: 'ended', ended: 'agent' };
  return joined ? { ...state, messages, agentPresent, availability: undefined } : { ...state, messages, agentPresent };
}

/** Genesys's own time for an event, when it sent a readable one. */
function placedAt(time: string | undefined): number | undefined {
  const at = time === undefined ? Number.NaN : Date.parse(time);
  return Number.isNaN(at) ? undefined : at;
}

function withMessages<S extends ChatState>(state: S, incoming: readonly ChatMessage[]): S {
  return { ...state, messages: mergeMessages(state.messages, incoming) };
}

function olderAfter(page: HistoryPage): Shown['older'] {
  return page.page * page.pageSize < page.total ? page.page + 1 : 'none';
}

/** The state without what its phase holds, for a change of phase. */
function shown(state: ChatState): Shown {
  const { attempt, messages, older, agentPresent, lastAuthor, session, capabilities, signedIn, error, masked } = state;
  return { attempt, messages, older, agentPresent, lastAuthor, session, capabilities, signedIn, error, masked };
}

// ------------------------------------------------------------ derived facts

/** The status a page shows. */
export function statusOf(state: ChatState): ChatStatus {
  switch (state.phase) {
    case 'starting':
      return 'connecting';
    case 'live':
      return state.stream;
    default:
      return state.phase;
  }
}

/** The next older history page to load, while one remains. */
export function olderPageOf(state: ChatState): number | undefined {
  return typeof state.older === 'number' ? state.older : undefined;
}

/** Whether the page already shows a message with this id (a new one counts as unread). */
export function holdsMessage(state: ChatState, id: string): boolean {
  return state.messages.some((message) => message.id === id);
}

/**
 * Whether a session another tab started is one this page should turn to: not the one it shows, and no start of its
 * own on its way (that one resumes it anyway: tabs start one at a time).
 */
export function followsOtherTab(state: ChatState, routingKey: string): boolean {
  return state.phase !== 'starting' && state.session?.routingKey !== routingKey;
}
