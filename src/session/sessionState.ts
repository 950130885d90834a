import type { GuestSession, SessionHub } from '../genesys/guest';
import type { SessionState } from './tokens';

/** The hub's session for these claims, signed in with their credentials unless it holds newer ones. */
export function sessionOf(hub: SessionHub, claims: SessionState): GuestSession {
  return hub.session(claims.guestToken, claims.signIn);
}

/**
 * The claims a re-issued token carries over (everything but the
 * expiry), with the session's newest sign-in (a renewed JWT).
 */
export function stateOf(claims: SessionState, session?: GuestSession): SessionState {
  const { guestToken, origin, attributes, locked, deliveredFingerprint, maxCustomDataBytes, routingKey, anchor } =
    claims;
  const signIn = claims.signIn ? (session?.signIn.value ?? claims.signIn) : undefined;
  return {
    guestToken,
    origin,
    attributes,
    locked,
    deliveredFingerprint,
    maxCustomDataBytes,
    routingKey,
    ...(anchor !== undefined ? { anchor } : {}),
    ...(signIn ? { signIn } : {}),
  };
}
