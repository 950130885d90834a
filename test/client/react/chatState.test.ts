import {
  CHAT_EVENT_TYPES,
  CHAT_PHASES,
  followsOtherTab,
  holdsMessage,
  olderPageOf,
  statusOf,
  transition,
  type ChatState,
  type Shown,
} from '../../../client/src/react/chatState';
import type { ChatMessage } from '../../../client/src';
import {
  BOT,
  CAPABILITIES,
  ECHO,
  EVENTS,
  EXPIRED,
  HUMAN,
  LIMITED,
  LONGER_WAIT,
  M1,
  M2,
  NETWORK,
  NEW,
  NOW,
  READ_ONLY,
  RESUMED,
  STATES,
  TYPING_UNTIL,
  presenceLine,
  type EventName,
  type StateName,
} from '../../support/chatStates';

/**
 * A chat's state machine (client/src/react/chatState.ts) as a table: for each state, every event it allows and the
 * state that follows; every other event in that state is refused (the state stays). The table's type makes every
 * state have its row, and the last tests check that the states and events cover every phase and event type.
 */

/** What a state shows whatever its phase: the part a change of phase keeps. */
function shownBy(state: ChatState): Shown {
  const { attempt, messages, older, agentPresent, lastAuthor, session, capabilities, signedIn, error } = state;
  return { attempt, messages, older, agentPresent, lastAuthor, session, capabilities, signedIn, error };
}

const idle = STATES.idle;
const shownIdle = STATES['idle, a chat shown'];
const starting = STATES.starting;
const afresh = STATES['starting afresh'];
const connecting = STATES['live, connecting'];
const waiting = STATES['live, waiting for an agent'];
const typing = STATES['live, the agent typing'];
const ending = STATES['live, ending as the guest'];
const ended = STATES.ended;
const failed = STATES.failed;

const JOINED = presenceLine('Join', 'Alex');
const LEFT = presenceLine('Disconnect', 'Alex');
const SOMEONE_LEFT = presenceLine('Disconnect');

/** The events every live state takes alike, as they change `from`. */
function liveRows(from: Extract<ChatState, { phase: 'live' }>): Partial<Record<EventName, ChatState>> {
  const kept = shownBy(from);
  return {
    'start requested': { ...kept, attempt: 3, phase: 'starting', fresh: false },
    'a fresh start requested': { ...kept, attempt: 3, phase: 'starting', fresh: true },
    'capabilities read': { ...from, capabilities: CAPABILITIES },
    'stream opened': { ...from, stream: 'open' },
    'stream reconnecting': { ...from, stream: 'reconnecting' },
    'a receipt arrived': from,
    'input masked': { ...from, masked: ['g1'] },
    'availability changed': { ...from, availability: LONGER_WAIT },
    'expiry warned': { ...from, expiring: true },
    'expiry cleared': { ...from, expiring: false },
    'signed in elsewhere announced': { ...from, endingAs: 'signed_in_elsewhere' },
    'end requested': { ...from, endingAs: 'guest' },
    'sign-out requested': { ...from, endingAs: 'signed_out' },
    'chat ended': { ...kept, phase: 'ended', ended: 'guest' },
    'chat ended, unconfirmed': { ...kept, phase: 'ended', ended: 'guest', error: LIMITED },
    'signed out': { ...kept, signedIn: false, phase: 'ended', ended: 'signed_out' },
    'signed in': { ...from, signedIn: true },
    sent: { ...from, messages: [...from.messages, ECHO], error: undefined, expiring: false },
    'send failed': { ...from, error: LIMITED },
    'send failed, session lost': { ...kept, error: EXPIRED, phase: 'ended', ended: 'expired' },
    'request failed': { ...from, error: LIMITED },
    detached: { ...kept, phase: 'idle' },
  };
}

/** Every event each state allows, and the state it leads to; any other is refused there. */
const ALLOWED: Record<StateName, Partial<Record<EventName, ChatState>>> = {
  idle: {
    'start requested': { ...idle, attempt: 1, phase: 'starting', fresh: false },
    'a fresh start requested': { ...idle, attempt: 1, phase: 'starting', fresh: true },
    'signed in': { ...idle, signedIn: true },
    sent: { ...idle, messages: [ECHO] },
    'send failed': { ...idle, error: LIMITED },
    // Nothing of a chat is going on to end.
    'send failed, session lost': { ...idle, error: EXPIRED },
    'request failed': { ...idle, error: LIMITED },
  },
  'idle, a chat shown': {
    'start requested': { ...shownIdle, attempt: 3, phase: 'starting', fresh: false },
    'a fresh start requested': { ...shownIdle, attempt: 3, phase: 'starting', fresh: true },
    // What was on its way for the chat the page let go of still lands.
    'capabilities read': { ...shownIdle, capabilities: CAPABILITIES },
    // The oldest page was in: reloading the newest does not offer the older ones again.
    'newest page loaded': { ...shownIdle, messages: [M1, M2] },
    'the only page loaded': { ...shownIdle, messages: [M1, M2] },
    'older page loaded': { ...shownIdle, messages: [M1, M2], older: 3 },
    'oldest page loaded': { ...shownIdle, messages: [M1, M2], older: 'none' },
    'caught up': { ...shownIdle, messages: [M1, M2] },
    'signed in': { ...shownIdle, signedIn: true },
    sent: { ...shownIdle, messages: [M1, ECHO], error: undefined },
    'send failed': { ...shownIdle, error: LIMITED },
    'send failed, session lost': { ...shownIdle, error: EXPIRED },
    'request failed': { ...shownIdle, error: LIMITED },
    'error dismissed': { ...shownIdle, error: undefined },
  },
  starting: {
    'start requested': { ...starting, attempt: 3 },
    'a fresh start requested': { ...starting, attempt: 3, fresh: true },
    'a resumed session started': {
      ...shownBy(starting),
      session: RESUMED,
      signedIn: true,
      error: undefined,
      phase: 'live',
      stream: 'connecting',
      expiring: false,
    },
    // A new conversation starts on a clean page.
    'a new session started': connecting,
    'a read-only session started': {
      ...shownBy(starting),
      session: READ_ONLY,
      error: undefined,
      phase: 'ended',
      ended: 'agent',
    },
    'start failed': { ...shownBy(starting), error: LIMITED, phase: 'failed' },
    'capabilities read': { ...starting, capabilities: CAPABILITIES },
    'newest page loaded': { ...starting, messages: [M1, M2] },
    'the only page loaded': { ...starting, messages: [M1, M2] },
    'older page loaded': { ...starting, messages: [M1, M2], older: 3 },
    'oldest page loaded': { ...starting, messages: [M1, M2], older: 'none' },
    'caught up': { ...starting, messages: [M1, M2] },
    // Another tab ended the chat while this one started: the start's answer comes too late to reopen it.
    'chat ended': { ...shownBy(starting), phase: 'ended', ended: 'guest' },
    'chat ended, unconfirmed': { ...shownBy(starting), phase: 'ended', ended: 'guest', error: LIMITED },
    'signed out': { ...shownBy(starting), phase: 'ended', ended: 'signed_out' },
    'signed in': { ...starting, signedIn: true },
    sent: { ...starting, messages: [M1, ECHO], error: undefined },
    'send failed': { ...starting, error: LIMITED },
    'send failed, session lost': { ...starting, error: EXPIRED },
    'request failed': { ...starting, error: LIMITED },
    'error dismissed': { ...starting, error: undefined },
    detached: { ...shownBy(starting), phase: 'idle' },
  },
  'starting afresh': {
    // A start that joins this one (a double submit) keeps its clean page.
    'start requested': { ...afresh, attempt: 3 },
    'a fresh start requested': { ...afresh, attempt: 3 },
    'a resumed session started': {
      ...shownBy(afresh),
      messages: [],
      older: 'unknown',
      session: RESUMED,
      signedIn: true,
      phase: 'live',
      stream: 'connecting',
      expiring: false,
    },
    'a new session started': connecting,
    'a read-only session started': {
      ...shownBy(afresh),
      messages: [],
      older: 'unknown',
      session: READ_ONLY,
      phase: 'ended',
      ended: 'agent',
    },
    'start failed': { ...shownBy(afresh), error: LIMITED, phase: 'failed' },
    'capabilities read': { ...afresh, capabilities: CAPABILITIES },
    'newest page loaded': { ...afresh, messages: [M1, M2] },
    'the only page loaded': { ...afresh, messages: [M1, M2] },
    'older page loaded': { ...afresh, messages: [M1, M2], older: 3 },
    'oldest page loaded': { ...afresh, messages: [M1, M2], older: 'none' },
    'caught up': { ...afresh, messages: [M1, M2] },
    'chat ended': { ...shownBy(afresh), phase: 'ended', ended: 'guest' },
    'chat ended, unconfirmed': { ...shownBy(afresh), phase: 'ended', ended: 'guest', error: LIMITED },
    'signed out': { ...shownBy(afresh), phase: 'ended', ended: 'signed_out' },
    'signed in': { ...afresh, signedIn: true },
    sent: { ...afresh, messages: [M1, ECHO] },
    'send failed': { ...afresh, error: LIMITED },
    'send failed, session lost': { ...afresh, error: EXPIRED },
    'request failed': { ...afresh, error: LIMITED },
    detached: { ...shownBy(afresh), phase: 'idle' },
  },
  'live, connecting': {
    ...liveRows(connecting),
    // The first newest page says whether older ones remain.
    'newest page loaded': { ...connecting, messages: [M2], older: 2 },
    'the only page loaded': { ...connecting, messages: [M2], older: 'none' },
    'older page loaded': { ...connecting, messages: [M2], older: 3 },
    'oldest page loaded': { ...connecting, messages: [M2], older: 'none' },
    'caught up': { ...connecting, messages: [M2] },
    'stream failed': { ...shownBy(connecting), error: NETWORK, phase: 'failed' },
    'stream failed, session lost': { ...shownBy(connecting), error: EXPIRED, phase: 'ended', ended: 'expired' },
    'a bot message arrived': { ...connecting, messages: [BOT], lastAuthor: { role: 'bot', name: 'Kit' } },
    "a human agent's message arrived": {
      ...connecting,
      messages: [HUMAN],
      lastAuthor: { role: 'agent', name: 'Alex' },
    },
    "the guest's echo arrived": { ...connecting, messages: [ECHO] },
    'agent typing': { ...connecting, typing: { author: { role: 'bot', name: 'Bo' }, until: NOW + 3000 } },
    'agent joined': { ...connecting, messages: [JOINED], agentPresent: true },
    'agent left': { ...connecting, messages: [LEFT] },
    // No agent had joined and none is named: no line.
    'an unnamed agent left': connecting,
    'agent ended the chat': { ...shownBy(connecting), phase: 'ended', ended: 'agent' },
  },
  'live, waiting for an agent': {
    ...liveRows(waiting),
    // The older pages already offered stay so.
    'newest page loaded': { ...waiting, messages: [M1, M2] },
    'the only page loaded': { ...waiting, messages: [M1, M2] },
    'older page loaded': { ...waiting, messages: [M1, M2], older: 3 },
    'oldest page loaded': { ...waiting, messages: [M1, M2], older: 'none' },
    'caught up': { ...waiting, messages: [M1, M2] },
    'stream failed': { ...shownBy(waiting), error: NETWORK, phase: 'failed' },
    'stream failed, session lost': { ...shownBy(waiting), error: EXPIRED, phase: 'ended', ended: 'expired' },
    'a bot message arrived': { ...waiting, messages: [M1, BOT], lastAuthor: { role: 'bot', name: 'Kit' } },
    // A person answered: the wait is over.
    "a human agent's message arrived": {
      ...waiting,
      messages: [M1, HUMAN],
      lastAuthor: { role: 'agent', name: 'Alex' },
      availability: undefined,
    },
    "the guest's echo arrived": { ...waiting, messages: [M1, ECHO] },
    'agent typing': { ...waiting, typing: { author: { role: 'bot', name: 'Bo' }, until: NOW + 3000 } },
    'agent joined': { ...waiting, messages: [M1, JOINED], agentPresent: true, availability: undefined },
    'agent left': { ...waiting, messages: [M1, LEFT] },
    'an unnamed agent left': waiting,
    'agent ended the chat': { ...shownBy(waiting), phase: 'ended', ended: 'agent' },
  },
  'live, the agent typing': {
    ...liveRows(typing),
    'newest page loaded': { ...typing, messages: [M1, M2] },
    'the only page loaded': { ...typing, messages: [M1, M2] },
    'older page loaded': { ...typing, messages: [M1, M2], older: 3 },
    'oldest page loaded': { ...typing, messages: [M1, M2], older: 'none' },
    'caught up': { ...typing, messages: [M1, M2] },
    'stream failed': { ...shownBy(typing), error: NETWORK, phase: 'failed' },
    'stream failed, session lost': { ...shownBy(typing), error: EXPIRED, phase: 'ended', ended: 'expired' },
    // Their message ends their typing.
    'a bot message arrived': {
      ...typing,
      messages: [M1, BOT],
      lastAuthor: { role: 'bot', name: 'Kit' },
      typing: undefined,
    },
    "a human agent's message arrived": { ...typing, messages: [M1, HUMAN], typing: undefined },
    "the guest's echo arrived": { ...typing, messages: [M1, ECHO] },
    'agent typing': { ...typing, typing: { author: { role: 'agent', name: 'Alex' }, until: NOW + 3000 } },
    'typing lapsed': { ...typing, typing: undefined },
    'agent joined': { ...typing, messages: [M1, JOINED] },
    'agent left': { ...typing, messages: [M1, LEFT], agentPresent: false },
    // The agent who joined leaves, named or not.
    'an unnamed agent left': { ...typing, messages: [M1, SOMEONE_LEFT], agentPresent: false },
    'agent ended the chat': {
      ...shownBy(typing),
      messages: [M1, SOMEONE_LEFT],
      agentPresent: false,
      phase: 'ended',
      ended: 'agent',
    },
  },
  'live, ending as the guest': {
    ...liveRows(ending),
    'newest page loaded': { ...ending, messages: [M1, M2] },
    'the only page loaded': { ...ending, messages: [M1, M2] },
    'older page loaded': { ...ending, messages: [M1, M2], older: 3 },
    'oldest page loaded': { ...ending, messages: [M1, M2], older: 'none' },
    'caught up': { ...ending, messages: [M1, M2] },
    // The stop the page expected is the guest's end, not a failure or an expiry.
    'stream failed': { ...shownBy(ending), phase: 'ended', ended: 'guest' },
    'stream failed, session lost': { ...shownBy(ending), phase: 'ended', ended: 'guest' },
    'a bot message arrived': { ...ending, messages: [M1, BOT], lastAuthor: { role: 'bot', name: 'Kit' } },
    "a human agent's message arrived": {
      ...ending,
      messages: [M1, HUMAN],
      lastAuthor: { role: 'agent', name: 'Alex' },
      availability: undefined,
    },
    "the guest's echo arrived": { ...ending, messages: [M1, ECHO] },
    'agent typing': { ...ending, typing: { author: { role: 'bot', name: 'Bo' }, until: NOW + 3000 } },
    'agent joined': { ...ending, messages: [M1, JOINED], agentPresent: true, availability: undefined },
    'agent left': { ...ending, messages: [M1, LEFT] },
    'an unnamed agent left': ending,
    'agent ended the chat': { ...shownBy(ending), phase: 'ended', ended: 'agent' },
    // The chat goes on.
    "another tab's end failed": { ...ending, endingAs: undefined },
  },
  ended: {
    'start requested': { ...shownBy(ended), attempt: 3, phase: 'starting', fresh: false },
    'a fresh start requested': { ...shownBy(ended), attempt: 3, phase: 'starting', fresh: true },
    'capabilities read': { ...ended, capabilities: CAPABILITIES },
    'newest page loaded': { ...ended, messages: [M1, M2] },
    'the only page loaded': { ...ended, messages: [M1, M2] },
    'older page loaded': { ...ended, messages: [M1, M2], older: 3 },
    'oldest page loaded': { ...ended, messages: [M1, M2], older: 'none' },
    'caught up': { ...ended, messages: [M1, M2] },
    // The newest word on why it ended wins (another tab's end may be heard after the stream's).
    'chat ended': { ...ended, ended: 'guest' },
    'chat ended, unconfirmed': { ...ended, ended: 'guest', error: LIMITED },
    'signed out': { ...ended, ended: 'signed_out' },
    'signed in': { ...ended, signedIn: true },
    sent: { ...ended, messages: [M1, ECHO] },
    'send failed': { ...ended, error: LIMITED },
    // An ended chat keeps its reason.
    'send failed, session lost': { ...ended, error: EXPIRED },
    'request failed': { ...ended, error: LIMITED },
  },
  failed: {
    'start requested': { ...shownBy(failed), attempt: 3, phase: 'starting', fresh: false },
    'a fresh start requested': { ...shownBy(failed), attempt: 3, phase: 'starting', fresh: true },
    'capabilities read': { ...failed, capabilities: CAPABILITIES },
    'newest page loaded': { ...failed, messages: [M1, M2] },
    'the only page loaded': { ...failed, messages: [M1, M2] },
    'older page loaded': { ...failed, messages: [M1, M2], older: 3 },
    'oldest page loaded': { ...failed, messages: [M1, M2], older: 'none' },
    'caught up': { ...failed, messages: [M1, M2] },
    'chat ended': { ...shownBy(failed), phase: 'ended', ended: 'guest' },
    'chat ended, unconfirmed': { ...shownBy(failed), phase: 'ended', ended: 'guest', error: LIMITED },
    'signed out': { ...shownBy(failed), phase: 'ended', ended: 'signed_out' },
    'signed in': { ...failed, signedIn: true },
    sent: { ...failed, messages: [M1, ECHO], error: undefined },
    'send failed': { ...failed, error: LIMITED },
    'send failed, session lost': { ...shownBy(failed), error: EXPIRED, phase: 'ended', ended: 'expired' },
    'request failed': { ...failed, error: LIMITED },
    'error dismissed': { ...failed, error: undefined },
  },
};

const stateNames = Object.keys(STATES) as StateName[];
const eventNames = Object.keys(EVENTS) as EventName[];
const cells = stateNames.flatMap((from) => eventNames.map((event) => ({ from, event, to: ALLOWED[from][event] })));
const allowed = cells.flatMap(({ from, event, to }) => (to ? [{ from, event, to, name: nameOf(to) }] : []));
const refusals = cells.filter(({ to }) => to === undefined);

/** A state's name in STATES when it is one of them, else its phase. */
function nameOf(state: ChatState): string {
  return stateNames.find((name) => canonical(STATES[name]) === canonical(state)) ?? state.phase;
}

/** A state as text: its fields in order, those left undefined left out. */
function canonical(state: ChatState): string {
  const fields = Object.entries(state).filter(([, value]) => value !== undefined);
  return JSON.stringify(fields.sort(([a], [b]) => a.localeCompare(b)));
}

describe('allowed', () => {
  test.each(allowed)('when $event transitions $from to $name', ({ from, event, to }) => {
    expect(transition(STATES[from], EVENTS[event])).toEqual(to);
  });
});

describe('refused', () => {
  test.each(refusals)('$event is refused in $from', ({ from, event }) => {
    expect(transition(STATES[from], EVENTS[event])).toBeUndefined();
  });
});

test('the table holds every phase and every event type, and each type is allowed somewhere', () => {
  expect([...new Set(Object.values(STATES).map((s) => s.phase))].sort()).toEqual([...CHAT_PHASES].sort());
  expect([...new Set(Object.values(EVENTS).map((e) => e.type))].sort()).toEqual([...CHAT_EVENT_TYPES].sort());
  for (const type of CHAT_EVENT_TYPES)
    expect([type, allowed.some(({ event }) => EVENTS[event].type === type)]).toEqual([type, true]);
  // Every phase is entered by some event, and left by some.
  for (const phase of CHAT_PHASES) {
    expect([phase, allowed.some(({ to }) => to.phase === phase)]).toEqual([phase, true]);
    expect([phase, allowed.some(({ from, to }) => STATES[from].phase === phase && to.phase !== phase)]).toEqual([
      phase,
      true,
    ]);
  }
});

test('a transition makes a new state: the one it came from is left as it was', () => {
  for (const { from, event } of cells) {
    const before = JSON.stringify(STATES[from]);
    transition(STATES[from], EVENTS[event]);
    expect([from, event, JSON.stringify(STATES[from])]).toEqual([from, event, before]);
  }
});

describe('what the state says on its own', () => {
  test('the status a page shows, for each state', () => {
    const statuses = Object.fromEntries(stateNames.map((name) => [name, statusOf(STATES[name])]));
    expect(statuses).toEqual({
      idle: 'idle',
      'idle, a chat shown': 'idle',
      starting: 'connecting',
      'starting afresh': 'connecting',
      'live, connecting': 'connecting',
      'live, waiting for an agent': 'open',
      'live, the agent typing': 'open',
      'live, ending as the guest': 'open',
      ended: 'ended',
      failed: 'failed',
    });
    expect(statusOf({ ...waiting, stream: 'reconnecting' })).toBe('reconnecting');
  });

  test('the next older page, while one remains', () => {
    expect([olderPageOf(waiting), olderPageOf(connecting), olderPageOf(shownIdle)]).toEqual([2, undefined, undefined]);
  });

  test('a message the page holds, by id', () => {
    expect([holdsMessage(waiting, M1.id), holdsMessage(waiting, BOT.id), holdsMessage(idle, M1.id)]).toEqual([
      true,
      false,
      false,
    ]);
  });

  test("another tab's new session is followed unless it is the one shown or a start is on its way", () => {
    expect([
      followsOtherTab(waiting, 'rk-9'),
      followsOtherTab(waiting, 'rk-1'),
      followsOtherTab(starting, 'rk-9'),
      followsOtherTab(idle, NEW.routingKey),
      followsOtherTab(ended, 'rk-9'),
    ]).toEqual([true, false, false, true, true]);
  });

  test("a join goes among the messages at Genesys's time for it, not when it arrived; an unreadable time falls back", () => {
    // waiting shows M1 (10:00); the join happened at 10:00:30 but reaches the page at NOW (10:05), after M2 (10:01).
    const withM2 = transition(waiting, { type: 'messageArrived', attempt: 2, message: M2 }) ?? waiting;
    const join = (time: string) =>
      transition(withM2, {
        type: 'presenceChanged',
        attempt: 2,
        presence: { presence: 'join', name: 'Alex', time },
        at: NOW,
      });
    const placed = join('2026-03-02T10:00:30.000Z');
    expect(placed?.messages.map((m) => m.id)).toEqual([
      M1.id,
      `presence-Join-${Date.parse('2026-03-02T10:00:30Z')}-Alex`,
      M2.id,
    ]);
    expect(join('not a time')?.messages.map((m) => m.id)).toEqual([M1.id, M2.id, JOINED.id]);
  });

  test("the agent's leaving lands before the bot's \"You're back with the bot\", at Genesys's time for each", () => {
    const back = (time: string): ChatMessage => ({
      id: `back-${time}`,
      direction: 'outbound',
      type: 'text',
      text: "You're back with the bot. How can I help?",
      time,
      originatingEntity: 'bot',
    });
    const left = (time: string) => ({
      type: 'presenceChanged' as const,
      attempt: 2,
      presence: { presence: 'disconnect', name: 'Alex', time },
      // Both reach the page at NOW (10:05), well after Genesys sent them.
      at: NOW,
    });
    const run = (events: Parameters<typeof transition>[1][]) =>
      events.reduce<ChatState>((state, event) => transition(state, event) ?? state, waiting).messages.map((m) => m.id);
    const withAlex = [
      {
        type: 'presenceChanged',
        attempt: 2,
        presence: { presence: 'join', name: 'Alex', time: '2026-03-02T10:02:30.000Z' },
        at: NOW,
      },
      { type: 'messageArrived', attempt: 2, message: HUMAN },
    ] as Parameters<typeof transition>[1][];
    const joinedAt = `presence-Join-${Date.parse('2026-03-02T10:02:30Z')}-Alex`;
    const leftAt = `presence-Disconnect-${Date.parse('2026-03-02T10:04:00Z')}-Alex`;

    // As the stream sends them, one right after the other in the same millisecond.
    expect(
      run([
        ...withAlex,
        left('2026-03-02T10:04:00.000Z'),
        { type: 'messageArrived', attempt: 2, message: back('2026-03-02T10:04:00.000Z') },
      ]),
    ).toEqual([M1.id, joinedAt, HUMAN.id, leftAt, 'back-2026-03-02T10:04:00.000Z']);
    // The bot's answer reaching the page first (a catch-up, a history page) does not move the leaving after it.
    expect(
      run([
        ...withAlex,
        { type: 'messageArrived', attempt: 2, message: back('2026-03-02T10:04:00.400Z') },
        left('2026-03-02T10:04:00.000Z'),
      ]),
    ).toEqual([M1.id, joinedAt, HUMAN.id, leftAt, 'back-2026-03-02T10:04:00.400Z']);
  });

  test("the agent's typing lapses only at the time it was shown until", () => {
    let state: ChatState = waiting;
    const step = (event: Parameters<typeof transition>[1]) => (state = transition(state, event) ?? state);
    step({ type: 'agentTyping', attempt: 2, until: TYPING_UNTIL });
    step({ type: 'agentTyping', attempt: 2, until: TYPING_UNTIL + 2000 });
    step({ type: 'typingLapsed', until: TYPING_UNTIL });
    expect(state).toMatchObject({ typing: { author: { role: 'bot', name: 'Bo' }, until: TYPING_UNTIL + 2000 } });
    step({ type: 'typingLapsed', until: TYPING_UNTIL + 2000 });
    expect(state).toEqual(waiting);
  });
});

describe('what the table leaves to the details', () => {
  const typingSignedIn: ChatState = { ...typing, signedIn: true };

  test('an end other than a sign-out keeps the customer signed in; a sign-out does not', () => {
    const endedAs = (as: 'guest' | 'signed_out') => transition(typingSignedIn, { type: 'chatEnded', as })?.signedIn;
    expect([endedAs('guest'), endedAs('signed_out')]).toEqual([true, false]);
  });

  test("a bot's event message names no author and leaves the agent's typing shown", () => {
    const event: ChatMessage = { ...BOT, id: 'ev-1', type: 'event' };
    const next = transition(typing, { type: 'messageArrived', attempt: 2, message: event });
    expect(next).toMatchObject({ lastAuthor: typing.lastAuthor, typing: typing.phase === 'live' && typing.typing });
  });

  test('a presence that is neither a join nor a disconnect (a sign-in, a clear) leaves the agent present', () => {
    for (const presence of ['signin', 'clear'])
      expect(
        transition(typing, { type: 'presenceChanged', attempt: 2, presence: { presence }, at: NOW }),
      ).toMatchObject({
        phase: 'live',
        agentPresent: true,
      });
  });

  test("availability is taken while only bots and presence lines came, not once history shows an agent's message", () => {
    const changed = { type: 'availabilityChanged', attempt: 2, availability: LONGER_WAIT } as const;
    // A presence line may name a person too: it is no message of theirs.
    const joinedOnly: ChatState = { ...waiting, messages: [M1, { ...JOINED, originatingEntity: 'human' }] };
    expect(transition(joinedOnly, changed)).toMatchObject({ availability: LONGER_WAIT });
    const reloaded: ChatState = { ...waiting, messages: [M1, HUMAN] };
    expect(transition(reloaded, changed)).toBe(reloaded);
  });

  test('a history page that ends exactly at the total is the oldest', () => {
    const last = { messages: [M2], page: 2, pageSize: 60, total: 120 };
    expect(transition(waiting, { type: 'olderPageLoaded', attempt: 2, page: last })?.older).toBe('none');
    expect(transition(waiting, { type: 'olderPageLoaded', attempt: 2, page: { ...last, total: 121 } })?.older).toBe(3);
  });
});
