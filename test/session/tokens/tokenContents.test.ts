import { deriveKeys, Sealer } from '../../../src/session/tokens/sealing';
import { SessionTokens, type SessionClaims, type SessionState } from '../../../src/session/tokens/sessionToken';

/**
 * What a session token and a stream ticket carry when something is taken away or added: a sign-out
 * drops the sign-in from the very next token, and a ticket carries its session's anchor (the proof
 * that the store still knows the session: src/session/tokens/revocations.ts) to the stream it opens.
 */
const ORIGIN = 'https://shop.example.com';
const START = Date.parse('2026-11-25T10:00:00.000Z');

const state: SessionState = {
  guestToken: 'guest-token',
  origin: ORIGIN,
  attributes: { name: 'Zoë' },
  locked: [],
  deliveredFingerprint: 'delivered-fp',
  maxCustomDataBytes: 2048,
  routingKey: 'routing-key-0123456789',
};
const signIn = { jwt: 'genesys-jwt', refreshToken: 'genesys-refresh' };

let tokens: SessionTokens;
beforeEach(() => {
  tokens = new SessionTokens(
    new Sealer(deriveKeys(['token-contents-test-secret-0123456789abcdef'])),
    3600,
    () => START,
    'routing-secret',
  );
});

const stateOf = ({ issuedAt: _i, exp: _e, ...rest }: SessionClaims): SessionState => rest;

test('the token answered right after a sign-out no longer carries the sign-in, even within the minute a token is reused', async () => {
  const signedIn = await tokens.issue({ ...state, signIn });
  const claims = await tokens.open(signedIn.token, ORIGIN);
  const { signIn: _dropped, ...signedOut } = stateOf(claims);
  const answer = await tokens.refreshed(claims, signedOut);
  expect(answer.token).not.toBe(signedIn.token);
  expect((await tokens.open(answer.token, ORIGIN)).signIn).toBeUndefined();
});

test("a stream ticket carries its session's anchor, and one of a session without an anchor carries none", async () => {
  const anchored = await tokens.issueTicket({ ...state, anchor: 'word.abc' });
  expect((await tokens.openTicket(anchored.ticket, ORIGIN)).anchor).toBe('word.abc');

  const unanchored = await tokens.openTicket((await tokens.issueTicket(state)).ticket, ORIGIN);
  expect(unanchored).not.toHaveProperty('anchor');
});
