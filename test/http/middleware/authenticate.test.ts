import type { Request, Response } from 'express';
import { AppError } from '../../../src/domain/errors';
import { authenticator, claimsOf, guestOf, spendTicket, type Guest } from '../../../src/http/middleware/authenticate';
import type { AnyRouteSpec } from '../../../src/http/spec/routeSpec';
import type { Revocations, Standing } from '../../../src/session/tokens/revocations';
import type { SessionClaims, SessionTokens } from '../../../src/session/tokens/sessionToken';

/**
 * What src/http/middleware/authenticate.ts lets through and refuses, each refusal in its words, with the
 * session tokens and the ended-session records stood in for: the API suites (endedMeansEnded,
 * signIn, stream, chatRoutes) show the same rules through the whole service.
 */

const ISSUED_AT = 1_700_000_000_000;
const CLAIMS: SessionClaims = {
  guestToken: 'guest-token-1',
  origin: 'https://shop.example.com',
  attributes: {},
  locked: [],
  deliveredFingerprint: '',
  maxCustomDataBytes: 2048,
  routingKey: 'route-1',
  anchor: 'anchor-1',
  signIn: { kind: 'signed-in' } as unknown as SessionClaims['signIn'],
  issuedAt: ISSUED_AT,
  exp: 1_700_003_600,
};
const TICKET = {
  id: 'ticket-1',
  guestToken: 'guest-token-2',
  origin: 'https://shop.example.com',
  anchor: 'anchor-2',
  signIn: undefined,
  issuedAt: ISSUED_AT,
  exp: 1_700_000_060,
};

interface World {
  standing: Standing;
  /** What the token opens to. */
  tokenClaims: SessionClaims;
  used: boolean;
  claimed: boolean;
  opened: [string, string | undefined][];
  openedTickets: [string, string | undefined][];
  standingAsked: [string, string | undefined][];
  claims: [string, number][];
}

function world(overrides: Partial<World> = {}) {
  const w: World = {
    standing: { state: 'live', cutOffMs: 0 },
    tokenClaims: CLAIMS,
    used: false,
    claimed: true,
    opened: [],
    openedTickets: [],
    standingAsked: [],
    claims: [],
    ...overrides,
  };
  const tokens = {
    open: async (token: string, origin: string | undefined) => {
      w.opened.push([token, origin]);
      if (token !== 'good-token') throw new AppError('unauthorized', 'not a token of ours');
      return w.tokenClaims;
    },
    openTicket: async (ticket: string, origin: string | undefined) => {
      w.openedTickets.push([ticket, origin]);
      return TICKET;
    },
  } as unknown as SessionTokens;
  const revocations = {
    standing: async (guestToken: string, anchor: string | undefined) => {
      w.standingAsked.push([guestToken, anchor]);
      return w.standing;
    },
    ticketUsed: async () => w.used,
    claimTicket: async (id: string, untilMs: number) => {
      w.claims.push([id, untilMs]);
      return w.claimed;
    },
  } as unknown as Revocations;
  return { w, tokens, revocations, authenticate: authenticator(tokens, revocations) };
}

const spec = (auth: AnyRouteSpec['auth'], allowEnded?: boolean) => ({ auth, allowEnded }) as AnyRouteSpec;

/** Runs the middleware; resolves to what it passed to next() and the guest it left. */
async function run(
  handler: ReturnType<ReturnType<typeof authenticator>>,
  headers: Record<string, string> = {},
  query: Record<string, unknown> = {},
) {
  const req = { headers: { origin: 'https://shop.example.com', ...headers }, query } as unknown as Request;
  const res = { locals: {} } as Response;
  let passed: unknown = 'next() not called';
  await handler(req, res, (error?: unknown) => (passed = error));
  return { error: passed as AppError | undefined, guest: res.locals.guest as Guest | undefined };
}

const refusal = (error: AppError | undefined) =>
  error && { code: error.code, status: error.status, message: error.message, logDetail: error.logDetail };

describe('a session token', () => {
  it('opens the session for its origin and leaves the guest for the route', async () => {
    const { w, authenticate } = world();
    const { error, guest } = await run(authenticate(spec('session')), { authorization: 'Bearer good-token' });
    expect(error).toBeUndefined();
    expect(guest).toEqual({
      guestToken: CLAIMS.guestToken,
      origin: CLAIMS.origin,
      signIn: CLAIMS.signIn,
      claims: CLAIMS,
    });
    expect(w.opened).toEqual([['good-token', 'https://shop.example.com']]);
    expect(w.standingAsked).toEqual([[CLAIMS.guestToken, CLAIMS.anchor]]);
  });

  it.each(['bearer good-token', 'BEARER   good-token  ', 'Bearer\tgood-token'])('is read from %j', async (header) => {
    const { authenticate } = world();
    const { error, guest } = await run(authenticate(spec('session')), { authorization: header });
    expect(error).toBeUndefined();
    expect(guest?.guestToken).toBe(CLAIMS.guestToken);
  });

  it.each(['good-token', 'Bearer', 'Bearer ', 'Bearer good-token extra', 'Basic good-token', 'xBearer good-token'])(
    'is refused in words when sent as %j',
    async (header) => {
      const { authenticate } = world();
      const { error, guest } = await run(authenticate(spec('session')), { authorization: header });
      expect(refusal(error)).toEqual({
        code: 'unauthorized',
        status: 401,
        message: 'Send the session token as `Authorization: Bearer <sessionToken>`.',
        logDetail: undefined,
      });
      expect(guest).toBeUndefined();
    },
  );

  it('passes on what opening it refused', async () => {
    const { authenticate } = world();
    const { error } = await run(authenticate(spec('session')), { authorization: 'Bearer forged' });
    expect(refusal(error)).toMatchObject({ code: 'unauthorized', message: 'not a token of ours' });
  });

  it('resumes on a route open to all (POST /guest-session) when one comes along', async () => {
    const { authenticate } = world();
    expect((await run(authenticate(spec('none')), { authorization: 'Bearer good-token' })).guest?.claims).toBe(CLAIMS);
    const bare = await run(authenticate(spec('none')));
    expect(bare).toEqual({ error: undefined, guest: undefined });
  });

  it('is not looked at on a public route', async () => {
    const { w, authenticate } = world();
    expect(await run(authenticate(spec('public')), { authorization: 'not even a bearer' })).toEqual({
      error: undefined,
      guest: undefined,
    });
    expect(w.opened).toEqual([]);
  });
});

describe('an ended, lost or replaced session', () => {
  const ENDED = 'This chat was ended; start a new session (POST /guest-session without the old token).';
  const LOST =
    'This service lost the record of this chat (its shared store was emptied), so it cannot tell whether the chat was ended; start a new session (POST /guest-session without the old token).';
  const REPLACED =
    'The customer signed in since this token was issued: it opens nothing now; use the token the sign-in answered with.';

  it('is refused as expired when ended', async () => {
    const { authenticate } = world({ standing: { state: 'ended', cutOffMs: 0 } });
    const { error, guest } = await run(authenticate(spec('session')), { authorization: 'Bearer good-token' });
    expect(refusal(error)).toEqual({ code: 'session_expired', status: 410, message: ENDED, logDetail: undefined });
    expect(guest).toBeUndefined();
  });

  it('is refused as expired when the store lost its records, and the log says so', async () => {
    const { authenticate } = world({ standing: { state: 'lost', cutOffMs: 0 } });
    const { error } = await run(authenticate(spec('session')), { authorization: 'Bearer good-token' });
    expect(refusal(error)).toEqual({
      code: 'session_expired',
      status: 410,
      message: LOST,
      logDetail: { storeLostRecords: true },
    });
  });

  it.each(['ended', 'lost'] as const)('passes when %s on a route that serves ended sessions', async (state) => {
    const { authenticate } = world({ standing: { state, cutOffMs: 0 } });
    const { error, guest } = await run(authenticate(spec('session', true)), { authorization: 'Bearer good-token' });
    expect(error).toBeUndefined();
    expect(guest?.claims).toBe(CLAIMS);
  });

  it('refuses a token sealed before a sign-in cut it off, on every route, and not one sealed at that moment', async () => {
    for (const allowEnded of [false, true]) {
      const { authenticate } = world({ standing: { state: 'live', cutOffMs: ISSUED_AT + 1 } });
      const { error } = await run(authenticate(spec('session', allowEnded)), { authorization: 'Bearer good-token' });
      expect(refusal(error)).toEqual({ code: 'unauthorized', status: 401, message: REPLACED, logDetail: undefined });
    }
    const { authenticate } = world({ standing: { state: 'live', cutOffMs: ISSUED_AT } });
    expect((await run(authenticate(spec('session')), { authorization: 'Bearer good-token' })).error).toBeUndefined();
  });

  it('refuses a token without the sign-in sealed after its cut-off (for a request answered after it), not one with it', async () => {
    const { signIn: _signedIn, ...anonymous } = CLAIMS;
    const cutOff = { state: 'live', cutOffMs: ISSUED_AT - 1, signedIn: 'sealed' } as const;
    const refused = world({ standing: cutOff, tokenClaims: anonymous });
    const { error } = await run(refused.authenticate(spec('session')), { authorization: 'Bearer good-token' });
    expect(refusal(error)).toEqual({ code: 'unauthorized', status: 401, message: REPLACED, logDetail: undefined });
    const neverSignedIn = world({ tokenClaims: anonymous });
    expect((await run(neverSignedIn.authenticate(spec('session')), { authorization: 'Bearer good-token' })).error).toBe(
      undefined,
    );
    const signedIn = world({ standing: cutOff });
    expect((await run(signedIn.authenticate(spec('session')), { authorization: 'Bearer good-token' })).error).toBe(
      undefined,
    );
  });

  it('refuses a ticket of an ended session before looking whether it was used', async () => {
    const { authenticate } = world({ standing: { state: 'ended', cutOffMs: 0 }, used: true });
    const { error } = await run(authenticate(spec('session-or-ticket')), {}, { ticket: 'the-ticket' });
    expect(refusal(error)).toMatchObject({ code: 'session_expired', message: ENDED });
  });
});

describe('on a route that retries the sign-in', () => {
  const retries = { auth: 'session', retriesSignIn: true } as AnyRouteSpec;

  it('lets a token a sign-in replaced through, with what that sign-in recorded', async () => {
    const { authenticate } = world({ standing: { state: 'live', cutOffMs: ISSUED_AT + 1, signedIn: 'sealed' } });
    const { error, guest } = await run(authenticate(retries), { authorization: 'Bearer good-token' });
    expect(error).toBeUndefined();
    expect(guest).toStrictEqual({
      guestToken: CLAIMS.guestToken,
      origin: CLAIMS.origin,
      signIn: CLAIMS.signIn,
      claims: CLAIMS,
      earlierSignIn: { replaced: true, recorded: 'sealed' },
    });
  });

  it('says a token no sign-in replaced is not replaced, with nothing recorded', async () => {
    const { authenticate } = world();
    const { guest } = await run(authenticate(retries), { authorization: 'Bearer good-token' });
    expect(guest?.earlierSignIn).toStrictEqual({ replaced: false });
  });
});

describe('a stream ticket', () => {
  const NEEDS_TOKEN =
    'This call needs a session token: `Authorization: Bearer <sessionToken>` from POST /guest-session.';
  const USED = 'This stream ticket was already used; ask for a new one (POST /messages/stream-ticket).';

  it('opens the stream route for its session, unspent, without the session’s claims', async () => {
    const { w, authenticate } = world();
    const { error, guest } = await run(authenticate(spec('session-or-ticket')), {}, { ticket: 'the-ticket' });
    expect(error).toBeUndefined();
    expect(guest).toEqual({
      guestToken: TICKET.guestToken,
      origin: TICKET.origin,
      signIn: undefined,
      ticket: { id: TICKET.id, untilMs: TICKET.exp * 1000 },
    });
    expect(w.openedTickets).toEqual([['the-ticket', 'https://shop.example.com']]);
    expect(w.standingAsked).toEqual([[TICKET.guestToken, TICKET.anchor]]);
    expect(w.claims).toEqual([]);
  });

  it('is refused in words once used', async () => {
    const { authenticate } = world({ used: true });
    const { error, guest } = await run(authenticate(spec('session-or-ticket')), {}, { ticket: 'the-ticket' });
    expect(refusal(error)).toEqual({ code: 'unauthorized', status: 401, message: USED, logDetail: undefined });
    expect(guest).toBeUndefined();
  });

  it.each([
    ['a route that takes a session only', spec('session'), { ticket: 'the-ticket' }],
    ['no ticket', spec('session-or-ticket'), {}],
    ['a ticket given twice', spec('session-or-ticket'), { ticket: ['a', 'b'] }],
  ])('is no way in on %s: the refusal asks for a session token', async (_what, route, query) => {
    const { w, authenticate } = world();
    const { error } = await run(authenticate(route), {}, query);
    expect(refusal(error)).toEqual({ code: 'unauthorized', status: 401, message: NEEDS_TOKEN, logDetail: undefined });
    expect(w.openedTickets).toEqual([]);
  });

  it('is spent by the route, once; a ticket someone spent first is refused in words', async () => {
    const { w, revocations } = world();
    const res = {
      locals: { guest: { guestToken: 'g', origin: '', ticket: { id: 'ticket-9', untilMs: 123_000 } } },
    } as unknown as Response;
    await spendTicket(res, revocations);
    expect(w.claims).toEqual([['ticket-9', 123_000]]);
    w.claimed = false;
    await expect(spendTicket(res, revocations)).rejects.toEqual(new AppError('unauthorized', USED));
  });

  it('spends nothing for a request that came with a session token', async () => {
    const { w, revocations } = world();
    await spendTicket(
      { locals: { guest: { guestToken: 'g', origin: '', claims: CLAIMS } } } as unknown as Response,
      revocations,
    );
    expect(w.claims).toEqual([]);
  });
});

describe('the guest of a route', () => {
  it('is a programming error on a route that was not authenticated', () => {
    expect(() => guestOf({ locals: {} } as Response)).toThrow(new Error('route used guestOf without authentication'));
  });

  it('has claims only when it came with a session token; otherwise the refusal asks for one', () => {
    expect(
      claimsOf({ locals: { guest: { guestToken: 'g', origin: '', claims: CLAIMS } } } as unknown as Response),
    ).toBe(CLAIMS);
    let thrown: unknown;
    try {
      claimsOf({ locals: { guest: { guestToken: 'g', origin: '' } } } as unknown as Response);
    } catch (error) {
      thrown = error;
    }
    expect(refusal(thrown as AppError)).toEqual({
      code: 'unauthorized',
      status: 401,
      message: 'This call needs the session token in the Authorization header.',
      logDetail: undefined,
    });
  });
});
