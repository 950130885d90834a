import { GuestApiError } from '../../src/genesys/guest/protocol/errors';
import type { SessionResponse } from '../../src/genesys/guest/protocol/frames';
import type { GuestEvent } from '../../src/genesys/guest/desk/sessionNews';
import type { LinkEvent, LinkState } from '../../src/genesys/guest/linkState';

/**
 * The upstream link's states and events as the tests of linkState.ts meet
 * them: each kind in the forms it takes, and each event naming the current
 * socket and attempt or others.
 */

export type Socket = 'S1' | 'S2';
export type Attempt = 'A1' | 'A2';
export type State = LinkState<Socket, Attempt>;

export const I1 = { connected: true, newSession: true, readOnly: false } as SessionResponse;
export const I2 = { connected: true, newSession: false, readOnly: true } as SessionResponse;
export const GONE = new GuestApiError('session_expired', 'expired');
export const ENDED = new GuestApiError('unavailable', 'retired');
export const HELD: GuestEvent[] = [];

/** The states each kind is met in: the current socket is S1, the attempt under way A1. */
export const STATES = {
  idle: { kind: 'idle' },
  'idle, configured before': { kind: 'idle', info: I1 },
  'connecting, between sockets': { kind: 'connecting', attempt: 'A1' },
  'connecting on a socket': { kind: 'connecting', attempt: 'A1', socket: 'S1', closedByServer: false },
  'configuring again': { kind: 'connecting', attempt: 'A1', info: I1, socket: 'S1', closedByServer: true },
  'reconnecting, between sockets': { kind: 'reconnecting', attempt: 'A1', info: I1, held: HELD },
  'reconnecting on a socket': {
    kind: 'reconnecting',
    attempt: 'A1',
    info: I1,
    held: HELD,
    socket: 'S1',
    closedByServer: false,
  },
  proving: { kind: 'proving', attempt: 'A1', info: I1, held: HELD, socket: 'S1', closedByServer: false },
  configured: { kind: 'configured', info: I1, socket: 'S1', closedByServer: false },
  'configured, Genesys closing it': { kind: 'configured', info: I1, socket: 'S1', closedByServer: true },
  'configured, its attempt settling': {
    kind: 'configured',
    info: I1,
    socket: 'S1',
    closedByServer: false,
    attempt: 'A1',
  },
  dead: { kind: 'dead', error: GONE, info: I1 },
  'dead, its attempt settling': { kind: 'dead', error: GONE, info: I1, attempt: 'A1' },
} satisfies Record<string, State>;

export type StateName = keyof typeof STATES;

/** The events, with the socket and attempt they name: the current ones, or others. */
export const EVENTS = {
  'connect requested': { type: 'connectRequested', attempt: 'A2' },
  'reconfigure requested': { type: 'reconfigureRequested', attempt: 'A2' },
  'socket opening': { type: 'socketOpening', socket: 'S2' },
  'session configured': { type: 'sessionConfigured', info: I2 },
  'reconnect announced': { type: 'reconnectAnnounced' },
  'attempt failed': { type: 'attemptFailed', attempt: 'A1' },
  "another attempt's failure": { type: 'attemptFailed', attempt: 'A2' },
  'attempt settled': { type: 'attemptSettled', attempt: 'A1' },
  "another attempt's settling": { type: 'attemptSettled', attempt: 'A2' },
  'socket closed': { type: 'socketClosed', socket: 'S1' },
  "an old socket's closing": { type: 'socketClosed', socket: 'S2' },
  'closed by server': { type: 'closedByServer' },
  'info changed': { type: 'infoChanged', info: I2 },
  'session ended': { type: 'sessionEnded', error: ENDED },
} satisfies Record<string, LinkEvent<Socket, Attempt>>;

export type EventName = keyof typeof EVENTS;
