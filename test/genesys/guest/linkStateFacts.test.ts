import {
  attemptOf,
  endOf,
  heldOf,
  isClosedByServer,
  isConfigured,
  socketOf,
  transition,
  type LinkEvent,
} from '../../../src/genesys/guest/linkState';
import { GONE, I1, I2, STATES, type Attempt, type Socket, type State, type StateName } from '../../support/linkStates';

/**
 * What the link's state says without asking anything else (linkState.ts):
 * its socket, whether it is configured, the attempt under way, the events
 * held for streams, Genesys closing the socket, the session's end.
 */

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
    'reconnecting, between sockets': { ...none, attempt: 'A1', configured: false, holds: true, closedByServer: false },
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
