import { AppError } from '../../../src/domain/errors';
import type { GenesysSignIn, WebDeploymentTokens } from '../../../src/genesys/guest/rest/webDeploymentTokens';
import { DEFAULT_MESSENGER_FEATURES, type MessengerFeatures } from '../../../src/genesys/platform/messengerConfig';
import { CustomerSignIn } from '../../../src/session/signIn/customerSignIn';
import { captureLogger } from '../../support/app';

/**
 * Signing out (CustomerSignIn.revoke) over stand-in web-deployment tokens: which JWTs are revoked,
 * when a sign-in is renewed first, and what is logged. The API suites (test/api/signIn.test.ts)
 * reach the first revoke only; the renewal branches are stated here.
 */
function signOut(options: { known: string[]; refresh: (signIn: GenesysSignIn) => Promise<GenesysSignIn> }) {
  const revoked: string[] = [];
  const refreshed: GenesysSignIn[] = [];
  const tokens = {
    async revoke(jwt: string) {
      revoked.push(jwt);
      return options.known.includes(jwt);
    },
    async refresh(signIn: GenesysSignIn) {
      refreshed.push(signIn);
      return options.refresh(signIn);
    },
  } as unknown as WebDeploymentTokens;
  const log = captureLogger('info');
  const signIn = new CustomerSignIn({
    tokens,
    redirectUriAllowed: () => true,
    messengerFeatures: { get: async () => DEFAULT_MESSENGER_FEATURES },
    logger: log.logger,
  });
  return { signIn, revoked, refreshed, log };
}

const SIGNED_IN: GenesysSignIn = { jwt: 'old-jwt', refreshToken: 'refresh-token' };
const OUT_OF_DATE = /did not know the renewed sign-in/;

test('a JWT Genesys knows is revoked once, and nothing is renewed', async () => {
  const s = signOut({ known: ['old-jwt'], refresh: async () => ({ jwt: 'new-jwt' }) });
  await s.signIn.revoke(SIGNED_IN);
  expect(s.revoked).toEqual(['old-jwt']);
  expect(s.refreshed).toEqual([]);
});

test('a JWT Genesys no longer knows is renewed once and the renewed one revoked, quietly when Genesys knew it', async () => {
  const s = signOut({ known: ['new-jwt'], refresh: async () => ({ jwt: 'new-jwt' }) });
  await s.signIn.revoke(SIGNED_IN);
  expect(s.refreshed).toEqual([SIGNED_IN]);
  expect(s.revoked).toEqual(['old-jwt', 'new-jwt']);
  expect(s.log.text()).not.toMatch(OUT_OF_DATE);
});

test('a renewed JWT Genesys does not know either counts as signed out, and says so in the log', async () => {
  const s = signOut({ known: [], refresh: async () => ({ jwt: 'new-jwt' }) });
  await expect(s.signIn.revoke(SIGNED_IN)).resolves.toBeUndefined();
  expect(s.revoked).toEqual(['old-jwt', 'new-jwt']);
  expect(s.log.messages('info')).toEqual([expect.stringMatching(OUT_OF_DATE)]);
});

test('a sign-in that cannot be renewed is over already: no second revoke, no error', async () => {
  const s = signOut({
    known: [],
    refresh: async () => {
      throw new AppError('reauthentication_required', 'run out');
    },
  });
  await expect(s.signIn.revoke(SIGNED_IN)).resolves.toBeUndefined();
  expect(s.revoked).toEqual(['old-jwt']);
});

test('any other failure to renew reaches the caller, and nothing more is revoked', async () => {
  const unavailable = new AppError('upstream_unavailable', 'Genesys did not answer');
  const s = signOut({
    known: [],
    refresh: async () => {
      throw unavailable;
    },
  });
  await expect(s.signIn.revoke(SIGNED_IN)).rejects.toBe(unavailable);
  expect(s.revoked).toEqual(['old-jwt']);

  const plain = new Error('socket hang up');
  const t = signOut({
    known: [],
    refresh: async () => {
      throw plain;
    },
  });
  await expect(t.signIn.revoke(SIGNED_IN)).rejects.toBe(plain);
});

describe('exchanging a grant: Genesys decides whether the deployment takes it; its refusal is explained', () => {
  function exchanging(options: {
    redirectAllowed?: boolean;
    features?: MessengerFeatures;
    enabled?: boolean;
    upgrade?: boolean;
    refuse?: AppError;
  }) {
    const exchanged: unknown[] = [];
    const tokens = {
      async exchange(grant: unknown) {
        exchanged.push(grant);
        if (options.refuse) throw options.refuse;
        return { jwt: 'jwt' };
      },
    } as unknown as WebDeploymentTokens;
    const features = options.features ?? {
      ...DEFAULT_MESSENGER_FEATURES,
      auth: { enabled: options.enabled ?? true, allowSessionUpgrade: options.upgrade ?? true },
    };
    const signIn = new CustomerSignIn({
      tokens,
      redirectUriAllowed: () => options.redirectAllowed ?? true,
      messengerFeatures: { get: async () => features },
      logger: captureLogger('info').logger,
    });
    return { signIn, exchanged };
  }
  const CODE = { code: 'code', redirectUri: 'https://shop.example.com/signed-in' };
  const REFUSED = new AppError('reauthentication_required', 'Genesys did not accept this sign-in');

  test("a redirect URI that is not a sign-in callback is this site's to refuse: nothing reaches Genesys", async () => {
    const e = exchanging({ redirectAllowed: false });
    await expect(e.signIn.exchange(CODE)).rejects.toMatchObject({
      code: 'validation_failed',
      message:
        "`redirectUri` is not one of this site's sign-in callback URLs (SIGN_IN_REDIRECT_URIS, " +
        'else a page of an allowed origin); nothing was exchanged.',
    });
    expect(e.exchanged).toEqual([]);
  });

  test.each([
    ['sign-in off', { enabled: false }],
    ['no mid-chat sign-in', { upgrade: false }],
    ['a configuration never read', { features: DEFAULT_MESSENGER_FEATURES }],
  ])('a deployment whose configuration says %s: the grant still goes to Genesys, as in its SDK', async (_, o) => {
    const e = exchanging(o);
    await expect(e.signIn.exchange(CODE)).resolves.toEqual({ jwt: 'jwt' });
    expect(e.exchanged).toEqual([CODE]);
  });

  test('Genesys refusing the grant of a deployment read with sign-in off: authentication_disabled', async () => {
    const e = exchanging({ enabled: false, refuse: REFUSED });
    await expect(e.signIn.exchange(CODE)).rejects.toMatchObject({
      code: 'authentication_disabled',
      status: 422,
      message:
        'Genesys refused the sign-in: this Messenger deployment has no sign-in set up ' +
        '(authenticated messaging is off in its configuration).',
      cause: REFUSED,
    });
    expect(e.exchanged).toEqual([CODE]);
  });

  test('a refusal where sign-in is on, or nothing was read, stays a grant to renew; other failures pass', async () => {
    await expect(exchanging({ refuse: REFUSED }).signIn.exchange(CODE)).rejects.toBe(REFUSED);
    await expect(
      exchanging({ features: DEFAULT_MESSENGER_FEATURES, refuse: REFUSED }).signIn.exchange(CODE),
    ).rejects.toBe(REFUSED);
    const away = new AppError('upstream_unavailable', 'Genesys did not answer');
    await expect(exchanging({ enabled: false, refuse: away }).signIn.exchange(CODE)).rejects.toBe(away);
  });
});
