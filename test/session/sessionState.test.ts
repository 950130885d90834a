import { deriveKeys, Sealer } from '../../src/session/tokens/sealing';
import { SessionTokens, type SessionState } from '../../src/session/tokens/sessionToken';
import { stateOf } from '../../src/session/sessionState';

/**
 * What a re-issued token carries over from the one a request came with (src/session/sessionState.ts stateOf), sealed
 * by the real SessionTokens: the session's anchor, by which revocations.ts tells a session whose records the shared
 * store lost; and nothing the token did not hold, so that a token with nothing changed is handed back as it came
 * (SessionTokens.refreshed).
 */
const ORIGIN = 'https://shop.example.com';
const state: SessionState = {
  guestToken: 'guest-token',
  origin: ORIGIN,
  attributes: { plan: 'gold' },
  locked: [],
  deliveredFingerprint: 'delivered-fp',
  maxCustomDataBytes: 2048,
  routingKey: 'routing-key-0123456789',
};

function tokens() {
  return new SessionTokens(new Sealer(deriveKeys(['session-state-test-secret-0123456789abcdef'])), 3600, Date.now, 'r');
}

test("a re-issued token keeps the session's anchor; with nothing changed it is the token the request came with", async () => {
  const issuer = tokens();
  const first = await issuer.issue({ ...state, anchor: 'anchor-1.mhx0' });
  const claims = await issuer.open(first.token, ORIGIN);
  expect(stateOf(claims)).toMatchObject({ anchor: 'anchor-1.mhx0' });
  expect((await issuer.refreshed(claims, stateOf(claims))).token).toBe(first.token);
  const again = await issuer.issue({ ...stateOf(claims), deliveredFingerprint: 'new-fp' });
  await expect(issuer.open(again.token, ORIGIN)).resolves.toMatchObject({ anchor: 'anchor-1.mhx0' });
});

test('a token sealed before anchors existed is handed back as it came too: its state names no anchor', async () => {
  const issuer = tokens();
  const first = await issuer.issue(state);
  const claims = await issuer.open(first.token, ORIGIN);
  expect(Object.keys(stateOf(claims))).not.toContain('anchor');
  expect((await issuer.refreshed(claims, stateOf(claims))).token).toBe(first.token);
});
