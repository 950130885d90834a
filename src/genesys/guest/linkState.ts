import type { GuestEvent } from './desk';
import type { GuestApiError, SessionResponse } from './protocol';

/**
 * The state of a guest session's upstream link (sessionLink.ts) as one value,
 * changed only by `transition` over named events, the way Genesys's transport
 * SDK holds its connection (core/StateMachineImpl.kt). Each kind says what is
 * true of the link; the data it carries is what that kind needs:
 *
 * - `idle`: no socket and nothing under way. `info` once a socket was
 *   configured before: the next connect is then a reconnect.
 * - `connecting`: a connect (or a configure again on the open socket) is under
 *   way and no socket is configured: asking for a socket, opening or
 *   configuring one, waiting between tries, or winding down after giving up.
 * - `reconnecting`: a reconnect is under way and no socket is configured; what
 *   the new socket brings for streams waits in `held` until it is announced.
 * - `proving`: the reconnect's socket is configured (requests go out); delivery
 *   of the messages in doubt is proven before streams hear `reconnected`.
 * - `configured`: the socket is configured: requests go out on it.
 * - `dead`: the session ended or left service; nothing reopens the link.
 *
 * `attempt` is the connect or configure under way that later callers join; it
 * stays until its promise settles, a little after the outcome (`configured`, or
 * `dead` when the session ended while it ran). `closedByServer`: Genesys said it
 * closes this socket, so streams alone do not reopen it. `S` is the socket and
 * `A` the attempt: the function below never looks inside either.
 */
export type LinkState<S = unknown, A = unknown> =
  | { kind: 'idle'; info?: SessionResponse }
  | { kind: 'connecting'; attempt: A; info?: SessionResponse; socket?: S; closedByServer?: boolean }
  | {
      kind: 'reconnecting';
      attempt: A;
      info: SessionResponse;
      held: GuestEvent[];
      socket?: S;
      closedByServer?: boolean;
    }
  | { kind: 'proving'; attempt: A; info: SessionResponse; held: GuestEvent[]; socket: S; closedByServer: boolean }
  | { kind: 'configured'; info: SessionResponse; socket: S; closedByServer: boolean; attempt?: A }
  | { kind: 'dead'; error: GuestApiError; info?: SessionResponse; attempt?: A };

export type LinkKind = LinkState['kind'];

export const LINK_KINDS: readonly LinkKind[] = ['idle', 'connecting', 'reconnecting', 'proving', 'configured', 'dead'];

/** What happens to the link: each is asked of `transition`, which allows it or refuses it. */
export type LinkEvent<S = unknown, A = unknown> =
  /** Someone wants the link configured (a request, a stream) and no attempt is under way. */
  | { type: 'connectRequested'; attempt: A }
  /** Genesys refused a request with 401: configure again on the open, configured socket. */
  | { type: 'reconfigureRequested'; attempt: A }
  /** The attempt made a new socket (the budget allowed it); it replaces any socket the state held. */
  | { type: 'socketOpening'; socket: S }
  /** Genesys answered the configure on the current socket. */
  | { type: 'sessionConfigured'; info: SessionResponse }
  /** Delivery was proven after a reconnect: streams hear `reconnected`, then what was held. */
  | { type: 'reconnectAnnounced' }
  /** The attempt gave up: held events are dropped (streams hear `unavailable`, or the session dies). */
  | { type: 'attemptFailed'; attempt: A }
  /** The attempt's promise settled: nothing is under way any more. */
  | { type: 'attemptSettled'; attempt: A }
  /** The current socket is gone: given up by this service, closed by it, or by the other side. */
  | { type: 'socketClosed'; socket: S }
  /** Genesys announced it closes the current socket (ConnectionClosedEvent, logout). */
  | { type: 'closedByServer' }
  /** Genesys described the session anew (a SessionResponse, read-only after a clear). */
  | { type: 'infoChanged'; info: SessionResponse }
  /** The session ended or left service (expired, cleared, signed out, retired, handed over). */
  | { type: 'sessionEnded'; error: GuestApiError };

export type LinkEventType = LinkEvent['type'];

export const LINK_EVENT_TYPES: readonly LinkEventType[] = [
  'connectRequested',
  'reconfigureRequested',
  'socketOpening',
  'sessionConfigured',
  'reconnectAnnounced',
  'attemptFailed',
  'attemptSettled',
  'socketClosed',
  'closedByServer',
  'infoChanged',
  'sessionEnded',
];

/** The next state, or `undefined` when the event is refused in this state (the state stays as it is). */
export function transition<S, A>(state: LinkState<S, A>, event: LinkEvent<S, A>): LinkState<S, A> | undefined {
  if (state.kind === 'dead') return inDead(state, event);
  switch (event.type) {
    case 'connectRequested':
      return connectRequested(state, event.attempt);
    case 'reconfigureRequested':
      if (state.kind !== 'configured' || state.attempt !== undefined) return undefined;
      return { kind: 'connecting', attempt: event.attempt, info: state.info, ...onSocket(state) };
    case 'socketOpening':
      return socketOpening(state, event.socket);
    case 'sessionConfigured':
      return sessionConfigured(state, event.info);
    case 'reconnectAnnounced':
      if (state.kind !== 'proving') return undefined;
      return { kind: 'configured', info: state.info, ...onSocket(state), attempt: state.attempt };
    case 'attemptFailed':
      return attemptFailed(state, event.attempt);
    case 'attemptSettled':
      return attemptSettled(state, event.attempt);
    case 'socketClosed':
      return socketClosed(state, event.socket);
    case 'closedByServer':
      if (state.kind === 'idle' || state.socket === undefined || state.closedByServer) return undefined;
      return { ...state, closedByServer: true };
    case 'infoChanged':
      return { ...state, info: event.info };
    case 'sessionEnded':
      return { kind: 'dead', error: event.error, info: state.info, attempt: attemptOf(state) };
  }
}

type Live<S, A> = Exclude<LinkState<S, A>, { kind: 'dead' }>;

/** A dead link takes nothing but the settling of the attempt it interrupted, and news of the session. */
function inDead<S, A>(
  state: Extract<LinkState<S, A>, { kind: 'dead' }>,
  event: LinkEvent<S, A>,
): LinkState<S, A> | undefined {
  if (event.type === 'infoChanged') return { ...state, info: event.info };
  if (event.type !== 'attemptSettled' || state.attempt === undefined || state.attempt !== event.attempt) return;
  return { kind: 'dead', error: state.error, info: state.info };
}

function connectRequested<S, A>(state: Live<S, A>, attempt: A): LinkState<S, A> | undefined {
  if (state.kind === 'idle')
    return state.info ? { kind: 'reconnecting', attempt, info: state.info, held: [] } : { kind: 'connecting', attempt };
  // A configured link asked to connect again goes the way of a reconnect, its socket in use until the next one.
  if (state.kind === 'configured' && state.attempt === undefined)
    return { kind: 'proving', attempt, info: state.info, held: [], ...onSocket(state) };
  return undefined;
}

function socketOpening<S, A>(state: Live<S, A>, socket: S): LinkState<S, A> | undefined {
  const fresh = { socket, closedByServer: false };
  if (state.kind === 'connecting') return { kind: 'connecting', attempt: state.attempt, info: state.info, ...fresh };
  // The socket a reconnect had configured is let go here; the link closes it (sessionLink.ts).
  if (state.kind === 'reconnecting' || state.kind === 'proving')
    return { kind: 'reconnecting', attempt: state.attempt, info: state.info, held: state.held, ...fresh };
  return undefined;
}

function sessionConfigured<S, A>(state: Live<S, A>, info: SessionResponse): LinkState<S, A> | undefined {
  if (state.kind === 'connecting' && state.socket !== undefined)
    return { kind: 'configured', info, ...onSocket(state), attempt: state.attempt };
  if (state.kind === 'reconnecting' && state.socket !== undefined)
    return { kind: 'proving', attempt: state.attempt, info, held: state.held, ...onSocket(state) };
  return undefined;
}

function attemptFailed<S, A>(state: Live<S, A>, attempt: A): LinkState<S, A> | undefined {
  if (attemptOf(state) !== attempt) return undefined;
  if (state.kind === 'reconnecting')
    return { kind: 'connecting', attempt, info: state.info, ...(state.socket === undefined ? {} : onSocket(state)) };
  // Delivery could not be proven and no new try was made: the socket stays configured.
  if (state.kind === 'proving') return { kind: 'configured', info: state.info, ...onSocket(state), attempt };
  return undefined;
}

function attemptSettled<S, A>(state: Live<S, A>, attempt: A): LinkState<S, A> | undefined {
  if (state.kind === 'idle' || state.attempt === undefined || state.attempt !== attempt) return undefined;
  if (state.kind === 'configured' || state.kind === 'proving')
    return { kind: 'configured', info: state.info, ...onSocket(state) };
  // A socket no attempt is configuring any more is not kept (sessionLink.ts closes it).
  return { kind: 'idle', info: state.info };
}

function socketClosed<S, A>(state: Live<S, A>, socket: S): LinkState<S, A> | undefined {
  if (state.kind === 'idle' || state.socket === undefined || state.socket !== socket) return undefined;
  switch (state.kind) {
    case 'connecting':
      return { kind: 'connecting', attempt: state.attempt, info: state.info };
    case 'reconnecting':
    case 'proving':
      return { kind: 'reconnecting', attempt: state.attempt, info: state.info, held: state.held };
    case 'configured':
      return state.attempt === undefined
        ? { kind: 'idle', info: state.info }
        : { kind: 'connecting', attempt: state.attempt, info: state.info };
  }
}

function onSocket<S>(state: { socket?: S; closedByServer?: boolean }): { socket: S; closedByServer: boolean } {
  return { socket: state.socket as S, closedByServer: state.closedByServer ?? false };
}

// ------------------------------------------------------------ derived facts

/** The socket requests are written to, when there is one. */
export function socketOf<S, A>(state: LinkState<S, A>): S | undefined {
  return state.kind === 'idle' || state.kind === 'dead' ? undefined : state.socket;
}

/** Whether the socket is configured: requests may go out once it is open. */
export function isConfigured(state: LinkState): boolean {
  return state.kind === 'configured' || state.kind === 'proving';
}

/** The connect or configure under way, if any. */
export function attemptOf<S, A>(state: LinkState<S, A>): A | undefined {
  return state.kind === 'idle' ? undefined : state.attempt;
}

/** Where what a new socket brings for streams waits until a reconnect is announced. */
export function heldOf(state: LinkState): GuestEvent[] | undefined {
  return state.kind === 'reconnecting' || state.kind === 'proving' ? state.held : undefined;
}

/** Whether Genesys said it closes the current socket. */
export function isClosedByServer(state: LinkState): boolean {
  return state.kind !== 'idle' && state.kind !== 'dead' && state.closedByServer === true;
}

/** The session's end, once it ended. */
export function endOf(state: LinkState): GuestApiError | undefined {
  return state.kind === 'dead' ? state.error : undefined;
}
