import type { Request, RequestHandler, Response } from 'express';
import { AppError } from '../../domain/errors';
import type { AnyRouteSpec } from '../spec';
import {
  type EarlierSignIn,
  REPLACED_TOKEN,
  type Revocations,
  type SessionClaims,
  type SessionTokens,
} from '../../session';

/** The guest behind a request, once its token or ticket is verified. */
export interface Guest {
  /** The Genesys guest session token. */
  guestToken: string;
  /** The full session claims; absent when the request came with a stream ticket. */
  claims?: SessionClaims;
  /** The website the session belongs to (links minted for this request are bound to it). */
  origin: string;
  /** A signed-in customer's Genesys credentials (authenticated messaging), sealed in the token or ticket. */
  signIn?: SessionClaims['signIn'];
  /** The stream ticket the request came with, not yet spent (spendTicket). */
  ticket?: { id: string; untilMs: number };
  /** On a route that `retriesSignIn`: whether a sign-in replaced the token, and what that sign-in recorded. */
  earlierSignIn?: EarlierSignIn;
}

const TICKET_USED = 'This stream ticket was already used; ask for a new one (POST /messages/stream-ticket).';

/**
 * Uses up the request's stream ticket, if it came with one. The route calls
 * it just before it serves, so a refusal on the way (too many streams,
 * Genesys unavailable) leaves the ticket for the client's retry.
 */
export async function spendTicket(res: Response, revocations: Revocations): Promise<void> {
  const ticket = guestOf(res).ticket;
  if (ticket && !(await revocations.claimTicket(ticket.id, ticket.untilMs)))
    throw new AppError('unauthorized', TICKET_USED);
}

export function guestOf(res: Response): Guest {
  const guest = res.locals.guest as Guest | undefined;
  if (!guest) throw new Error('route used guestOf without authentication');
  return guest;
}

export function claimsOf(res: Response): SessionClaims {
  const claims = guestOf(res).claims;
  if (!claims) throw new AppError('unauthorized', 'This call needs the session token in the Authorization header.');
  return claims;
}

function bearer(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AppError('unauthorized', 'Send the session token as `Authorization: Bearer <sessionToken>`.');
  return match[1];
}

export function authenticator(tokens: SessionTokens, revocations: Revocations): (spec: AnyRouteSpec) => RequestHandler {
  /**
   * Refuses a token of an ended or lost chat, and one a sign-in replaced: issued before it, or without it (but on a
   * route that `retriesSignIn`, which judges it with what that sign-in recorded). Answers what it found of an earlier
   * sign-in.
   */
  const notEnded = async (
    claims: { guestToken: string; anchor?: string; issuedAt: number; signIn?: SessionClaims['signIn'] },
    spec: AnyRouteSpec,
  ): Promise<EarlierSignIn> => {
    const standing = await revocations.standing(claims.guestToken, claims.anchor);
    const earlier = {
      // Issued before the sign-in's cut-off; or after it without the sign-in, sealed for a request that was
      // authenticated before the cut-off and answered after it: every token the sign-in leaves carries it.
      replaced: claims.issuedAt < standing.cutOffMs || (standing.cutOffMs > 0 && claims.signIn === undefined),
      ...(standing.signedIn !== undefined ? { recorded: standing.signedIn } : {}),
    };
    if (earlier.replaced && !spec.retriesSignIn) throw new AppError('unauthorized', REPLACED_TOKEN);
    if (spec.allowEnded) return earlier;
    if (standing.state === 'ended') {
      throw new AppError(
        'session_expired',
        'This chat was ended; start a new session (POST /guest-session without the old token).',
      );
    }
    if (standing.state === 'lost') {
      // The store lost this session's records: whether it was ended (and which messages went out) is unknowable.
      throw new AppError(
        'session_expired',
        'This service lost the record of this chat (its shared store was emptied), ' +
          'so it cannot tell whether the chat was ended; ' +
          'start a new session (POST /guest-session without the old token).',
        {
          logDetail: { storeLostRecords: true },
        },
      );
    }
    return earlier;
  };
  return (spec) => async (req, res, next) => {
    try {
      if (spec.auth === 'public') return next();
      const origin = req.headers.origin;
      const token = bearer(req);
      if (token !== undefined) {
        // POST /guest-session (auth `none`) resumes when a token comes along.
        const guest = await asGuest(tokens.open(token, origin));
        const earlier = await notEnded(guest.claims!, spec);
        res.locals.guest = spec.retriesSignIn ? { ...guest, earlierSignIn: earlier } : guest;
        return next();
      }
      if (spec.auth === 'none') return next();
      const ticket = typeof req.query.ticket === 'string' ? req.query.ticket : undefined;
      if (spec.auth === 'session-or-ticket' && ticket !== undefined) {
        const claims = await tokens.openTicket(ticket, origin);
        await notEnded(claims, spec);
        // Refused here when already used, before any work; spent by the route (spendTicket).
        if (await revocations.ticketUsed(claims.id)) throw new AppError('unauthorized', TICKET_USED);
        res.locals.guest = {
          guestToken: claims.guestToken,
          origin: claims.origin,
          signIn: claims.signIn,
          ticket: { id: claims.id, untilMs: claims.exp * 1000 },
        } satisfies Guest;
        return next();
      }
      throw new AppError(
        'unauthorized',
        'This call needs a session token: `Authorization: Bearer <sessionToken>` from POST /guest-session.',
      );
    } catch (error) {
      next(error);
    }
  };
}

async function asGuest(claims: Promise<SessionClaims>): Promise<Guest> {
  const c = await claims;
  return { guestToken: c.guestToken, origin: c.origin, signIn: c.signIn, claims: c };
}
