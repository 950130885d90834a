import { AppError } from '../../../../src/domain/errors';
import { GuestApiError, guestErrorFromFrame } from '../../../../src/genesys/guest/protocol/errors';
import type { Envelope, SessionResponse } from '../../../../src/genesys/guest/protocol/frames';
import { GuestSignIn } from '../../../../src/genesys/guest/rest/guestSignIn';
import type { GenesysSignIn } from '../../../../src/genesys/guest/rest/webDeploymentTokens';
import { inboundHarness } from '../../../support/inbound';
import { RESPONSE_KT } from '../../../support/sdkFixtures';

/** Authenticated messaging on the Genesys side: configuring with a sign-in, and what Genesys says about it. */

const CONFIGURED = { connected: true, newSession: false } as SessionResponse;
const unauthorized = () =>
  guestErrorFromFrame({ type: 'response', class: 'string', code: 401 } as Envelope, 'User is unauthorized');

describe('GuestSignIn.configure', () => {
  test('anonymous: configures without a JWT, and a 401 is not its business', async () => {
    const sends: (string | undefined)[] = [];
    const signIn = new GuestSignIn(() => Promise.reject(new Error('never renewed')));
    await expect(
      signIn.configure(async (jwt) => (sends.push(jwt), Promise.reject(unauthorized()))),
    ).rejects.toMatchObject({ failure: 'unauthorized' });
    expect(sends).toEqual([undefined]);
  });

  test('a refused JWT is renewed and the session configured again with the new one', async () => {
    const renew = jest.fn(async (s: GenesysSignIn) => ({ ...s, jwt: `${s.jwt}+` }));
    const signIn = new GuestSignIn(renew);
    signIn.adopt({ jwt: 'j', refreshToken: 'r' });
    const sends: (string | undefined)[] = [];
    const info = await signIn.configure(async (jwt) => {
      sends.push(jwt);
      if (jwt === 'j') throw unauthorized();
      return CONFIGURED;
    });
    expect(info).toBe(CONFIGURED);
    expect(sends).toEqual(['j', 'j+']);
    expect(signIn.value).toEqual({ jwt: 'j+', refreshToken: 'r' });
  });

  test('says whether the last configure Genesys accepted was signed in; a refused one changes nothing', async () => {
    const signIn = new GuestSignIn();
    expect(signIn.configuredSignedIn).toBe(false);
    signIn.adopt({ jwt: 'j', refreshToken: 'r' });
    await signIn.configure(async () => CONFIGURED);
    expect(signIn.configuredSignedIn).toBe(true);
    const anonymous = new GuestSignIn();
    await anonymous.configure(async () => CONFIGURED);
    expect(anonymous.configuredSignedIn).toBe(false);
    anonymous.replace({ jwt: 'k', refreshToken: 'r' });
    await expect(anonymous.configure(() => Promise.reject(new GuestApiError('bad_request', 'no')))).rejects.toThrow();
    expect(anonymous.configuredSignedIn).toBe(false);
  });

  test('at most three renewals, as the official SDK; then the customer must sign in again', async () => {
    const renew = jest.fn(async (s: GenesysSignIn) => ({ ...s, jwt: `${s.jwt}+` }));
    const signIn = new GuestSignIn(renew);
    signIn.adopt({ jwt: 'j', refreshToken: 'r' });
    const sends: (string | undefined)[] = [];
    const failure = signIn.configure(async (jwt) => {
      sends.push(jwt);
      throw unauthorized();
    });
    await expect(failure).rejects.toMatchObject({
      failure: 'reauthentication_required',
      code: 'reauthentication_required',
      fatalForSession: true,
    });
    expect(renew).toHaveBeenCalledTimes(3);
    expect(sends).toEqual(['j', 'j+', 'j++', 'j+++']);
  });

  test('a refused refresh token ends the sign-in; an unreachable Genesys is worth a later retry', async () => {
    const over = new GuestSignIn(() => Promise.reject(new AppError('reauthentication_required', 'refused')));
    over.adopt({ jwt: 'j', refreshToken: 'r' });
    await expect(over.configure(() => Promise.reject(unauthorized()))).rejects.toMatchObject({
      failure: 'reauthentication_required',
      fatalForSession: true,
    });

    const down = new GuestSignIn(() => Promise.reject(new AppError('upstream_unavailable', 'down')));
    down.adopt({ jwt: 'j', refreshToken: 'r' });
    await expect(down.configure(() => Promise.reject(unauthorized()))).rejects.toMatchObject({
      failure: 'unavailable',
      fatalForSession: false,
    });
  });

  test('configures that fail together share one renewal', async () => {
    let release!: (s: GenesysSignIn) => void;
    const renew = jest.fn(() => new Promise<GenesysSignIn>((resolve) => (release = resolve)));
    const signIn = new GuestSignIn(renew);
    signIn.adopt({ jwt: 'j', refreshToken: 'r' });
    const send = async (jwt: string | undefined) => {
      if (jwt === 'j') throw unauthorized();
      return CONFIGURED;
    };
    const both = Promise.all([signIn.configure(send), signIn.configure(send)]);
    await new Promise((r) => setImmediate(r));
    release({ jwt: 'k', refreshToken: 'r' });
    await both;
    expect(renew).toHaveBeenCalledTimes(1);
  });

  test('only a refused JWT (401) is renewed: any other error of a signed-in configure but a 403 is passed on as it is', async () => {
    const renew = jest.fn(async (s: GenesysSignIn) => ({ ...s, jwt: `${s.jwt}+` }));
    const signIn = new GuestSignIn(renew);
    signIn.adopt({ jwt: 'j', refreshToken: 'r' });
    const expired = guestErrorFromFrame(
      { type: 'response', class: 'string', code: 4006 } as Envelope,
      'Session expired',
    );
    const sends: (string | undefined)[] = [];
    await expect(signIn.configure(async (jwt) => (sends.push(jwt), Promise.reject(expired)))).rejects.toBe(expired);
    expect(sends).toEqual(['j']);
    expect(renew).not.toHaveBeenCalled();
  });

  test('after three renewals the customer is told to sign in again, and the log keeps the last refusal as the cause', async () => {
    const signIn = new GuestSignIn(async (s) => ({ ...s, jwt: `${s.jwt}+` }));
    signIn.adopt({ jwt: 'j', refreshToken: 'r' });
    const refusals: GuestApiError[] = [];
    const error = await signIn
      .configure(async () => {
        refusals.push(unauthorized());
        throw refusals.at(-1);
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'reauthentication_required',
      message: expect.stringMatching(/sign in again/i),
    });
    expect((error as Error).cause).toBe(refusals.at(-1));
  });

  test('a sign-in with nothing to renew it is over at its first refused JWT: sign in again', async () => {
    const signIn = new GuestSignIn();
    signIn.adopt({ jwt: 'j', refreshToken: 'r' });
    const sends: (string | undefined)[] = [];
    await expect(
      signIn.configure(async (jwt) => (sends.push(jwt), Promise.reject(unauthorized()))),
    ).rejects.toMatchObject({
      failure: 'reauthentication_required',
      code: 'reauthentication_required',
      message: expect.stringMatching(/sign in again/i),
    });
    expect(sends).toEqual(['j']);
  });

  test('why a renewal failed stays the cause: a refused refresh token (sign in again), an unreachable Genesys (retry)', async () => {
    const refusedRefresh = new AppError(
      'reauthentication_required',
      'The sign-in has run out or was revoked; sign in again.',
    );
    const over = new GuestSignIn(() => Promise.reject(refusedRefresh));
    over.adopt({ jwt: 'j', refreshToken: 'r' });
    const ended = await over.configure(() => Promise.reject(unauthorized())).catch((e: unknown) => e);
    expect(ended).toMatchObject({
      failure: 'reauthentication_required',
      message: expect.stringMatching(/sign in again/i),
    });
    expect((ended as Error).cause).toBe(refusedRefresh);

    const unreachable = new AppError(
      'upstream_unavailable',
      'Genesys did not answer the sign-in request; please retry.',
      { status: 502 },
    );
    const down = new GuestSignIn(() => Promise.reject(unreachable));
    down.adopt({ jwt: 'j', refreshToken: 'r' });
    const failed = await down.configure(() => Promise.reject(unauthorized())).catch((e: unknown) => e);
    expect(failed).toMatchObject({ failure: 'unavailable', message: expect.stringMatching(/retry/i) });
    expect((failed as Error).cause).toBe(unreachable);
  });

  test('a configure refused after another one already renewed the JWT configures again with that JWT, without renewing it again', async () => {
    const renew = jest.fn(async (s: GenesysSignIn) => ({ ...s, jwt: `${s.jwt}+` }));
    const signIn = new GuestSignIn(renew);
    signIn.adopt({ jwt: 'j', refreshToken: 'r' });
    let refuseLate!: () => void;
    const late = new Promise<void>((resolve) => (refuseLate = resolve));
    const sends: string[] = [];
    // The first configure is refused at once and renews; the second one's refusal of the same JWT comes after that.
    const first = signIn.configure(async (jwt) => {
      sends.push(`first ${jwt}`);
      if (jwt === 'j') throw unauthorized();
      return CONFIGURED;
    });
    const second = signIn.configure(async (jwt) => {
      sends.push(`second ${jwt}`);
      if (jwt === 'j') {
        await late;
        throw unauthorized();
      }
      return CONFIGURED;
    });
    await first;
    refuseLate();
    await second;
    expect(renew).toHaveBeenCalledTimes(1);
    expect(sends).toEqual(['first j', 'second j', 'first j+', 'second j+']);
    expect(signIn.value).toEqual({ jwt: 'j+', refreshToken: 'r' });
  });

  test('a sign-in replaced while its old JWT was being renewed stays: the renewed old one does not overwrite it', async () => {
    let release!: (s: GenesysSignIn) => void;
    const signIn = new GuestSignIn(() => new Promise<GenesysSignIn>((resolve) => (release = resolve)));
    signIn.adopt({ jwt: 'j', refreshToken: 'r' });
    const sends: (string | undefined)[] = [];
    const configured = signIn.configure(async (jwt) => {
      sends.push(jwt);
      if (jwt === 'j') throw unauthorized();
      return CONFIGURED;
    });
    await new Promise((r) => setImmediate(r));
    signIn.replace({ jwt: 'signed in again', refreshToken: 'r2' });
    release({ jwt: 'j+', refreshToken: 'r' });
    await configured;
    expect(signIn.value).toEqual({ jwt: 'signed in again', refreshToken: 'r2' });
    expect(sends).toEqual(['j', 'signed in again']);
  });

  test('any other 403 to a signed-in configure is Genesys declining the sign-in: authentication_disabled, not fatal', async () => {
    const renew = jest.fn(async (s: GenesysSignIn) => s);
    const signIn = new GuestSignIn(renew);
    signIn.adopt({ jwt: 'j', refreshToken: 'r' });
    const declined = guestErrorFromFrame(
      { type: 'response', class: 'string', code: 403 } as Envelope,
      'Authenticated sessions are not enabled for this deployment',
    );
    const error = await signIn.configure(async () => Promise.reject(declined)).catch((e: unknown) => e);
    expect(error).toMatchObject({
      failure: 'sign_in_refused',
      code: 'authentication_disabled',
      status: 422,
      fatalForSession: false,
      message:
        'Genesys refused the sign-in: this Messenger deployment does not take one here (sign-in off, or no ' +
        'signing in mid-chat); the chat goes on as it was.',
    });
    // What Genesys said stays the cause, for the log.
    expect((error as Error).cause).toBe(declined);
    expect(renew).not.toHaveBeenCalled();
    // Anonymous, the same 403 is no sign-in's: a feature of the deployment is off.
    await expect(new GuestSignIn().configure(async () => Promise.reject(declined))).rejects.toMatchObject({
      failure: 'forbidden',
      code: 'upstream_unavailable',
    });
  });

  test('a step-up Genesys declines leaves the session anonymous; one it takes, or that fails otherwise, stays', async () => {
    const declined = guestErrorFromFrame({ type: 'response', class: 'string', code: 403 } as Envelope, 'refused');
    const signIn = new GuestSignIn();
    const sends: (string | undefined)[] = [];
    await expect(
      signIn.stepUp({ jwt: 'declined' }, () =>
        signIn.configure(async (jwt) => (sends.push(jwt), Promise.reject(declined))),
      ),
    ).rejects.toMatchObject({ code: 'authentication_disabled' });
    expect(sends).toEqual(['declined']);
    expect(signIn.value).toBeUndefined();
    await signIn.configure(async (jwt) => (sends.push(jwt), CONFIGURED));
    expect(sends).toEqual(['declined', undefined]);

    const timeout = new GuestApiError('timeout', 'no answer');
    await expect(signIn.stepUp({ jwt: 'unanswered' }, () => Promise.reject(timeout))).rejects.toBe(timeout);
    expect(signIn.value).toEqual({ jwt: 'unanswered' });
    await expect(signIn.stepUp({ jwt: 'taken' }, async () => CONFIGURED)).resolves.toBe(CONFIGURED);
    expect(signIn.value).toEqual({ jwt: 'taken' });
  });

  test('an anonymous configure refused with 4017 goes again signed in once credentials came meanwhile; without them it is refused', async () => {
    const downgrade = () => guestErrorFromFrame({ type: 'response', class: 'string', code: 4017 } as Envelope, '');
    const logger = { info: jest.fn() };
    const signIn = new GuestSignIn(undefined, logger);
    const sends: (string | undefined)[] = [];
    const info = await signIn.configure(async (jwt) => {
      sends.push(jwt);
      if (jwt !== undefined) return CONFIGURED;
      // A signed-in request brings its credentials while the anonymous configure is on its way.
      signIn.adopt({ jwt: 'j', refreshToken: 'r' });
      throw downgrade();
    });
    expect(info).toBe(CONFIGURED);
    expect(sends).toEqual([undefined, 'j']);
    expect(signIn.configuredSignedIn).toBe(true);
    expect(logger.info).toHaveBeenCalledTimes(1);
    expect(logger.info.mock.calls[0]![0]).toBe(
      'Genesys refused an anonymous configure of this conversation, signed in meanwhile (4017); ' +
        'configuring it again with the sign-in a request brought',
    );

    const anonymous = new GuestSignIn(undefined, logger);
    const refused: (string | undefined)[] = [];
    await expect(
      anonymous.configure(async (jwt) => (refused.push(jwt), Promise.reject(downgrade()))),
    ).rejects.toMatchObject({ failure: 'cannot_downgrade' });
    expect(refused).toEqual([undefined]);
    expect(logger.info).toHaveBeenCalledTimes(1);
  });

  test('a step-up Genesys declines after another one was taken leaves the one taken', async () => {
    let declineFirst!: (error: unknown) => void;
    const signIn = new GuestSignIn();
    const first = signIn.stepUp({ jwt: 'first' }, () => new Promise((_, reject) => (declineFirst = reject)));
    await signIn.stepUp({ jwt: 'second' }, async () => CONFIGURED);
    declineFirst(new GuestApiError('sign_in_refused', 'declined'));
    await expect(first).rejects.toMatchObject({ failure: 'sign_in_refused' });
    expect(signIn.value).toEqual({ jwt: 'second' });
  });

  const downgrade = () => guestErrorFromFrame({ type: 'response', class: 'string', code: 4017 } as Envelope, '');

  test('a configure sent again signed in after a 4017 still has its three renewals of a refused JWT', async () => {
    const renew = jest.fn(async (s: GenesysSignIn) => ({ ...s, jwt: `${s.jwt}+` }));
    const signIn = new GuestSignIn(renew);
    const sends: (string | undefined)[] = [];
    const failure = signIn.configure(async (jwt) => {
      sends.push(jwt);
      if (jwt === undefined) {
        signIn.adopt({ jwt: 'j', refreshToken: 'r' });
        throw downgrade();
      }
      throw unauthorized();
    });
    await expect(failure).rejects.toMatchObject({ failure: 'reauthentication_required' });
    expect(renew).toHaveBeenCalledTimes(3);
    expect(sends).toEqual([undefined, 'j', 'j+', 'j++', 'j+++']);
  });

  test('an anonymous configure goes again signed in after a 4017 once only: a later 4017 is passed on', async () => {
    const signIn = new GuestSignIn();
    const sends: (string | undefined)[] = [];
    let decline!: (error: unknown) => void;
    let stepped: Promise<unknown> | undefined;
    const failure = signIn.configure(async (jwt) => {
      sends.push(jwt);
      if (sends.length === 1) {
        // A step-up brings credentials while the anonymous configure is on its way…
        stepped = signIn.stepUp({ jwt: 't' }, () => new Promise((_, reject) => (decline = reject))).catch((e) => e);
        throw downgrade();
      }
      if (sends.length === 2) {
        // …Genesys declines it, and the session is anonymous again…
        decline(new GuestApiError('sign_in_refused', 'no'));
        await stepped;
        throw unauthorized();
      }
      // …then new credentials come, and Genesys refuses the anonymous configure again.
      signIn.adopt({ jwt: 'u' });
      throw downgrade();
    });
    await expect(failure).rejects.toMatchObject({ failure: 'cannot_downgrade' });
    expect(sends).toEqual([undefined, 't', undefined]);
  });

  test('an anonymous configure refused otherwise than with 4017 is not sent again, though credentials came meanwhile', async () => {
    const logger = { info: jest.fn() };
    const signIn = new GuestSignIn(undefined, logger);
    const expired = new GuestApiError('session_expired', 'Session expired');
    const sends: (string | undefined)[] = [];
    const failure = signIn.configure(async (jwt) => {
      sends.push(jwt);
      signIn.adopt({ jwt: 'j', refreshToken: 'r' });
      throw expired;
    });
    await expect(failure).rejects.toBe(expired);
    expect(sends).toEqual([undefined]);
    expect(logger.info).not.toHaveBeenCalled();
    expect(signIn.configuredSignedIn).toBe(false);
  });

  test('a session keeps credentials it renewed over the older ones a token brings', () => {
    const signIn = new GuestSignIn();
    signIn.adopt({ jwt: 'newer' });
    signIn.adopt({ jwt: 'older' });
    expect(signIn.value).toEqual({ jwt: 'newer' });
    signIn.replace({ jwt: 'signed in again' });
    expect(signIn.value).toEqual({ jwt: 'signed in again' });
  });
});

describe('what Genesys says about a sign-in', () => {
  const error = (code: number, text: string) =>
    guestErrorFromFrame({ type: 'response', class: 'string', code } as Envelope, text);

  test.each([
    ['Session authentication failed: token expired', 'reauthentication_required'],
    ['session authentication failed', 'reauthentication_required'],
    ['Try authenticate again', 'reauthentication_required'],
    ['Try to authenticate again please', 'reauthentication_required'],
    ['HTTP authorization error', 'forbidden'],
  ])('403 %j is %s', (text, failure) => {
    expect(error(403, text).failure).toBe(failure);
  });

  test('401 asks for a renewal, not the end; 4017 refuses an anonymous configure of a signed-in session', () => {
    expect(error(401, 'User is unauthorized')).toMatchObject({
      failure: 'unauthorized',
      fatalForSession: false,
      code: 'reauthentication_required',
      status: 401,
    });
    // Not the end of the session: a request with the signed-in token configures it with its credentials.
    expect(error(4017, '')).toMatchObject({
      failure: 'cannot_downgrade',
      fatalForSession: false,
      code: 'cannot_downgrade',
      status: 409,
    });
  });

  /** Configured as the signed-in customer: a signedIn close means the conversation went on elsewhere. */
  const target = () => inboundHarness({ signedIn: true });

  test('LogoutEvent: the customer signed out, the session is over', () => {
    const t = target();
    t.feed(RESPONSE_KT.logoutEvent);
    expect(t.session.ended.map((e) => [e.failure, e.endState, e.fatalForSession])).toEqual([
      ['signed_out', 'signed_out', true],
    ]);
    expect(t.session.heard('closing')).toBe(1);
  });

  test('ConnectionClosedEvent signedIn: the conversation went on signed in elsewhere; another reason only closes', () => {
    const t = target();
    t.feed(RESPONSE_KT.connectionClosedEventReasonSignIn);
    expect(t.session.ended.map((e) => e.endState)).toEqual(['signed_in_elsewhere']);
    t.feed('{"type":"message","class":"ConnectionClosedEvent","code":200,"body":{}}');
    expect(t.session.ended).toHaveLength(1);
    expect(t.session.events.at(-1)).toMatchObject({ type: 'session', state: 'closed' });
  });

  test('an Inbound Presence SignIn tells the stream the conversation is signed in; an Outbound one is only presence', () => {
    const t = target();
    const signIn = (direction: string) =>
      JSON.stringify({
        type: 'message',
        class: 'StructuredMessage',
        code: 200,
        body: {
          id: `m-${direction}`,
          direction,
          type: 'Event',
          channel: { time: '2026-11-22T10:00:00Z' },
          events: [{ eventType: 'Presence', presence: { type: 'SignIn' } }],
        },
      });
    t.feed(signIn('Inbound'));
    expect(t.session.events).toEqual([{ type: 'session', state: 'signed_in' }]);
    t.feed(signIn('Outbound'));
    expect(t.session.events.at(-1)).toEqual({
      type: 'presence',
      presence: 'signin',
      time: '2026-11-22T10:00:00Z',
      genesysId: 'm-Outbound',
    });
  });
});
