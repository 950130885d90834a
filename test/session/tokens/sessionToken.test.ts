import { AppError } from '../../../src/domain/errors';
import { deriveKeys, Sealer } from '../../../src/session/tokens/sealing';
import {
  fingerprint,
  ROUTING_KEY,
  SessionTokens,
  undeliveredAttributes,
  type SessionState,
  type SessionClaims,
  REMEMBERED_TOKEN_CHARS,
  REMEMBERED_TOKENS,
} from '../../../src/session/tokens/sessionToken';

/**
 * Session tokens, stream tickets and attachment links (src/session/tokens/sessionToken.ts) on a
 * clock the test moves: what each carries back, how long it lives, where it is accepted, and that
 * none of them stands in for another; what they carry when something is taken away or added; and
 * the tokens this instance sealed lately, opened from memory rather than decrypted again.
 */

describe('what each carries back, how long it lives, where it is accepted', () => {
  const START = Date.parse('2026-11-22T10:00:00.600Z');
  const TTL_SECONDS = 3600;
  const ORIGIN = 'https://shop.example.com';
  let clock = START;
  let sealer: Sealer;
  let tokens: SessionTokens;

  const state: SessionState = {
    guestToken: 'guest-token',
    origin: ORIGIN,
    attributes: { name: 'Zoë', plan: 'gold' },
    locked: ['email'],
    deliveredFingerprint: 'delivered-fp',
    maxCustomDataBytes: 2048,
    routingKey: 'routing-key-0123456789',
  };
  const signIn = { jwt: 'genesys-jwt', refreshToken: 'genesys-refresh' };
  /** Expiry of what is issued at START with a lifetime of `seconds`: whole seconds, rounded down. */
  const expAfter = (seconds: number) => Math.floor(START / 1000) + seconds;
  const refusal = (detail: RegExp) =>
    expect.objectContaining({ code: 'unauthorized', message: expect.stringMatching(detail) });

  // Built in each test, so what the constructor does is judged by the tests that use it.
  beforeEach(() => {
    clock = START;
    sealer = new Sealer(deriveKeys(['session-token-test-secret-0123456789abcdef']));
    tokens = new SessionTokens(sealer, TTL_SECONDS, () => clock, 'routing-secret');
  });

  describe('the token an answer carries (refreshed)', () => {
    /** What a route passes: the state of the claims a request came with, every field copied by reference (guestChat.ts stateOf). */
    const stateOf = ({ issuedAt: _i, exp: _e, ...rest }: Awaited<ReturnType<SessionTokens['open']>>): SessionState =>
      rest;

    test('the token the request came with, while nothing in it changed and it is younger than a minute', async () => {
      const first = await tokens.issue(state);
      clock += 59_000;
      const claims = await tokens.open(first.token, ORIGIN);
      const answer = await tokens.refreshed(claims, stateOf(claims));
      expect(answer.token).toBe(first.token);
      expect(answer.expiresAt).toBe(first.expiresAt);
    });

    test('a new token from a minute on: the expiry slides', async () => {
      const first = await tokens.issue(state);
      clock += 60_000;
      const claims = await tokens.open(first.token, ORIGIN);
      const answer = await tokens.refreshed(claims, stateOf(claims));
      expect(answer.token).not.toBe(first.token);
      expect(answer.claims.exp).toBe(expAfter(TTL_SECONDS) + 60);
    });

    test('a new token as soon as anything in it changes', async () => {
      const first = await tokens.issue(state);
      const claims = await tokens.open(first.token, ORIGIN);
      for (const change of [
        { deliveredFingerprint: 'new-fp' },
        { attributes: { name: 'Zoë', plan: 'gold' } },
        { signIn },
        { anchor: 'anchor-1' },
      ]) {
        const answer = await tokens.refreshed(claims, { ...stateOf(claims), ...change });
        expect(answer.token).not.toBe(first.token);
        await expect(tokens.open(answer.token, ORIGIN)).resolves.toMatchObject(change);
      }
    });

    test('claims not opened from a token (built by the service itself) are always sealed', async () => {
      const { claims } = await tokens.issue(state);
      const answer = await tokens.refreshed(claims, stateOf(claims));
      await expect(tokens.open(answer.token, ORIGIN)).resolves.toMatchObject(state);
    });

    test('a short lifetime answers back for a tenth of it at most', async () => {
      const short = new SessionTokens(sealer, 60, () => clock, 'routing-secret');
      const first = await short.issue(state);
      clock += 6_000;
      const claims = await short.open(first.token, ORIGIN);
      expect((await short.refreshed(claims, stateOf(claims))).token).not.toBe(first.token);
    });
  });

  describe('session tokens', () => {
    test('open gives back every claim issued, with a fresh expiry a whole TTL away', async () => {
      const issued = await tokens.issue({ ...state, signIn });
      const exp = expAfter(TTL_SECONDS);
      expect(issued.claims).toStrictEqual({ ...state, signIn, issuedAt: START, exp });
      expect(issued.expiresAt).toBe(new Date(exp * 1000).toISOString());
      await expect(tokens.open(issued.token, ORIGIN)).resolves.toStrictEqual({
        ...state,
        signIn,
        issuedAt: START,
        exp,
      });
      expect(tokens.lifetimeMs).toBe(TTL_SECONDS * 1000);
    });

    test('a sign-in without a refresh token comes back without one, and no sign-in comes back as none', async () => {
      const implicit = await tokens.issue({ ...state, signIn: { jwt: 'id-token-jwt' } });
      await expect(tokens.open(implicit.token, ORIGIN)).resolves.toStrictEqual({
        ...state,
        signIn: { jwt: 'id-token-jwt' },
        issuedAt: START,
        exp: expAfter(TTL_SECONDS),
      });
      const anonymous = await tokens.issue(state);
      await expect(tokens.open(anonymous.token, ORIGIN)).resolves.toStrictEqual({
        ...state,
        issuedAt: START,
        exp: expAfter(TTL_SECONDS),
      });
    });

    test('lives until its expiry and not a millisecond longer', async () => {
      const { token } = await tokens.issue(state);
      clock = expAfter(TTL_SECONDS) * 1000 - 1;
      await expect(tokens.open(token, ORIGIN)).resolves.toMatchObject({ guestToken: 'guest-token' });
      clock += 1;
      await expect(tokens.open(token, ORIGIN)).rejects.toEqual(refusal(/expired/));
    });

    test('is accepted from its own origin or from a request without one, and refused from another website', async () => {
      const { token } = await tokens.issue(state);
      await expect(tokens.open(token, undefined)).resolves.toMatchObject({ origin: ORIGIN });
      const error = await tokens.open(token, 'https://evil.example.com').catch((e: unknown) => e);
      expect(error).toEqual(refusal(/another website/));
      expect((error as AppError).logDetail).toEqual({ origin: 'https://evil.example.com', tokenOrigin: ORIGIN });
    });

    test('a token sealed before routing keys existed gets the key derived from its guest token', async () => {
      const older = {
        typ: 'session',
        gt: 'guest-token',
        o: ORIGIN,
        attrs: {},
        locked: [],
        sent: '',
        mcb: 2048,
        exp: expAfter(60),
      };
      await expect(tokens.open(sealer.sealSync(older), ORIGIN)).resolves.toMatchObject({
        routingKey: tokens.routingKeyFor('guest-token'),
      });
    });

    test('a sealed payload that is not a session token is refused', async () => {
      for (const payload of [
        { typ: 'session', gt: 'guest-token' },
        { typ: 'other', gt: 'g', o: ORIGIN, exp: expAfter(60) },
        'session',
      ]) {
        await expect(tokens.open(sealer.sealSync(payload as object), ORIGIN)).rejects.toEqual(
          refusal(/not valid here/),
        );
      }
    });
  });

  describe('routing keys', () => {
    test('stable for a guest token, different for another, and plain enough for any proxy', () => {
      const key = tokens.routingKeyFor('guest-token');
      expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(key).toMatch(ROUTING_KEY);
      expect(tokens.routingKeyFor('guest-token')).toBe(key);
      expect(tokens.routingKeyFor('another-guest-token')).not.toBe(key);
    });

    test('every instance with the same secret derives the same key; another secret, another key', () => {
      const sameSecret = new SessionTokens(sealer, TTL_SECONDS, () => clock, 'routing-secret');
      const otherSecret = new SessionTokens(sealer, TTL_SECONDS, () => clock, 'another-routing-secret');
      expect(sameSecret.routingKeyFor('guest-token')).toBe(tokens.routingKeyFor('guest-token'));
      expect(otherSecret.routingKeyFor('guest-token')).not.toBe(tokens.routingKeyFor('guest-token'));
    });

    test('a proposed key is 16 to 64 plain characters, nothing else', () => {
      for (const ok of ['a'.repeat(16), 'A-z_09'.padEnd(64, 'x')]) expect(ROUTING_KEY.test(ok)).toBe(true);
      for (const bad of [
        'a'.repeat(15),
        'a'.repeat(65),
        `${'a'.repeat(16)}.`,
        `/${'a'.repeat(16)}`,
        `${'a'.repeat(16)}\n`,
      ])
        expect(ROUTING_KEY.test(bad)).toBe(false);
    });
  });

  describe('stream tickets', () => {
    test('carry the session and sign-in for one minute, each with its own id', async () => {
      const first = await tokens.issueTicket({ guestToken: 'guest-token', origin: ORIGIN, signIn });
      const second = await tokens.issueTicket({ guestToken: 'guest-token', origin: ORIGIN });
      const exp = expAfter(60);
      expect(first.expiresAt).toBe(new Date(exp * 1000).toISOString());
      const opened = await tokens.openTicket(first.ticket, ORIGIN);
      expect(opened).toStrictEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        guestToken: 'guest-token',
        origin: ORIGIN,
        signIn,
        issuedAt: expect.any(Number),
        exp,
      });
      const other = await tokens.openTicket(second.ticket, undefined);
      expect(other).toStrictEqual({
        id: expect.any(String),
        guestToken: 'guest-token',
        origin: ORIGIN,
        issuedAt: expect.any(Number),
        exp,
      });
      expect(other.id).not.toBe(opened.id);
      clock = exp * 1000;
      await expect(tokens.openTicket(first.ticket, ORIGIN)).rejects.toEqual(refusal(/expired/));
    });

    test('a ticket is not a session token, nor a session token a ticket', async () => {
      const { ticket } = await tokens.issueTicket(state);
      const { token } = await tokens.issue(state);
      await expect(tokens.open(ticket, ORIGIN)).rejects.toMatchObject({ code: 'unauthorized' });
      await expect(tokens.openTicket(token, ORIGIN)).rejects.toMatchObject({ code: 'unauthorized' });
      await expect(tokens.openTicket(ticket, 'https://evil.example.com')).rejects.toMatchObject({
        code: 'unauthorized',
      });
    });
  });

  describe('attachment links', () => {
    test('name one attachment of one session, with its sign-in, for as long as a session token', () => {
      const link = tokens.attachmentLink({ guestToken: 'guest-token', origin: ORIGIN, signIn }, 'attachment-1');
      expect(tokens.openAttachmentLink(link, 'attachment-1', ORIGIN)).toStrictEqual({
        guestToken: 'guest-token',
        signIn,
      });
      expect(tokens.openAttachmentLink(link, 'attachment-1', undefined)).toStrictEqual({
        guestToken: 'guest-token',
        signIn,
      });
      expect(() => tokens.openAttachmentLink(link, 'attachment-2', ORIGIN)).toThrow(
        expect.objectContaining({ code: 'unauthorized', message: expect.stringMatching(/another attachment/) }),
      );
      expect(() => tokens.openAttachmentLink(link, 'attachment-1', 'https://evil.example.com')).toThrow(AppError);
      const anonymous = tokens.attachmentLink({ guestToken: 'guest-token', origin: ORIGIN }, 'attachment-1');
      expect(tokens.openAttachmentLink(anonymous, 'attachment-1', ORIGIN)).toStrictEqual({ guestToken: 'guest-token' });
      clock = expAfter(TTL_SECONDS) * 1000 - 1;
      expect(tokens.openAttachmentLink(link, 'attachment-1', ORIGIN)).toMatchObject({ guestToken: 'guest-token' });
      clock += 1;
      expect(() => tokens.openAttachmentLink(link, 'attachment-1', ORIGIN)).toThrow(
        expect.objectContaining({ message: expect.stringMatching(/expired/) }),
      );
    });

    test('a link is not a session token, nor a session token or a ticket a link', async () => {
      const link = tokens.attachmentLink(state, 'attachment-1');
      const { token } = await tokens.issue(state);
      const { ticket } = await tokens.issueTicket(state);
      await expect(tokens.open(link, ORIGIN)).rejects.toMatchObject({ code: 'unauthorized' });
      for (const other of [token, ticket])
        expect(() => tokens.openAttachmentLink(other, 'attachment-1', ORIGIN)).toThrow(AppError);
    });
  });

  describe('delivered attributes', () => {
    test('the fingerprint is empty for no attributes, and the same in any key order', () => {
      expect(fingerprint({})).toBe('');
      expect(fingerprint({ b: '2', a: '1' })).toBe(fingerprint({ a: '1', b: '2' }));
      expect(fingerprint({ a: '1' })).toMatch(/^[A-Za-z0-9_-]{22}$/);
    });

    test('the fingerprint changes with any key or value', () => {
      const base = fingerprint({ a: '1', b: '2' });
      for (const other of [
        { a: '1', b: '3' },
        { a: '1', c: '2' },
        { a: '1' },
        { a: '12' },
        { a: '2', b: '1' },
      ] as Record<string, string>[])
        expect(fingerprint(other)).not.toBe(base);
    });

    test('a sign-in sealed for its retry opens to its credentials for that session and grant only, and not once a token issued with it would have expired', async () => {
      const sealed = await tokens.sealSignIn('guest-token', 'grant-digest', signIn);
      expect(sealed).not.toContain(signIn.jwt);
      await expect(tokens.openSignIn(sealed, 'guest-token', 'grant-digest')).resolves.toEqual(signIn);
      await expect(tokens.openSignIn(sealed, 'another-guest', 'grant-digest')).resolves.toBeUndefined();
      await expect(tokens.openSignIn(sealed, 'guest-token', 'another-grant')).resolves.toBeUndefined();
      // Neither a session token nor garbage opens as one.
      await expect(
        tokens.openSignIn((await tokens.issue(state)).token, 'guest-token', 'grant-digest'),
      ).resolves.toBeUndefined();
      await expect(tokens.openSignIn('not sealed', 'guest-token', 'grant-digest')).resolves.toBeUndefined();
      clock += TTL_SECONDS * 1000;
      await expect(tokens.openSignIn(sealed, 'guest-token', 'grant-digest')).resolves.toBeUndefined();
    });

    test('a sign-in sealed for its retry opens until the very millisecond a token issued with it expires', async () => {
      const sealed = await tokens.sealSignIn('guest-token', 'grant-digest', signIn);
      const exp = Math.floor(clock / 1000) + TTL_SECONDS;
      clock = exp * 1000 - 1;
      await expect(tokens.openSignIn(sealed, 'guest-token', 'grant-digest')).resolves.toEqual(signIn);
      clock = exp * 1000;
      await expect(tokens.openSignIn(sealed, 'guest-token', 'grant-digest')).resolves.toBeUndefined();
    });

    test('attributes are undelivered until their current form has reached Genesys', () => {
      const attributes = { name: 'Zoë' };
      expect(undeliveredAttributes({ ...state, attributes: {}, deliveredFingerprint: '' })).toBeUndefined();
      // Every attribute removed since the last delivery: nothing to send with the next message.
      expect(
        undeliveredAttributes({ ...state, attributes: {}, deliveredFingerprint: fingerprint(attributes) }),
      ).toBeUndefined();
      expect(undeliveredAttributes({ ...state, attributes, deliveredFingerprint: '' })).toBe(attributes);
      expect(
        undeliveredAttributes({ ...state, attributes, deliveredFingerprint: fingerprint(attributes) }),
      ).toBeUndefined();
      expect(undeliveredAttributes({ ...state, attributes, deliveredFingerprint: fingerprint({ name: 'Zoe' }) })).toBe(
        attributes,
      );
    });
  });
});

describe('what they carry when something is taken away or added', () => {
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
});

describe('tokens sealed lately, opened from memory', () => {
  const keys = deriveKeys(['session-token-secret-0123456789abcdefghij']);
  const ORIGIN = 'https://shop.example.com';
  const TTL_SECONDS = 3600;

  class CountingSealer extends Sealer {
    unsealed = 0;
    override unseal(token: string): Promise<unknown> {
      this.unsealed += 1;
      return super.unseal(token);
    }
  }

  const state = (): SessionState => ({
    guestToken: 'guest-token-1',
    origin: ORIGIN,
    attributes: { name: 'Zoë', plan: 'gold' },
    locked: ['plan'],
    deliveredFingerprint: '',
    maxCustomDataBytes: 2048,
    routingKey: 'routing-key-0123456789',
    signIn: { jwt: 'customer-jwt', refreshToken: 'customer-refresh' },
  });

  function tokensAt(clock: { now: number }, sealer = new CountingSealer(keys)) {
    return { sealer, tokens: new SessionTokens(sealer, TTL_SECONDS, () => clock.now, 'routing-secret') };
  }

  test('a token opens to the same claims on the instance that sealed it and on one that never saw it', async () => {
    const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
    const here = tokensAt(clock);
    const elsewhere = tokensAt(clock);
    const { token, claims } = await here.tokens.issue(state());
    const remembered = await here.tokens.open(token, ORIGIN);
    expect(here.sealer.unsealed).toBe(0);
    const decrypted = await elsewhere.tokens.open(token, ORIGIN);
    expect(elsewhere.sealer.unsealed).toBe(1);
    expect(remembered).toEqual(decrypted);
    expect(remembered).toEqual(claims);
  });

  test('a remembered token is still refused once expired, and from another website', async () => {
    const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
    const { tokens } = tokensAt(clock);
    const { token } = await tokens.issue(state());
    await expect(tokens.open(token, 'https://elsewhere.example.com')).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(tokens.open(token, undefined)).resolves.toMatchObject({ guestToken: 'guest-token-1' });
    clock.now += TTL_SECONDS * 1000;
    await expect(tokens.open(token, ORIGIN)).rejects.toMatchObject({ code: 'unauthorized' });
  });

  test('what a remembered token opens to stays what was sealed, whatever happens to the objects on either side', async () => {
    const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
    const { tokens } = tokensAt(clock);
    const issuedState = state();
    const { token } = await tokens.issue(issuedState);
    issuedState.attributes.name = 'changed after sealing';
    issuedState.locked.push('name');
    const opened = await tokens.open(token, ORIGIN);
    expect(() => {
      opened.attributes.plan = 'platinum';
    }).toThrow(TypeError);
    expect(await tokens.open(token, ORIGIN)).toMatchObject({
      attributes: { name: 'Zoë', plan: 'gold' },
      locked: ['plan'],
    });
  });

  test(`only the last ${REMEMBERED_TOKENS} tokens are remembered; an older one is decrypted and opens the same`, async () => {
    const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
    const { tokens, sealer } = tokensAt(clock);
    const first = await tokens.issue(state());
    for (let i = 0; i < REMEMBERED_TOKENS; i++) await tokens.issue({ ...state(), guestToken: `guest-token-${i + 2}` });
    expect(await tokens.open(first.token, ORIGIN)).toEqual(first.claims);
    expect(sealer.unsealed).toBe(1);
  });

  test(`at most ${REMEMBERED_TOKEN_CHARS} characters of tokens are remembered, however large each is; an older one is decrypted and opens the same`, async () => {
    const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
    const { tokens, sealer } = tokensAt(clock);
    // Within a 2,048-byte attribute budget, yet JSON writes each control character as six: a 17 KB token.
    const large = (i: number): SessionState => ({
      ...state(),
      guestToken: `guest-token-${i}`,
      attributes: { note: '\u0001'.repeat(2000) },
    });
    const first = await tokens.issue(large(1));
    const fitting = Math.floor(REMEMBERED_TOKEN_CHARS / first.token.length);
    expect(fitting).toBeLessThan(REMEMBERED_TOKENS / 2);
    let last = first;
    for (let i = 0; i < fitting; i++) last = await tokens.issue(large(i + 2));
    expect(await tokens.open(last.token, ORIGIN)).toEqual(last.claims);
    expect(sealer.unsealed).toBe(0);
    expect(await tokens.open(first.token, ORIGIN)).toEqual(first.claims);
    expect(sealer.unsealed).toBe(1);
  });
});
