import { BffError, type Availability, type ChatMessage, type StartedSession } from '../../client/src';
import type { ChatEvent, ChatState, Shown } from '../../client/src/react/chatState';

/**
 * A chat's states and events as the tests of client/src/react/chatState.ts meet them: each phase in the forms it
 * takes, and each event as the current start (attempt 2) or an earlier one (attempt 1) gives it.
 */

export const NOW = Date.parse('2026-03-02T10:05:00Z');
export const TYPING_UNTIL = NOW + 5000;

const message = (id: string, minute: number, fields: Partial<ChatMessage>): ChatMessage => ({
  id,
  direction: 'outbound',
  type: 'text',
  time: `2026-03-02T10:0${minute}:00.000Z`,
  ...fields,
});

/** What the page shows before each event. */
export const M1 = message('m1', 0, { text: 'Hello', originatingEntity: 'bot', from: { name: 'Bo' } });
/** What history, a catch-up or the stream brings. */
export const M2 = message('m2', 1, { text: 'From history', originatingEntity: 'bot' });
export const BOT = message('m3', 2, { text: 'A bot answer', originatingEntity: 'bot', from: { name: 'Kit' } });
export const HUMAN = message('m4', 3, { text: 'Alex here', originatingEntity: 'human', from: { name: 'Alex' } });
export const ECHO = message('m5', 4, { text: 'Thanks', direction: 'inbound' });

/** The conversation's line for a presence event at NOW. */
export const presenceLine = (value: 'Join' | 'Disconnect', name?: string): ChatMessage => ({
  id: `presence-${value}-${NOW}-${name ?? ''}`,
  direction: 'outbound',
  type: 'event',
  time: new Date(NOW).toISOString(),
  ...(name ? { from: { name } } : {}),
  events: [{ type: 'Presence', value }],
});

const session = (fields: Partial<StartedSession>): StartedSession => ({
  sessionToken: 'token',
  routingKey: 'rk-1',
  streamPosition: 't-0',
  expiresAt: '2026-03-02T11:00:00Z',
  newSession: false,
  readOnly: false,
  limits: {} as StartedSession['limits'],
  attributes: {},
  authenticated: false,
  resumed: true,
  replacedExpired: false,
  ...fields,
});

/** The session the page shows. */
export const SHOWN_SESSION = session({});
export const RESUMED = session({ authenticated: true });
export const NEW = session({ routingKey: 'rk-2', newSession: true, resumed: false });
export const READ_ONLY = session({ readOnly: true });

export const CAPABILITIES = { defaultLanguage: 'de' } as never;

const availability = (estimatedWaitSeconds: number): Availability => ({
  configured: true,
  open: true,
  reason: 'open',
  nextOpenAt: null,
  closesAt: null,
  estimatedWaitSeconds,
  agentsAvailable: 0,
  waiting: 3,
  unknown: [],
  stale: false,
  asOf: '2026-03-02T10:04:00Z',
});
export const WAIT = availability(120);
export const LONGER_WAIT = availability(600);

export const NETWORK = new BffError({ status: 0, code: 'network_error', message: 'down' });
export const LIMITED = new BffError({ status: 429, code: 'rate_limited', message: 'slow down' });
export const EXPIRED = new BffError({ status: 410, code: 'session_expired', message: 'gone' });

/** What every state below shows beside its phase, unless it says otherwise. */
const shown: Shown = {
  attempt: 2,
  messages: [M1],
  older: 2,
  agentPresent: false,
  lastAuthor: { role: 'bot', name: 'Bo' },
  session: SHOWN_SESSION,
  signedIn: false,
};

const live: Extract<ChatState, { phase: 'live' }> = {
  ...shown,
  phase: 'live',
  stream: 'open',
  expiring: false,
  availability: WAIT,
};

/** The states each phase is met in: the current start is attempt 2. */
export const STATES = {
  idle: {
    phase: 'idle',
    attempt: 0,
    messages: [],
    older: 'unknown',
    agentPresent: false,
    lastAuthor: { role: 'agent' },
    signedIn: false,
  },
  'idle, a chat shown': { ...shown, phase: 'idle', older: 'none', error: LIMITED },
  starting: { ...shown, phase: 'starting', fresh: false, error: NETWORK },
  'starting afresh': { ...shown, phase: 'starting', fresh: true },
  'live, connecting': {
    ...shown,
    messages: [],
    older: 'unknown',
    session: NEW,
    phase: 'live',
    stream: 'connecting',
    expiring: false,
  },
  'live, waiting for an agent': live,
  'live, the agent typing': {
    ...live,
    availability: undefined,
    agentPresent: true,
    lastAuthor: { role: 'agent', name: 'Alex' },
    typing: { author: { role: 'agent', name: 'Alex' }, until: TYPING_UNTIL },
    expiring: true,
  },
  'live, ending as the guest': { ...live, endingAs: 'guest' },
  ended: { ...shown, phase: 'ended', ended: 'agent' },
  failed: { ...shown, phase: 'failed', error: NETWORK },
} satisfies Record<string, ChatState>;

export type StateName = keyof typeof STATES;

const page = (page: number, messages: ChatMessage[], total = 120) => ({ messages, page, pageSize: 50, total });

/** The events, from the current start (attempt 2) unless they say an earlier one's. */
export const EVENTS = {
  'start requested': { type: 'startRequested', fresh: false },
  'a fresh start requested': { type: 'startRequested', fresh: true },
  'a resumed session started': { type: 'sessionStarted', attempt: 2, session: RESUMED },
  'a new session started': { type: 'sessionStarted', attempt: 2, session: NEW },
  'a read-only session started': { type: 'sessionStarted', attempt: 2, session: READ_ONLY },
  "an earlier start's session": { type: 'sessionStarted', attempt: 1, session: RESUMED },
  'start failed': { type: 'startFailed', attempt: 2, error: LIMITED },
  "an earlier start's failure": { type: 'startFailed', attempt: 1, error: LIMITED },
  'capabilities read': { type: 'capabilitiesRead', attempt: 2, capabilities: CAPABILITIES },
  "an earlier start's capabilities": { type: 'capabilitiesRead', attempt: 1, capabilities: CAPABILITIES },
  'newest page loaded': { type: 'newestPageLoaded', attempt: 2, page: page(1, [M2]) },
  'the only page loaded': { type: 'newestPageLoaded', attempt: 2, page: page(1, [M2], 1) },
  "an earlier start's newest page": { type: 'newestPageLoaded', attempt: 1, page: page(1, [M2]) },
  'older page loaded': { type: 'olderPageLoaded', attempt: 2, page: page(2, [M2]) },
  'oldest page loaded': { type: 'olderPageLoaded', attempt: 2, page: page(3, [M2]) },
  "an earlier start's older page": { type: 'olderPageLoaded', attempt: 1, page: page(2, [M2]) },
  'caught up': { type: 'caughtUp', attempt: 2, messages: [M2] },
  "an earlier start's catch-up": { type: 'caughtUp', attempt: 1, messages: [M2] },
  'stream opened': { type: 'streamOpened', attempt: 2 },
  'stream reconnecting': { type: 'streamReconnecting', attempt: 2 },
  'stream failed': { type: 'streamFailed', attempt: 2, error: NETWORK },
  'stream failed, session lost': { type: 'streamFailed', attempt: 2, error: EXPIRED },
  "an earlier stream's failure": { type: 'streamFailed', attempt: 1, error: EXPIRED },
  'a bot message arrived': { type: 'messageArrived', attempt: 2, message: BOT },
  "a human agent's message arrived": { type: 'messageArrived', attempt: 2, message: HUMAN },
  "the guest's echo arrived": { type: 'messageArrived', attempt: 2, message: ECHO },
  "an earlier stream's message": { type: 'messageArrived', attempt: 1, message: BOT },
  // About a message no state below holds as the guest's: the list is as it was (test/client/react/receipts.test.tsx
  // holds what a receipt does to one).
  'a receipt arrived': {
    type: 'receiptArrived',
    attempt: 2,
    receipt: { messageId: 'm1', status: 'read', at: '2026-03-02T10:04:30Z' },
  },
  "an earlier stream's receipt": {
    type: 'receiptArrived',
    attempt: 1,
    receipt: { messageId: 'm1', status: 'read', at: '2026-03-02T10:04:30Z' },
  },
  'input masked': { type: 'inputMasked', attempt: 2, id: 'g1' },
  "an earlier stream's masking": { type: 'inputMasked', attempt: 1, id: 'g1' },
  'agent typing': { type: 'agentTyping', attempt: 2, until: NOW + 3000 },
  'typing lapsed': { type: 'typingLapsed', until: TYPING_UNTIL },
  'an earlier typing lapsed': { type: 'typingLapsed', until: TYPING_UNTIL - 1000 },
  'agent joined': { type: 'presenceChanged', attempt: 2, presence: { presence: 'join', name: 'Alex' }, at: NOW },
  'agent left': { type: 'presenceChanged', attempt: 2, presence: { presence: 'disconnect', name: 'Alex' }, at: NOW },
  'an unnamed agent left': { type: 'presenceChanged', attempt: 2, presence: { presence: 'disconnect' }, at: NOW },
  'agent ended the chat': {
    type: 'presenceChanged',
    attempt: 2,
    presence: { presence: 'disconnect', readOnly: true },
    at: NOW,
  },
  'availability changed': { type: 'availabilityChanged', attempt: 2, availability: LONGER_WAIT },
  'expiry warned': { type: 'expiryWarned', attempt: 2 },
  'expiry cleared': { type: 'expiryCleared', attempt: 2 },
  'signed in elsewhere announced': { type: 'endAnnounced', attempt: 2, as: 'signed_in_elsewhere' },
  'end requested': { type: 'endRequested', as: 'guest' },
  'sign-out requested': { type: 'endRequested', as: 'signed_out' },
  "another tab's end failed": { type: 'endFailed' },
  'chat ended': { type: 'chatEnded', as: 'guest' },
  'chat ended, unconfirmed': { type: 'chatEnded', as: 'guest', error: LIMITED },
  'signed out': { type: 'chatEnded', as: 'signed_out' },
  'signed in': { type: 'signedIn' },
  sent: { type: 'sent', message: ECHO },
  'send failed': { type: 'sendFailed', error: LIMITED },
  'send failed, session lost': { type: 'sendFailed', error: EXPIRED },
  'request failed': { type: 'requestFailed', error: LIMITED },
  'error dismissed': { type: 'errorDismissed' },
  detached: { type: 'detached' },
} satisfies Record<string, ChatEvent>;

export type EventName = keyof typeof EVENTS;
