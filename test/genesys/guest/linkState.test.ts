import {
  LINK_EVENT_TYPES,
  LINK_KINDS,
  attemptOf,
  endOf,
  heldOf,
  isClosedByServer,
  isConfigured,
  socketOf,
  transition,
  type LinkEvent,
} from '../../../src/genesys/guest/linkState';
import {
  ENDED,
  EVENTS,
  GONE,
  HELD,
  I1,
  I2,
  STATES,
  type Attempt,
  type EventName,
  type Socket,
  type State,
  type StateName,
} from '../../support/linkStates';

/**
 * The upstream link's state machine (linkState.ts) as a table: every event in
 * every state, with the state it leads to or its refusal. The table's type
 * makes it exhaustive: a state or event added to test/support/linkStates.ts
 * without its row here does not compile, and the last tests check that those
 * states and events cover every kind and event type.
 */

const refused = 'refused' as const;
type Outcome = State | typeof refused;

/** Every event in every state: the state it leads to, or `refused` (the state stays). */
const TABLE: Record<StateName, Record<EventName, Outcome>> = {
  idle: {
    'connect requested': { kind: 'connecting', attempt: 'A2' },
    'reconfigure requested': refused,
    'socket opening': refused,
    'session configured': refused,
    'reconnect announced': refused,
    'attempt failed': refused,
    "another attempt's failure": refused,
    'attempt settled': refused,
    "another attempt's settling": refused,
    'socket closed': refused,
    "an old socket's closing": refused,
    'closed by server': refused,
    'info changed': { kind: 'idle', info: I2 },
    'session ended': { kind: 'dead', error: ENDED, info: undefined, attempt: undefined },
  },
  'idle, configured before': {
    'connect requested': { kind: 'reconnecting', attempt: 'A2', info: I1, held: [] },
    'reconfigure requested': refused,
    'socket opening': refused,
    'session configured': refused,
    'reconnect announced': refused,
    'attempt failed': refused,
    "another attempt's failure": refused,
    'attempt settled': refused,
    "another attempt's settling": refused,
    'socket closed': refused,
    "an old socket's closing": refused,
    'closed by server': refused,
    'info changed': { kind: 'idle', info: I2 },
    'session ended': { kind: 'dead', error: ENDED, info: I1, attempt: undefined },
  },
  'connecting, between sockets': {
    'connect requested': refused,
    'reconfigure requested': refused,
    'socket opening': { kind: 'connecting', attempt: 'A1', socket: 'S2', closedByServer: false },
    'session configured': refused,
    'reconnect announced': refused,
    'attempt failed': refused,
    "another attempt's failure": refused,
    'attempt settled': { kind: 'idle' },
    "another attempt's settling": refused,
    'socket closed': refused,
    "an old socket's closing": refused,
    'closed by server': refused,
    'info changed': { kind: 'connecting', attempt: 'A1', info: I2 },
    'session ended': { kind: 'dead', error: ENDED, attempt: 'A1' },
  },
  'connecting on a socket': {
    'connect requested': refused,
    'reconfigure requested': refused,
    'socket opening': { kind: 'connecting', attempt: 'A1', socket: 'S2', closedByServer: false },
    'session configured': { kind: 'configured', info: I2, socket: 'S1', closedByServer: false, attempt: 'A1' },
    'reconnect announced': refused,
    'attempt failed': refused,
    "another attempt's failure": refused,
    'attempt settled': { kind: 'idle' },
    "another attempt's settling": refused,
    'socket closed': { kind: 'connecting', attempt: 'A1' },
    "an old socket's closing": refused,
    'closed by server': { kind: 'connecting', attempt: 'A1', socket: 'S1', closedByServer: true },
    'info changed': { kind: 'connecting', attempt: 'A1', info: I2, socket: 'S1', closedByServer: false },
    'session ended': { kind: 'dead', error: ENDED, attempt: 'A1' },
  },
  'configuring again': {
    'connect requested': refused,
    'reconfigure requested': refused,
    'socket opening': { kind: 'connecting', attempt: 'A1', info: I1, socket: 'S2', closedByServer: false },
    // A socket Genesys said it closes stays so once configured again.
    'session configured': { kind: 'configured', info: I2, socket: 'S1', closedByServer: true, attempt: 'A1' },
    'reconnect announced': refused,
    'attempt failed': refused,
    "another attempt's failure": refused,
    'attempt settled': { kind: 'idle', info: I1 },
    "another attempt's settling": refused,
    'socket closed': { kind: 'connecting', attempt: 'A1', info: I1 },
    "an old socket's closing": refused,
    'closed by server': refused,
    'info changed': { kind: 'connecting', attempt: 'A1', info: I2, socket: 'S1', closedByServer: true },
    'session ended': { kind: 'dead', error: ENDED, info: I1, attempt: 'A1' },
  },
  'reconnecting, between sockets': {
    'connect requested': refused,
    'reconfigure requested': refused,
    'socket opening': {
      kind: 'reconnecting',
      attempt: 'A1',
      info: I1,
      held: HELD,
      socket: 'S2',
      closedByServer: false,
    },
    'session configured': refused,
    'reconnect announced': refused,
    'attempt failed': { kind: 'connecting', attempt: 'A1', info: I1 },
    "another attempt's failure": refused,
    'attempt settled': { kind: 'idle', info: I1 },
    "another attempt's settling": refused,
    'socket closed': refused,
    "an old socket's closing": refused,
    'closed by server': refused,
    'info changed': { kind: 'reconnecting', attempt: 'A1', info: I2, held: HELD },
    'session ended': { kind: 'dead', error: ENDED, info: I1, attempt: 'A1' },
  },
  'reconnecting on a socket': {
    'connect requested': refused,
    'reconfigure requested': refused,
    'socket opening': {
      kind: 'reconnecting',
      attempt: 'A1',
      info: I1,
      held: HELD,
      socket: 'S2',
      closedByServer: false,
    },
    'session configured': { kind: 'proving', attempt: 'A1', info: I2, held: HELD, socket: 'S1', closedByServer: false },
    'reconnect announced': refused,
    'attempt failed': { kind: 'connecting', attempt: 'A1', info: I1, socket: 'S1', closedByServer: false },
    "another attempt's failure": refused,
    'attempt settled': { kind: 'idle', info: I1 },
    "another attempt's settling": refused,
    'socket closed': { kind: 'reconnecting', attempt: 'A1', info: I1, held: HELD },
    "an old socket's closing": refused,
    'closed by server': {
      kind: 'reconnecting',
      attempt: 'A1',
      info: I1,
      held: HELD,
      socket: 'S1',
      closedByServer: true,
    },
    'info changed': { kind: 'reconnecting', attempt: 'A1', info: I2, held: HELD, socket: 'S1', closedByServer: false },
    'session ended': { kind: 'dead', error: ENDED, info: I1, attempt: 'A1' },
  },
  proving: {
    'connect requested': refused,
    'reconfigure requested': refused,
    // The configured socket is let go for the new one, not closed (as before the state was one value).
    'socket opening': {
      kind: 'reconnecting',
      attempt: 'A1',
      info: I1,
      held: HELD,
      socket: 'S2',
      closedByServer: false,
    },
    'session configured': refused,
    'reconnect announced': { kind: 'configured', info: I1, socket: 'S1', closedByServer: false, attempt: 'A1' },
    'attempt failed': { kind: 'configured', info: I1, socket: 'S1', closedByServer: false, attempt: 'A1' },
    "another attempt's failure": refused,
    'attempt settled': { kind: 'configured', info: I1, socket: 'S1', closedByServer: false },
    "another attempt's settling": refused,
    'socket closed': { kind: 'reconnecting', attempt: 'A1', info: I1, held: HELD },
    "an old socket's closing": refused,
    'closed by server': { kind: 'proving', attempt: 'A1', info: I1, held: HELD, socket: 'S1', closedByServer: true },
    'info changed': { kind: 'proving', attempt: 'A1', info: I2, held: HELD, socket: 'S1', closedByServer: false },
    'session ended': { kind: 'dead', error: ENDED, info: I1, attempt: 'A1' },
  },
  configured: {
    // A configured link asked to connect again goes the way of a reconnect, its socket in use until the next one.
    'connect requested': { kind: 'proving', attempt: 'A2', info: I1, held: [], socket: 'S1', closedByServer: false },
    'reconfigure requested': { kind: 'connecting', attempt: 'A2', info: I1, socket: 'S1', closedByServer: false },
    'socket opening': refused,
    'session configured': refused,
    'reconnect announced': refused,
    'attempt failed': refused,
    "another attempt's failure": refused,
    'attempt settled': refused,
    "another attempt's settling": refused,
    'socket closed': { kind: 'idle', info: I1 },
    "an old socket's closing": refused,
    'closed by server': { kind: 'configured', info: I1, socket: 'S1', closedByServer: true },
    'info changed': { kind: 'configured', info: I2, socket: 'S1', closedByServer: false },
    'session ended': { kind: 'dead', error: ENDED, info: I1, attempt: undefined },
  },
  'configured, Genesys closing it': {
    'connect requested': { kind: 'proving', attempt: 'A2', info: I1, held: [], socket: 'S1', closedByServer: true },
    'reconfigure requested': { kind: 'connecting', attempt: 'A2', info: I1, socket: 'S1', closedByServer: true },
    'socket opening': refused,
    'session configured': refused,
    'reconnect announced': refused,
    'attempt failed': refused,
    "another attempt's failure": refused,
    'attempt settled': refused,
    "another attempt's settling": refused,
    'socket closed': { kind: 'idle', info: I1 },
    "an old socket's closing": refused,
    'closed by server': refused,
    'info changed': { kind: 'configured', info: I2, socket: 'S1', closedByServer: true },
    'session ended': { kind: 'dead', error: ENDED, info: I1, attempt: undefined },
  },
  'configured, its attempt settling': {
    'connect requested': refused,
    'reconfigure requested': refused,
    'socket opening': refused,
    'session configured': refused,
    'reconnect announced': refused,
    'attempt failed': refused,
    "another attempt's failure": refused,
    'attempt settled': { kind: 'configured', info: I1, socket: 'S1', closedByServer: false },
    "another attempt's settling": refused,
    'socket closed': { kind: 'connecting', attempt: 'A1', info: I1 },
    "an old socket's closing": refused,
    'closed by server': { kind: 'configured', info: I1, socket: 'S1', closedByServer: true, attempt: 'A1' },
    'info changed': { kind: 'configured', info: I2, socket: 'S1', closedByServer: false, attempt: 'A1' },
    'session ended': { kind: 'dead', error: ENDED, info: I1, attempt: 'A1' },
  },
  dead: {
    'connect requested': refused,
    'reconfigure requested': refused,
    'socket opening': refused,
    'session configured': refused,
    'reconnect announced': refused,
    'attempt failed': refused,
    "another attempt's failure": refused,
    'attempt settled': refused,
    "another attempt's settling": refused,
    'socket closed': refused,
    "an old socket's closing": refused,
    'closed by server': refused,
    // What Genesys said last stays readable (GuestSession.state) after the end.
    'info changed': { kind: 'dead', error: GONE, info: I2 },
    'session ended': refused,
  },
  'dead, its attempt settling': {
    'connect requested': refused,
    'reconfigure requested': refused,
    'socket opening': refused,
    'session configured': refused,
    'reconnect announced': refused,
    'attempt failed': refused,
    "another attempt's failure": refused,
    'attempt settled': { kind: 'dead', error: GONE, info: I1 },
    "another attempt's settling": refused,
    'socket closed': refused,
    "an old socket's closing": refused,
    'closed by server': refused,
    'info changed': { kind: 'dead', error: GONE, info: I2, attempt: 'A1' },
    'session ended': refused,
  },
};

const cells = (Object.keys(TABLE) as StateName[]).flatMap((from) =>
  (Object.keys(TABLE[from]) as EventName[]).map((event) => ({ from, event, outcome: TABLE[from][event] })),
);
const allowed = cells.flatMap(({ from, event, outcome }) =>
  outcome === refused ? [] : [{ from, event, outcome, to: nameOf(outcome) }],
);
const refusals = cells.filter(({ outcome }) => outcome === refused);

/** A state's name in STATES when it is one of them, else its kind. */
function nameOf(state: State): string {
  const named = (Object.keys(STATES) as StateName[]).find((name) => canonical(STATES[name]) === canonical(state));
  return named ?? state.kind;
}

/** A state as text: its fields in order, those left undefined left out. */
function canonical(state: State): string {
  const fields = Object.entries(state).filter(([, value]) => value !== undefined);
  return JSON.stringify(fields.sort(([a], [b]) => a.localeCompare(b)));
}

describe('allowed', () => {
  test.each(allowed)('when $event transitions $from to $to', ({ from, event, outcome }) => {
    expect(transition<Socket, Attempt>(STATES[from], EVENTS[event])).toEqual(outcome);
  });
});

describe('refused', () => {
  test.each(refusals)('$event is refused in $from', ({ from, event }) => {
    expect(transition<Socket, Attempt>(STATES[from], EVENTS[event])).toBeUndefined();
  });
});

test('the table holds every kind and every event, each event in each state once', () => {
  const kinds = new Set(Object.values(STATES).map((s) => s.kind));
  expect([...kinds].sort()).toEqual([...LINK_KINDS].sort());
  const types = new Set(Object.values(EVENTS).map((e) => e.type));
  expect([...types].sort()).toEqual([...LINK_EVENT_TYPES].sort());
  expect(cells).toHaveLength(Object.keys(STATES).length * Object.keys(EVENTS).length);
  // Every kind is entered by some event, and left by some.
  for (const kind of LINK_KINDS) {
    expect(allowed.some(({ outcome }) => outcome.kind === kind)).toBe(true);
    expect(allowed.some(({ from, outcome }) => STATES[from].kind === kind && outcome.kind !== kind)).toBe(
      kind !== 'dead',
    );
  }
});

test('a transition makes a new state: the one it came from is left as it was', () => {
  for (const { from, event } of cells) {
    const before = { ...STATES[from] };
    const held = heldOf(STATES[from])?.length;
    transition<Socket, Attempt>(STATES[from], EVENTS[event]);
    expect([from, event, STATES[from], heldOf(STATES[from])?.length]).toEqual([from, event, before, held]);
  }
});

/**
 * What the link's state says without asking anything else (linkState.ts):
 * its socket, whether it is configured, the attempt under way, the events
 * held for streams, Genesys closing the socket, the session's end.
 */
describe('what the state says on its own', () => {
  test('the events held for streams are one buffer from the start of a reconnect to its announcement', () => {
    let state: State = { kind: 'idle', info: I1 };
    const step = (event: LinkEvent<Socket, Attempt>) => {
      const next = transition(state, event);
      if (!next) throw new Error(`${event.type} refused in ${state.kind}`);
      state = next;
    };
    step({ type: 'connectRequested', attempt: 'A1' });
    const held = heldOf(state)!;
    step({ type: 'socketOpening', socket: 'S1' });
    step({ type: 'sessionConfigured', info: I1 });
    step({ type: 'socketClosed', socket: 'S1' });
    step({ type: 'socketOpening', socket: 'S2' });
    step({ type: 'sessionConfigured', info: I2 });
    expect(heldOf(state)).toBe(held);
    step({ type: 'reconnectAnnounced' });
    expect(heldOf(state)).toBeUndefined();
    expect(state).toEqual({ kind: 'configured', info: I2, socket: 'S2', closedByServer: false, attempt: 'A1' });
  });

  describe('derived facts', () => {
    const facts = (s: State) => ({
      socket: socketOf(s),
      configured: isConfigured(s),
      attempt: attemptOf(s),
      holds: heldOf(s) !== undefined,
      closedByServer: isClosedByServer(s),
      end: endOf(s),
    });
    const none = { socket: undefined, attempt: undefined, end: undefined };
    const expected: Record<StateName, ReturnType<typeof facts>> = {
      idle: { ...none, configured: false, holds: false, closedByServer: false },
      'idle, configured before': { ...none, configured: false, holds: false, closedByServer: false },
      'connecting, between sockets': { ...none, attempt: 'A1', configured: false, holds: false, closedByServer: false },
      'connecting on a socket': {
        ...none,
        socket: 'S1',
        attempt: 'A1',
        configured: false,
        holds: false,
        closedByServer: false,
      },
      'configuring again': {
        ...none,
        socket: 'S1',
        attempt: 'A1',
        configured: false,
        holds: false,
        closedByServer: true,
      },
      'reconnecting, between sockets': {
        ...none,
        attempt: 'A1',
        configured: false,
        holds: true,
        closedByServer: false,
      },
      'reconnecting on a socket': {
        ...none,
        socket: 'S1',
        attempt: 'A1',
        configured: false,
        holds: true,
        closedByServer: false,
      },
      proving: { ...none, socket: 'S1', attempt: 'A1', configured: true, holds: true, closedByServer: false },
      configured: { ...none, socket: 'S1', configured: true, holds: false, closedByServer: false },
      'configured, Genesys closing it': { ...none, socket: 'S1', configured: true, holds: false, closedByServer: true },
      'configured, its attempt settling': {
        ...none,
        socket: 'S1',
        attempt: 'A1',
        configured: true,
        holds: false,
        closedByServer: false,
      },
      dead: { ...none, end: GONE, configured: false, holds: false, closedByServer: false },
      'dead, its attempt settling': {
        ...none,
        end: GONE,
        attempt: 'A1',
        configured: false,
        holds: false,
        closedByServer: false,
      },
    };
    test.each(Object.keys(STATES) as StateName[])('%s', (name) => {
      expect(facts(STATES[name])).toEqual(expected[name]);
    });
  });
});
